// Zoom into one neuron: its scalar graph (w·x + b -> σ, and for an output its part of the cost) and
// its backward pass a step at a time. The steps come from the engine (/api/neuron, built by
// autodiff.walkthrough.stepper) and are drawn by the stepper view itself, autodiff/web/stepper,
// the same module as the stepper page's: one stepper, fed the same JSON, in both places.

import { postJSON } from "./api.js";
import { sayNumber } from "./format.js";
import { Stepper } from "../stepper/stepper.js";

export class ZoomView {
  // elements: title, check, and stepper (an empty element the stepper view is built in).
  constructor(elements, onError) {
    Object.assign(this, elements);
    this.onError = onError;
    this.loading = 0;
    this.view = new Stepper(this.stepper, { prefix: "zoom", onError,
      empty: "Click any neuron in the network to step through its backward pass here, one node at a time." });
    this.stepper.classList.add("boxed");
  }

  get index() { return this.view.index; }
  get steps() { return this.view.steps; }
  show(index) { return this.view.show(index); }

  // request: the example ({pixels} or {drawing}, target) and the neuron ({layer, neuron}).
  async load(request, keepStep = false) {
    const key = JSON.stringify(request);
    if (keepStep && key === this.inFlight) return; // a refresh of what is on its way already: wait for it
    const ticket = ++this.loading; // a newer choice wins over an answer still on its way
    this.inFlight = key;
    let answer;
    try {
      answer = await postJSON("/api/neuron", request);
    } catch (error) {
      this.onError(error);
      return;
    } finally {
      if (ticket === this.loading) this.inFlight = null;
    }
    if (ticket !== this.loading) return;
    const neuron = `${request.layer}/${request.neuron}`;
    keepStep = keepStep && neuron === this.neuron; // the place in the walk means nothing in another neuron's
    this.neuron = neuron;
    const last = request.layer === this.layers;
    this.title.textContent = `Neuron ${answer.neuron} of layer ${answer.layer}${last ? " (an output)" : ""}: ` +
      `a = σ(w·a + b)${last ? ", and its part of the cost, (a − y)²" : ""}`;
    this.check.className = `check ${answer.max_difference < 1e-9 ? "ok" : "bad"}`;
    sayNumber(this.check, "the scalar engine's gradients equal the layer view's: largest difference ", answer.max_difference, 2);
    await this.view.load({ steps: answer.steps }, keepStep ? this.view.index : 0, keepStep);
  }
}
