// The network as the video draws it: the 28x28 input, then layers of circles lit by their
// activation, joined by lines coloured by the weight's sign (blue +, red -) and as thick as it is
// large; the outputs labelled 0-9 with the guess marked, and an arrow per output: the nudge it wants.

import { fmt, largest, paint, signed } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
const HEIGHT = 460;
const IMAGE = { x: 12, size: 132 };
const THUMB = { x: 172, size: 24 };
const COLUMNS = [215, 420, 600]; // x of each layer of neurons after the input
const ARROW_X = 704;

function make(tag, attributes, parent) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

function ys(n) {
  const gap = (HEIGHT - 30) / n;
  return Array.from({ length: n }, (_, i) => 15 + (i + 0.5) * gap);
}

export class NetworkView {
  // onSelect(layer, j) when a neuron is clicked; onLens(j or null) when a first-layer neuron is hovered.
  constructor(svg, sizes, { onSelect, onLens }) {
    this.svg = svg;
    this.sizes = sizes;
    this.onLens = onLens;
    svg.replaceChildren();
    this.lines = make("g", {}, svg);
    this.positions = sizes.slice(1).map((n) => ys(n));
    const top = HEIGHT / 2 - IMAGE.size / 2;
    this.input = make("image", { x: IMAGE.x, y: top, width: IMAGE.size, height: IMAGE.size,
                                 style: "image-rendering: pixelated" }, svg);
    make("rect", { x: IMAGE.x, y: top, width: IMAGE.size, height: IMAGE.size, fill: "none", stroke: "#666" }, svg);
    make("text", { x: IMAGE.x, y: top - 8 }, svg).textContent = "784 inputs";
    this.inputCanvas = Object.assign(document.createElement("canvas"), { width: 28, height: 28 });
    // one thumbnail per first-layer neuron: its 784 weights, what it looks for
    this.thumbs = this.positions[0].map((y, j) => {
      make("line", { x1: IMAGE.x + IMAGE.size, y1: HEIGHT / 2, x2: THUMB.x, y2: y, stroke: "#444", "stroke-width": 0.6 }, this.lines);
      const image = make("image", { x: THUMB.x - THUMB.size / 2, y: y - THUMB.size / 2, width: THUMB.size,
                                    height: THUMB.size, style: "image-rendering: pixelated", class: "thumb" }, svg);
      image.addEventListener("mouseenter", () => onLens(j));
      image.addEventListener("mouseleave", () => onLens(null));
      return image;
    });
    this.thumbCanvas = Object.assign(document.createElement("canvas"), { width: 28, height: 28 });
    this.edges = [];
    for (let l = 1; l < this.positions.length; l++) {
      const rows = [];
      for (const y2 of this.positions[l]) {
        rows.push(this.positions[l - 1].map((y1) =>
          make("line", { x1: COLUMNS[l - 1], y1, x2: COLUMNS[l], y2, "stroke-linecap": "round" }, this.lines)));
      }
      this.edges[l + 1] = rows; // edges[layer][j][k]: from neuron k of layer-1 to neuron j of layer
    }
    this.neurons = this.positions.map((column, i) => column.map((y, j) => {
      const layer = i + 1;
      const radius = Math.min(16, (HEIGHT - 30) / column.length / 2 - 2);
      const group = make("g", { class: "neuron", "data-layer": layer, "data-neuron": j }, svg);
      const circle = make("circle", { cx: COLUMNS[i], cy: y, r: radius, fill: "#000", stroke: "#999", "stroke-width": 1.5 }, group);
      const title = make("title", {}, group);
      group.addEventListener("click", () => onSelect(layer, j));
      if (layer === 1) {
        group.addEventListener("mouseenter", () => onLens(j));
        group.addEventListener("mouseleave", () => onLens(null));
      }
      return { group, circle, title, y, radius };
    }));
    const last = this.positions.length - 1;
    this.labels = this.positions[last].map((y, j) => {
      const label = make("text", { x: COLUMNS[last] + 24, y: y + 5 }, svg);
      label.textContent = String(j);
      return label;
    });
    this.values = this.positions[last].map((y) => make("text", { x: COLUMNS[last] + 42, y: y + 5, "font-size": 13 }, svg));
    this.arrows = this.positions[last].map(() => make("path", { "stroke-width": 4, fill: "none" }, svg));
    make("text", { x: 716, y: 13, "font-size": 12, "text-anchor": "end" }, svg).textContent = "nudges";
  }

  // w[layer] as nested lists (rows = neurons of that layer), w1 as 16*784 floats. The thumbnails
  // of the first layer's weights change slowly: while training (quick), they follow once a second.
  setWeights(w, w1, quick = false) {
    for (let l = 2; l < w.length; l++) {
      const scale = largest(w[l].flat());
      w[l].forEach((row, j) => row.forEach((value, k) => {
        const share = Math.abs(value) / scale;
        const line = this.edges[l][j][k];
        line.setAttribute("stroke", value >= 0 ? "#3b82f6" : "#ef4444");
        line.setAttribute("stroke-width", (0.3 + 3 * share).toFixed(2));
        line.setAttribute("stroke-opacity", Math.max(0.06, share).toFixed(2)); // faint ones fade
      }));
    }
    this.w1 = w1;
    const now = performance.now();
    if (quick && now - (this.thumbsAt || 0) < 1000) return;
    this.thumbsAt = now;
    this.thumbs.forEach((image, j) => {
      const weights = w1.subarray(784 * j, 784 * (j + 1));
      paint(this.thumbCanvas, weights, { signedScale: largest(weights) });
      image.setAttribute("href", this.thumbCanvas.toDataURL());
    });
  }

  // One example: the input image, every activation, the guess, and the output nudges -dC/da.
  setExample(example, image) {
    paint(this.inputCanvas, image);
    this.input.setAttribute("href", this.inputCanvas.toDataURL());
    example.a.slice(1).forEach((layer, i) => layer.forEach((a, j) => {
      const neuron = this.neurons[i][j];
      const g = Math.round(255 * a);
      neuron.circle.setAttribute("fill", `rgb(${g},${g},${g})`);
      neuron.title.textContent = `neuron ${j} of layer ${i + 1}: activation ${fmt(a)}`;
    }));
    const last = example.a.length - 1;
    const outputs = example.a[last];
    const nudges = example.da[last].map((d) => -d);
    outputs.forEach((a, j) => {
      this.labels[j].setAttribute("class", j === example.guess ? "guess" : "");
      this.values[j].textContent = fmt(a, 2);
      this.values[j].setAttribute("class", j === example.guess ? "guess" : "");
      const y = this.positions[last - 1][j];
      // -dC/da = -2(a - y) lies in [-2, 2]: the arrow's length is in proportion, 2 = 36 px
      const length = Math.max(0, Math.min(1, Math.abs(nudges[j]) / 2)) * 36;
      const path = this.arrows[j];
      if (length < 1) { path.setAttribute("d", ""); return; }
      const up = nudges[j] > 0;
      const tip = up ? y - length / 2 : y + length / 2;
      const tail = up ? y + length / 2 : y - length / 2;
      const head = up ? 6 : -6;
      path.setAttribute("d", `M${ARROW_X},${tail} L${ARROW_X},${tip} M${ARROW_X - 6},${tip + head} L${ARROW_X},${tip} L${ARROW_X + 6},${tip + head}`);
      path.setAttribute("stroke", up ? "#60a5fa" : "#f87171");
      path.innerHTML = `<title>output ${j} wants a nudge of ${signed(nudges[j])}</title>`;
    });
  }

  select(layer, j) {
    for (const column of this.neurons) for (const n of column) n.group.classList.remove("selected");
    if (layer) this.neurons[layer - 1][j].group.classList.add("selected");
  }
}
