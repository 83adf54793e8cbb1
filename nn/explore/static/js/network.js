// The network as the video draws it: the 28x28 input, then layers of circles lit by their
// activation, joined by lines; the outputs labelled 0-9 with the guess marked. Beside every neuron
// of every layer, an arrow: what this example wants of its activation, -∂C/∂a, up (blue) or down
// (red), as long as its share of the largest wish in that layer, which is printed under the layer.
// The lines show the weights, or this example's weight nudges -∂C/∂w, or, while the wishes are
// walked back, each neuron's wishes for the layer below (-∂C/∂z_j · w_jk).
// The layout follows the layer sizes the server sends.

import { fmt, largest, paint, signed } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
export const WIDTH = 740;
const HEIGHT = 450;
const TOP = 30, BOTTOM = HEIGHT - 34; // neurons between these; the layers' scales below
const IMAGE = { x: 4, size: 112 };
const THUMB = { x: 142, size: 22 };
const FIRST = 190, OUTPUT = 520; // x of the first hidden layer and of the outputs
const BLUE = "#60a5fa", RED = "#f87171";
// A wider layer is drawn summarised: the neurons that matter most for this example (the server's
// choice, wants.shown_neurons: the most active and the largest wishes), "+N more", and its totals.

function make(tag, attributes, parent) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

function ys(n) {
  const gap = (BOTTOM - TOP) / n;
  return Array.from({ length: n }, (_, i) => TOP + (i + 0.5) * gap);
}

// The x of each layer of neurons after the input: the first and the outputs fixed, others between.
function columns(layers) {
  if (layers === 1) return [OUTPUT];
  return Array.from({ length: layers }, (_, i) => FIRST + (i * (OUTPUT - FIRST)) / (layers - 1));
}

// How bright each circle of a layer is, from 0 to 1, by its activation: a sigmoid's as it is; a tanh's
// from -1 (black) to 1 (white); a ReLU's relative to the layer's largest; a linear output (the logits of
// the cross-entropy) by its softmax, the probability the network gives it, never by the logit's size.
function lighting(values, activation) {
  if (activation === "sigmoid") return values.map((a) => Math.max(0, Math.min(1, a)));
  if (activation === "tanh") return values.map((a) => (a + 1) / 2);
  if (activation === "relu") { const top = Math.max(...values) || 1; return values.map((a) => Math.max(0, a) / top); }
  const top = Math.max(...values), e = values.map((a) => Math.exp(a - top)), sum = e.reduce((p, q) => p + q, 0);
  return e.map((v) => v / sum);
}

export class NetworkView {
  // onSelect(layer, j) when a neuron is clicked; onLens(j or null) when a first-layer neuron is hovered.
  // shownAtMost: neurons drawn of a layer (wants.SHOWN); classes: the outputs' names; kind: the hidden
  // layers' activation and the output's ({activation, output}), which say how a circle is lit.
  constructor(svg, sizes, { onSelect, onLens, shownAtMost = 16, classes = null, kind = { activation: "sigmoid", output: "sigmoid" } }) {
    this.svg = svg;
    this.sizes = sizes;
    this.kind = kind;
    const drawn = sizes.slice(1).map((n) => Math.min(n, shownAtMost));
    // names[i][s]: which neuron of layer i + 1 is drawn in place s (for a narrow layer, s itself)
    this.names = drawn.map((n) => Array.from({ length: n }, (_, s) => s));
    this.onLens = onLens;
    this.edgeMode = "weights"; // or "nudges"
    this.walk = null; // {layer, part: "each" | "sum"} while the wishes are walked back; null: all shown
    svg.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
    svg.replaceChildren();
    this.lines = make("g", {}, svg);
    this.positions = drawn.map((n) => ys(n));
    this.x = columns(this.positions.length);
    const top = (TOP + BOTTOM) / 2 - IMAGE.size / 2;
    this.input = make("image", { x: IMAGE.x, y: top, width: IMAGE.size, height: IMAGE.size,
                                 style: "image-rendering: pixelated" }, svg);
    make("rect", { x: IMAGE.x, y: top, width: IMAGE.size, height: IMAGE.size, fill: "none", stroke: "#666" }, svg);
    make("text", { x: IMAGE.x, y: top - 10 }, svg).textContent = `${sizes[0]} inputs`;
    this.inputCanvas = Object.assign(document.createElement("canvas"), { width: 28, height: 28 });
    // one thumbnail per first-layer neuron: its 784 weights (what it looks for), or their nudges
    this.thumbs = this.positions[0].map((y, j) => {
      make("line", { x1: IMAGE.x + IMAGE.size, y1: (TOP + BOTTOM) / 2, x2: THUMB.x - THUMB.size / 2, y2: y,
                     stroke: "#444", "stroke-width": 0.6 }, this.lines);
      const size = Math.min(THUMB.size, (BOTTOM - TOP) / this.positions[0].length - 2);
      const image = make("image", { x: THUMB.x - size / 2, y: y - size / 2, width: size, height: size,
                                    style: "image-rendering: pixelated", class: "thumb" }, svg);
      image.addEventListener("mouseenter", () => onLens(j));
      image.addEventListener("mouseleave", () => onLens(null));
      return image;
    });
    this.thumbCanvas = Object.assign(document.createElement("canvas"), { width: 28, height: 28 });
    this.edges = []; // edges[layer][j][k]: from neuron k of layer - 1 to neuron j of layer
    for (let l = 1; l < this.positions.length; l++) {
      this.edges[l + 1] = this.positions[l].map((y2) => this.positions[l - 1].map((y1) =>
        make("line", { x1: this.x[l - 1], y1, x2: this.x[l], y2, "stroke-linecap": "round" }, this.lines)));
    }
    this.neurons = this.positions.map((column, i) => column.map((y, j) => {
      const layer = i + 1;
      const radius = Math.min(16, (BOTTOM - TOP) / column.length / 2 - 2);
      const group = make("g", { class: "neuron", "data-layer": layer, "data-neuron": j }, svg);
      const circle = make("circle", { cx: this.x[i], cy: y, r: radius, fill: "#000", stroke: "#999", "stroke-width": 1.5 }, group);
      const title = make("title", {}, group);
      group.addEventListener("click", () => onSelect(layer, this.names[i][j]));
      if (layer === 1) {
        group.addEventListener("mouseenter", () => onLens(j));
        group.addEventListener("mouseleave", () => onLens(null));
      }
      const arrow = make("path", { class: "wish", "stroke-width": 3.5, fill: "none", "data-layer": layer, "data-neuron": j }, svg);
      const reach = Math.min(36, (BOTTOM - TOP) / column.length - 4); // the longest arrow: this layer's largest wish
      return { group, circle, title, y, radius, arrow, reach, arrowX: this.x[i] + radius + 10 };
    }));
    const last = this.positions.length - 1;
    const ox = this.x[last];
    this.labels = this.positions[last].map((y, j) => {
      const label = make("text", { x: ox + 22, y: y + 6 }, svg);
      label.textContent = classes ? classes[j] : String(j);
      return label;
    });
    this.values = this.positions[last].map((y) => make("text", { x: ox + 40, y: y + 6, class: "value" }, svg));
    this.neurons[last].forEach((n) => { n.arrowX = ox + 124; });
    this.wishText = this.positions[last].map((y) => make("text", { x: ox + 136, y: y + 6, class: "value" }, svg));
    make("text", { x: ox + 40, y: TOP - 10 }, svg).textContent = "a";
    make("text", { x: ox + 120, y: TOP - 10 }, svg).textContent = "wish";
    // under each layer: the wish its longest arrow stands for
    this.scales = this.x.map((x, i) => make("text", { x: i === last ? ox + 114 : x - 10, y: HEIGHT - 8, class: "scale" }, svg));
    // a summarised layer: how many are not drawn, and the whole layer's totals (in its title)
    this.more = this.x.map((x, i) => (sizes[i + 1] > drawn[i]
      ? make("text", { x: x - 28, y: TOP - 10, class: "more" }, svg) : null));
    this.more.forEach((text, i) => { if (text) text.textContent = `+${sizes[i + 1] - drawn[i]} more`; });
  }

  // w[layer] as nested lists (rows = neurons of that layer), w1 as 16*784 floats. The thumbnails
  // of the first layer's weights change slowly: while training (quick), they follow once a second.
  setWeights(w, w1, quick = false) {
    this.w = w;
    this.w1 = w1;
    this.drawEdges();
    const now = performance.now();
    if (quick && now - (this.thumbsAt || 0) < 1000) return;
    this.thumbsAt = now;
    this.drawThumbs();
  }

  // One example: the input image, every activation, the guess, and (with a target) every wish.
  setExample(example, image) {
    this.example = example;
    paint(this.inputCanvas, image);
    this.input.setAttribute("href", this.inputCanvas.toDataURL());
    const last = example.a.length - 1;
    if (example.names) example.names.forEach((names, i) => { if (names) this.names[i - 1] = names; });
    if (example.w) { this.w = example.w; this.w1 = example.w1; } // the weights between the neurons drawn
    example.a.slice(1).forEach((layer, i) => {
      const light = lighting(layer, i + 1 === last ? this.kind.output : this.kind.activation);
      layer.forEach((a, j) => {
        const neuron = this.neurons[i][j];
        const g = Math.round(255 * light[j]);
        neuron.circle.setAttribute("fill", `rgb(${g},${g},${g})`);
        const wish = example.target === null ? "" : `; this example wishes it moved by ${signed(-example.da[i + 1][j])}`;
        neuron.title.textContent = `neuron ${this.names[i][j]} of layer ${i + 1}: activation ${fmt(a)}${wish}`;
      });
      const total = example.totals && example.totals[i + 1], more = this.more[i];
      if (more && total) {
        more.innerHTML = `<title>layer ${i + 1}: ${total.neurons} neurons, ${total.active} active; the sum of their ` +
          `activations ${fmt(total.activation)}, of their wishes' sizes ${fmt(total.wish)}. Drawn: the most active ` +
          `and those with the largest wishes for this example</title>+${total.neurons - layer.length} more`;
      }
    });
    example.a[last].forEach((a, j) => {
      this.labels[j].setAttribute("class", j === example.guess ? "guess" : "");
      this.values[j].textContent = fmt(a, 2);
      this.values[j].setAttribute("class", j === example.guess ? "value guess" : "value");
    });
    this.drawWishes();
    // the lines and thumbnails follow the example only when they show its nudges or wishes (a
    // stroke asks for an example every frame: the weights need not be drawn again)
    if (this.edgeMode === "nudges" || this.walk) this.drawEdges();
    if (this.edgeMode === "nudges") this.drawThumbs();
  }

  // Which wishes show: null for all; or a step of the walk back, {layer, part}: the layers above
  // `layer` and, for part "sum", `layer` itself.
  setWalk(walk) {
    this.walk = walk;
    this.drawWishes();
    this.drawEdges();
  }

  setEdgeMode(mode) {
    this.edgeMode = mode;
    this.drawEdges();
    this.drawThumbs();
  }

  shown(layer) {
    if (!this.example || this.example.target === null) return false;
    if (this.walk === null) return true;
    return layer > this.walk.layer || (layer === this.walk.layer && this.walk.part === "sum");
  }

  drawWishes() {
    const example = this.example;
    const last = this.positions.length - 1;
    this.scaleOf = [];
    this.neurons.forEach((column, i) => {
      const layer = i + 1;
      const show = this.shown(layer);
      const wishes = show ? example.da[layer].map((d) => -d) : null;
      const scale = show ? largest(wishes) : 0;
      this.scaleOf[layer] = scale;
      this.scales[i].innerHTML = show ? `<title>the longest arrow of layer ${layer}: a wish of ${fmt(scale)}</title>\u2195 ${fmt(scale, 2)}` : "";
      column.forEach((n, j) => {
        if (i === last) this.wishText[j].textContent = show ? signed(wishes[j], 2) : "";
        this.arrow(n, show ? wishes[j] : 0, scale, `neuron ${j} of layer ${layer}`);
      });
    });
  }

  arrow(n, wish, scale, who) {
    const length = scale > 0 ? (Math.abs(wish) / scale) * n.reach : 0;
    const path = n.arrow;
    if (length < 1) { path.setAttribute("d", ""); path.replaceChildren(); return; }
    const up = wish > 0, x = n.arrowX, y = n.y;
    const tip = up ? y - length / 2 : y + length / 2;
    const tail = up ? y + length / 2 : y - length / 2;
    const head = Math.min(6, length / 2) * (up ? 1 : -1);
    path.setAttribute("d", `M${x},${tail} L${x},${tip} M${x - 5},${tip + head} L${x},${tip} L${x + 5},${tip + head}`);
    path.setAttribute("stroke", up ? BLUE : RED);
    path.innerHTML = `<title>${who}: this example wishes its activation moved by ${signed(wish)}</title>`;
  }

  // The lines between layers: the weights; or this example's weight nudges; or, on a step of the
  // walk back, the wishes of each neuron of the layer above for the one below. One scale per layer.
  drawEdges() {
    if (!this.w) return;
    const example = this.example && this.example.target !== null ? this.example : null;
    this.edgeScale = [];
    for (let l = 2; l < this.w.length; l++) {
      let values = this.w[l], kind = "weight";
      if (example && this.walk && this.walk.layer === l - 1) {
        values = example.wishes[l].map((row) => row.map((d) => -d));
        kind = "wish";
      } else if (example && this.edgeMode === "nudges") {
        values = example.dw[l].map((row) => row.map((d) => -d));
        kind = "nudge";
      }
      const scale = largest(values.flat());
      this.edgeScale[l] = { kind, scale };
      const faint = this.walk && this.walk.layer !== l - 1 && kind !== "nudge"; // the step is elsewhere
      values.forEach((row, j) => row.forEach((value, k) => {
        const share = scale > 0 ? Math.abs(value) / scale : 0;
        const line = this.edges[l][j][k];
        line.setAttribute("stroke", value >= 0 ? "#3b82f6" : "#ef4444");
        line.setAttribute("stroke-width", (0.3 + 3.5 * share).toFixed(2));
        line.setAttribute("stroke-opacity", (faint ? 0.25 : 1) * Math.max(0.06, share).toFixed(2));
      }));
    }
  }

  // The first layer's 784 weights per neuron, or their nudges -∂C/∂w for this example: all on one
  // scale (the largest of them all), so that a faint image is a small one.
  drawThumbs() {
    if (!this.w1) return;
    const example = this.example && this.example.target !== null ? this.example : null;
    const nudges = example && this.edgeMode === "nudges";
    const values = nudges ? example.dw1Nudges : this.w1;
    const scale = largest(values);
    this.thumbScale = { kind: nudges ? "nudge" : "weight", scale };
    this.thumbs.forEach((image, j) => {
      paint(this.thumbCanvas, values.subarray(784 * j, 784 * (j + 1)), { signedScale: scale });
      image.setAttribute("href", this.thumbCanvas.toDataURL());
    });
  }

  select(layer, j) {
    for (const column of this.neurons) for (const n of column) n.group.classList.remove("selected");
    const s = layer ? this.names[layer - 1].indexOf(j) : -1; // a neuron of a wide layer may not be drawn now
    if (s >= 0) this.neurons[layer - 1][s].group.classList.add("selected");
  }

  // Where a neuron is drawn, in the SVG's own units (for the lens beside the first layer)
  at(layer, s) {
    return { x: this.x[layer - 1], y: this.positions[layer - 1][s], width: WIDTH, height: HEIGHT };
  }
}
