// ---- the scalar-op graph: every node, or one box per neuron, with values and adjoints ----

const graphView = { zoom: 1, width: 100, height: 100, collapsedByUser: null };

function graphCollapsed(nodes) {
  if (graphView.collapsedByUser !== null && nodes.length <= 400) return graphView.collapsedByUser;
  return nodes.length > 60;
}

// groups of graph nodes: one per neuron (its x, y and the weights into it), one per other node
function graphGroups(nodes, collapsed) {
  const groups = [], of = [];
  const byNeuron = new Map();
  nodes.forEach((n, i) => {
    if (collapsed && n.neuron) {
      const key = n.neuron.join(",");
      if (!byNeuron.has(key)) { byNeuron.set(key, groups.length); groups.push({ neuron: n.neuron, members: [] }); }
      of[i] = byNeuron.get(key);
    } else {
      of[i] = groups.length;
      groups.push({ neuron: null, members: [] });
    }
    groups[of[i]].members.push(i);
  });
  return { groups, of };
}

// each group's column: by depth for single nodes; collapsed: neurons by layer, the bias with the
// inputs, the targets after the output, the loss's ops after them by depth
function graphColumns(nodes, groups, collapsed, layers) {
  if (!collapsed) return groups.map((g) => nodes[g.members[0]].depth);
  const lossDepths = [...new Set(groups.filter((g) => !g.neuron && nodes[g.members[0]].operands.length).map((g) => nodes[g.members[0]].depth))].sort((a, b) => a - b);
  return groups.map((g) => {
    if (g.neuron) return g.neuron[0];
    const n = nodes[g.members[0]];
    if (!n.operands.length) return n.kind === "const" ? 0 : layers;
    return layers + 1 + lossDepths.indexOf(n.depth);
  });
}

function groupText(nodes, g, step, adjoint) {
  const L = state.walk.values.sizes.length;
  if (g.neuron) {
    const [l, j] = g.neuron;
    const ops = g.members.filter((i) => nodes[i].kind !== "param");
    const x = ops.find((i) => nodes[i].label.startsWith("x")), y = ops.find((i) => nodes[i].label.startsWith("y")) ?? x;
    const weights = g.members.length - ops.length;
    const lines = [letter(L, l) + "[" + j + "]" + (l > 0 ? " " + state.walk.values.activations[l - 1] + ", " + weights + " weights" : " input")];
    if (y !== undefined && (l === 0 || y < step.graph.values_below)) lines.push("y = " + fmt(nodes[y].value));
    if (l > 0 && x !== undefined && adjoint.has(x)) lines.push("dE/dx = " + fmt(nodes[x].adjoint));
    return lines;
  }
  const i = g.members[0], n = nodes[i], lines = [n.label + (n.label === n.kind ? "" : " (" + n.kind + ")")];
  if (!n.operands.length || i < step.graph.values_below) lines.push("v = " + fmt(n.value));
  if (adjoint.has(i)) lines.push("g = " + fmt(n.adjoint));
  return lines;
}

function drawGraph(step) {
  const nodes = state.walk.graph, svg = $("graph");
  svg.innerHTML = "";
  $("graph-collapse").disabled = nodes.length > 400;
  if (!nodes.length) {
    svg.setAttribute("width", 700); svg.setAttribute("height", 40); svg.removeAttribute("viewBox");
    svg.appendChild(el("text", { x: 4, y: 24, "font-size": 12 }, "This network's graph has " + state.summary.graph_nodes + " nodes, too many to draw; the network diagram and the table show its numbers."));
    $("graph-caption").textContent = "";
    return;
  }
  const collapsed = graphCollapsed(nodes);
  $("graph-collapse").checked = collapsed;
  const layers = state.walk.values.sizes.length - 1;
  const { groups, of } = graphGroups(nodes, collapsed);
  const columns = graphColumns(nodes, groups, collapsed, layers);
  const focus = new Set(step.graph.focus), adjoint = new Set(step.graph.adjoints_known);
  const lineGap = 15, boxW = 190, gapX = 44, gapY = 12, top = 28;
  const texts = groups.map((g) => groupText(nodes, g, step, adjoint));
  const boxH = 10 + lineGap * Math.max(...texts.map((t) => t.length), 3);
  const rows = [], pos = [];
  groups.forEach((g, k) => {
    const c = columns[k];
    rows[c] = (rows[c] || 0) + 1;
    pos[k] = [10 + c * (boxW + gapX), top + (rows[c] - 1) * (boxH + gapY)];
  });
  const columnCount = Math.max(...columns) + 1, tallest = Math.max(...rows.filter((r) => r));
  graphView.width = 20 + columnCount * (boxW + gapX);
  graphView.height = top + 10 + tallest * (boxH + gapY);
  svg.setAttribute("viewBox", "0 0 " + graphView.width + " " + graphView.height);
  applyZoom();
  // the edges between groups, each once
  const seen = new Set(), hot = new Set();
  groups.forEach((g, k) => { if (g.members.some((i) => focus.has(i))) hot.add(k); });
  nodes.forEach((n, i) => n.operands.forEach((o) => {
    const a = of[o], b = of[i], key = a + ">" + b;
    if (a === b || seen.has(key)) return;
    seen.add(key);
    const [x1, y1] = pos[a], [x2, y2] = pos[b];
    svg.appendChild(el("line", { x1: x1 + boxW, y1: y1 + boxH / 2, x2, y2: y2 + boxH / 2, stroke: hot.has(b) ? "#ea580c" : "#d1d5db", "stroke-width": hot.has(b) ? 1.5 : 1 }));
  }));
  // column headings (collapsed: the layers)
  if (collapsed) {
    for (let c = 0; c < columnCount; c++) {
      const name = c === 0 ? "inputs" : c < layers ? "layer " + letter(layers + 1, c) : c === layers ? "output " + letter(layers + 1, c) : c === layers + 1 ? "" : "loss";
      if (name && (c <= layers + 2)) svg.appendChild(el("text", { x: 10 + c * (boxW + gapX), y: 16, "font-size": 11, fill: "#6b7280" }, c === layers + 1 ? "" : name));
    }
  }
  groups.forEach((g, k) => {
    const [x, y] = pos[k];
    const n = nodes[g.members[0]];
    const leaf = !g.neuron && n.operands.length === 0;
    const fill = hot.has(k) ? "#fed7aa" : g.neuron ? (g.neuron[0] === 0 ? "#dbeafe" : "#f0fdf4") : n.kind === "input" ? "#dbeafe" : n.kind === "param" ? "#fef9c3" : n.kind === "const" ? "#e5e7eb" : "#fff";
    const box = el("g", { "data-group": k });
    box.appendChild(el("rect", { x, y, width: boxW, height: boxH, rx: leaf ? 0 : 8, fill, stroke: hot.has(k) ? "#ea580c" : "#374151", "stroke-width": hot.has(k) ? 2.5 : 1 }));
    texts[k].forEach((line, m) => box.appendChild(el("text", { x: x + 6, y: y + 15 + lineGap * m, "font-size": 11, "font-weight": m === 0 ? "bold" : "normal", fill: m === 2 || line.startsWith("g =") || line.startsWith("dE/dx") ? "#b91c1c" : "#111827" }, line)));
    if (g.members.length > 1) box.appendChild(el("title", {}, g.members.map((i) => nodes[i].label).join(", ")));
    svg.appendChild(box);
  });
  const what = step.phase === "forward" ? "the value of " : step.phase === "backward" ? "the adjoints (dE/dnode) of " : step.phase === "error" ? "" : "";
  $("graph-caption").textContent = (collapsed ? nodes.length + " scalar nodes, one box per neuron (its dot product, its activation and the weights into it). " : nodes.length + " scalar nodes. ")
    + "In orange: " + what + step.title.replace(/^(forward|backward): /, "") + ".";
}

function applyZoom() {
  const svg = $("graph");
  svg.setAttribute("width", Math.round(graphView.width * graphView.zoom));
  svg.setAttribute("height", Math.round(graphView.height * graphView.zoom));
}

$("zoom-in").addEventListener("click", () => { graphView.zoom = Math.min(3, graphView.zoom * 1.25); applyZoom(); });
$("zoom-out").addEventListener("click", () => { graphView.zoom = Math.max(0.1, graphView.zoom / 1.25); applyZoom(); });
$("zoom-fit").addEventListener("click", () => { graphView.zoom = Math.min(1, ($("graph-scroll").clientWidth - 10) / graphView.width); applyZoom(); });
$("graph-collapse").addEventListener("change", () => { graphView.collapsedByUser = $("graph-collapse").checked; if (state.step) drawGraph(state.step); });
