// Zoom into one neuron: its scalar graph (w·x + b -> σ, and for an output its part of the cost),
// drawn here from the DOT that autodiff.render writes, with the vendored WebAssembly Graphviz; and
// its backward pass a step at a time, the chain rule in words and numbers, as the walkthrough does.

import { postJSON } from "./api.js";
import { fmt } from "./format.js";

export class ZoomView {
  constructor(elements, onError) {
    Object.assign(this, elements); // title, prev, next, counter, graph, text, check
    this.onError = onError;
    this.steps = [];
    this.index = 0;
    this.loading = 0;
    this.prev.addEventListener("click", () => this.show(this.index - 1));
    this.next.addEventListener("click", () => this.show(this.index + 1));
    this.text.parentElement.addEventListener("keydown", (event) => { // the panel, once clicked
      if (event.key === "ArrowLeft") this.show(this.index - 1);
      if (event.key === "ArrowRight") this.show(this.index + 1);
    });
    this.update();
  }

  // request: the example ({pixels} or {drawing}, target) and the neuron ({layer, neuron}).
  async load(request, keepStep = false) {
    const ticket = ++this.loading; // a newer choice wins over an answer still on its way
    let answer;
    try {
      answer = await postJSON("/api/neuron", request);
    } catch (error) {
      this.onError(error);
      return;
    }
    if (ticket !== this.loading) return;
    const last = request.layer === this.layers;
    this.title.textContent = `Neuron ${answer.neuron} of layer ${answer.layer}${last ? " (an output)" : ""}: ` +
      `a = σ(w·a + b)${last ? ", and its part of the cost, (a − y)²" : ""}`;
    this.check.className = `check ${answer.max_difference < 1e-9 ? "ok" : "bad"}`;
    this.check.textContent = `the scalar engine's gradients equal the layer view's: largest difference ${fmt(answer.max_difference, 2)}`;
    this.steps = answer.steps;
    await this.show(keepStep ? Math.min(this.index, this.steps.length - 1) : 0);
  }

  async show(index) {
    if (!this.steps.length) return;
    this.index = Math.max(0, Math.min(this.steps.length - 1, index));
    const step = this.steps[this.index];
    this.text.textContent = step.text;
    this.update();
    try {
      await window.seebackprop.drawDot(this.graph, step.dot);
    } catch (error) {
      this.onError(error);
    }
  }

  update() {
    const n = this.steps.length;
    this.counter.textContent = n ? `step ${this.index + 1} / ${n}` : "";
    this.prev.disabled = !n || this.index === 0;
    this.next.disabled = !n || this.index === n - 1;
  }
}
