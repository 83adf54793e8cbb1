// Many examples, one step: each example's wishes side by side, their average, and the check that the
// average is the gradient of the batch's cost (the video's last step). Every number comes from the
// server (nn/explore/average.py): each example's own nudges by the chain rule, and one backward() over all of them.
// A nudge is −∂C/∂x: the way the example wants x to move.

import { rows, unpack } from "./api.js";
import { fmt, largest, paint, sayNumber, signed, signedColour } from "./format.js";

const SHOWN = 8; // examples side by side; the average is over all of them

export class AverageView {
  // ask(body): the server's answer to POST /api/average; current(): the example on screen as
  // {set, index} or {drawing | pixels, target}, or null; wrong(start): {set, index} of the next
  // example the network misreads.
  constructor(container, { ask, current, wrong, onStep }) {
    Object.assign(this, { container, ask, current, wrong, onStep });
    this.examples = [];
    this.result = null;
    this.neuron = null; // the first-layer neuron whose weight nudges are shown
    container.innerHTML = `
      <h2>Many examples: the average of their wishes is the gradient</h2>
      <p class="hint">Each example wants its own nudges. Gradient descent moves every weight by their average:
        add examples, see where they agree and where they pull against each other, then take the step.</p>
      <div class="row">
        <button id="avg-add">+ This example</button>
        <button id="avg-wrong">+ One it gets wrong</button>
        <button id="avg-fill" title="Add random training digits up to 100">Fill to a mini-batch of 100</button>
        <button id="avg-clear">Clear</button>
        <button id="avg-step" class="primary">Take one step by the average</button>
      </div>
      <p id="avg-summary"></p>
      <p id="avg-check" class="check"></p>
      <div class="avg-scroll"><table id="avg-table"></table></div>
      <p id="avg-tug"></p>
      <div id="avg-after"></div>`;
    this.$ = (id) => container.querySelector(`#${id}`);
    this.$("avg-add").addEventListener("click", () => this.add(this.current()));
    this.$("avg-wrong").addEventListener("click", async () => this.add(await this.wrong(this.lastIndex())));
    this.$("avg-fill").addEventListener("click", () => this.refresh({ fill: 100 }));
    this.$("avg-clear").addEventListener("click", () => { this.examples = []; this.result = null; this.draw(); });
    this.$("avg-step").addEventListener("click", () => this.refresh({ apply: true }));
    this.draw();
  }

  lastIndex() {
    const picked = this.examples.filter((e) => e.set === "test");
    return picked.length ? picked[picked.length - 1].index + 1 : 0;
  }

  async add(example) {
    if (!example) return;
    this.examples.push(example);
    await this.refresh();
  }

  // Ask again for the examples held; fill: grow them to that many with random training digits;
  // apply: the network takes one step by the average (the page then shows the new network).
  async refresh({ fill = 0, apply = false } = {}) {
    if (!this.examples.length && !fill) return this.draw();
    this.result = await this.ask({ examples: this.examples, fill, apply });
    this.examples = this.result.examples;
    this.draw();
    if (apply && this.onStep) this.onStep();
  }

  draw() {
    const r = this.result;
    const buttons = ["avg-step", "avg-clear"].map((id) => this.$(id));
    buttons.forEach((b) => { b.disabled = !r; });
    if (!r) {
      this.$("avg-summary").textContent = "No examples yet: add the one on screen, or one the network gets wrong.";
      for (const id of ["avg-check", "avg-tug", "avg-after"]) this.$(id).textContent = "";
      this.$("avg-table").innerHTML = "";
      return;
    }
    const n = r.labels.length;
    this.$("avg-summary").innerHTML = `${n} example${n === 1 ? "" : "s"}` +
      (n > SHOWN ? `: the first ${SHOWN} side by side, the average over all ${n}` : "") +
      `. The batch's cost (their mean): <b>${fmt(r.batch_cost)}</b>.`;
    const check = this.$("avg-check");
    check.className = `check ${r.check.agree ? "ok" : "bad"}`;
    sayNumber(check, `The average of ${n === 1 ? "1 example's" : `${n} examples'`} own nudges (the chain rule, for each alone) equals one ` +
      "backward() over the batch: largest difference ", r.check.max_difference, 2);
    this.drawTable(r, Math.min(n, SHOWN));
    this.drawTug(r);
    this.drawAfter(r);
  }

  drawTable(r, shown) {
    const images = r.images.map((p) => unpack(p));
    const mean = unpack(r.dw1_average);
    const nin = r.dw1_average.shape[1];
    if (this.neuron === null || this.neuron >= r.dw1_average.shape[0]) this.neuron = strongest(mean, nin);
    const k = this.neuron;
    const row = (m) => m.subarray(k * nin, (k + 1) * nin);
    // Example e's nudge to weight w_k of neuron k is its nudge to that neuron's z times pixel k of its
    // image (−∂C/∂z · a_k): the server sends the two factors, exact, and the image.
    const z1 = rows(r.z1_nudges);
    const dw1 = images.map((image, e) => Float64Array.from(image, (pixel) => z1[e][k] * pixel));
    // One scale for every column, printed: the largest nudge among everything the table shows.
    const outputs = rows(r.output_nudges).slice(0, shown).concat([r.output_average]);
    const outScale = largest(outputs.flat());
    const below = r.below_nudges ? rows(r.below_nudges).slice(0, shown).concat([r.below_average]) : null;
    const belowScale = below ? largest(below.flat()) : 0;
    const imageScale = Math.max(...dw1.slice(0, shown).map((m) => largest(m)), largest(row(mean)));
    const columns = [...Array(shown).keys()];
    const head = columns.map((e) => `<th>#${e + 1}<br><canvas class="digit small" data-e="${e}" width="28" height="28"></canvas>` +
      `<br>${r.labels[e]} &rarr; ${r.guesses[e]}</th>`).join("") + `<th class="avg">average<br>of ${r.labels.length}</th>`;
    const outRows = r.output_average.map((_, j) => `<tr><th>output ${j}</th>` +
      outputs.map((o, c) => `<td class="${c === shown ? "avg" : ""}" data-value="${o[j]}" style="background:${signedColour(o[j], outScale)}">${signed(o[j], 2)}</td>`).join("") + "</tr>");
    const belowRow = below ? `<tr><th>layer ${r.layers - 1}<br><span class="hint">(${below[0].length} neurons)</span></th>` +
      below.map((v, c) => `<td class="${c === shown ? "avg" : ""}"><div class="strip">${v.map((x) =>
        `<i style="background:${signedColour(x, belowScale)}" title="${signed(x)}"></i>`).join("")}</div></td>`).join("") + "</tr>" : "";
    const imageRow = `<tr><th>weights into<br>layer-1 neuron <select id="avg-neuron">${[...Array(r.dw1_average.shape[0]).keys()]
      .map((j) => `<option value="${j}"${j === k ? " selected" : ""}>${j}</option>`).join("")}</select></th>` +
      columns.map((e) => `<td><canvas class="digit small" data-w="${e}" width="28" height="28"></canvas></td>`).join("") +
      `<td class="avg"><canvas class="digit small" data-w="avg" width="28" height="28"></canvas></td></tr>`;
    this.$("avg-table").innerHTML = `<caption>What each example wants, on one scale per row: outputs up to ` +
      `${fmt(outScale)}, ${below ? `layer ${r.layers - 1} up to ${fmt(belowScale)}, ` : ""}weight nudges up to ${fmt(imageScale)} ` +
      `(<span class="pos">blue</span> up, <span class="neg">red</span> down)</caption>` +
      `<tr><th>label &rarr; guess</th>${head}</tr>${outRows.join("")}${belowRow}${imageRow}`;
    for (const canvas of this.container.querySelectorAll("canvas[data-e]")) paint(canvas, images[Number(canvas.dataset.e)]);
    for (const canvas of this.container.querySelectorAll("canvas[data-w]")) {
      const which = canvas.dataset.w;
      paint(canvas, which === "avg" ? row(mean) : dw1[Number(which)], { signedScale: imageScale });
    }
    this.$("avg-neuron").addEventListener("change", (event) => { this.neuron = Number(event.target.value); this.draw(); });
  }

  drawTug(r) {
    const t = r.disagreement;
    this.$("avg-tug").innerHTML = !t ? "Every weight is pulled the same way by all of these examples." :
      `<b>A tug of war:</b> the weight from ${t.layer === 1 ? `pixel ${t.input}` : `neuron ${t.input} of layer ${t.layer - 1}`} ` +
      `into neuron ${t.neuron} of layer ${t.layer}: example #${t.up.example + 1} (a ${t.up.label}) wants it ` +
      `<span class="pos">up by ${signed(t.up.nudge)}</span>, example #${t.down.example + 1} (a ${t.down.label}) ` +
      `<span class="neg">down by ${signed(t.down.nudge)}</span>; the average moves it by ${signed(t.average)}.`;
  }

  drawAfter(r) {
    const shown = Math.min(r.labels.length, SHOWN);
    const lower = r.costs_after.filter((c, e) => c < r.costs[e]).length;
    const cells = [...Array(shown).keys()].map((e) => `<tr><th>#${e + 1} (a ${r.labels[e]})</th><td>${fmt(r.costs[e])}</td>` +
      `<td>&rarr; ${fmt(r.costs_after[e])}</td></tr>`).join("");
    this.$("avg-after").innerHTML = `<h3>One step by the average (rate ${fmt(r.learning_rate)}): each example's cost before and after</h3>` +
      `<p>The batch's cost ${fmt(r.batch_cost)} &rarr; ${fmt(r.batch_cost_after)}; ${lower} of ${r.labels.length} examples' costs fall.` +
      `${r.applied ? " The network took this step." : " Press <i>Take one step</i> to let the network take it."}</p>` +
      `<table class="avg-costs"><tr><th></th><th>before</th><th>after</th></tr>${cells}</table>`;
  }
}

// The first-layer neuron whose average weight nudges are largest: the one the batch most wants to change.
function strongest(matrix, nin) {
  let best = 0, size = -1;
  for (let j = 0; j * nin < matrix.length; j++) {
    const s = largest(matrix.subarray(j * nin, (j + 1) * nin));
    if (s > size) { best = j; size = s; }
  }
  return best;
}
