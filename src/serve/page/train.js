// ---- training: the error curves, the decision surface with axes and legend, the run loop ----

function drawCurve() {
  const svg = $("curve");
  svg.innerHTML = "";
  const W = 330, H = 160, pad = 40, plotW = W - pad - 8, plotH = H - 48, top = 20;
  svg.appendChild(el("rect", { x: pad, y: top, width: plotW, height: plotH, fill: "#f9fafb", stroke: "#d1d5db" }));
  const plane = state.meanCurve.length > 0;
  // [epoch, error] series: the training and test errors per association after each request,
  // or the error of every epoch
  const series = plane
    ? [{ name: "training", colour: "#2563eb", data: state.meanCurve }, { name: "test", colour: "#ea580c", data: state.testCurve }]
    : [{ name: "error per epoch" + ($("reduction").value === "mean" ? " (mean)" : " (sum over associations)"), colour: "#2563eb", data: state.curve.map((e, k) => [k + 1, e]) }];
  const all = series.flatMap((s) => s.data);
  svg.appendChild(el("text", { x: pad, y: 12, "font-size": 10, fill: "#374151" }, plane ? "mean error per association:" : ""));
  let legendX = plane ? pad + 168 : pad;
  for (const s of series) {
    if (!s.data.length && plane) continue;
    svg.appendChild(el("line", { x1: legendX, y1: 9, x2: legendX + 14, y2: 9, stroke: s.colour, "stroke-width": 2 }));
    const t = el("text", { x: legendX + 18, y: 12, "font-size": 10 }, s.name);
    svg.appendChild(t);
    legendX += 26 + 6.2 * s.name.length;
  }
  if (!all.length) { svg.appendChild(el("text", { x: pad + 8, y: top + 50, "font-size": 11 }, "press run (or one epoch) to draw the error")); return; }
  const logs = all.map(([, e]) => Math.log10(Math.max(e, 1e-12)));
  const lo = Math.floor(Math.min(...logs)), hi = Math.max(lo + 1, Math.ceil(Math.max(...logs)));
  const first = Math.min(...all.map(([t]) => t)), last = Math.max(...all.map(([t]) => t));
  const xOf = (t) => pad + plotW * (last === first ? 0 : (t - first) / (last - first));
  const yOf = (e) => top + plotH * (hi - Math.log10(Math.max(e, 1e-12))) / (hi - lo);
  // a line at each power of ten, labelled where there is room
  const every = Math.ceil((hi - lo) / 6);
  for (let d = lo; d <= hi; d++) {
    svg.appendChild(el("line", { x1: pad, y1: yOf(Math.pow(10, d)), x2: pad + plotW, y2: yOf(Math.pow(10, d)), stroke: "#e5e7eb" }));
    if ((hi - d) % every === 0) svg.appendChild(el("text", { x: pad - 4, y: yOf(Math.pow(10, d)) + 3, "font-size": 9, "text-anchor": "end" }, "1e" + d));
  }
  for (const s of series) {
    const stride = Math.max(1, Math.floor(s.data.length / 600));
    const points = [];
    for (let k = 0; k < s.data.length; k += stride) points.push(xOf(s.data[k][0]).toFixed(1) + "," + yOf(s.data[k][1]).toFixed(1));
    if (points.length) svg.appendChild(el("polyline", { points: points.join(" "), fill: "none", stroke: s.colour, "stroke-width": 1.5 }));
  }
  svg.appendChild(el("text", { x: pad, y: H - 14, "font-size": 10 }, "epoch " + first));
  svg.appendChild(el("text", { x: W - 8, y: H - 14, "font-size": 10, "text-anchor": "end" }, "epoch " + last));
}

// the decision surface (or, while a neuron is hovered, that neuron's output) over the plane
let surfaceNeuron = null;
function showSurfaceOf(l, j) { surfaceNeuron = l === null ? null : [l, j]; drawSurface(); }

function ticks(lo, hi) {
  const step = Math.pow(10, Math.floor(Math.log10((hi - lo) / 2)));
  const unit = (hi - lo) / step > 8 ? step * 2 : step;
  const out = [];
  for (let t = Math.ceil(lo / unit) * unit; t <= hi + 1e-9; t += unit) out.push(Math.round(t / unit) * unit);
  return out;
}

function drawSurface() {
  const p = state.pictures, svg = $("surface");
  svg.innerHTML = "";
  $("surface-box").style.display = p ? "block" : "none";
  if (!p) return;
  const X = 40, Y = 8, S = 230;
  let values = p.values, n = p.n, range = [0, 1], title;
  const L = state.summary.sizes.length;
  if (surfaceNeuron && neuronMap(surfaceNeuron[0], surfaceNeuron[1])) {
    const m = neuronMap(surfaceNeuron[0], surfaceNeuron[1]);
    values = m.values; n = m.n; range = m.range;
    title = "neuron " + letter(L, surfaceNeuron[0]) + "[" + surfaceNeuron[1] + "]'s output over the plane";
  } else {
    range = rangeOf(state.summary.activations[L - 2], values);
    title = "the network's output over the plane (its decision surface)";
  }
  $("surface-title").textContent = title;
  svg.appendChild(el("image", { x: X, y: Y, width: S, height: S, href: heatmapURL(values, n, range), preserveAspectRatio: "none" }));
  svg.appendChild(el("rect", { x: X, y: Y, width: S, height: S, fill: "none", stroke: "#374151" }));
  const px = (x) => X + (x - p.x[0]) / (p.x[1] - p.x[0]) * S, py = (y) => Y + (p.y[1] - y) / (p.y[1] - p.y[0]) * S;
  // axes
  for (const t of ticks(p.x[0], p.x[1])) {
    svg.appendChild(el("line", { x1: px(t), y1: Y + S, x2: px(t), y2: Y + S + 4, stroke: "#374151" }));
    svg.appendChild(el("text", { x: px(t), y: Y + S + 15, "font-size": 9, "text-anchor": "middle" }, String(+t.toFixed(2))));
  }
  for (const t of ticks(p.y[0], p.y[1])) {
    svg.appendChild(el("line", { x1: X - 4, y1: py(t), x2: X, y2: py(t), stroke: "#374151" }));
    svg.appendChild(el("text", { x: X - 6, y: py(t) + 3, "font-size": 9, "text-anchor": "end" }, String(+t.toFixed(2))));
  }
  svg.appendChild(el("text", { x: X + S / 2, y: Y + S + 28, "font-size": 11, "text-anchor": "middle" }, "x1"));
  svg.appendChild(el("text", { x: 10, y: Y + S / 2, "font-size": 11 }, "x2"));
  // the points: training filled, test ringed in black
  for (const [list, ring] of [[state.summary.points, "#fff"], [state.summary.test_points || [], "#111827"]]) {
    for (const [x, y, t] of list) {
      svg.appendChild(el("circle", { cx: px(x), cy: py(y), r: 3.5, fill: t > 0.5 ? "#0877bd" : "#f59322", stroke: ring, "stroke-width": 1 }));
    }
  }
  // the colour legend
  const LX = X + S + 18, LH = S - 20;
  const steps = 20;
  for (let k = 0; k < steps; k++) {
    const [r, g, b] = colour(1 - k / (steps - 1));
    svg.appendChild(el("rect", { x: LX, y: Y + 10 + k * LH / steps, width: 12, height: LH / steps + 0.5, fill: "rgb(" + r + "," + g + "," + b + ")" }));
  }
  svg.appendChild(el("text", { x: LX + 16, y: Y + 16, "font-size": 9 }, String(+range[1].toFixed(3))));
  svg.appendChild(el("text", { x: LX + 16, y: Y + 10 + LH, "font-size": 9 }, String(+range[0].toFixed(3))));
  const tested = (state.summary.test_points || []).length > 0;
  svg.appendChild(el("text", { x: X, y: Y + S + 44, "font-size": 10, fill: "#374151" }, "points: blue class 1, orange class 0" + (tested ? ";" : "")));
  if (tested) svg.appendChild(el("text", { x: X, y: Y + S + 57, "font-size": 10, fill: "#374151" }, "ringed in black: the test points"));
}

function trainRequest(epochs) {
  const batch = $("batch").value === "mini" ? { mini: Number($("batch-size").value) } : $("batch").value;
  const request = { epochs, learning_rate: Number($("learning-rate").value), optimiser: $("optimiser").value, batch, reduction: $("reduction").value };
  const l2 = Number($("l2").value);
  if (l2 > 0) request.l2 = l2;
  if (state.pictures) {
    request.surface = 40;
    // the neurons' pictures are redrawn ten times a second: asked for as often
    const now = performance.now();
    if (!(now - (state.heatmapsAskedAt || 0) < 100)) { request.heatmaps = 16; state.heatmapsAskedAt = now; }
  }
  return request;
}

const speed = { frames: [], epochs: [] };
async function trainOnce(epochs) {
  const reply = (await api("POST", "/api/train", trainRequest(epochs))).json();
  for (const e of reply.errors) state.curve.push(e);
  if (reply.mean_error !== undefined && reply.mean_error !== null) state.meanCurve.push([reply.epochs, reply.mean_error]);
  if (reply.test_error !== undefined && reply.test_error !== null) {
    state.testCurve.push([reply.epochs, reply.test_error]);
    $("test-error").textContent = fmt(reply.test_error);
  }
  $("epochs").textContent = reply.epochs;
  $("train-error").textContent = fmt(reply.error);
  const now = performance.now();
  speed.frames.push(now); speed.epochs.push(reply.epochs);
  while (speed.frames.length > 2 && now - speed.frames[0] > 2000) { speed.frames.shift(); speed.epochs.shift(); }
  if (speed.frames.length > 1) {
    const seconds = (now - speed.frames[0]) / 1000;
    $("train-speed").textContent = Math.round((speed.frames.length - 1) / seconds) + " updates of the page per second, "
      + Math.round((speed.epochs[speed.epochs.length - 1] - speed.epochs[0]) / seconds) + " epochs per second";
  }
  if (reply.surface) {
    // keep the last neurons' pictures when this reply has none
    if (!reply.surface.heatmaps && state.pictures) reply.surface.heatmaps = state.pictures.heatmaps;
    state.pictures = reply.surface;
  }
  drawCurve();
  drawSurface();
}

async function runLoop() {
  hint("Training. The step panel follows the weights as they change; press pause to stop and step through the trained network.");
  speed.frames = []; speed.epochs = [];
  let lastWalk = performance.now(), lastNetwork = lastWalk;
  while (state.running) {
    await trainOnce(Number($("speed").value));
    // the step panel shows the weights being trained, not the ones training started from
    // (its numbers a few times a second, the neurons' pictures ten times)
    const now = performance.now();
    if (now - lastWalk > 400) { await loadWalk(false); lastWalk = lastNetwork = performance.now(); }
    else if (state.step && state.pictures && now - lastNetwork > 100) { drawNetwork(state.step); lastNetwork = now; }
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  await loadWalk(false);
  hint("Paused at epoch " + $("epochs").textContent + ". Step through the association with next and back, or press run to go on.");
}

function stopTraining() { state.running = false; }

$("run").addEventListener("click", () => guarded(async () => { if (!state.running) { state.running = true; await runLoop(); } }));
$("pause").addEventListener("click", stopTraining);
$("epoch").addEventListener("click", () => guarded(async () => { stopTraining(); await trainOnce(1); await loadWalk(false); }));
$("reset").addEventListener("click", () => guarded(async () => { stopTraining(); afterBuild((await api("POST", "/api/reset", {})).json()); await loadWalk(true); }));
$("reduction").addEventListener("change", drawCurve);
