// ganforge studio page: plain JavaScript over the JSON API (/api-docs); no library, no external URL.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { models: [], model: null, runsEnabled: false, panel: null, frames: [], frame: 0, playing: true };
const pending = {}; // request kind -> AbortController of the request in flight (the latest wins)

// --- API --------------------------------------------------------------------------------------------
async function api(path, body, kind) {
  if (kind && pending[kind]) pending[kind].abort();
  const ctrl = new AbortController();
  if (kind) pending[kind] = ctrl;
  const init = { signal: ctrl.signal };
  if (body instanceof FormData) Object.assign(init, { method: "POST", body });
  else if (body !== undefined) {
    Object.assign(init, { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } });
  }
  try {
    const res = await fetch(path, init);
    const data = await res.json();
    if (!res.ok) throw new Error(data.error || res.statusText);
    return data;
  } finally {
    if (kind && pending[kind] === ctrl) delete pending[kind];
  }
}

function say(text, isError) {
  const el = $("status");
  el.textContent = text || "";
  el.className = isError ? "error" : "";
}

// run fn(); report its error in the status line (an aborted request is not an error: a newer one replaced it)
async function attempt(fn) {
  try {
    await fn();
    say("");
  } catch (err) {
    if (err.name !== "AbortError") say(err.message, true);
  }
}

const png = (b64) => "data:image/png;base64," + b64;
function show(img, b64) {
  img.src = png(b64);
  img.hidden = false;
}
function debounce(fn, ms) {
  let t;
  return (...a) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...a), ms);
  };
}
const has = (cap) => state.model && state.model.capabilities.includes(cap);
const num = (id) => Number($(id).value);

// --- models and panels ------------------------------------------------------------------------------
async function init() {
  const [models, runs] = await Promise.all([api("/api/models"), api("/api/runs")]);
  if (location.search.includes("token=")) history.replaceState(null, "", "/"); // the cookie holds it now
  state.models = models.models;
  state.runsEnabled = runs.enabled;
  const pick = $("model");
  for (const m of state.models) pick.add(new Option(`${m.name} (${m.family}, step ${m.step})`, m.id));
  pick.addEventListener("change", () => chooseModel(pick.value));
  for (const b of document.querySelectorAll("#tabs button")) b.addEventListener("click", () => showPanel(b.dataset.panel));
  wireGenerate();
  wireExplore();
  wireTransform();
  wireTables();
  wireAnomaly();
  wireRuns(runs.runs);
  if (state.models.length) chooseModel(state.models[0].id);
  else {
    $("model-info").textContent = "no models loaded (ganforge serve RUN ...)";
    layout();
  }
}

function fillClasses(select, m) {
  select.replaceChildren(new Option("all (balanced)", ""));
  m.classes.forEach((name, i) => select.add(new Option(`${i}: ${name}`, String(i))));
}

function fillTruncation(prefix, m) {
  if (!m.truncation) return;
  const t = m.truncation, slider = $(prefix + "-trunc");
  Object.assign(slider, { min: t.min, max: t.max, value: t.default });
  $(prefix + "-trunc-out").textContent = `${t.default} (${t.space === "w" ? "psi in W" : "|z| limit"})`;
}

function chooseModel(id) {
  const m = state.models.find((x) => x.id === id);
  state.model = m;
  $("model").value = id;
  $("model-info").textContent = `${m.family} · ${m.kind} ${m.shape.join("×")} · can: ${m.capabilities.join(", ")}`;
  for (const s of ["gen-class", "int-class", "proj-class"]) fillClasses($(s), m);
  fillTruncation("gen", m);
  fillTruncation("int", m);
  if (m.num_ws) {
    const cross = $("mix-cross");
    cross.max = m.num_ws - 1;
    cross.value = Math.min(Math.max(1, Math.floor(m.num_ws / 2)), m.num_ws - 1);
    crossoverText();
  }
  const dirs = $("tr-directions");
  dirs.replaceChildren();
  m.directions.forEach((d, i) => {
    const label = document.createElement("label");
    const radio = Object.assign(document.createElement("input"), { type: "radio", name: "direction", value: d, checked: i === 0 });
    label.append(radio, " " + d.replace("to", " → "));
    dirs.append(label);
  });
  fillWhere(m);
  if (m.anomaly) $("det-threshold").value = m.anomaly.threshold === null ? "" : m.anomaly.threshold.toFixed(3);
  clearResults();
  layout();
}

// which tabs, blocks and controls apply to the chosen model: from its capabilities only
function layout() {
  for (const el of document.querySelectorAll("[data-cap]")) el.hidden = !has(el.dataset.cap);
  for (const b of document.querySelectorAll("#tabs button")) {
    const panel = $(b.dataset.panel);
    b.hidden = panel.id === "runs" ? !state.runsEnabled : !panel.dataset.caps.split(" ").some(has);
  }
  const visible = [...document.querySelectorAll("#tabs button")].filter((b) => !b.hidden);
  if (!visible.some((b) => b.dataset.panel === state.panel)) showPanel(visible.length ? visible[0].dataset.panel : null);
  else showPanel(state.panel);
}

function showPanel(name) {
  state.panel = name;
  for (const p of document.querySelectorAll(".panel")) p.hidden = p.id !== name;
  for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("active", b.dataset.panel === name);
  if (name === "generate") refreshGenerate();
  if (name === "explore") {
    if (has("interpolate")) refreshInterpolation();
    if (has("style-mixing")) refreshMixing();
  }
  if (name === "runs") pollRuns();
}

const classOf = (id) => ($(id).value === "" ? null : Number($(id).value));
const truncOf = (prefix) => (has("truncation") && $(prefix + "-trunc-on").checked ? num(prefix + "-trunc") : null);

// --- generate -------------------------------------------------------------------------------------
function wireGenerate() {
  const update = debounce(refreshGenerate, 120);
  for (const id of ["gen-seed", "gen-count", "gen-class", "gen-trunc-on", "gen-trunc"]) $(id).addEventListener("input", update);
  $("gen-count").addEventListener("input", () => ($("gen-count-out").textContent = $("gen-count").value));
  $("gen-trunc").addEventListener("input", () => ($("gen-trunc-out").textContent = $("gen-trunc").value));
  $("gen-random").addEventListener("click", () => {
    $("gen-seed").value = Math.floor(Math.random() * 100000);
    refreshGenerate();
  });
}

function refreshGenerate() {
  if (!has("generate")) return;
  attempt(async () => {
    const out = await api(
      "/api/generate",
      { model: state.model.id, seed: num("gen-seed"), count: num("gen-count"), label: classOf("gen-class"), truncation: truncOf("gen") },
      "generate",
    );
    if (out.points) drawPoints($("gen-points"), out.points);
    else {
      $("gen-points").hidden = true;
      show($("gen-image"), out.image);
    }
    $("gen-image").dataset.seed = $("gen-seed").value;
  });
}

function drawPoints(canvas, points) {
  canvas.hidden = false;
  $("gen-image").hidden = true;
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const lo = Math.min(...xs, ...ys), hi = Math.max(...xs, ...ys), span = hi - lo || 1;
  ctx.fillStyle = "#e07b39";
  for (const [x, y] of points) ctx.fillRect(((x - lo) / span) * (canvas.width - 8) + 2, canvas.height - 6 - ((y - lo) / span) * (canvas.height - 8), 4, 4);
}

// --- explore --------------------------------------------------------------------------------------
function wireExplore() {
  const interp = debounce(refreshInterpolation, 150);
  for (const id of ["int-a", "int-b", "int-steps", "int-class", "int-trunc-on", "int-trunc"]) $(id).addEventListener("input", interp);
  $("int-steps").addEventListener("input", () => ($("int-steps-out").textContent = $("int-steps").value));
  $("int-trunc").addEventListener("input", () => ($("int-trunc-out").textContent = $("int-trunc").value));
  $("int-play").addEventListener("click", () => {
    state.playing = !state.playing;
    $("int-play").textContent = state.playing ? "pause" : "play";
  });
  setInterval(() => {
    if (!state.playing || !state.frames.length) return;
    state.frame = (state.frame + 1) % state.frames.length;
    show($("int-anim"), state.frames[state.frame]);
  }, 150);
  const mix = debounce(refreshMixing, 150);
  for (const id of ["mix-rows", "mix-cols", "mix-cross", "mix-psi"]) $(id).addEventListener("input", mix);
  $("mix-cross").addEventListener("input", crossoverText);
  $("mix-psi").addEventListener("input", () => ($("mix-psi-out").textContent = $("mix-psi").value));
  $("proj-go").addEventListener("click", project);
}

function refreshInterpolation() {
  attempt(async () => {
    const out = await api(
      "/api/interpolate",
      { model: state.model.id, seed_a: num("int-a"), seed_b: num("int-b"), steps: num("int-steps"), label: classOf("int-class"), truncation: truncOf("int") },
      "interpolate",
    );
    show($("int-strip"), out.strip);
    state.frames = out.frames;
    state.frame = 0;
    show($("int-anim"), out.frames[0]);
  });
}

// which style inputs (layers) take the row seed's styles and which the column seed's
function crossoverText() {
  const k = num("mix-cross"), last = state.model.num_ws - 1;
  $("mix-cross-out").textContent = `layers 0–${k - 1} from rows, ${k}–${last} from columns`;
}

const seeds = (id) => $(id).value.split(/[\s,]+/).filter((s) => s !== "").map(Number);

function refreshMixing() {
  attempt(async () => {
    const out = await api(
      "/api/style-mix",
      { model: state.model.id, row_seeds: seeds("mix-rows"), col_seeds: seeds("mix-cols"), crossover: num("mix-cross"), psi: num("mix-psi") },
      "mix",
    );
    show($("mix-image"), out.image);
  });
}

function upload(fileInput, fields) {
  const file = fileInput.files[0];
  if (!file) throw new Error("choose an image file first");
  const form = new FormData();
  form.append("model", state.model.id);
  form.append("image", file);
  for (const [k, v] of Object.entries(fields)) if (v !== null && v !== "") form.append(k, v);
  return form;
}

function project() {
  attempt(async () => {
    say("projecting…");
    const out = await api("/api/project", upload($("proj-file"), { steps: $("proj-steps").value, label: $("proj-class").value }), "project");
    show($("proj-target"), out.target);
    show($("proj-recon"), out.reconstruction);
    $("proj-psnr").textContent = `reconstruction, PSNR ${out.psnr.toFixed(2)} dB`;
    lineChart($("proj-loss"), out.losses.map((v, i) => ({ step: i, loss: v })), ["loss"]);
  });
}

// --- transform ------------------------------------------------------------------------------------
function wireTransform() {
  $("tr-go").addEventListener("click", () =>
    attempt(async () => {
      const dir = document.querySelector("input[name=direction]:checked");
      const out = await api("/api/translate", upload($("tr-file"), { direction: dir ? dir.value : "AtoB" }), "translate");
      show($("tr-input"), out.input);
      show($("tr-output"), out.output);
      $("tr-caption").textContent = `output (${out.direction})`;
    }),
  );
}

// --- tables ---------------------------------------------------------------------------------------
const downloads = {}; // link id -> its blob: URL (revoked when replaced)

function offerDownload(id, text) {
  if (downloads[id]) URL.revokeObjectURL(downloads[id]);
  downloads[id] = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
  Object.assign($(id), { href: downloads[id], hidden: false });
}

// a table of texts: header, rows; cls(i, j) -> a class name for a cell (or "")
function fillTable(table, header, rows, cls) {
  table.replaceChildren(
    el("tr", {}, ...header.map((h) => el("th", {}, h))),
    ...rows.map((r, i) => el("tr", {}, ...r.map((v, j) => el("td", { className: cls ? cls(i, j) : "" }, v)))),
  );
}

// another model: the tables and scores shown were the previous model's
function clearResults() {
  for (const id of ["imp-before", "imp-after", "imp-download", "syn-download", "det-hist"]) $(id).setAttribute("hidden", "");
  for (const id of ["imp-preview", "syn-preview", "syn-hists", "det-table"]) $(id).replaceChildren();
  $("syn-note").textContent = "";
}

function fillWhere(m) {
  const cats = m.table ? m.table.columns.filter((c) => c.kind === "categorical") : [];
  const col = $("syn-col");
  col.replaceChildren(new Option("(any row)", ""), ...cats.map((c) => new Option(c.name, c.name)));
  whereValues();
}

function whereValues() {
  const m = state.model, name = $("syn-col").value, val = $("syn-val");
  const c = m && m.table ? m.table.columns.find((x) => x.name === name) : null;
  val.replaceChildren(...(c ? c.categories.map((k) => new Option(k, k)) : []));
  val.disabled = !c;
}

function wireTables() {
  $("syn-col").addEventListener("change", whereValues);
  $("imp-go").addEventListener("click", () =>
    attempt(async () => {
      const file = $("imp-file").files[0];
      if (!file) throw new Error("choose a CSV table first");
      const form = new FormData();
      form.append("model", state.model.id);
      form.append("table", file);
      form.append("seed", $("imp-seed").value || "0");
      say("imputing…");
      const out = await api("/api/impute", form, "impute");
      show($("imp-before"), out.heatmap_before);
      show($("imp-after"), out.heatmap_after);
      const counts = out.columns.map((c) => `${c} ${out.missing_before[c]} → ${out.missing_after[c]}`).join(", ");
      const sampled = out.heatmap_rows < out.rows ? ` (heatmaps: ${out.heatmap_rows} evenly spaced rows)` : "";
      $("imp-summary").textContent = `${out.rows} rows, ${out.filled} cells filled; missing per column: ${counts}${sampled}. First rows:`;
      fillTable($("imp-preview"), out.columns, out.preview.rows, (i, j) => (out.preview.filled[i][j] ? "filled" : ""));
      offerDownload("imp-download", out.csv);
    }),
  );
  $("syn-go").addEventListener("click", () =>
    attempt(async () => {
      const col = $("syn-col").value;
      const body = { model: state.model.id, n: num("syn-n"), seed: num("syn-seed") };
      if (col) body.where = { [col]: $("syn-val").value };
      say("synthesizing…");
      const out = await api("/api/synthesize", body, "synthesize");
      const hists = $("syn-hists");
      hists.replaceChildren();
      for (const h of out.histograms) hists.append(columnHistogram(h));
      const partial = out.histograms.some((h) => !h.real) ? " Some columns have no recorded training distribution: synthetic only." : "";
      $("syn-note").textContent = `${out.n} rows${col ? ` where ${col} = ${body.where[col]}` : ""}. Orange: synthetic; blue: ${out.real_note.replace(/^real: /, "")}.${partial}`;
      fillTable($("syn-preview"), out.columns, out.preview);
      offerDownload("syn-download", out.csv);
    }),
  );
}

const SVG = "http://www.w3.org/2000/svg";
function svgEl(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// bars per bin: a (counts, drawn as shares) and b (shares) side by side; labels under the first and last bin
function barChart(svg, a, b, labels, title) {
  const w = Number(svg.getAttribute("width")), h = Number(svg.getAttribute("height")), pad = 22;
  svg.replaceChildren();
  svg.removeAttribute("hidden");
  const total = a.reduce((x, y) => x + y, 0) || 1;
  const sa = a.map((v) => v / total), sb = b || [];
  const top = Math.max(...sa, ...sb, 1e-9);
  const bw = (w - 16) / a.length, inner = b ? bw / 2 - 1 : bw - 2;
  const y = (v) => h - pad - (v / top) * (h - pad - 18);
  sa.forEach((v, i) => svg.append(svgEl("rect", { x: 8 + i * bw, y: y(v), width: Math.max(inner, 1), height: h - pad - y(v), class: "bar-a" })));
  sb.forEach((v, i) => svg.append(svgEl("rect", { x: 8 + i * bw + inner + 1, y: y(v), width: Math.max(inner, 1), height: h - pad - y(v), class: "bar-b" })));
  svg.append(svgEl("text", { x: 8, y: 12, class: "title" }, title));
  svg.append(svgEl("text", { x: 8, y: h - 6, class: "axis" }, labels[0]));
  svg.append(svgEl("text", { x: w - 8, y: h - 6, class: "axis", "text-anchor": "end" }, labels[labels.length - 1]));
  return svg;
}

const short = (v) => (Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1) : String(Number(v.toPrecision(3))));

function columnHistogram(h) {
  const svg = svgEl("svg", { width: 240, height: 140, class: "chart hist", "data-column": h.name });
  const labels = h.kind === "categorical" ? h.categories : [short(h.edges[0]), short(h.edges[h.edges.length - 1])];
  return barChart(svg, h.synthetic, h.real, labels, `${h.name} (${h.kind})`);
}

// --- anomaly --------------------------------------------------------------------------------------
function wireAnomaly() {
  $("det-go").addEventListener("click", () =>
    attempt(async () => {
      const files = [...$("det-files").files];
      if (!files.length) throw new Error("choose one or more images first");
      const form = new FormData();
      form.append("model", state.model.id);
      for (const f of files) form.append("images", f);
      if ($("det-threshold").value !== "") form.append("threshold", $("det-threshold").value);
      say("scoring…");
      const out = await api("/api/detect", form, "detect");
      const hist = out.histogram, edges = hist.edges;
      barChart($("det-hist"), hist.counts, null, [short(edges[0]), short(edges[edges.length - 1])], "anomaly scores");
      const lo = edges[0], hi = edges[edges.length - 1], w = 420;
      const x = 8 + ((out.threshold - lo) / (hi - lo || 1)) * (w - 16);
      if (x >= 8 && x <= w - 8) $("det-hist").append(svgEl("line", { x1: x, x2: x, y1: 16, y2: 178, class: "threshold" }));
      $("det-summary").textContent = `${out.count} images, ${out.flagged} over the threshold ${out.threshold.toFixed(3)} (dashed line; default ${out.default_threshold.toFixed(3)}).`;
      const rows = out.scores.map((s) => [s.name, s.score.toFixed(4), s.anomalous ? "anomalous" : "normal"]);
      fillTable($("det-table"), ["file", "score", ""], rows, (i) => (out.scores[i].anomalous ? "flagged" : ""));
    }),
  );
}

// --- runs -----------------------------------------------------------------------------------------
const sides = [];

function wireRuns(runs) {
  document.querySelectorAll(".run-side").forEach((el) => {
    const side = { el, pick: el.querySelector(".run-pick"), card: el.querySelector(".run-card"), id: null, records: [], next: 0, step: null, busy: false, again: false };
    side.pick.addEventListener("change", () => selectRun(side, side.pick.value));
    sides.push(side);
  });
  fillRunPickers(runs);
  sides.forEach((side, i) => runs.length && selectRun(side, runs[Math.min(i, runs.length - 1)].id));
  setInterval(() => state.panel === "runs" && pollRuns(), 2000);
}

function fillRunPickers(runs) {
  for (const side of sides) {
    const keep = side.pick.value;
    side.pick.replaceChildren(...runs.map((r) => new Option(`${r.name} (${r.family})`, r.id)));
    if (runs.some((r) => r.id === keep)) side.pick.value = keep;
  }
}

function selectRun(side, id) {
  Object.assign(side, { id, records: [], next: 0, step: null });
  side.pick.value = id;
  side.card.replaceChildren();
  if (state.panel === "runs") attempt(() => pollSide(side));
}

async function pollRuns() {
  if (!state.runsEnabled) return;
  await attempt(async () => {
    const list = await api("/api/runs");
    fillRunPickers(list.runs);
    await Promise.all(sides.filter((s) => s.id).map(pollSide));
  });
}

// one poll per side at a time (two would both append the records after the same `since`); a poll
// asked for meanwhile (another run chosen) runs when the current one ends
async function pollSide(side) {
  if (side.busy) {
    side.again = true;
    return;
  }
  side.busy = true;
  try {
    const id = side.id;
    const [detail, metrics] = await Promise.all([api(`/api/runs/${id}`), api(`/api/runs/${id}/metrics?since=${side.next}`)]);
    if (side.id !== id) return; // another run was chosen meanwhile: its poll follows
    side.records.push(...metrics.records);
    side.next = metrics.next;
    renderRun(side, detail);
  } finally {
    side.busy = false;
    if (side.again) {
      side.again = false;
      pollSide(side).catch((err) => say(err.message, true));
    }
  }
}

function el(tag, attrs, ...children) {
  const e = Object.assign(document.createElement(tag), attrs || {});
  e.append(...children);
  return e;
}

function renderRun(side, d) {
  const card = side.card;
  if (!card.firstChild) {
    card.append(
      el("h3", { className: "run-name" }),
      el("div", { className: "bar" }, el("div", { className: "fill" })),
      el("p", { className: "run-progress muted" }),
      document.createElementNS("http://www.w3.org/2000/svg", "svg"),
      el("img", { className: "run-sample", alt: "latest samples", hidden: true }),
      el("table", { className: "evals" }),
      el("details", {}, el("summary", {}, "config"), el("pre", { className: "config" })),
    );
    const svg = card.querySelector("svg");
    svg.setAttribute("class", "chart loss-chart");
    svg.setAttribute("width", "420");
    svg.setAttribute("height", "200");
  }
  card.querySelector(".run-name").textContent = d.name + (d.training ? " · training" : "");
  card.querySelector(".fill").style.width = `${Math.round(100 * (d.progress || 0))}%`;
  card.querySelector(".run-progress").textContent = `${d.family} · step ${d.step} of ${d.steps}`;
  const keys = [...new Set(side.records.flatMap((r) => Object.keys(r).filter((k) => k.startsWith("loss"))))].sort();
  lineChart(card.querySelector("svg"), side.records, keys);
  const img = card.querySelector(".run-sample");
  if (d.sample_step !== null && side.step !== d.sample_step) {
    side.step = d.sample_step;
    img.src = `/api/runs/${side.id}/sample.png?step=${d.sample_step}`;
    img.hidden = false;
  }
  const table = card.querySelector(".evals");
  table.replaceChildren();
  for (const e of d.evals) {
    const figures = Object.entries(e).filter(([k, v]) => typeof v === "number" && !["step", "n", "seed"].includes(k));
    table.append(el("tr", {}, el("td", {}, `eval at step ${e.step ?? "?"}`), el("td", {}, figures.map(([k, v]) => `${k} ${v.toPrecision(4)}`).join(", "))));
  }
  card.querySelector(".config").textContent = JSON.stringify(d.config, null, 2);
}

// --- a small SVG line chart: one line per key, x = step ---------------------------------------------
const COLORS = ["#3b82c4", "#e07b39", "#3a9e5c", "#c0392b", "#8e44ad", "#7f8c8d"];

function lineChart(svg, records, keys) {
  const ns = "http://www.w3.org/2000/svg";
  const w = Number(svg.getAttribute("width")), h = Number(svg.getAttribute("height")), pad = 28;
  svg.replaceChildren();
  svg.removeAttribute("hidden");
  const pts = records.filter((r) => typeof r.step === "number");
  const vals = pts.flatMap((r) => keys.map((k) => r[k]).filter((v) => typeof v === "number"));
  if (!pts.length || !vals.length) return;
  const x0 = pts[0].step, x1 = pts[pts.length - 1].step || x0 + 1, lo = Math.min(...vals), hi = Math.max(...vals);
  const sx = (x) => pad + ((x - x0) / (x1 - x0 || 1)) * (w - pad - 8);
  const sy = (y) => h - pad + 8 - ((y - lo) / (hi - lo || 1)) * (h - pad);
  const text = (x, y, s, anchor) => {
    const t = document.createElementNS(ns, "text");
    for (const [k, v] of Object.entries({ x, y, "text-anchor": anchor || "start", class: "axis" })) t.setAttribute(k, v);
    t.textContent = s;
    svg.append(t);
  };
  keys.forEach((k, i) => {
    const line = document.createElementNS(ns, "polyline");
    const xy = pts.filter((r) => typeof r[k] === "number").map((r) => `${sx(r.step).toFixed(1)},${sy(r[k]).toFixed(1)}`);
    line.setAttribute("points", xy.join(" "));
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", COLORS[i % COLORS.length]);
    line.setAttribute("class", "series");
    svg.append(line);
    const t = document.createElementNS(ns, "text");
    for (const [a, v] of Object.entries({ x: w - 8, y: 14 + 13 * i, "text-anchor": "end", fill: COLORS[i % COLORS.length], class: "legend" })) t.setAttribute(a, v);
    t.textContent = k;
    svg.append(t);
  });
  text(2, 12, hi.toPrecision(3));
  text(2, h - pad + 8, lo.toPrecision(3));
  text(pad, h - 4, String(x0));
  text(w - 8, h - 4, `step ${x1}`, "end");
}

init().catch((err) => say(err.message, true));
