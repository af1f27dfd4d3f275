// ---- the page's state, the server's API, the forms (no number is computed here) ----
const $ = (id) => document.getElementById(id);
const SVGNS = "http://www.w3.org/2000/svg";
const ACTIVATIONS = ["identity", "sigmoid", "tanh", "relu", "leaky_relu"];
const PLANE_SETS = ["moons", "circle", "gaussian", "spiral", "xor_plane"];
const PRESETS = {
  worked: { sizes: "2,2,1", acts: ["sigmoid", "identity"], bias: "none", init: "constant", value: 0.5, seed: 1, lr: 0.01, optimiser: "gd", batch: "full", speed: 1 },
  xor: { sizes: "2,3,1", acts: ["sigmoid", "sigmoid"], bias: "1", init: "random", value: 0.5, seed: 1, lr: 0.1, optimiser: "adam", batch: "full", speed: 20 },
  moons: { sizes: "2,16,16,1", acts: ["tanh", "tanh", "sigmoid"], bias: "1", init: "random", value: 0.5, seed: 1, lr: 0.01, optimiser: "adam", batch: "mini", speed: 5 },
  circle: { sizes: "2,4,2,1", acts: ["tanh", "tanh", "sigmoid"], bias: "1", init: "random", value: 0.5, seed: 1, lr: 0.03, optimiser: "adam", batch: "mini", speed: 5 },
  gaussian: { sizes: "2,2,1", acts: ["tanh", "sigmoid"], bias: "1", init: "random", value: 0.5, seed: 1, lr: 0.03, optimiser: "adam", batch: "mini", speed: 5 },
  spiral: { sizes: "2,16,16,1", acts: ["tanh", "tanh", "sigmoid"], bias: "1", init: "random", value: 0.5, seed: 1, lr: 0.01, optimiser: "adam", batch: "mini", speed: 5 },
  xor_plane: { sizes: "2,4,1", acts: ["tanh", "sigmoid"], bias: "1", init: "random", value: 0.5, seed: 1, lr: 0.03, optimiser: "adam", batch: "mini", speed: 5 },
  csv: null,
};
const state = {
  token: null, walk: null, index: 0, running: false, summary: null, csvText: null,
  curve: [], meanCurve: [], testCurve: [], pictures: null, walkEpoch: 0,
  // the activation chosen for each hidden layer and for the output, kept while widths are typed
  hidden: ["sigmoid"], output: "identity", hiddenDefault: "sigmoid",
};

// error messages from the server, in words for the person at the page
function plainMessage(text, status) {
  if (/session/i.test(text) && (status === 401 || status === 404 || /no session|unknown session/i.test(text))) {
    return "This page lost its place on the server (the server was restarted, or the page sat unused for a long time). Reload the page to start again.";
  }
  if (status === 429 || status === 503) return "The server is busy: " + text + ". Wait a moment, then try again.";
  return text;
}

function showError(message) {
  const box = $("error");
  if (message) { box.textContent = message; box.style.display = "block"; }
  else { box.textContent = ""; box.style.display = "none"; }
}

function hint(text) { $("next-hint").textContent = text; }

async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (state.token) headers["X-Backprop-Session"] = state.token;
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new Error("The server does not answer. Is `backprop serve` still running? Start it again and reload the page.");
  }
  const text = await response.text();
  if (!response.ok) {
    let message = text;
    try { message = JSON.parse(text).error; } catch (e) { /* not JSON */ }
    throw new Error(plainMessage(message, response.status));
  }
  return { text, json: () => JSON.parse(text) };
}

async function guarded(action) {
  try { showError(null); await action(); }
  catch (e) { state.running = false; showError(e.message); }
}

function el(tag, attrs, text) {
  const node = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

// numbers as the page shows them (display only: the server computed them)
function fmt(v) {
  if (v === null || v === undefined) return "";
  if (v !== 0 && (Math.abs(v) < 1e-4 || Math.abs(v) >= 1e6)) return v.toExponential(3);
  return v.toFixed(6);
}

// the tutorial's letters for a three-layer network, l0, l1, ... otherwise (as the steps name them)
function letter(layers, l) { return layers === 3 ? ["i", "j", "k"][l] : "l" + l; }

function isPlane(preset) { return PLANE_SETS.includes(preset); }

// ---- the network form: widths, one row per layer with +/- and its activation ----

function widths() { return $("sizes").value.split(",").map((s) => s.trim()).filter((s) => s !== ""); }

function setWidths(list) { $("sizes").value = list.join(","); renderLayerRows(); markPending(); }

function renderLayerRows() {
  const sizes = widths();
  const box = $("layers");
  box.innerHTML = "";
  const n = Math.max(0, sizes.length - 1);
  // keep the choices: hidden layers by index, the output on its own; a new hidden layer takes
  // the preset's hidden activation
  while (state.hidden.length < n - 1) state.hidden.push(state.hiddenDefault);
  for (let l = 0; l < n; l++) {
    const output = l === n - 1;
    const row = document.createElement("div");
    row.className = "layer-row";
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = output ? "output" : "hidden " + (l + 1);
    row.appendChild(name);
    const minus = document.createElement("button"), plus = document.createElement("button"), count = document.createElement("span");
    minus.className = plus.className = "small";
    minus.textContent = "-"; plus.textContent = "+";
    minus.title = "one neuron fewer"; plus.title = "one neuron more";
    minus.dataset.layer = plus.dataset.layer = String(l + 1);
    count.className = "count";
    count.textContent = sizes[l + 1] + (sizes[l + 1] === "1" ? " neuron" : " neurons");
    minus.addEventListener("click", () => changeWidth(l + 1, -1));
    plus.addEventListener("click", () => changeWidth(l + 1, 1));
    if (!output) { row.appendChild(minus); row.appendChild(count); row.appendChild(plus); }
    else { row.appendChild(count); }
    const select = document.createElement("select");
    select.id = "activation-" + (l + 1);
    for (const a of ACTIVATIONS) { const o = document.createElement("option"); o.value = a; o.textContent = a; select.appendChild(o); }
    select.value = output ? state.output : state.hidden[l];
    select.addEventListener("change", () => {
      if (output) state.output = select.value; else state.hidden[l] = select.value;
      checkLinear();
      guarded(() => build(null));
    });
    row.appendChild(select);
    box.appendChild(row);
  }
  $("remove-layer").disabled = n < 2;
  checkLinear();
}

function activationsChosen() { return Array.from($("layers").querySelectorAll("select")).map((s) => s.value); }

function checkLinear() {
  const acts = activationsChosen();
  const linear = acts.length > 0 && acts.every((a) => a === "identity");
  const box = $("linear-warning");
  box.style.display = linear ? "block" : "none";
  box.textContent = linear ? "Every layer is identity: the network is linear (a weighted sum of its inputs) and cannot learn XOR or any curved boundary. Choose sigmoid, tanh or relu for a hidden layer." : "";
}

function changeWidth(layer, by) {
  const sizes = widths();
  const n = Number(sizes[layer]) + by;
  if (!(n >= 1)) return;
  sizes[layer] = String(n);
  $("sizes").value = sizes.join(",");
  renderLayerRows();
  guarded(() => build(null));
}

function addLayer() {
  const sizes = widths();
  sizes.splice(sizes.length - 1, 0, sizes.length > 2 ? sizes[sizes.length - 2] : "4");
  state.hidden.splice(sizes.length - 3, 0, state.hidden[sizes.length - 4] || state.hiddenDefault);
  $("sizes").value = sizes.join(",");
  renderLayerRows();
  guarded(() => build(null));
}

function removeLayer() {
  const sizes = widths();
  if (sizes.length < 3) return;
  sizes.splice(sizes.length - 2, 1);
  state.hidden.splice(sizes.length - 2, 1);
  $("sizes").value = sizes.join(",");
  renderLayerRows();
  guarded(() => build(null));
}

function markPending() { $("pending").style.display = "block"; hint("Press build (or Enter in the widths box) to build the network you described."); }
function clearPending() { $("pending").style.display = "none"; }

function features() { return Array.from($("features").querySelectorAll("input:checked")).map((c) => c.value); }

function applyPreset(name) {
  const p = PRESETS[name];
  $("csv-options").style.display = name === "csv" ? "block" : "none";
  $("plane-options").style.display = isPlane(name) ? "block" : "none";
  if (!p) return;
  const sizes = p.sizes.split(",");
  if (isPlane(name)) sizes[0] = String(features().length);
  $("sizes").value = sizes.join(",");
  state.hidden = p.acts.slice(0, -1);
  state.hiddenDefault = p.acts[0];
  state.output = p.acts[p.acts.length - 1];
  renderLayerRows();
  $("bias").value = p.bias; $("init").value = p.init; $("init-value").value = p.value; $("seed").value = p.seed;
  $("learning-rate").value = p.lr; $("optimiser").value = p.optimiser; $("batch").value = p.batch;
  $("speed").value = String(p.speed);
}

function dataRequest() {
  const preset = $("preset").value;
  if (isPlane(preset)) {
    return { plane: { set: preset === "xor_plane" ? "xor" : preset, count: 200, noise: Number($("noise").value), test_fraction: Number($("test-fraction").value), features: features(), seed: Number($("seed").value) } };
  }
  if (preset !== "csv") return { preset };
  if (state.csvText === null) throw new Error("Choose a CSV file first (in the Data box), then press build.");
  const targets = $("csv-targets").value.split(",").map((s) => s.trim()).filter((s) => s);
  return { csv: { text: state.csvText, targets } };
}

function layersRequest() {
  const sizes = widths().map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 0)) throw new Error("Layer widths are whole numbers separated by commas, such as 2,2,1.");
  const activations = activationsChosen();
  const bias = $("bias").value === "none" ? null : Number($("bias").value);
  const init = $("init").value === "constant"
    ? { constant: Number($("init-value").value) }
    : { random: { seed: Number($("seed").value), low: -1, high: 1 } };
  return { layers: { sizes, activations, bias, init } };
}

async function build(network) {
  stopTraining();
  const request = { network: network || layersRequest(), data: dataRequest() };
  // leaving the widths box and clicking build both ask for the same network: build it once
  const key = JSON.stringify(request);
  if (state.building && state.building.key === key) return state.building.done;
  const done = (async () => {
    const summary = (await api("POST", "/api/build", request)).json();
    afterBuild(summary);
    await loadWalk(true);
  })();
  state.building = { key, done };
  try { await done; } finally { if (state.building && state.building.done === done) state.building = null; }
}

function afterBuild(summary) {
  clearPending();
  // the form shows the network built (a loaded model's too)
  $("sizes").value = summary.sizes.join(",");
  state.hidden = summary.activations.slice(0, -1);
  state.output = summary.activations[summary.activations.length - 1];
  renderLayerRows();
  state.summary = summary;
  state.curve = summary.errors.slice();
  state.meanCurve = []; state.testCurve = [];
  state.pictures = summary.pictures || null;
  // numbers typed for another network are not this one's
  answers.clear();
  $("check-verdict").textContent = "";
  $("epochs").textContent = summary.epochs;
  $("train-error").textContent = state.curve.length ? fmt(state.curve[state.curve.length - 1]) : "-";
  $("test-error-box").style.display = summary.test_points && summary.test_points.length ? "inline" : "none";
  $("test-error").textContent = "-";
  $("train-speed").textContent = "";
  const linear = summary.activations.every((a) => a === "identity");
  $("summary").textContent = "Built: network " + summary.sizes.join("-") + " (" + summary.activations.join(", ") + "), bias "
    + (summary.bias === null ? "none" : summary.bias) + ", " + summary.weights + " weights, " + summary.graph_nodes
    + " graph nodes; " + summary.associations + " training associations"
    + (summary.test_points && summary.test_points.length ? ", " + summary.test_points.length + " test points" : "")
    + (linear ? ". Every layer is identity: this network is linear." : "");
  drawCurve();
  drawSurface();
  const steps = summary.associations === 1 ? "Press next to walk the association through the network, one node at a time." : "Press run to train, or next to walk one association through the network.";
  hint("Network built. " + steps);
}

// the walk of one association at the current weights; `fromStart` goes back to its first step
async function loadWalk(fromStart) {
  const body = { association: Number($("association").value), learning_rate: Number($("learning-rate").value) };
  state.walk = (await api("POST", "/api/walk", body)).json();
  state.walkEpoch = state.summary ? Number($("epochs").textContent) : 0;
  if (fromStart || state.index >= state.walk.count) state.index = 0;
  if (fromStart) { answers.clear(); $("check-verdict").textContent = ""; }
  await showStep();
  $("walk-epoch").textContent = "(weights after epoch " + state.walkEpoch + ")";
  document.body.dataset.walkEpoch = String(state.walkEpoch);
  // a counter the browser test waits on
  document.body.dataset.walks = String(Number(document.body.dataset.walks || 0) + 1);
}

async function showStep() {
  const w = state.walk;
  const body = { association: w.association, learning_rate: w.learning_rate, index: state.index };
  const reply = (await api("POST", "/api/step", body)).json();
  const step = reply.step;
  state.step = step;
  $("step-count").textContent = "step " + (reply.index + 1) + " of " + reply.count + ":";
  $("step-title").textContent = step.title;
  const tbody = $("quantities").querySelector("tbody");
  tbody.innerHTML = "";
  for (const q of step.quantities) {
    const tr = document.createElement("tr");
    tr.dataset.name = q.name;
    const cells = [["name", q.name], ["formula", q.formula], ["graph num", fmt(q.graph)], ["textbook num", fmt(q.textbook)], ["difference num", q.difference === 0 ? "0" : q.difference.toExponential(2)]];
    for (const [cls, text] of cells) { const td = document.createElement("td"); td.className = cls; td.textContent = text; tr.appendChild(td); }
    tbody.appendChild(tr);
  }
  if (step.omitted) { const tr = document.createElement("tr"); tr.innerHTML = "<td colspan=5 class=muted></td>"; tr.firstChild.textContent = "... and " + step.omitted + " more"; tbody.appendChild(tr); }
  drawNetwork(step);
  drawGraph(step);
  if (typeof renderCheck === "function") renderCheck(step);
  $("back").disabled = state.index === 0;
  $("next").disabled = state.index === reply.count - 1;
}

function readFile(input) {
  return new Promise((resolve, reject) => {
    const file = input.files[0];
    if (!file) { reject(new Error("No file was chosen.")); return; }
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(new Error("Cannot read " + file.name + "."));
    reader.readAsText(file);
  });
}

function onPresetChange() {
  const name = $("preset").value;
  applyPreset(name);
  if (name === "csv") { hint("Choose a CSV file and name its target columns, then press build."); markPending(); return; }
  guarded(() => build(null));
}

function onDataChange() {
  $("noise-text").textContent = Number($("noise").value).toFixed(2);
  $("test-text").textContent = Math.round(100 * Number($("test-fraction").value)) + "%";
  const sizes = widths();
  sizes[0] = String(features().length);
  $("sizes").value = sizes.join(",");
  guarded(() => build(null));
}

$("preset").addEventListener("change", onPresetChange);
$("noise").addEventListener("change", onDataChange);
$("noise").addEventListener("input", () => { $("noise-text").textContent = Number($("noise").value).toFixed(2); });
$("test-fraction").addEventListener("change", onDataChange);
$("test-fraction").addEventListener("input", () => { $("test-text").textContent = Math.round(100 * Number($("test-fraction").value)) + "%"; });
$("features").addEventListener("change", onDataChange);
// typing widths: the rows follow only when the number of layers changes, and the network is
// built when the box is left or Enter pressed
$("sizes").addEventListener("input", () => {
  if (activationsChosen().length !== Math.max(0, widths().length - 1)) renderLayerRows();
  else Array.from($("layers").querySelectorAll(".count")).forEach((c, l) => { const w = widths()[l + 1]; c.textContent = w + (w === "1" ? " neuron" : " neurons"); });
  markPending();
});
$("sizes").addEventListener("change", () => guarded(() => build(null)));
for (const id of ["bias", "init", "init-value", "seed"]) $(id).addEventListener("change", markPending);
$("add-layer").addEventListener("click", addLayer);
$("remove-layer").addEventListener("click", removeLayer);
$("build-button").addEventListener("click", () => guarded(() => build(null)));
$("csv-file").addEventListener("change", () => guarded(async () => {
  state.csvText = await readFile($("csv-file"));
  const header = state.csvText.split(/\r?\n/)[0].split(",").map((s) => s.trim().replace(/^"|"$/g, ""));
  if (!$("csv-targets").value) $("csv-targets").value = header[header.length - 1];
  const targets = $("csv-targets").value.split(",").filter((s) => s.trim()).length;
  const sizes = widths();
  sizes[0] = String(header.length - targets); sizes[sizes.length - 1] = String(targets);
  setWidths(sizes);
}));
$("model-file").addEventListener("change", () => guarded(async () => build({ model: await readFile($("model-file")) })));
$("next").addEventListener("click", () => guarded(async () => { if (state.index + 1 < state.walk.count) { state.index++; await showStep(); } }));
$("back").addEventListener("click", () => guarded(async () => { if (state.index > 0) { state.index--; await showStep(); } }));
$("association").addEventListener("change", () => guarded(() => loadWalk(true)));
$("learning-rate").addEventListener("change", () => guarded(() => loadWalk(false)));
$("save").addEventListener("click", () => guarded(async () => {
  const text = (await api("GET", "/api/model")).text;
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  link.download = "model.json";
  document.body.appendChild(link); link.click(); link.remove();
}));
