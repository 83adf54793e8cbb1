// What this example wants (the heart of the video): the output nudges, how one output neuron gets
// there (its bias, its weights, the activations below it), every output's wishes for the layer
// below and their sum, one layer further back, and the first-layer weight nudges as images.
// A nudge is -∂C/∂(something): the server sends the gradients, computed by backward() and checked.

import { unpack } from "./api.js";
import { bar, fmt, largest, paint, signed, signedColour } from "./format.js";

export class WantsView {
  // onTarget(digit) when the target changes, onOutput(j) when another output neuron is chosen.
  constructor(container, { onTarget, onOutput }) {
    this.container = container;
    this.onTarget = onTarget;
    this.onOutput = onOutput;
    container.innerHTML = `
      <div class="row">
        <label>Target: <select id="target"></select></label>
        <span id="cost"></span>
        <span id="check" class="check"></span>
      </div>
      <div class="grid2">
        <div><h3>What the outputs want: &minus;&part;C/&part;a = &minus;2(a &minus; y)</h3><table id="outputs"></table></div>
        <div><h3>How output <select id="output"></select> gets there</h3><div id="one"></div></div>
      </div>
      <div id="wishes"></div>
      <h3>The first-layer weight nudges &minus;&part;C/&part;w, one 28&times;28 image per neuron
        (<span class="pos">blue</span>: up, <span class="neg">red</span>: down; black: a blank pixel, no nudge;
        each to its own scale, its largest nudge written under it)</h3>
      <div id="first" class="images"></div>`;
    this.target = container.querySelector("#target");
    this.output = container.querySelector("#output");
    this.output.innerHTML = [...Array(10).keys()].map((j) => `<option value="${j}">${j}</option>`).join("");
    this.target.addEventListener("change", () => this.onTarget(Number(this.target.value)));
    this.output.addEventListener("change", () => this.onOutput(Number(this.output.value)));
    this.first = [];
  }

  // label: the true label of a picked digit, or null for a drawing.
  setTargets(label, target) {
    const options = [...Array(10).keys()].map((d) =>
      `<option value="${d}">${d}${d === label ? " (the true label)" : ""}</option>`);
    this.target.innerHTML = options.join("");
    this.target.value = String(target);
  }

  show(example, outputNeuron) {
    const L = example.a.length - 1;
    this.output.value = String(outputNeuron);
    this.target.value = String(example.target);
    this.container.querySelector("#cost").innerHTML =
      `cost C = &Sigma; (a<sub>j</sub> &minus; y<sub>j</sub>)&sup2; = <b>${fmt(example.cost)}</b>; the network guesses <b>${example.guess}</b>`;
    const check = this.container.querySelector("#check");
    check.className = `check ${example.check.agree ? "ok" : "bad"}`;
    check.textContent = `backward() and the numpy chain rule agree: largest difference ${fmt(example.check.max_difference, 2)}`;
    this.showOutputs(example, L);
    this.showOne(example, L, outputNeuron);
    this.showWishes(example, L);
    this.showFirst(example);
  }

  showOutputs(example, L) {
    const a = example.a[L];
    const nudges = example.da[L].map((d) => -d);
    const rows = a.map((value, j) => `
      <tr class="${j === example.target ? "target" : ""}"><td>${j}</td><td>${fmt(value)}</td><td>${j === example.target ? 1 : 0}</td>
        <td class="bar">${bar(nudges[j], 2)}</td><td>${signed(nudges[j])}</td></tr>`);
    this.container.querySelector("#outputs").innerHTML =
      `<tr><th>digit</th><th>a</th><th>target y</th><th>nudge</th><th></th></tr>${rows.join("")}`;
  }

  showOne(example, L, j) {
    const dz = example.dz[L][j];
    const below = example.a[L - 1];
    const weightNudges = example.dw[L][j].map((d) => -d); // -∂C/∂w_jk = -∂C/∂z_j · a_k
    const wished = example.wishes[L][j].map((d) => -d); //   -∂C/∂z_j · w_jk
    const scaleW = largest(weightNudges), scaleA = largest(wished);
    const rows = below.map((a, k) => `
      <tr><td>${k}</td><td>${fmt(a)}</td><td class="bar">${bar(weightNudges[k], scaleW)}</td><td>${signed(weightNudges[k])}</td>
        <td class="bar">${bar(wished[k], scaleA)}</td><td>${signed(wished[k])}</td></tr>`);
    this.container.querySelector("#one").innerHTML = `
      <p>Its error term &minus;&part;C/&part;z = ${signed(-dz)}. Its bias moves with it: nudge ${signed(-example.db[L][j])}.
        Its weights move in proportion to the activations feeding them; it wishes those activations moved in
        proportion to its weights.</p>
      <table><tr><th>k</th><th>a<sub>k</sub> below</th><th colspan="2">nudge to w<sub>${j},k</sub></th>
        <th colspan="2">wished change of a<sub>k</sub></th></tr>${rows.join("")}</table>`;
  }

  showWishes(example, L) {
    const parts = [];
    for (let l = L; l >= 2; l--) {
      const wishes = example.wishes[l].map((row) => row.map((d) => -d));
      const sum = example.da[l - 1].map((d) => -d);
      const scale = largest(wishes.flat()), sumScale = largest(sum);
      const columns = `grid-template-columns: repeat(${sum.length}, 1fr)`;
      const cells = (values, s, cls = "") => values.map((v) =>
        `<div class="${cls}" style="background:${signedColour(v, s)}" title="${signed(v)}"></div>`).join("");
      const who = l === L ? "output" : `neuron`;
      const header = `<div class="heatrow"><span class="name">k:</span><div class="heat index" style="${columns}">` +
        sum.map((_, k) => `<div>${k}</div>`).join("") + "</div></div>";
      const rows = wishes.map((row, j) =>
        `<div class="heatrow"><span class="name">${who} ${j}</span><div class="heat" style="${columns}">${cells(row, scale)}</div></div>`);
      parts.push(`
        <h3>${l === L ? "Every output's wishes" : "One layer further back: every neuron's wishes"} for layer ${l - 1}
          (each row: &minus;&part;C/&part;z<sub>j</sub> &middot; w<sub>j,k</sub>, largest ${fmt(scale)}), then their sum</h3>
        ${header}${rows.join("")}
        <div class="heatrow"><span class="name"><b>sum</b></span><div class="heat" style="${columns}">${cells(sum, sumScale, "sum")}</div></div>
        <p class="hint">The sum is &minus;&part;C/&part;a of layer ${l - 1} (largest ${fmt(sumScale)}): what this example
          wants of that layer, which it passes back in turn. That is backpropagation.</p>`);
    }
    this.container.querySelector("#wishes").innerHTML = parts.join("");
  }

  showFirst(example) {
    const nudges = unpack(example.dw1).map((d) => -d);
    const n = nudges.length / 784;
    const holder = this.container.querySelector("#first");
    if (this.first.length !== n) {
      holder.replaceChildren();
      this.first = [...Array(n).keys()].map((j) => {
        const figure = document.createElement("figure");
        const canvas = Object.assign(document.createElement("canvas"), { width: 28, height: 28 });
        const caption = document.createElement("figcaption");
        figure.append(canvas, caption);
        holder.append(figure);
        return { canvas, caption };
      });
    }
    this.first.forEach(({ canvas, caption }, j) => {
      const part = nudges.subarray(784 * j, 784 * (j + 1));
      const scale = largest(part);
      paint(canvas, part, { signedScale: scale }); // each image to its own scale, written under it
      caption.textContent = `${j}: ${fmt(scale, 2)}`;
      caption.title = `neuron ${j} of layer 1: largest weight nudge ${fmt(scale)}`;
    });
  }
}
