// The auditor's and admin's page: sign in with a token, pick a tenant the principal may read, and look at its
// timeline, its configuration as of any instant, a call explained by the live and the saved table, its calls and
// its integrity; or open a simulation report. Every read is a request to the /v1 API (api.js).

import { api, ApiError, signIn, signOut, tenantPath, token } from "./api.js";
import { append, clear, field, h, short, valueTree, Zone } from "./dom.js";
import { renderTimeline } from "./timeline.js";
import { renderSimulations } from "./simulations.js";

const main = document.getElementById("main");
const who = document.getElementById("who");
const nav = document.getElementById("tenant-nav");
let me = null; // GET /v1/tenants
const tenantCache = new Map(); // slug → { timeline, zone }

const PAGES = [["timeline", "Timeline"], ["as-of", "As of"], ["explain", "Explain a call"], ["calls", "Calls"], ["integrity", "Integrity"]];

function route() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = hash.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { parts, params: new URLSearchParams(query) };
}

function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

function heading(text) {
  const el = h("h2", { tabindex: "-1" }, text);
  return el;
}

function problem(exc) {
  const text = exc instanceof ApiError ? exc.message : String(exc);
  return h("p", { class: "error", role: "alert" }, text);
}

function focusHeading() {
  const first = main.querySelector("h2");
  if (first) first.focus();
}

async function render() {
  const { parts, params } = route();
  clear(nav);
  if (!token()) {
    showSignIn();
    return;
  }
  try {
    if (!me) me = await api("/v1/tenants");
  } catch (exc) {
    if (exc instanceof ApiError && exc.status === 401) {
      signOut();
      me = null;
      showSignIn(exc.message);
      return;
    }
    append(clear(main), heading("callroute"), problem(exc));
    return;
  }
  showWho();
  if (parts[0] === "t" && parts[1]) {
    await showTenant(parts[1], parts[2] || "timeline", params);
  } else if (parts[0] === "simulations") {
    append(clear(main), heading("Simulations"));
    renderSimulations(main);
  } else {
    showTenants();
  }
  focusHeading();
}

function showSignIn(message) {
  clear(who);
  const input = h("input", { type: "password", name: "token", autocomplete: "off", required: true, spellcheck: "false" });
  const form = h("form", { class: "sign-in", onsubmit: (event) => {
    event.preventDefault();
    signIn(input.value);
    me = null;
    tenantCache.clear();
    render();
  } },
  field("Bearer token", input, "The token callroute token create --principal YOU printed (kept in this tab only)."),
  h("button", { type: "submit" }, "Sign in"));
  append(clear(main), heading("Sign in"), message ? h("p", { class: "error", role: "alert" }, message) : null, form);
  input.focus();
}

function showWho() {
  append(clear(who), 
    h("span", {}, `Signed in as ${me.principal}${me.operator ? " (operator)" : ""}${me.partner ? ` for ${me.partner}` : ""}`),
    h("button", { type: "button", onclick: () => { signOut(); me = null; tenantCache.clear(); go("#/"); } }, "Sign out"));
}

function showTenants() {
  const rows = me.tenants.map((t) => {
    const zone = new Zone(t.time_zone);
    return h("tr", {},
      h("td", {}, h("a", { href: `#/t/${encodeURIComponent(t.slug)}/timeline` }, t.slug)), h("td", {}, t.name),
      h("td", {}, t.time_zone), h("td", {}, t.plan), h("td", {}, String(t.version)), h("td", {}, zone.format(Date.parse(t.modified_on))));
  });
  append(clear(main), heading("Tenants"),
    me.tenants.length
      ? h("div", { class: "scroll" }, h("table", {}, h("caption", {}, `The tenants ${me.principal} may read`),
        h("thead", {}, h("tr", {}, ["tenant", "name", "time zone", "plan", "version", "last change"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, rows)))
      : h("p", {}, `There is no tenant that ${me.principal} may read.`),
    h("p", {}, h("a", { href: "#/simulations" }, "Open a simulation report")));
}

async function tenantContext(slug, refresh = false) {
  if (!refresh && tenantCache.has(slug)) return tenantCache.get(slug);
  const [timeline, history] = await Promise.all([api(tenantPath(slug, "/timeline")), api(tenantPath(slug, "/history"))]);
  const context = { timeline, history, zone: new Zone(timeline.time_zone) };
  tenantCache.set(slug, context);
  return context;
}

async function showTenant(slug, page, params) {
  const title = PAGES.find(([key]) => key === page);
  append(clear(main), heading(`${slug}: ${title ? title[1] : page}`), h("p", { class: "loading" }, "Loading…"));
  let context;
  try {
    context = await tenantContext(slug, page === "timeline" && params.get("refresh") === "1");
  } catch (exc) {
    append(clear(main), heading(exc.status === 404 ? "Not found" : slug), problem(exc),
      h("p", {}, h("a", { href: "#/" }, "Back to the tenants you may read")));
    return;
  }
  append(nav, h("span", { class: "tenant-name" }, slug), ...PAGES.map(([key, label]) => h("a", {
    href: `#/t/${encodeURIComponent(slug)}/${key}`, "aria-current": key === page ? "page" : null,
  }, label)));
  const body = h("div", { class: "page" });
  append(clear(main), heading(`${slug}: ${title ? title[1] : "?"}`), body);
  const views = { timeline: timelineView, "as-of": asOfView, explain: explainView, calls: callsView, integrity: integrityView };
  await (views[page] || timelineView)(body, slug, context, params);
}

// -- timeline -------------------------------------------------------------------------------------------------------

function timelineView(body, slug, context) {
  const { zone } = context;
  const picked = h("p", { class: "picked-instant", "aria-live": "polite" },
    "Pick an instant by clicking the drawing, or type one on the “As of” page.");
  const holder = h("div", {});
  append(body, h("p", {}, `Times in ${zone.name}. `, h("a", { href: `#/t/${encodeURIComponent(slug)}/timeline?refresh=1` }, "Reload")),
    picked, holder);
  renderTimeline(holder, {
    ...context,
    onPick: (ms) => {
      const at = zone.iso(ms);
      append(clear(picked), `Picked ${zone.format(ms, { weekday: true })}: `,
        h("a", { href: `#/t/${encodeURIComponent(slug)}/as-of?at=${encodeURIComponent(at)}` }, "configuration and routing table as of then"),
        " · ",
        h("a", { href: `#/t/${encodeURIComponent(slug)}/explain?at=${encodeURIComponent(at)}` }, "explain a call then"));
    },
  });
}

// -- as of ----------------------------------------------------------------------------------------------------------

function tableSummary(table) {
  const numbers = Object.entries(table.numbers || {}).sort(([a], [b]) => a.localeCompare(b));
  return h("div", {},
    h("h4", {}, `Routing table version ${table.version}`),
    h("ul", { class: "numbers" }, numbers.map(([number, entry]) => h("li", {}, h("span", { class: "key" }, `${number} → `),
      entry ? short(entry) : "unassigned"))),
    h("ul", { class: "tree" }, valueTree(table, "whole table")));
}

function asOfView(body, slug, context, params) {
  const { zone } = context;
  const at = h("input", { type: "text", name: "at", value: params.get("at") || zone.iso(Date.parse(context.timeline.at)), required: true });
  const compare = h("input", { type: "text", name: "compare", value: params.get("compare") || "" });
  const results = h("div", { class: "results", "aria-live": "polite" });
  const form = h("form", { class: "inline", onsubmit: (event) => {
    event.preventDefault();
    const query = new URLSearchParams({ at: at.value.trim() });
    if (compare.value.trim()) query.set("compare", compare.value.trim());
    go(`#/t/${encodeURIComponent(slug)}/as-of?${query}`);
  } },
  field("Instant", at, "2026-11-20T17:59 (in the tenant's zone), 2026-11-20, now, or with an offset"),
  field("Diff to another instant (optional)", compare, "an instant or a version number"),
  h("button", { type: "submit" }, "Show"));
  append(body, form, results);
  if (!params.get("at")) return;
  const gap = h("section", { "aria-label": "Saved but not live" });
  const versions = {};
  const columns = [["desired", "Saved (desired)"], ["effective", "Live on the PBX (effective)"]].map(([view, label]) => {
    const column = h("section", { class: "column", "aria-label": label }, h("h3", {}, label), h("p", { class: "loading" }, "Loading…"));
    versions[view] = api(tenantPath(slug, "/as-of"), { params: { at: params.get("at"), view } }).then((answer) => {
      append(clear(column), h("h3", {}, label),
        h("p", { class: "version" }, `Version ${answer.version} at ${zone.format(Date.parse(answer.at), { seconds: true, weekday: true })}`),
        tableSummary(answer.routing_table),
        h("h4", {}, "Configuration"), h("ul", { class: "tree" }, valueTree(answer.configuration, "configuration")));
      return answer.version;
    }).catch((exc) => { append(clear(column), h("h3", {}, label), problem(exc)); return null; });
    return column;
  });
  append(results, gap, h("div", { class: "side-by-side" }, columns));
  Promise.all([versions.effective, versions.desired]).then(([live, saved]) => {
    if (!live || !saved || live === saved) return null;
    return api(tenantPath(slug, "/diff"), { params: { from: String(live), to: String(saved) } }).then((answer) => {
      append(clear(gap), h("h3", {}, `Saved but not live then: version ${live} → ${saved}`),
        h("ul", { class: "field-changes" }, answer.changes.map((c) => h("li", {}, h("span", { class: "key" }, `${c.subject}${c.field ? ` ${c.field}` : ""}: `),
          h("span", { class: "before" }, short(c.before)), " → ", h("span", { class: "after" }, short(c.after))))));
    });
  }).catch((exc) => append(clear(gap), problem(exc)));
  if (params.get("compare")) {
    const diff = h("section", { "aria-label": "Difference" }, h("h3", {}, "Difference"), h("p", { class: "loading" }, "Loading…"));
    append(results, diff);
    api(tenantPath(slug, "/diff"), { params: { from: params.get("at"), to: params.get("compare") } }).then((answer) => {
      append(clear(diff), h("h3", {}, `Difference: version ${answer.from_version} → ${answer.to_version} (saved), `
        + `${answer.changes.length} value${answer.changes.length === 1 ? "" : "s"} changed`),
      h("ul", { class: "field-changes" }, answer.changes.map((c) => h("li", {}, h("span", { class: "key" }, `${c.subject}${c.field ? ` ${c.field}` : ""}: `),
        h("span", { class: "before" }, short(c.before)), " → ", h("span", { class: "after" }, short(c.after))))));
    }).catch((exc) => append(clear(diff), h("h3", {}, "Difference"), problem(exc)));
  }
}

// -- explain --------------------------------------------------------------------------------------------------------

const CHILDREN = [["then", "if nobody answers"], ["after_max_wait", "after the maximum wait"], ["when_empty", "when the queue empties"],
  ["on_invalid", "invalid input"], ["on_no_input", "no input"]];

function nodeLabel(node) {
  switch (node.do) {
    case "ring": {
      const legs = node.legs.map((leg) => `${leg.endpoint.kind} ${leg.endpoint.id}${leg.seconds ? ` (${leg.seconds} s)` : ""}`).join(", ");
      const how = node.legs.length > 1 ? (node.mode === "parallel" ? " — all at once" : " — one after another") : "";
      return `ring ${legs}${how}${node.limit_seconds ? `, at most ${node.limit_seconds} s` : ""}${node.via ? `  (${node.via})` : ""}`;
    }
    case "voicemail": return `voicemail of ${node.box}${node.greeting ? `: ${short(node.greeting)}` : ""}`;
    case "message": return `play ${short(node.message)}, then hang up`;
    case "busy_tone": return "engaged tone";
    case "unavailable": return "unavailable";
    case "missed": return "missed call (rings until the caller hangs up)";
    case "hop_limit": return `stopped by the hop limit: ${node.path.join(" → ")}`;
    case "lookup": return `ring the number given by ${node.source === "webhook" ? `webhook ${node.url}` : "the CRM's responsible manager"}`;
    case "queue": return `queue ${node.queue}: agents ${node.agents.map((a) => a.id).join(", ") || "none logged in"} (${node.strategy}), `
      + `wait at most ${node.max_wait_seconds} s`;
    case "menu": return `IVR ${node.ivr}: ${short(node.prompt)}, ${node.timeout_seconds} s per try, ${node.retries + 1} tries`
      + `${node.chosen !== undefined && node.chosen !== null ? `, caller pressed ${node.chosen || "nothing"}` : ""}`;
    default: return node.do || "?";
  }
}

function planTree(node, label) {
  if (!node) return h("li", {}, label ? `${label} ` : "", "missed call");
  const children = [];
  for (const [key, words] of CHILDREN) if (node[key]) children.push(planTree(node[key], `${words}:`));
  for (const [digit, branch] of Object.entries(node.options || {})) children.push(planTree(branch, `${digit}:`));
  return h("li", {}, label ? h("span", { class: "key" }, `${label} `) : null, nodeLabel(node),
    children.length ? h("ul", {}, children) : null);
}

function explanation(answer, zone) {
  return h("div", {},
    h("p", {}, `${answer.view === "effective" ? "Live (effective)" : "Saved (desired)"} table version ${answer.table_version}; `
      + `call to ${answer.dialled} from ${answer.caller || `withheld (${answer.presentation})`} at ${zone.format(Date.parse(answer.at), { seconds: true, weekday: true })}`
      + `${answer.rejected_anonymous ? "; rejected as anonymous" : ""}`),
    h("h4", {}, "Plan"), h("ul", { class: "plan" }, planTree(answer.plan)),
    h("h4", {}, "Why (every rule consulted)"),
    h("ol", { class: "steps" }, answer.explanation.map((step) => h("li", { class: step.matched ? "matched" : "skipped",
      style: null, "data-depth": step.depth },
    h("span", { class: "depth", "aria-hidden": "true" }, "\u00a0\u00a0".repeat(step.depth)),
    h("span", { class: "verdict" }, step.matched ? "✔ matched" : "· not matched"), ` ${step.at}: ${step.rule} — ${step.reason}`))));
}

function explainView(body, slug, context, params) {
  const { zone } = context;
  const input = (name, extra = {}) => h("input", { type: "text", name, value: params.get(name) || "", ...extra });
  const to = input("to", { required: true, placeholder: "+46812345601 or 2003" });
  const from = input("from", { placeholder: "441234567890" });
  const withheld = h("input", { type: "checkbox", name: "withheld", checked: params.get("presentation") === "restricted" });
  const at = input("at");
  if (!at.value) at.value = zone.iso(Date.parse(context.timeline.at));
  const digits = input("digits", { placeholder: "e.g. 3 (empty: none)", inputmode: "tel" });
  const busy = input("busy", { placeholder: "2001, 2002" });
  const unreachable = input("unreachable");
  const excluded = input("excluded");
  const results = h("div", { class: "results", "aria-live": "polite" });
  const form = h("form", { class: "inline", onsubmit: (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    for (const el of [to, from, at, digits, busy, unreachable, excluded]) if (el.value.trim()) query.set(el.name, el.value.trim());
    if (withheld.checked) query.set("presentation", "restricted");
    if (params.get("digits") !== null && !digits.value.trim()) query.set("digits", "");
    go(`#/t/${encodeURIComponent(slug)}/explain?${query}`);
  } },
  field("Number dialled", to), field("Caller", from),
  h("div", { class: "field check" }, withheld, h("label", { for: withheld.id || (withheld.id = "withheld") }, "Caller withheld")),
  field("Instant", at, "in the tenant's zone unless an offset is given"), field("Digits pressed", digits),
  h("fieldset", {}, h("legend", {}, "Endpoint states (extensions or members, comma-separated)"),
    field("Busy", busy), field("Unreachable", unreachable), field("Excluded", excluded)),
  h("button", { type: "submit" }, "Explain"));
  append(body, form, results);
  if (!params.get("to")) return;
  const columns = [["effective", "Live on the PBX (effective)"], ["desired", "Saved (desired)"]].map(([view, label]) => {
    const column = h("section", { class: "column", "aria-label": label }, h("h3", {}, label), h("p", { class: "loading" }, "Loading…"));
    const query = { to: params.get("to"), from: params.get("from") || "", at: params.get("at"), view,
      presentation: params.get("presentation") || "", busy: params.get("busy") || "", unreachable: params.get("unreachable") || "",
      excluded: params.get("excluded") || "" };
    const keep = [];
    if (params.has("digits")) { query.digits = params.get("digits"); keep.push("digits"); }
    api(tenantPath(slug, "/explain"), { params: query, keepEmpty: keep })
      .then((answer) => append(clear(column), h("h3", {}, label), explanation(answer, zone)))
      .catch((exc) => append(clear(column), h("h3", {}, label), problem(exc)));
    return column;
  });
  append(results, h("div", { class: "side-by-side" }, columns));
}

// -- calls ----------------------------------------------------------------------------------------------------------

function callsView(body, slug, context, params) {
  const { zone } = context;
  const since = h("input", { type: "text", name: "since", value: params.get("since") || "" });
  const until = h("input", { type: "text", name: "until", value: params.get("until") || "" });
  const results = h("div", { class: "results", "aria-live": "polite" }, h("p", { class: "loading" }, "Loading…"));
  append(body, h("form", { class: "inline", onsubmit: (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    if (since.value.trim()) query.set("since", since.value.trim());
    if (until.value.trim()) query.set("until", until.value.trim());
    go(`#/t/${encodeURIComponent(slug)}/calls?${query}`);
  } }, field("Since", since), field("Until", until), h("button", { type: "submit" }, "Show")), results);
  api(tenantPath(slug, "/calls"), { params: { since: params.get("since") || "", until: params.get("until") || "" } }).then((answer) => {
    clear(results);
    if (!answer.kept) {
      append(results, h("p", {}, "This server's store keeps no call events."));
      return;
    }
    if (!answer.calls.length) {
      append(results, h("p", {}, "No finished call was reported in this window (callroute ingest stores a PBX's calls)."));
      return;
    }
    append(results, h("p", {}, `${answer.calls.length} calls: ${answer.conforms} as configured, `,
      h("strong", {}, `${answer.deviates} deviate`), `, ${answer.unchecked} not checked${answer.truncated ? " (more in the window: narrow it)" : ""}.`));
    const rows = answer.calls.map((call) => {
      const started = Date.parse(call.started);
      const states = {};
      for (const [endpoint, state] of Object.entries(call.states || {})) (states[state] ||= []).push(endpoint);
      const query = new URLSearchParams({ to: call.dialled || "", at: zone.iso(started) });
      if (call.caller) query.set("from", call.caller);
      if (call.presentation !== "allowed") query.set("presentation", call.presentation);
      for (const [state, list] of Object.entries(states)) if (["busy", "unreachable", "excluded"].includes(state)) query.set(state, list.join(","));
      return h("tr", { class: call.verdict },
        h("td", {}, zone.format(started, { seconds: true })), h("td", {}, call.call_id),
        h("td", {}, call.caller || `withheld (${call.presentation})`), h("td", {}, call.dialled || "?"),
        h("td", {}, call.outcome, call.endpoint ? ` ${call.endpoint}` : ""),
        h("td", {}, call.verdict === "deviates" ? h("strong", { class: "badge deviates" }, "DEVIATES") : call.verdict === "conforms" ? "as configured" : "not checked",
          call.expected_rule ? h("div", { class: "small" }, `expected: ${call.expected_rule}`) : null,
          call.follows_version ? h("div", { class: "small" }, `follows version ${call.follows_version}, saved but not live`) : null,
          call.reason ? h("div", { class: "small" }, call.reason) : null),
        h("td", {}, call.dialled ? h("a", { href: `#/t/${encodeURIComponent(slug)}/explain?${query}`,
          "aria-label": `Explain call ${call.call_id} at its instant` }, "Explain") : ""));
    });
    append(results, h("div", { class: "scroll" }, h("table", {}, h("caption", {}, "Finished calls, checked against the table live at their start"),
      h("thead", {}, h("tr", {}, ["started", "call", "from", "to", "outcome", "verdict", ""].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows))));
  }).catch((exc) => append(clear(results), problem(exc)));
}

// -- integrity ------------------------------------------------------------------------------------------------------

// A head to keep: a read-only field with its label, a Copy button (named for what it copies) and a status.
function headToCopy(label, value, what) {
  const head = h("input", { type: "text", readonly: true, value, class: "head", size: 70 });
  const copied = h("span", { role: "status" });
  const copy = h("button", { type: "button", "aria-label": `Copy the ${what}`, onclick: async () => {
    head.select();
    try {
      await navigator.clipboard.writeText(value);
      copied.textContent = " copied";
    } catch {
      copied.textContent = document.execCommand && document.execCommand("copy") ? " copied" : " selected: copy it with Ctrl+C";
    }
  } }, "Copy");
  return h("div", { class: "keep" }, field(label, head), copy, copied);
}

// What POST /v1/tenants/{t}/verify compared of the projection rows (projection_status), in words.
const PROJECTION_STATUS = {
  agree: "Projection rows agree with the events.",
  disagree: "Projection rows differ from the events.",
  absent: "No projection rows of this tenant are kept yet (nothing to compare; a read builds them).",
  not_compared: "Projection rows were not compared: the events are not as written, so nothing can be rebuilt from them.",
};

function integrityView(body, slug) {
  const results = h("div", { class: "results", "aria-live": "polite" });
  const store = h("section", { class: "store-head", "aria-label": "The whole store" });
  const run = () => {
    append(clear(results), h("p", { class: "loading" }, "Verifying…"));
    api(tenantPath(slug, "/verify"), { method: "POST" }).then((answer) => {
      append(clear(results), 
        h("p", { class: answer.intact ? "ok" : "error" }, answer.intact ? `Intact: ${answer.events} events, every chain and projection row as written.`
          : "NOT intact: a stored event, snapshot or projection row is not what was written."),
        h("div", { class: "scroll" }, h("table", {}, h("caption", {}, "Hash chains"),
          h("thead", {}, h("tr", {}, ["record", "events", "head", "intact"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, answer.records.map((r) => h("tr", { class: r.intact ? "" : "deviates" }, h("td", {}, r.name), h("td", {}, String(r.events)),
            h("td", { class: "mono" }, r.head), h("td", {}, r.intact ? "intact" : `broken at version ${r.broken_at}: ${r.problem} ${r.detail || ""}`)))))),
        answer.projection.length ? h("ul", { class: "error" }, answer.projection.map((p) => h("li", {}, p)))
          : h("p", {}, PROJECTION_STATUS[answer.projection_status] || `Projection rows: ${answer.projection_status}.`),
        headToCopy("Tenant head (over every event of the tenant; keep it to compare later)", answer.tenant_head, "tenant head"),
        me.operator ? null : h("p", { class: "scope-note" },
          `The tenant head covers the events of ${slug} and of its provisioning record only, none of another tenant's; ` +
          "the store head, over every event of the store, is a platform operator's to keep (callroute audit verify --operator)."));
    }).catch((exc) => append(clear(results), problem(exc)));
    if (me.operator) runStore(store);
  };
  append(body, h("p", {}, "The result of callroute audit verify for this tenant."),
    h("button", { type: "button", onclick: run }, "Verify again"), results, me.operator ? store : null);
  run();
}

// An operator's only: POST /v1/verify, what callroute audit verify --operator prints, with the store head to copy.
function runStore(store) {
  append(clear(store), h("h3", {}, "The whole store"), h("p", { class: "loading" }, "Verifying the whole store…"));
  api("/v1/verify", { method: "POST" }).then((answer) => {
    const broken = answer.records.filter((r) => !r.intact);
    append(clear(store), h("h3", {}, "The whole store"),
      h("p", { class: answer.intact ? "ok" : "error" }, answer.intact
        ? `Intact: ${answer.records.length} records, ${answer.events} events, every chain and projection row as written.`
        : "NOT intact: a stored event, snapshot or projection row of the store is not what was written."),
      broken.length ? h("ul", { class: "error" }, broken.map((r) => h("li", {}, `${r.name}: broken at version ${r.broken_at}: ${r.problem} ${r.detail || ""}`))) : null,
      answer.projection.length ? h("ul", { class: "error" }, answer.projection.map((p) => h("li", {}, p))) : null,
      h("p", { class: "mono store-line" }, `store head ${answer.store_head} after ${answer.events.toLocaleString("en")} ${answer.events === 1 ? "event" : "events"}`),
      headToCopy("Store head (over every event of the store, every tenant's; keep it, and give it to callroute audit verify --operator --expect-head)",
        answer.store_head, "store head"));
  }).catch((exc) => append(clear(store), h("h3", {}, "The whole store"), problem(exc)));
}

// The skip link moves the focus without touching the hash (the hash is the page's route).
document.querySelector(".skip").addEventListener("click", (event) => {
  event.preventDefault();
  (main.querySelector("h2") || main).focus();
});
window.addEventListener("hashchange", render);
render();
