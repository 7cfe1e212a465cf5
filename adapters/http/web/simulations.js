// A simulation report opened in the page: the JSON `callroute simulate SCENARIO --json` prints, chosen as a file
// or pasted. It is read in the browser only: nothing is sent to the server (reports are files of the person who
// ran the simulation, not records of the store, so they get no endpoint and no permission of their own).

import { append, clear, field, h, s } from "./dom.js";

const MAX_BYTES = 16 * 1024 * 1024;

export function check(report) {
  if (!report || typeof report !== "object" || Array.isArray(report)) return "the report is not a JSON object";
  if (!report.kpis || typeof report.kpis !== "object") return "kpis: missing (a report is what callroute simulate --json prints)";
  if (typeof report.kpis.offered !== "number") return "kpis.offered: missing or not a number";
  if (report.assertions !== undefined && !Array.isArray(report.assertions)) return "assertions: not a list";
  return null;
}

function pct(x) {
  return typeof x === "number" ? `${(x * 100).toFixed(1)}%` : "—";
}

function num(x, digits = 1) {
  return typeof x === "number" ? x.toFixed(digits) : "—";
}

function hourly(kpis) {
  const arrivals = kpis.hourly_arrivals || [];
  const answered = kpis.hourly_answered || [];
  if (!arrivals.length) return null;
  const width = 640;
  const height = 180;
  const top = Math.max(1, ...arrivals);
  const bar = (width - 40) / arrivals.length;
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": "Calls offered and answered per simulated hour" });
  arrivals.forEach((n, i) => {
    const x = 30 + i * bar;
    const hOffered = ((height - 40) * n) / top;
    const hAnswered = ((height - 40) * (answered[i] || 0)) / top;
    append(svg, s("rect", { x, y: height - 20 - hOffered, width: Math.max(1, bar * 0.8), height: hOffered, class: "offered" },
      s("title", {}, `hour ${i}: ${n} offered, ${answered[i] || 0} answered`)),
    s("rect", { x: x + bar * 0.2, y: height - 20 - hAnswered, width: Math.max(1, bar * 0.4), height: hAnswered, class: "answered" }));
    if (arrivals.length <= 24 || i % 4 === 0) append(svg, s("text", { x: x + bar * 0.4, y: height - 5, "text-anchor": "middle", class: "tick-label" }, String(i)));
  });
  append(svg, s("text", { x: 2, y: 14, class: "tick-label" }, `${top} calls`));
  return h("figure", {}, svg, h("figcaption", {}, "Calls offered (wide bars) and answered (narrow bars) per simulated hour"));
}

export function renderReport(target, report) {
  const k = report.kpis;
  const assertions = report.assertions || [];
  const failed = assertions.filter((a) => !a.passed).length;
  const figures = [
    ["offered", k.offered], ["answered", k.answered], ["abandoned", k.abandoned], ["voicemail", k.voicemail], ["missed", k.missed],
    ["busy", k.busy], ["rejected", k.rejected], ["ASA (s)", num(k.asa_seconds)], ["mean wait (s)", num(k.mean_wait_seconds)],
    ["wait p90 (s)", num(k.wait_p90)], ["abandon rate", pct(k.abandon_rate)], ["probability of waiting", pct(k.probability_of_waiting)],
    ...Object.entries(k.service_level || {}).map(([key, v]) => [`service level ${key}`, pct(v)]),
    ["simulated hours", num((k.simulated_seconds || 0) / 3600)], ["seed", report.seed ?? "—"], ["engine", report.engine ?? "—"],
  ];
  append(clear(target), 
    h("h3", {}, `${k.offered} calls simulated${assertions.length ? `: ${assertions.length - failed} of ${assertions.length} assertions pass` : ""}`),
    h("dl", { class: "figures" }, figures.map(([name, value]) => [h("dt", {}, name), h("dd", {}, String(value ?? "—"))])),
    assertions.length ? h("div", { class: "scroll" }, h("table", {}, h("caption", {}, "Assertions"),
      h("thead", {}, h("tr", {}, ["", "assertion", "detail"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, assertions.map((a) => h("tr", { class: a.passed ? "" : "deviates" },
        h("td", {}, a.passed ? "PASS" : h("strong", {}, "FAIL")), h("td", {}, a.assertion), h("td", {}, a.detail || "")))))) : null,
    hourly(k),
    Object.keys(k.agents || {}).length ? h("div", { class: "scroll" }, h("table", {}, h("caption", {}, "Agents"),
      h("thead", {}, h("tr", {}, ["agent", "answered", "occupancy"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, Object.entries(k.agents).map(([name, a]) => h("tr", {}, h("td", {}, name), h("td", {}, String(a.answered)),
        h("td", {}, pct(a.occupancy))))))) : null,
    report.trace_sha256 ? h("p", {}, `trace sha256 ${report.trace_sha256}`) : null);
}

export function renderSimulations(root) {
  const output = h("section", { class: "results", "aria-live": "polite", "aria-label": "Simulation report" });
  const file = h("input", { type: "file", accept: ".json,application/json" });
  const pasted = h("textarea", { rows: 6, cols: 60, spellcheck: "false" });
  const show = (text) => {
    let report;
    try {
      report = JSON.parse(text);
    } catch (exc) {
      append(clear(output), h("p", { class: "error", role: "alert" }, `not JSON: ${exc.message}`));
      return;
    }
    const wrong = check(report);
    if (wrong) {
      append(clear(output), h("p", { class: "error", role: "alert" }, wrong));
      return;
    }
    renderReport(output, report);
  };
  file.addEventListener("change", async () => {
    const chosen = file.files && file.files[0];
    if (!chosen) return;
    if (chosen.size > MAX_BYTES) {
      append(clear(output), h("p", { class: "error", role: "alert" }, `${chosen.name}: larger than 16 MiB`));
      return;
    }
    show(await chosen.text());
  });
  append(root,
    h("p", {}, "Open the JSON a simulation printed (callroute simulate SCENARIO --json > report.json). "
      + "It is read in this browser only; nothing is sent to the server."),
    field("Report file", file),
    h("form", { onsubmit: (event) => { event.preventDefault(); show(pasted.value); } },
      field("Or paste the report", pasted), h("button", { type: "submit" }, "Show report")),
    output);
}
