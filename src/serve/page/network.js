// ---- the network diagram: neurons (numbers, or their output over the plane), weighted edges ----

// TensorFlow Playground's colours: orange for low values (class 0), blue for high (class 1)
function colour(t) {
  const lo = [245, 147, 34], mid = [232, 234, 235], hi = [8, 119, 189];
  const c = t < 0.5 ? lo.map((a, k) => a + (mid[k] - a) * t * 2) : mid.map((a, k) => a + (hi[k] - a) * (t - 0.5) * 2);
  return c.map(Math.round);
}

// the range a neuron's output is drawn over: its activation's, else symmetric about 0
function rangeOf(activation, values) {
  if (activation === "sigmoid") return [0, 1];
  if (activation === "tanh") return [-1, 1];
  let m = 0;
  for (const v of values) m = Math.max(m, Math.abs(v));
  return [-(m || 1), m || 1];
}

const heatmapCache = new Map();
// a picture of `values` (n x n, row by row from the top) as a data URL
function heatmapURL(values, n, range) {
  const key = values;
  if (heatmapCache.has(key)) return heatmapCache.get(key);
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = n;
  const ctx = canvas.getContext("2d"), image = ctx.createImageData(n, n);
  for (let k = 0; k < n * n; k++) {
    const t = Math.min(1, Math.max(0, (values[k] - range[0]) / (range[1] - range[0])));
    const [r, g, b] = colour(t);
    image.data.set([r, g, b, 255], 4 * k);
  }
  ctx.putImageData(image, 0, 0);
  const url = canvas.toDataURL();
  if (heatmapCache.size > 400) heatmapCache.clear();
  heatmapCache.set(key, url);
  return url;
}

function activationOf(l) { return l === 0 ? null : state.walk.values.activations[l - 1]; }

// the output of neuron (l, j) over the plane, if the server sent it
function neuronMap(l, j) {
  const p = state.pictures;
  if (!p || !p.heatmaps) return null;
  const values = p.heatmaps.values[l] && p.heatmaps.values[l][j];
  if (!values) return null;
  return { values, n: p.heatmaps.n, range: rangeOf(activationOf(l), values) };
}

function boxesOverlap(a, b, pad) {
  return a.x < b.x + b.width + pad && b.x < a.x + a.width + pad && a.y < b.y + b.height + pad && b.y < a.y + a.height + pad;
}

// places `text` at the first of `spots` where it overlaps nothing in `taken`; drops it (its
// number stays in the edge's tooltip and the table) if there is no such spot
function place(svg, text, spots, taken) {
  svg.appendChild(text);
  for (const [x, y] of spots) {
    text.setAttribute("x", x); text.setAttribute("y", y);
    const box = text.getBBox();
    if (!taken.some((t) => boxesOverlap(box, t, 1))) { taken.push(box); return true; }
  }
  text.remove();
  return false;
}

function nodeName(l, j) { return letter(state.walk.values.sizes.length, l) + "[" + j + "]"; }

function nodeLines(v, r, l, j) {
  const L = v.sizes.length, lines = [];
  const forwardShown = l < r.forward_through[0] || (l === r.forward_through[0] && j <= r.forward_through[1]);
  if (forwardShown) {
    if (l > 0) lines.push("x=" + fmt(v.x[l][j]));
    lines.push("y=" + fmt(v.y[l][j]));
  }
  if (l > 0 && r.deltas_from !== null && l >= r.deltas_from) lines.push("delta=" + fmt(v.delta[l][j]));
  if (l === L - 1 && r.error) lines.push("y'=" + fmt(v.target[j]));
  return lines;
}

function showHover(event, l, j) {
  const v = state.walk.values, r = state.step.reveal, box = $("hover-box");
  box.innerHTML = "";
  const title = document.createElement("div");
  const act = activationOf(l);
  title.textContent = nodeName(l, j) + (l === 0 ? " input " + ((state.summary.input_names || [])[j] || "") : " (" + act + ")");
  title.style.fontWeight = "bold";
  box.appendChild(title);
  for (const line of nodeLines(v, r, l, j)) { const d = document.createElement("div"); d.textContent = line; box.appendChild(d); }
  const map = neuronMap(l, j);
  if (map) {
    const img = document.createElement("img");
    img.src = heatmapURL(map.values, map.n, map.range);
    img.width = img.height = 160;
    img.style.imageRendering = "auto";
    box.appendChild(img);
    const note = document.createElement("div");
    note.className = "muted";
    note.textContent = "its output over the plane, from " + map.range[0] + " (orange) to " + map.range[1] + " (blue)";
    box.appendChild(note);
    showSurfaceOf(l, j);
  }
  box.style.display = "block";
  box.style.left = Math.min(window.innerWidth - 260, event.clientX + 16) + "px";
  box.style.top = Math.min(window.innerHeight - 260, event.clientY + 12) + "px";
}

function hideHover() { $("hover-box").style.display = "none"; showSurfaceOf(null); }

function drawNetwork(step) {
  const v = state.walk.values, svg = $("net"), r = step.reveal;
  svg.innerHTML = "";
  const L = v.sizes.length;
  const detailed = v.w.length > 0 && Math.max(...v.sizes) <= 4 && L <= 5;
  const maxShown = 16;
  const shown = (l) => Math.min(v.sizes[l], maxShown);
  const tallest = Math.max(...v.sizes.map((_, l) => shown(l)));
  const width = svg.clientWidth || 520;
  const unit = detailed ? 86 : 28;
  const height = Math.max(300, 70 + tallest * unit);
  svg.setAttribute("height", height);
  const left = 72, right = detailed ? 150 : 40;
  const xOf = (l) => left + (width - left - right) * (L === 1 ? 0 : l / (L - 1));
  const spacing = (l) => shown(l) === 1 ? 0 : Math.min(unit, (height - 80) / (shown(l) - 1));
  const yOf = (l, j) => 30 + (height - 50) / 2 + (j - (shown(l) - 1) / 2) * spacing(l);
  const focusNode = (l, j) => (l === r.forward_through[0] && j === r.forward_through[1] && !r.error) || (r.deltas_from === l && !r.updated);
  const taken = [];
  // edges: coloured by the weight's sign, thickened by its size
  const weightsNow = r.updated ? v.new_w : v.w;
  let biggest = 0;
  for (const layer of weightsNow) for (const row of layer) for (const w of row) biggest = Math.max(biggest, Math.abs(w));
  const edgeLabels = [];
  for (let l = 0; l + 1 < L; l++) {
    for (let j = 0; j < shown(l + 1); j++) {
      for (let i = 0; i < shown(l); i++) {
        const x1 = xOf(l), y1 = yOf(l, i), x2 = xOf(l + 1), y2 = yOf(l + 1, j);
        let stroke = "#9ca3af", widthPx = 1.2, text = null, fill = "#374151";
        if (weightsNow.length) {
          const w = weightsNow[l][j][i];
          stroke = w >= 0 ? "#0877bd" : "#f59322";
          widthPx = 0.6 + 4 * Math.abs(w) / (biggest || 1);
          if (r.updated) { text = "w=" + fmt(v.new_w[l][j][i]); fill = "#059669"; }
          else if (r.deltas_from !== null && l + 1 >= r.deltas_from) { text = "dE/dw=" + fmt(v.grad_w[l][j][i]); fill = "#dc2626"; }
          else text = "w=" + fmt(v.w[l][j][i]);
        }
        const line = el("line", { x1, y1, x2, y2, stroke, "stroke-width": widthPx.toFixed(2), "stroke-opacity": 0.75 });
        if (text) line.appendChild(el("title", {}, letter(L, l) + "[" + i + "] -> " + letter(L, l + 1) + "[" + j + "]: " + text));
        svg.appendChild(line);
        if (detailed && text) edgeLabels.push({ x1, y1, x2, y2, text, fill });
      }
    }
  }
  // neurons
  for (let l = 0; l < L; l++) {
    for (let j = 0; j < shown(l); j++) {
      const cx = xOf(l), cy = yOf(l, j), focus = focusNode(l, j);
      const g = el("g", { "data-neuron": l + "," + j, cursor: "default" });
      const map = neuronMap(l, j);
      if (detailed) {
        const known = nodeLines(v, r, l, j).length > 0;
        if (map) {
          // the neuron's output over the plane, inside its circle
          const clip = "clip-" + l + "-" + j;
          const path = el("clipPath", { id: clip });
          path.appendChild(el("circle", { cx, cy, r: 19 }));
          g.appendChild(path);
          g.appendChild(el("image", { x: cx - 19, y: cy - 19, width: 38, height: 38, href: heatmapURL(map.values, map.n, map.range), preserveAspectRatio: "none", "clip-path": "url(#" + clip + ")" }));
        }
        g.appendChild(el("circle", { cx, cy, r: 19, fill: map ? "none" : focus ? "#fed7aa" : known ? "#dbeafe" : "#fff", stroke: focus ? "#ea580c" : "#374151", "stroke-width": focus ? 3 : 1 }));
        g.appendChild(el("text", { x: cx, y: cy + 4, "font-size": 10, "text-anchor": "middle", "font-weight": "bold", stroke: map ? "#fff" : "none", "stroke-width": 3, "paint-order": "stroke" }, letter(L, l) + "[" + j + "]"));
      } else if (map) {
        g.appendChild(el("image", { x: cx - 12, y: cy - 12, width: 24, height: 24, href: heatmapURL(map.values, map.n, map.range), preserveAspectRatio: "none" }));
        g.appendChild(el("rect", { x: cx - 12, y: cy - 12, width: 24, height: 24, fill: "none", stroke: focus ? "#ea580c" : "#374151", "stroke-width": focus ? 2.5 : 1 }));
      } else {
        g.appendChild(el("circle", { cx, cy, r: 9, fill: focus ? "#fed7aa" : "#fff", stroke: focus ? "#ea580c" : "#374151", "stroke-width": focus ? 2.5 : 1 }));
      }
      g.addEventListener("mouseenter", (event) => showHover(event, l, j));
      g.addEventListener("mouseleave", hideHover);
      svg.appendChild(g);
      taken.push(g.getBBox());
      if (detailed) {
        nodeLines(v, r, l, j).forEach((line, k) => {
          const t = el("text", { x: cx + 23, y: cy - 8 + 13 * k, "font-size": 10 }, line);
          svg.appendChild(t);
          taken.push(t.getBBox());
        });
      }
      if (l === 0 && state.summary && state.summary.input_names) {
        const t = el("text", { x: cx - (detailed ? 23 : 16), y: cy + 4, "font-size": 10, "text-anchor": "end", fill: "#374151" }, state.summary.input_names[j] || "");
        svg.appendChild(t);
        taken.push(t.getBBox());
      }
    }
    const name = l === 0 ? "inputs" : l === L - 1 ? "output" : "hidden " + l;
    const head = el("text", { x: xOf(l), y: 14, "font-size": 10, "text-anchor": "middle", fill: "#6b7280" }, (L === 3 ? letter(L, l) + ": " : "") + name);
    svg.appendChild(head);
    taken.push(head.getBBox());
    if (v.sizes[l] > maxShown) {
      const more = el("text", { x: xOf(l), y: height - 4, "font-size": 10, "text-anchor": "middle" }, "+" + (v.sizes[l] - maxShown) + " more");
      svg.appendChild(more);
      taken.push(more.getBBox());
    }
  }
  if (r.error) {
    const text = "E_t = " + fmt(v.error[0]) + (r.updated ? "  ->  " + fmt(v.error[1]) + " after the update" : "");
    place(svg, el("text", { "font-size": 12, "font-weight": "bold" }, text), [[6, height - 8], [6, 30]], taken);
  }
  // weight labels along their edges, where they cover no other text
  for (const e of edgeLabels) {
    const spots = [];
    for (const t of [0.5, 0.35, 0.65, 0.25, 0.75, 0.42, 0.58, 0.3, 0.7]) {
      for (const dy of [-4, 12, -16]) spots.push([e.x1 + (e.x2 - e.x1) * t, e.y1 + (e.y2 - e.y1) * t + dy]);
    }
    place(svg, el("text", { "font-size": 10, fill: e.fill, "text-anchor": "middle" }, e.text), spots, taken);
  }
}
