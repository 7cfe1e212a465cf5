// The timeline of one tenant: a hand-written SVG axis in the tenant's zone with two bands, saved and live.
// Marks are drawn for the mouse (hover: a title; click: details); the same changes are listed below the drawing
// as real buttons, so that everything is reachable with the keyboard.

import { append, clear, field, h, offsetText, s, short } from "./dom.js";

const HOUR = 3600e3;
const DAY = 24 * HOUR;
export const ZOOMS = [["Year", 365 * DAY], ["Month", 31 * DAY], ["Week", 7 * DAY], ["Day", DAY], ["Hour", HOUR]];
const STATUS_WORDS = { live: "live", pending: "waiting for the PBX", overdue: "OVERDUE", later: "saved after the instant judged" };

export function renderTimeline(root, { timeline, history, zone, onPick, picked }) {
  const entries = new Map(history.changes.filter((e) => e.record === "tenant").map((e) => [e.version, e]));
  const changes = timeline.changes.map((c) => ({
    ...c, atMs: Date.parse(c.at), dueMs: Date.parse(c.deadline), liveMs: c.live_at ? Date.parse(c.live_at) : null,
    entry: entries.get(c.version),
  }));
  const confirmations = timeline.confirmations.map((c) => ({ ...c, ms: Date.parse(c.applied_at) }));
  const judged = Date.parse(timeline.at);
  const dst = timeline.zone.filter((z) => z.since).map((z, i) => ({ ...z, ms: Date.parse(z.since), before: timeline.zone[i] }));
  const times = [...changes.map((c) => c.atMs), ...confirmations.map((c) => c.ms)];
  const first = Math.min(...times);
  const last = Math.max(...times, ...changes.filter((c) => !c.liveMs).map((c) => Math.min(c.dueMs, judged)));
  const state = { start: 0, end: 0, kind: "all", value: "", selected: null, picked: picked ?? null };

  function fit() {
    const span = Math.max(last - first, HOUR);
    state.start = first - span * 0.08;
    state.end = last + span * 0.08;
  }
  fit();

  // -- controls -------------------------------------------------------------------------------------------------------
  const zoomButtons = ZOOMS.map(([label, span]) => h("button", {
    type: "button", "aria-pressed": "false", onclick: () => zoomTo(span),
  }, label));
  const kind = h("select", { onchange: () => { state.kind = kind.value; draw(); } },
    [["all", "everything"], ["user", "user (extension)"], ["group", "answer group"], ["number", "number"], ["actor", "actor"]]
      .map(([v, t]) => h("option", { value: v }, t)));
  const suggestions = h("datalist", { id: `tl-values-${timeline.tenant}` });
  const value = h("input", { type: "search", list: suggestions.id, placeholder: "e.g. 2003", autocomplete: "off",
    oninput: () => { state.value = value.value.trim(); draw(); } });
  const controls = h("div", { class: "controls", role: "group", "aria-label": "Timeline zoom and filter" },
    h("div", { class: "zoom", role: "group", "aria-label": "Zoom" },
      h("button", { type: "button", onclick: () => pan(-0.5) }, "◀ Earlier"),
      ...zoomButtons,
      h("button", { type: "button", onclick: () => { fit(); draw(); } }, "Fit all"),
      h("button", { type: "button", onclick: () => pan(0.5) }, "Later ▶")),
    h("div", { class: "filter" }, field("Filter by", kind), field("Value", value), suggestions));
  const figure = h("figure", { class: "timeline" });
  const caption = h("figcaption", {});
  const detail = h("section", { class: "detail", "aria-live": "polite", "aria-label": "Selected change" });
  const listing = h("div", { class: "listing" });
  append(clear(root), controls, figure, detail, listing);

  const values = { user: new Set(), group: new Set(), number: new Set(), actor: new Set() };
  for (const c of changes) {
    values.actor.add(c.actor);
    for (const fc of c.entry ? c.entry.changes : []) {
      const [what, ...rest] = fc.subject.split(" ");
      if (what in values && rest.length) values[what].add(rest.join(" "));
    }
  }
  kind.addEventListener("change", () => {
    clear(suggestions);
    for (const v of [...(values[kind.value] || [])].sort()) suggestions.append(h("option", { value: v }));
  });

  function matches(c) {
    if (state.kind === "all" || !state.value) return true;
    const v = state.value.toLowerCase();
    if (state.kind === "actor") return c.actor.toLowerCase().includes(v) || (c.partner || "").toLowerCase().includes(v);
    const subjects = (c.entry ? c.entry.changes : []).map((fc) => fc.subject.toLowerCase());
    return subjects.some((sub) => sub === `${state.kind} ${v}`) || (state.kind === "user" && c.entry
      && JSON.stringify(c.entry.changes).includes(`"${state.value}"`) && subjects.some((sub) => sub.startsWith("user ")));
  }

  function zoomTo(span) {
    const centre = state.picked ?? (state.start + state.end) / 2;
    state.start = centre - span / 2;
    state.end = centre + span / 2;
    draw();
  }

  function pan(fraction) {
    const shift = (state.end - state.start) * fraction;
    state.start += shift;
    state.end += shift;
    draw();
  }

  function select(group) {
    state.selected = group;
    showDetail(group);
  }

  function showDetail(group) {
    clear(detail);
    if (!group || !group.length) return;
    append(detail, h("h3", {}, group.length === 1 ? `Version ${group[0].version}` : `${group.length} changes at ${zone.format(group[0].atMs)}`));
    for (const c of group.slice(0, 50)) {
      const items = (c.entry ? c.entry.changes : []).map((fc) => h("li", {},
        h("span", { class: "key" }, `${fc.subject}${fc.field ? ` ${fc.field}` : ""}: `),
        h("span", { class: "before" }, short(fc.before)), " → ", h("span", { class: "after" }, short(fc.after))));
      append(detail, h("article", { class: `change ${c.status}` },
        h("h4", {}, `v${c.version} ${c.topic}`),
        h("dl", {},
          h("dt", {}, "saved"), h("dd", {}, zone.format(c.atMs, { seconds: true })),
          h("dt", {}, "by"), h("dd", {}, c.actor, c.partner ? ` for partner ${c.partner}` : ""),
          h("dt", {}, "reason"), h("dd", {}, c.reason || "—"),
          h("dt", {}, "deadline"), h("dd", {}, zone.format(c.dueMs)),
          h("dt", {}, "live"), h("dd", {}, c.liveMs ? `${zone.format(c.liveMs)}${c.late ? " (after its deadline)" : ""}`
            : STATUS_WORDS[c.status])),
        items.length ? h("ul", { class: "field-changes" }, items) : h("p", {}, "no setting changed (an access or record event)"),
        h("p", {}, h("a", { href: `#/t/${encodeURIComponent(timeline.tenant)}/as-of?at=${encodeURIComponent(zone.iso(c.atMs))}` },
          `Configuration as of this change`))));
    }
  }

  // -- drawing --------------------------------------------------------------------------------------------------------
  function ticks(start, end) {
    const span = end - start;
    const f = zone.fields(start);
    const out = [];
    const push = (ms, label, major) => { if (ms >= start && ms <= end) out.push({ ms, label, major }); };
    const p = (n) => String(n).padStart(2, "0");
    if (span <= 3 * HOUR) {
      const step = span <= HOUR ? 10 * 60e3 : 30 * 60e3;
      for (let t = zone.fromLocal(f.year, f.month, f.day, f.hour); t <= end; t += step) {
        const g = zone.fields(t);
        push(t, `${p(g.hour)}:${p(g.minute)}`, g.minute === 0);
      }
    } else if (span <= 3 * DAY) {
      const step = span <= DAY ? 2 : 6;
      for (let k = 0; k < 200; k += 1) {
        const t = zone.fromLocal(f.year, f.month, f.day, k * step);
        if (t > end) break;
        const g = zone.fields(t);
        push(t, g.hour === 0 ? `${g.weekday} ${g.day}/${g.month}` : `${p(g.hour)}:00`, g.hour === 0);
      }
    } else if (span <= 62 * DAY) {
      const step = span <= 16 * DAY ? 1 : 7;
      for (let k = 0; k < 100; k += 1) {
        const t = zone.fromLocal(f.year, f.month, f.day + k * step);
        if (t > end) break;
        const g = zone.fields(t);
        push(t, `${g.weekday} ${g.day}/${g.month}`, g.day === 1);
      }
    } else {
      const step = span <= 400 * DAY ? 1 : 3;
      const names = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
      for (let k = 0; k < 100; k += 1) {
        const t = zone.fromLocal(f.year, f.month + k * step, 1);
        if (t > end) break;
        const g = zone.fields(t);
        push(t, `${names[g.month - 1]} ${g.year}`, g.month === 1);
      }
    }
    return out;
  }

  function draw() {
    const span = state.end - state.start;
    zoomButtons.forEach((b, i) => b.setAttribute("aria-pressed", String(Math.abs(ZOOMS[i][1] - span) < 1000)));
    const width = Math.max(320, Math.round(figure.clientWidth || root.clientWidth || 960));
    const height = 200;
    const left = 62;
    const right = 12;
    const x = (ms) => left + ((ms - state.start) / span) * (width - left - right);
    const within = (ms) => ms >= state.start && ms <= state.end;
    const savedY = 62;
    const liveY = 118;
    const axisY = 158;
    const shown = changes.filter(matches);
    const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-labelledby": "tl-title tl-desc",
      class: "timeline-svg" });
    append(svg, s("title", { id: "tl-title" }, `Timeline of ${timeline.tenant}`),
      s("desc", { id: "tl-desc" }, `${shown.filter((c) => within(c.atMs)).length} changes saved between ${zone.format(state.start)} and `
        + `${zone.format(state.end)}; ${confirmations.filter((c) => within(c.ms)).length} confirmations live. The list below the drawing has them all.`));
    const background = s("rect", { x: left, y: 20, width: width - left - right, height: axisY - 20, class: "pick-area" });
    background.addEventListener("click", (event) => {
      const box = svg.getBoundingClientRect();
      const px = ((event.clientX - box.left) / box.width) * width;
      const ms = state.start + ((px - left) / (width - left - right)) * span;
      state.picked = Math.round(ms / 60e3) * 60e3;
      draw();
      onPick(state.picked);
    });
    append(svg, background,
      s("rect", { x: left, y: savedY - 16, width: width - left - right, height: 32, class: "band saved" }),
      s("rect", { x: left, y: liveY - 16, width: width - left - right, height: 32, class: "band live" }),
      s("text", { x: 4, y: savedY + 4, class: "band-label" }, "saved"),
      s("text", { x: 4, y: liveY + 4, class: "band-label" }, "live"),
      s("line", { x1: left, x2: width - right, y1: axisY, y2: axisY, class: "axis" }));
    let labelledTo = -Infinity; // labels that would overlap the one before are left out (the tick stays)
    for (const t of ticks(state.start, state.end)) {
      const tx = x(t.ms);
      const half = t.label.length * 3.3 + 4;
      append(svg, s("line", { x1: tx, x2: tx, y1: axisY, y2: axisY + (t.major ? 8 : 5), class: "tick" }));
      if (tx - half > labelledTo) {
        append(svg, s("text", { x: tx, y: axisY + 20, class: `tick-label${t.major ? " major" : ""}`, "text-anchor": "middle" }, t.label));
        labelledTo = tx + half;
      }
    }
    for (const d of dst.filter((z) => within(z.ms))) {
      const dx = x(d.ms);
      append(svg, s("line", { x1: dx, x2: dx, y1: 14, y2: axisY, class: "dst" }),
        s("text", { x: dx + 3, y: 14, class: "dst-label" }, `${d.abbreviation} ${offsetText(d.offset_seconds)}`,
          s("title", {}, `${zone.format(d.ms)}: the clocks change from ${offsetText(d.before.offset_seconds)} to ${offsetText(d.offset_seconds)}`)));
    }
    // The live version, from each confirmation to the next.
    const ordered = [...confirmations].sort((a, b) => a.ms - b.ms);
    ordered.forEach((c, i) => {
      const to = i + 1 < ordered.length ? ordered[i + 1].ms : state.end;
      if (to < state.start || c.ms > state.end) return;
      const x1 = Math.max(left, x(c.ms));
      const x2 = Math.min(width - right, x(to));
      append(svg, s("rect", { x: x1, y: liveY - 9, width: Math.max(1, x2 - x1), height: 18, class: "live-span" }),
        x2 - x1 > 40 ? s("text", { x: x1 + 4, y: liveY + 4, class: "live-text" }, `v${c.version} live`) : null);
    });
    // Saved → live gaps, pending spans and deadlines.
    for (const c of shown) {
      const x0 = x(c.atMs);
      if (c.liveMs) {
        if (c.liveMs >= state.start && c.atMs <= state.end) {
          append(svg, s("line", { x1: x0, y1: savedY, x2: x(c.liveMs), y2: liveY, class: `gap${c.late ? " late" : ""}` }));
        }
      } else if (c.status !== "later") {
        const dueX = x(c.dueMs);
        append(svg, s("line", { x1: x0, y1: savedY + 10, x2: dueX, y2: savedY + 10, class: "pending-span" }),
          s("line", { x1: dueX, x2: dueX, y1: savedY + 2, y2: savedY + 18, class: "deadline" },
            s("title", {}, `v${c.version} due by ${zone.format(c.dueMs)}`)));
        if (c.status === "overdue") {
          append(svg, s("line", { x1: dueX, y1: savedY + 10, x2: x(judged), y2: savedY + 10, class: "overdue-span" }),
            s("text", { x: dueX + 3, y: savedY + 28, class: "overdue-label" }, "overdue"));
        }
      }
    }
    for (const c of ordered.filter((c) => within(c.ms))) {
      const cx = x(c.ms);
      append(svg, s("path", { d: `M${cx} ${liveY - 7} L${cx + 7} ${liveY} L${cx} ${liveY + 7} L${cx - 7} ${liveY} Z`, class: "confirm-mark" },
        s("title", {}, `${zone.format(c.ms)}: every change up to version ${c.version} live on the PBX`)));
    }
    // Saved changes, gathered when they fall on the same few pixels.
    const clusters = new Map();
    for (const c of shown.filter((c) => within(c.atMs))) {
      const key = Math.round(x(c.atMs) / 8);
      if (!clusters.has(key)) clusters.set(key, []);
      clusters.get(key).push(c);
    }
    for (const group of clusters.values()) {
      const cx = x(group[0].atMs);
      const worst = group.some((c) => c.status === "overdue") ? "overdue" : group.some((c) => c.status === "pending") ? "pending"
        : group.some((c) => c.status === "later") ? "later" : "live";
      const label = group.length === 1
        ? `v${group[0].version} ${group[0].topic} by ${group[0].actor}${group[0].partner ? ` (partner ${group[0].partner})` : ""}, `
          + `${zone.format(group[0].atMs)}${group[0].reason ? ` — ${group[0].reason}` : ""} (${STATUS_WORDS[group[0].status]})`
        : `${group.length} changes, v${group[0].version}–v${group[group.length - 1].version}, ${zone.format(group[0].atMs)}`;
      const mark = s("g", { class: `mark ${worst}`, "data-version": group[0].version },
        s("circle", { cx, cy: savedY, r: group.length > 1 ? 9 : 6 }),
        group.length > 1 ? s("text", { x: cx, y: savedY + 3.5, "text-anchor": "middle", class: "count" }, String(group.length)) : null,
        s("title", {}, label));
      mark.addEventListener("click", () => select(group));
      svg.append(mark);
    }
    if (judged >= state.start && judged <= state.end) {
      append(svg, s("line", { x1: x(judged), x2: x(judged), y1: 20, y2: axisY, class: "now" }),
        s("text", { x: x(judged) - 3, y: axisY - 4, "text-anchor": "end", class: "now-label" }, "now"));
    }
    if (state.picked !== null && within(state.picked)) {
      append(svg, s("line", { x1: x(state.picked), x2: x(state.picked), y1: 20, y2: axisY, class: "picked" }));
    }
    append(clear(figure), svg, caption);
    append(clear(caption), `${zone.format(state.start)} – ${zone.format(state.end)} (${zone.name}); `
      + `now ${zone.format(judged)}: version ${timeline.desired_version} saved, version ${timeline.effective_version} live. `
      + "Click the drawing to pick an instant.");
    list(shown.filter((c) => within(c.atMs)));
  }

  function list(inView) {
    clear(listing);
    const waiting = changes.filter((c) => c.status === "pending" || c.status === "overdue");
    append(listing, h("h3", {}, `Pending at ${zone.format(judged)}: ${waiting.length}`
      + ` (${waiting.filter((c) => c.status === "overdue").length} overdue)`));
    if (waiting.length) {
      append(listing, h("ul", { class: "pending-list" }, waiting.map((c) => h("li", { class: c.status },
        h("button", { type: "button", class: "link", onclick: () => select([c]) }, `v${c.version} ${c.topic}`),
        ` saved ${zone.format(c.atMs)}, due ${zone.format(c.dueMs)}`, c.status === "overdue" ? h("strong", {}, " — overdue") : ""))));
    }
    append(listing, h("h3", {}, `Changes in view: ${inView.length}`));
    if (!inView.length) {
      append(listing, h("p", {}, "No change in this window. Zoom out, or “Fit all”."));
      return;
    }
    const rows = inView.slice(0, 300).map((c) => h("tr", { class: c.status },
      h("td", {}, h("button", { type: "button", class: "link", "aria-label": `Details of version ${c.version}`,
        onclick: () => select([c]) }, `v${c.version}`)),
      h("td", {}, zone.format(c.atMs)), h("td", {}, c.topic), h("td", {}, c.actor, c.partner ? ` (partner ${c.partner})` : ""),
      h("td", {}, c.reason || ""),
      h("td", {}, c.liveMs ? `live ${zone.format(c.liveMs)}${c.late ? " (late)" : ""}` : `${STATUS_WORDS[c.status]}, due ${zone.format(c.dueMs)}`)));
    append(listing, h("div", { class: "scroll" }, h("table", {},
      h("thead", {}, h("tr", {}, ["version", "saved", "change", "by", "reason", "live"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows))), inView.length > 300 ? h("p", {}, `and ${inView.length - 300} more: zoom in.`) : null);
  }

  draw();
  return { redraw: draw };
}
