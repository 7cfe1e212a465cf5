// Building the page: elements made with text nodes only (nothing the server sends is ever parsed as HTML), and
// instants shown in a tenant's time zone.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (name in el && typeof value !== "string") el[name] = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, ...children);
  return el;
}

export function append(el, ...children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const SVG = "http://www.w3.org/2000/svg";

export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, String(value));
  }
  append(el, ...children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

let uid = 0;
export function id(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

// A labelled form field: the label's for= names the input.
export function field(label, input, hint) {
  const inputId = input.id || id("f");
  input.id = inputId;
  const hintId = hint ? `${inputId}-hint` : null;
  if (hintId) input.setAttribute("aria-describedby", hintId);
  return h("div", { class: "field" }, h("label", { for: inputId }, label), input, hint ? h("small", { id: hintId }, hint) : null);
}

// A tenant's time zone, read with the browser's IANA data (Intl); the server's list of offsets marks the DST changes.
export class Zone {
  constructor(name) {
    this.name = name;
    this.parts = new Intl.DateTimeFormat("en-GB", {
      timeZone: name, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
      second: "2-digit", hourCycle: "h23", weekday: "short", timeZoneName: "short",
    });
  }

  fields(ms) {
    const out = {};
    for (const part of this.parts.formatToParts(new Date(ms))) out[part.type] = part.value;
    return {
      year: Number(out.year), month: Number(out.month), day: Number(out.day), hour: Number(out.hour) % 24,
      minute: Number(out.minute), second: Number(out.second), weekday: out.weekday, zone: out.timeZoneName,
    };
  }

  offsetMs(ms) {
    const f = this.fields(ms);
    const local = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second);
    return Math.round((local - Math.floor(ms / 1000) * 1000) / 60000) * 60000;
  }

  // The instant of a local wall time (months from 1); in a gap or a repeated hour, one of its readings.
  fromLocal(year, month, day, hour = 0, minute = 0) {
    const local = Date.UTC(year, month - 1, day, hour, minute);
    const guess = local - this.offsetMs(local);
    return local - this.offsetMs(guess);
  }

  format(ms, { seconds = false, weekday = false, zone = true } = {}) {
    const f = this.fields(ms);
    const p = (n) => String(n).padStart(2, "0");
    const time = `${p(f.hour)}:${p(f.minute)}${seconds ? `:${p(f.second)}` : ""}`;
    return `${weekday ? `${f.weekday} ` : ""}${f.year}-${p(f.month)}-${p(f.day)} ${time}${zone ? ` ${f.zone}` : ""}`;
  }

  // ISO 8601 with the tenant's offset, as the API takes it (2026-11-20T17:59:59+01:00).
  iso(ms) {
    const f = this.fields(ms);
    const p = (n) => String(n).padStart(2, "0");
    const offset = this.offsetMs(ms) / 60000;
    const sign = offset < 0 ? "-" : "+";
    const abs = Math.abs(offset);
    return `${f.year}-${p(f.month)}-${p(f.day)}T${p(f.hour)}:${p(f.minute)}:${p(f.second)}${sign}${p(Math.floor(abs / 60))}:${p(abs % 60)}`;
  }
}

export function offsetText(seconds) {
  const sign = seconds < 0 ? "−" : "+";
  const abs = Math.abs(seconds) / 60;
  return `UTC${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

// A plain JSON value in a few words (as the command line's short()).
export function short(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "boolean") return value ? "on" : "off";
  if (typeof value === "string" || typeof value === "number") return String(value);
  if (Array.isArray(value)) return value.length ? value.map(short).join(", ") : "none";
  const kind = value.kind || value.do || value.action || value.mode;
  const rest = Object.entries(value).filter(([k, v]) => v !== null && v !== undefined && !["kind", "do", "action", "mode"].includes(k));
  const text = rest.map(([k, v]) => (typeof v === "object" ? `${k}: ${short(v)}` : `${k} ${short(v)}`)).join(", ");
  return kind ? `${kind}${text ? ` (${text})` : ""}` : text || "{}";
}

// A JSON value as nested disclosure lists (configuration, routing tables).
export function valueTree(value, label) {
  if (value === null || typeof value !== "object") {
    return h("li", {}, label !== undefined ? h("span", { class: "key" }, `${label}: `) : null, short(value));
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
  if (!entries.length) return h("li", {}, label !== undefined ? h("span", { class: "key" }, `${label}: `) : null, Array.isArray(value) ? "none" : "{}");
  const list = h("ul", { class: "tree" }, entries.map(([k, v]) => valueTree(v, k)));
  const name = label !== undefined ? label : "";
  const summary = Array.isArray(value) ? `${name} (${entries.length})` : `${name} ${value.slug || value.key || value.extension || value.name || ""}`.trim();
  return h("li", {}, h("details", {}, h("summary", {}, summary || "value"), list));
}
