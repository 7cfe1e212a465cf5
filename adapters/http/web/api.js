// The page's one way to the server: the same /v1 API as any other client, with the signed-in bearer token.
// The token is kept in sessionStorage (this tab only; signing out or closing the tab forgets it).

const KEY = "callroute.token";

export function token() {
  return sessionStorage.getItem(KEY);
}

export function signIn(value) {
  sessionStorage.setItem(KEY, value.trim());
}

export function signOut() {
  sessionStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(status, error) {
    super(error && error.message ? error.message : `the server answered ${status}`);
    this.status = status;
    this.rule = error ? error.rule : "http";
    this.field = error ? error.field : null;
  }
}

// GET (or POST) a path of the API; params: an object of query parameters (arrays repeat, empty values are left out
// unless keepEmpty names them). Resolves to the JSON answer, rejects with ApiError.
export async function api(path, { method = "GET", params = {}, keepEmpty = [] } = {}) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const one of Array.isArray(value) ? value : [value]) {
      if (one === undefined || one === null) continue;
      if (one === "" && !keepEmpty.includes(name)) continue;
      query.append(name, String(one));
    }
  }
  const url = path + (query.toString() ? `?${query}` : "");
  let response;
  try {
    response = await fetch(url, { method, headers: { Authorization: `Bearer ${token() || ""}`, Accept: "application/json" } });
  } catch (exc) {
    throw new ApiError(0, { rule: "network", message: `the server could not be reached (${exc.message})` });
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    throw new ApiError(response.status, body && body.error);
  }
  return body;
}

export function tenantPath(slug, tail = "") {
  return `/v1/tenants/${encodeURIComponent(slug)}${tail}`;
}
