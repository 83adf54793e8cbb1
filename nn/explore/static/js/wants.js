// What this example wants (the heart of the video): the output nudges, how one output neuron gets
// there (its bias, its weights, the activations below it), every output's wishes for the layer
// below and their sum, one layer further back, and the first-layer weight nudges as images.
// A nudge is -∂C/∂(something): the server sends the gradients, computed by backward() and checked.
// Every bar, colour and image is scaled by the largest value it is shown with, and that scale is printed.

import { bar, fmt, largest, paint, sayNumber, signed, signedColour } from "./format.js";

// Neuron k of layer l as drawn: a wide layer shows a few (example.names), each by its own number.
const named = (example, l, k) => (example.names && example.names[l] ? example.names[l][k] : k);

// Under a wide layer's wishes: that its other neurons' wishes are in the sum, though not drawn.
function hiddenNote(example, l) {
  const total = example.totals && example.totals[l];
  const drawn = example.a[l].length;
  return total && total.neurons > drawn ? `<p class="hint">Drawn: ${drawn} of the ${total.neurons} neurons of layer ${l}
    (the most active and those with the largest wishes); the sum below adds the wishes of all ${total.neurons}.</p>` : "";
}

export class WantsView {
  // onOutput(j) when another output neuron is chosen.
  // classes: the outputs' names (the digits by default); noun: what an example is called ("digit", "image").
  constructor(container, { onOutput, classes = [...Array(10).keys()].map(String), noun = "digit" }) {
    this.classes = classes;
    this.noun = noun;
    this.container = container;
    this.onOutput = onOutput;
    container.innerHTML = `
      <p id="no-target" class="ask" hidden></p>
      <div id="with-target">
        <div class="row"><span id="cost"></span> <span id="check" class="check"></span></div>
        <div class="grid2">
          <div><h3>What the outputs want: &minus;&part;C/&part;a = &minus;2(a &minus; y)</h3><table id="outputs"></table></div>
          <div><h3>How output <select id="output" aria-label="output neuron"></select> gets there</h3><div id="one"></div></div>
        </div>
        <div id="wishes"></div>
        <h3>The first-layer weight nudges &minus;&part;C/&part;w, one 28&times;28 image per neuron
          (<span class="pos">blue</span>: up, <span class="neg">red</span>: down; black: no nudge, as from a blank pixel)</h3>
        <p><label><input type="checkbox" id="own-scale"> each image to its own scale</label>
          <span id="first-scale" class="hint"></span></p>
        <div id="first" class="images"></div>
      </div>`;
    this.output = container.querySelector("#output");
    this.output.innerHTML = this.classes.map((name, j) => `<option value="${j}">${name}</option>`).join("");
    this.output.addEventListener("change", () => this.onOutput(Number(this.output.value)));
    this.ownScale = container.querySelector("#own-scale");
    this.ownScale.addEventListener("change", () => this.example?.target != null && this.showFirst(this.example));
    this.first = [];
    this.walk = null;
  }

  show(example, outputNeuron) {
    this.example = example;
    const noTarget = example.target === null;
    this.container.querySelector("#no-target").hidden = !noTarget;
    this.container.querySelector("#with-target").hidden = noTarget;
    if (noTarget) {
      this.container.querySelector("#no-target").textContent = "No nudges yet: they are what this example wants " +
        "to come closer to its target, and a drawing has none until you say which digit it is (the buttons under the pad).";
      return;
    }
    const L = example.a.length - 1;
    this.output.value = String(outputNeuron);
    this.container.querySelector("#cost").innerHTML =
      `cost C = &Sigma; (a<sub>j</sub> &minus; y<sub>j</sub>)&sup2; = <b>${fmt(example.cost)}</b> for the target ${example.target};`;
    const check = this.container.querySelector("#check");
    check.className = `check ${example.check.agree ? "ok" : "bad"}`;
    sayNumber(check, "backward() and the numpy chain rule agree: largest difference ", example.check.max_difference, 2);
    this.showOutputs(example, L);
    this.showOne(example, L, outputNeuron);
    this.showWishes(example, L);
    this.showFirst(example);
    this.setWalk(this.walk);
  }

  showOutputs(example, L) {
    const a = example.a[L];
    const nudges = example.da[L].map((d) => -d);
    const scale = largest(nudges); // the bars fill by the largest nudge shown, never by a fixed ±2
    const rows = a.map((value, j) => `
      <tr class="${j === example.target ? "target" : ""}"><td>${this.classes[j]}</td><td>${fmt(value)}</td><td>${j === example.target ? 1 : 0}</td>
        <td class="bar">${bar(nudges[j], scale)}</td><td>${signed(nudges[j])}</td></tr>`);
    this.container.querySelector("#outputs").innerHTML =
      `<caption class="hint">a full bar: ${fmt(scale)}, the largest nudge here</caption>
       <tr><th>${this.noun === "digit" ? "digit" : "class"}</th><th>a</th><th>y</th><th>nudge</th><th></th></tr>${rows.join("")}`;
  }

  showOne(example, L, j) {
    const dz = example.dz[L][j];
    const below = example.a[L - 1];
    const weightNudges = example.dw[L][j].map((d) => -d); // -∂C/∂w_jk = -∂C/∂z_j · a_k
    const wished = example.wishes[L][j].map((d) => -d); //   -∂C/∂z_j · w_jk
    const scaleW = largest(weightNudges), scaleA = largest(wished);
    // Fire together, wire together: the weight from the most active neuron below moves most, the
    // weight from the least active one least. Those two rows are marked, and named in the text.
    const order = below.map((_, k) => k).sort((p, q) => below[q] - below[p]);
    const bright = order[0], dim = order[order.length - 1];
    const rows = below.map((a, k) => `
      <tr class="${k === bright ? "fire" : k === dim ? "dim" : ""}"><td>${named(example, L - 1, k)}</td><td>${fmt(a)}</td>
        <td class="bar">${bar(weightNudges[k], scaleW)}</td><td>${signed(weightNudges[k])}</td>
        <td class="bar">${bar(wished[k], scaleA)}</td><td>${signed(wished[k])}</td></tr>`);
    this.container.querySelector("#one").innerHTML = `
      <p>Its error term &minus;&part;C/&part;z = ${signed(-dz)}. Its bias moves with it: nudge ${signed(-example.db[L][j])}.
        Its weights move in proportion to the activations feeding them; it wishes those activations moved in
        proportion to its weights.</p>
      <p id="fire" class="fire-text"><b>Neurons that fire together wire together:</b> the weight from neuron ${named(example, L - 1, bright)},
        the brightest below (a = ${fmt(below[bright])}), gets the nudge ${signed(weightNudges[bright])}; the weight from
        neuron ${named(example, L - 1, dim)}, the dimmest (a = ${fmt(below[dim])}), only ${signed(weightNudges[dim])} (the marked rows).</p>
      <table><caption class="hint">full bars: ${fmt(scaleW)} and ${fmt(scaleA)}</caption>
        <tr><th>k</th><th>a<sub>k</sub> below</th><th colspan="2">nudge to w<sub>${j},k</sub></th>
        <th colspan="2">wish for a<sub>k</sub></th></tr>${rows.join("")}</table>`;
  }

  showWishes(example, L) {
    const parts = [];
    for (let l = L; l >= 2; l--) {
      const wishes = example.wishes[l].map((row) => row.map((d) => -d));
      const sum = example.da[l - 1].map((d) => -d);
      // one colour scale for the rows and their sum: the sum's colours are comparable to its parts'
      const scale = largest([...wishes.flat(), ...sum]);
      const columns = `grid-template-columns: repeat(${sum.length}, 1fr)`;
      const cells = (values, cls = "") => values.map((v) =>
        `<div class="${cls}" style="background:${signedColour(v, scale)}" title="${signed(v)}"></div>`).join("");
      const who = l === L ? "output" : "neuron";
      const header = `<div class="heatrow"><span class="name">k:</span><div class="heat index" style="${columns}">` +
        sum.map((_, k) => `<div>${named(example, l - 1, k)}</div>`).join("") + "</div></div>";
      const rows = wishes.map((row, j) =>
        `<div class="heatrow each"><span class="name">${who} ${named(example, l, j)}</span><div class="heat" style="${columns}">${cells(row)}</div></div>`);
      parts.push(`<div class="wishes" data-layer="${l - 1}">
        <h3>${l === L ? "Every output's wishes" : "One layer further back: every neuron's wishes"} for layer ${l - 1}
          (each row: &minus;&part;C/&part;z<sub>j</sub> &middot; w<sub>j,k</sub>), then their sum</h3>
        <p class="hint">One colour scale for the rows and the sum: full colour is ${fmt(scale)}.</p>
        ${header}${rows.join("")}
        <div class="heatrow sum"><span class="name"><b>sum</b></span><div class="heat" style="${columns}">${cells(sum, "sum")}</div></div>
        ${hiddenNote(example, l)}
        <p class="hint">The sum is &minus;&part;C/&part;a of layer ${l - 1} (largest ${fmt(largest(sum))}): what this
          example wants of that layer, which it passes back in turn. That is backpropagation.</p></div>`);
    }
    this.container.querySelector("#wishes").innerHTML = parts.join("");
  }

  // The step of the walk back: its rows or its sum marked in the heatmaps.
  setWalk(walk) {
    this.walk = walk;
    for (const block of this.container.querySelectorAll(".wishes")) {
      const here = walk !== null && Number(block.dataset.layer) === walk.layer;
      block.classList.toggle("now", here);
      for (const row of block.querySelectorAll(".heatrow.each")) row.classList.toggle("now", here && walk.part === "each");
      block.querySelector(".heatrow.sum").classList.toggle("now", here && walk.part === "sum");
    }
  }

  showFirst(example) {
    const nudges = example.dw1Nudges;
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
    const own = this.ownScale.checked;
    const shared = largest(nudges);
    this.container.querySelector("#first-scale").textContent = own
      ? "Each image is scaled by its own largest nudge, written under it: a faint nudge looks as strong as a big one."
      : `One scale for all: full colour is ${fmt(shared)}, the largest nudge of them all; under each, its own largest.`;
    this.first.forEach(({ canvas, caption }, j) => {
      const part = nudges.subarray(784 * j, 784 * (j + 1));
      const scale = largest(part);
      paint(canvas, part, { signedScale: own ? scale : shared });
      caption.textContent = `${named(example, 1, j)}: ${fmt(scale, 2)}`;
      caption.title = `neuron ${named(example, 1, j)} of layer 1: largest weight nudge ${fmt(scale)}`;
    });
  }
}
