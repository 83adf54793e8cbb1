// The stepper: a backward pass one node at a time, drawn from the steps the engine wrote
// (autodiff/walkthrough.py, stepper()): each step's chain rule in words and numbers, its frame as
// DOT (autodiff/render.py, frame_dot), and a question for the quiz. One view wherever the stepper
// appears: the page `python -m autodiff.walkthrough --html` writes, and the explorer's zoom into
// one neuron. The frames are laid out by the vendored WebAssembly Graphviz (window.seebackprop.drawDot).
// For slides: one frame as an SVG file, or the whole walk as an animated GIF (slides.js).

import { walkAsGif } from "./slides.js";

const SMALLEST = 1; // css px per point of a frame: frames are written in 18 pt, so text is never below 18 px
const LARGEST = 1.6; // and never blown up past the page's headings

// The colours, and the one sign language: a box's grad is ∂C/∂x; the explorer's arrows are nudges, −∂C/∂x.
const LEGEND = `<span class="key highlight">passes its gradient back</span>
<span class="key updated">receives a share</span>
<span class="key parameter">training changes it</span>
<span class="key data">data</span>
<span class="sign" title="The explorer draws nudges: the way each value should move to make C smaller">
<b>grad</b> = ∂C/∂x; <b>nudge</b> = −∂C/∂x</span>`;

function element(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

// A line of the explanation: a wrapped line continues under its own start, indented.
function explained(line) {
  const div = element("div", { class: line.startsWith("  ") ? "chain" : "" });
  div.textContent = line.trim() || "\u00a0";
  return div;
}

// A number as a learner may type it: 0.9, -0.0312, −0.0312 (a minus sign), 3.2e-7.
export function parseAnswer(text) {
  const cleaned = text.trim().replace(/\u2212/g, "-").replace(/\s+/g, "");
  if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(cleaned)) return null;
  return Number(cleaned);
}

// A file for the browser to save, as a download.
function download(blob, name) {
  const link = element("a", { download: name });
  link.href = URL.createObjectURL(blob);
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

export class Stepper {
  // root: an empty element to build the view in; prefix: the ids of its parts (prefix-prev, -next,
  // -counter, -graph, -text); keys: whether the whole page's arrow keys step (the stepper page).
  // empty: what the view says before it has steps to show.
  constructor(root, { prefix = "step", onError = (error) => console.error(error), keys = false, empty = "" } = {}) {
    this.root = root;
    this.onError = onError;
    this.steps = [];
    this.index = 0;
    this.quiz = false;
    this.answers = []; // per step: null (still asking), "right" (first time), "late" (after a wrong one), "shown"
    this.wrong = new Set(); // the steps answered wrongly at least once
    this.drawn = new Map(); // DOT text -> its laid-out <svg>, so that stepping back is instant
    root.classList.add("stepper");
    root.tabIndex = -1;
    const id = (part) => `${prefix}-${part}`;
    this.prev = element("button", { id: id("prev"), type: "button", title: "previous step: ← or b" }, "← Back");
    this.counter = element("span", { id: id("counter"), class: "counter" });
    this.next = element("button", { id: id("next"), type: "button", title: "next step: → or n" }, "Next →");
    this.quizToggle = element("input", { type: "checkbox", id: id("quiz") });
    const quizLabel = element("label", { class: "quiz-toggle" });
    quizLabel.append(this.quizToggle, " Predict first");
    this.score = element("span", { class: "score", id: id("score") });
    this.save = element("button", { id: id("save"), type: "button", title: "this frame and its words, as an SVG file for slides" },
                        "Save frame (SVG)");
    this.gif = element("button", { id: id("gif"), type: "button",
                                   title: "every step, its chain-rule lines under it: an animated GIF for slides" },
                       "Save walk (GIF)");
    this.exported = element("span", { class: "exported", id: id("exported"), role: "status" }); // why a GIF was not made
    const nav = element("nav", { class: "stepper-nav" });
    nav.append(this.prev, this.counter, this.next, quizLabel, this.save, this.gif, this.score, this.exported);

    this.graph = element("div", { id: id("graph"), class: "stepper-graph" });
    this.form = element("form", { class: "stepper-quiz", id: id("ask") });
    this.question = element("p", { class: "question" });
    this.hint = element("p", { class: "quiz-hint" });
    this.answer = element("input", { type: "text", inputmode: "decimal", autocomplete: "off",
                                     "aria-label": "your answer", id: id("answer") });
    this.check = element("button", { type: "submit", id: id("submit") }, "Check");
    this.reveal = element("button", { type: "button", id: id("reveal") }, "Show me");
    this.verdict = element("p", { class: "verdict", id: id("verdict"), "aria-live": "polite" });
    const row = element("div", { class: "row" });
    row.append(this.answer, this.check, this.reveal);
    this.form.append(this.question, this.hint, row, this.verdict);
    this.form.hidden = true;
    this.text = element("div", { id: id("text"), class: "stepper-text" });
    const side = element("div", { class: "stepper-side" });
    side.append(this.form, this.text);
    const body = element("div", { class: "stepper-body" });
    body.append(this.graph, side);
    const legend = element("p", { class: "stepper-legend" });
    legend.innerHTML = LEGEND;
    root.replaceChildren(nav, body, legend);
    if (empty) this.graph.append(element("p", { class: "empty" }, empty));

    this.prev.addEventListener("click", () => this.show(this.index - 1));
    this.next.addEventListener("click", () => this.show(this.index + 1));
    this.quizToggle.addEventListener("change", () => this.setQuiz(this.quizToggle.checked));
    this.save.addEventListener("click", () => this.saveFrame());
    this.gif.addEventListener("click", () => this.saveWalk());
    this.form.addEventListener("submit", (event) => { event.preventDefault(); this.submit(); });
    this.reveal.addEventListener("click", () => this.settle("shown"));
    (keys ? document : root).addEventListener("keydown", (event) => this.key(event));
    window.addEventListener("resize", () => this.fit());
    this.update();
  }

  // data: {steps: [{caption, text, dot, ask: {question, hint, answer, tolerance, dot}}]}, as stepper() writes it.
  // keepAnswers: the same walk on new numbers (the explorer retrained, or a stroke more): the quiz goes on.
  async load(data, index = 0, keepAnswers = false) {
    const same = keepAnswers && data.steps.length === this.steps.length;
    this.steps = data.steps;
    if (!same) this.restart();
    await this.show(index);
  }

  setQuiz(on) {
    this.quiz = on;
    this.quizToggle.checked = on;
    this.restart();
    this.show(this.index);
  }

  restart() {
    this.answers = this.steps.map(() => null);
    this.wrong = new Set();
    this.asked = null;
  }

  // Whether this step still waits for the learner's answer before showing its own frame and words.
  asking(index = this.index) {
    return this.quiz && Boolean(this.steps[index]?.ask) && this.answers[index] === null;
  }

  async show(index) {
    if (!this.steps.length) return;
    this.index = Math.max(0, Math.min(this.steps.length - 1, index));
    const step = this.steps[this.index];
    const asking = this.asking();
    this.form.hidden = !(this.quiz && step.ask);
    if (this.quiz && step.ask) {
      this.question.textContent = step.ask.question;
      this.hint.textContent = `Hint: ${step.ask.hint}`;
      this.answer.disabled = this.check.disabled = this.reveal.disabled = !asking;
      if (asking && this.asked !== this.index) { // a new question; the same one redrawn (new numbers) keeps what was typed
        this.answer.value = "";
        this.verdict.textContent = "";
        this.verdict.className = "verdict";
      }
      this.asked = this.index;
    }
    const lines = step.text.split("\n");
    this.text.replaceChildren(...(asking ? lines.slice(0, 1) : lines).map(explained));
    this.update();
    const ticket = (this.ticket = (this.ticket || 0) + 1);
    try {
      const svg = await this.draw(asking ? step.ask.dot : step.dot);
      if (ticket !== this.ticket) return; // the learner moved on while this frame was laid out
      this.root.dataset.shown = `${this.index + 1}${asking ? "?" : ""}`; // first: it shows the panels fit() measures
      this.graph.replaceChildren(svg);
      this.fit();
      this.inSight();
      if (asking) this.answer.focus({ preventScroll: true });
    } catch (error) {
      this.onError(error);
    }
  }

  async draw(dot) {
    if (!this.drawn.has(dot)) {
      const scratch = document.createElement("div");
      this.drawn.set(dot, await window.seebackprop.drawDot(scratch, dot));
    }
    return this.drawn.get(dot);
  }

  // The frame as large as its panel allows, between SMALLEST and LARGEST css px per point:
  // a frame too big for its panel scrolls rather than shrinking its text below 18 px.
  fit() {
    const svg = this.graph.querySelector("svg");
    if (!svg) return;
    const box = svg.viewBox.baseVal;
    const room = Math.min((this.graph.clientWidth - 8) / box.width, (this.graph.clientHeight - 8) / box.height);
    const scale = Math.max(SMALLEST, Math.min(LARGEST, room));
    svg.setAttribute("width", box.width * scale);
    svg.setAttribute("height", box.height * scale);
    svg.dataset.scale = scale;
  }

  // A frame larger than its panel scrolls: the node passing its gradient, if out of sight, is brought to the
  // middle of the panel, where the children it passes to are seen around it.
  inSight() {
    const node = this.graph.querySelector("svg g.node.highlight");
    if (!node) return;
    const panel = this.graph.getBoundingClientRect(), box = node.getBoundingClientRect();
    const by = (low, high, start, end) => (low >= start && high <= end ? 0 : (low + high) / 2 - (start + end) / 2);
    this.graph.scrollBy(by(box.left, box.right, panel.left, panel.left + this.graph.clientWidth),
                        by(box.top, box.bottom, panel.top, panel.top + this.graph.clientHeight));
  }

  // The frame on screen as an SVG file, its step's first lines under the drawing: a slide's picture.
  saveFrame() {
    const shown = this.graph.querySelector("svg");
    if (!shown) return;
    const box = shown.viewBox.baseVal, size = 15, gap = 1.3 * size;
    const lines = this.steps[this.index].text.split("\n").filter((line, k) => k === 0 || line.startsWith("  ∂")).slice(0, 7);
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    const height = box.height + 8 + gap * lines.length;
    svg.setAttribute("xmlns", "http://www.w3.org/2000/svg");
    svg.setAttribute("viewBox", `0 0 ${box.width} ${height}`);
    svg.setAttribute("width", box.width);
    svg.setAttribute("height", height);
    const drawing = shown.cloneNode(true);
    for (const [name, value] of [["x", 0], ["y", 0], ["width", box.width], ["height", box.height]]) drawing.setAttribute(name, value);
    svg.append(drawing);
    lines.forEach((line, k) => {
      const text = document.createElementNS("http://www.w3.org/2000/svg", "text");
      Object.entries({ x: 6, y: box.height + 4 + gap * (k + 1), "font-size": size, "font-family": "Arial, Helvetica, sans-serif" })
        .forEach(([name, value]) => text.setAttribute(name, value));
      text.textContent = line.trim();
      svg.append(text);
    });
    download(new Blob([new XMLSerializer().serializeToString(svg)], { type: "image/svg+xml" }),
             `step-${String(this.index + 1).padStart(2, "0")}.svg`);
  }

  // The whole walk, every step's own frame (the answers shown, as after the quiz), as an animated GIF.
  async saveWalk() {
    if (!this.steps.length || this.gif.disabled) return;
    const label = this.gif.textContent;
    this.gif.disabled = true;
    this.exported.textContent = "";
    try {
      const frames = [];
      for (const step of this.steps) frames.push({ svg: await this.draw(step.dot), text: step.text });
      const bytes = await walkAsGif(frames, { progress: (k, n) => { this.gif.textContent = `GIF: ${k} / ${n}…`; } });
      download(new Blob([bytes], { type: "image/gif" }), "backward-pass.gif");
    } catch (error) {
      this.exported.textContent = `No GIF: ${error.message || error}`;
    } finally {
      this.gif.textContent = label;
      this.gif.disabled = false;
    }
  }

  submit() {
    const step = this.steps[this.index];
    const guess = parseAnswer(this.answer.value);
    if (guess === null) {
      this.verdict.textContent = "Type a number, like -0.0312.";
      this.verdict.className = "verdict wrong";
      return;
    }
    if (Math.abs(guess - step.ask.answer) <= step.ask.tolerance) {
      this.settle("right");
      return;
    }
    this.wrong.add(this.index);
    this.verdict.textContent = `Not ${this.answer.value.trim()}: try again, or Show me.`;
    this.verdict.className = "verdict wrong";
    this.answer.select();
  }

  settle(how) {
    const step = this.steps[this.index];
    this.answers[this.index] = how === "shown" ? "shown" : this.wrong.has(this.index) ? "late" : "right";
    const right = how !== "shown";
    this.verdict.textContent = right ? `Right: ${step.ask.shown ?? step.ask.answer}. Here is the chain rule in numbers.`
                                     : `It is ${step.ask.shown ?? step.ask.answer}. Here is the chain rule in numbers.`;
    this.verdict.className = `verdict ${right ? "right" : "shown"}`;
    this.show(this.index);
  }

  update() {
    const n = this.steps.length;
    this.counter.textContent = n ? this.steps[this.index].caption : "";
    this.prev.disabled = !n || this.index === 0;
    this.next.disabled = !n || this.index === n - 1;
    const asked = this.answers.filter((a) => a !== null).length;
    const right = this.answers.filter((a) => a === "right").length;
    this.score.textContent = this.quiz ? `score: ${right} / ${asked} right first time` : "";
  }

  key(event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return; // the browser's own shortcuts
    if (event.target instanceof HTMLInputElement && event.target.type === "text") return; // typing an answer
    const moves = { ArrowRight: 1, PageDown: 1, n: 1, ArrowLeft: -1, PageUp: -1, b: -1, p: -1 };
    if (event.key in moves) this.show(this.index + moves[event.key]);
    else if (event.key === "Home") this.show(0);
    else if (event.key === "End") this.show(this.steps.length - 1);
    else return;
    event.preventDefault();
  }
}

// The stepper page: the steps are inline, the view fills the window.
export function startPage(data) {
  const view = new Stepper(document.getElementById("stepper"), { keys: true });
  if (new URLSearchParams(location.search).has("quiz")) view.quiz = view.quizToggle.checked = true;
  view.load(data);
  return view;
}
