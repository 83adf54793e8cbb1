// The explorer's page: wires the views to the server. The page keeps only what is on screen (the
// current input, the target, the chosen neuron, the step of the walk back); every number comes
// from the server's engines.

import { getJSON, postJSON, reload, rows, unpack } from "./api.js";
import { count, fmt, largest, paint, signed } from "./format.js";
import { NetworkView } from "./network.js";
import { DrawingPad, INK_SIDE } from "./pad.js";
import { TrainingView } from "./training.js";
import { WantsView } from "./wants.js";
import { AverageView } from "./average.js";
import { ZoomView } from "./zoom.js";
import { encode as encodeLink, parse as parseLink } from "./link.js";
import { networkPng, save as saveBlob } from "./snapshot.js";

let root = document; // the page, or the shadow root the notebook widget draws into
const $ = (id) => root.getElementById(id);
const pageBody = () => (root === document ? document.body : root.querySelector(".page")); // the widget's stands in for <body>
const page = {
  input: null, // what the network reads: {pixels} (a picked digit) or {drawing} (the pad's ink)
  label: null, // the true label of a picked digit; null for a drawing
  target: null, // the digit the output should read: a picked digit's label, or what the learner says a drawing is
  newDrawing: true, // the next stroke starts a new drawing, which has no target until the learner says one
  picked: { set: "test", index: 0 },
  count: 1, // digits in the picked set
  output: 0, // the output neuron whose wishes are shown
  selected: null, // [layer, neuron] zoomed into
  steps: 0, // training steps seen so far
  example: null,
  walk: 0, // the step of the walk back: 0 shows every wish at once
  hovered: null, // the first-layer neuron under the pointer
  stale: true, // the network on screen is not yet the server's
};
// Frame times in milliseconds, for benchmarks/explorer.py: from asking the server to the next frame
// painted (total), and from its answer to that frame (render).
window.explorerTimings = [];

let network, wants, zoom, training, pad, sizes, walkSteps, average;
let classes = [...Array(10).keys()].map(String); // the name of each label
const words = { digit: "digit", digits: "digits" }; // or, for images of other classes, "image"

// The page's words follow the classes: "digit" for the digits, "image" for others (classes.txt).
function nameTheClasses(state) {
  const digits = classes.every((name, d) => name === String(d));
  if (digits) return;
  Object.assign(words, { digit: "image", digits: "images" });
  const swap = (text) => text.replace(/\b([Aa]) digit\b/g, "$1n digit")
    .replace(/\bdigit(s?)\b/g, "image$1").replace(/\bDigit(s?)\b/g, "Image$1");
  const walker = document.createTreeWalker(pageBody(), NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) node.nodeValue = swap(node.nodeValue);
  for (const element of pageBody().querySelectorAll("[title], [aria-label]")) {
    for (const name of ["title", "aria-label"]) if (element.hasAttribute(name)) element.setAttribute(name, swap(element.getAttribute(name)));
  }
  $("title").dataset.classes = classes.join(", ");
}

function showError(error) {
  const footer = $("error");
  footer.textContent = String(error.message || error);
  footer.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => { footer.hidden = true; }, 5000);
}

// --- one example: ask, then show; while a request is out, only the newest input waits ---

let inFlight = false, again = false, wantsShownAt = 0;

async function examine() {
  if (!page.input) return;
  const started = performance.now();
  if (inFlight) { again = true; return; }
  inFlight = true;
  try {
    const asked = [page.input, page.target];
    const example = await postJSON("/api/example", { ...page.input, target: page.target });
    if (asked[0] !== page.input || asked[1] !== page.target) return; // stale: the newer input is asked for next
    const drawStart = performance.now();
    if (example.target !== null) {
      example.dw = example.dw.map((matrix) => matrix && rows(matrix));
      example.wishes = example.wishes.map((matrix) => matrix && rows(matrix));
      example.dw1Nudges = unpack(example.dw1).map((d) => -d);
    }
    drawnOnly(example);
    page.example = example;
    const image = unpack(example.image);
    paint($("received"), image);
    network.setExample(example, image);
    showSummary(example);
    showWalk();
    const networkDrawn = performance.now();
    // The network view follows every stroke and training 5 times a second; the tables below it
    // follow at the end of a stroke, and once a second while training (enough to read, and it
    // leaves the machine to training).
    const drawing = pad.last !== null;
    if (!drawing && (!page.running || drawStart - wantsShownAt > 1000)) {
      wants.show(example, page.output);
      wantsShownAt = drawStart;
    }
    requestAnimationFrame(() => {
      const now = performance.now();
      window.explorerTimings.push({ total: now - started, render: now - drawStart, network: networkDrawn - drawStart });
    });
  } catch (error) {
    showError(error);
  } finally {
    inFlight = false;
    if (again) { again = false; examine(); }
  }
}

// Above the network: the guess, and the target with its cost, or why there are no nudges yet.
function showSummary(example) {
  const guess = `The network reads <b class="guess-digit">${classes[example.guess]}</b>.`;
  if (example.target === null) {
    $("summary").innerHTML = `${guess} <span class="ask">Which ${words.digit} did you draw? Say it under the pad.</span>`;
    return;
  }
  const whose = page.label !== null ? "its label" : "you said";
  $("summary").innerHTML = `${guess} Target <b>${example.target}</b> (${whose}); cost ${fmt(example.cost)}.`;
}

// A wide layer's numbers arrive whole (a, da, dz, db), its matrices only between the neurons drawn
// (example.shown, the server's choice): the views see the neurons drawn, in order, and name them by it.
function drawnOnly(example) {
  if (!example.shown) return;
  example.names = example.shown;
  if (example.w) {
    example.w = example.w.map((matrix) => matrix && rows(matrix));
    example.w1 = unpack(example.w1);
  }
  for (const key of ["a", "da", "dz", "db"]) {
    if (!example[key]) continue;
    example[key] = example[key].map((layer, l) => (l > 0 && layer && example.shown[l] && example.shown[l].length < layer.length
      ? example.shown[l].map((j) => layer[j]) : layer));
  }
}

function zoomIn(keepStep = false) {
  if (!page.selected || !page.input) return null;
  if (page.target === null) {
    $("zoom-title").textContent = `Zoom into one neuron: first say which ${words.digit} the drawing is`;
    return null;
  }
  const [layer, neuron] = page.selected;
  return zoom.load({ ...page.input, target: page.target, layer, neuron }, keepStep);
}

function selectNeuron(layer, j) {
  page.selected = [layer, j];
  network.select(layer, j);
  showLens(null);
  $("zoom-link").hidden = false;
  $("zoom-link").textContent = `neuron ${j} step by step \u2193`;
  $("zoom-link").title = `neuron ${j} of layer ${layer}: its backward pass, a step at a time, below`;
  if (layer === sizes.length - 1) {
    page.output = j;
    if (page.example && page.example.target !== null) wants.show(page.example, j);
  }
  return zoomIn();
}

function refreshAll() {
  examine();
  zoomIn(true);
}

// --- the target: a picked digit's label, or the digit the learner says a drawing is ---

function showTargets() {
  const picked = page.label !== null;
  $("target-question").textContent = picked ? `Its label: ${classes[page.label]}` : `Which ${words.digit} is it?`;
  for (const button of $("targets").children) {
    const d = Number(button.dataset.digit);
    button.classList.toggle("chosen", d === page.target);
    button.setAttribute("aria-pressed", String(d === page.target));
    button.disabled = picked; // a picked digit's target is its true label
  }
}

function chooseTarget(digit) {
  if (page.label !== null || !page.input) return;
  page.target = digit;
  page.output = digit;
  showTargets();
  refreshAll();
}

// --- input: the pad, or a digit of the test or training set ---

function drew(drawingPad) {
  if (drawingPad.blank) return;
  if (page.newDrawing) { // a new drawing: no target until the learner says which digit it is
    page.newDrawing = false;
    page.label = page.target = null;
    showTargets();
    $("picked").textContent = "your drawing";
  }
  page.input = { drawing: { size: INK_SIDE, ink: drawingPad.ink() } };
  examine();
  if (!drawingPad.last) zoomIn(true); // a stroke ended
}

async function pick(request) {
  try {
    const digit = await postJSON("/api/digit", { set: $("set").value, ...request });
    page.picked = { set: digit.set, index: digit.index };
    page.count = digit.count;
    page.input = { pixels: digit.pixels };
    page.label = page.target = digit.label;
    page.output = digit.label;
    $("index").value = digit.index;
    $("index").max = digit.count - 1;
    $("picked").textContent = `${digit.set} ${words.digit} ${digit.index.toLocaleString("en")} of ${digit.count.toLocaleString("en")}: a "${classes[digit.label]}"`;
    pad.clear(false);
    page.newDrawing = true;
    showTargets();
    refreshAll();
  } catch (error) {
    showError(error);
  }
}

function nextStart() {
  return (page.picked.index + 1) % page.count;
}

// --- the walk back: outputs, then each layer below, each neuron's wishes and then their sum ---

function makeWalk(layers) {
  const steps = [null, { layer: layers, part: "sum" }];
  for (let l = layers - 1; l >= 1; l--) steps.push({ layer: l, part: "each" }, { layer: l, part: "sum" });
  return steps;
}

function walkTo(index) {
  page.walk = Math.max(0, Math.min(walkSteps.length - 1, index));
  const walk = walkSteps[page.walk];
  network.setWalk(walk);
  wants.setWalk(walk);
  showWalk();
  showLens(page.hovered);
}

// The words under the network, with the numbers the picture shows.
function showWalk() {
  const example = page.example;
  const ready = example && example.target !== null;
  $("walk-back").disabled = !ready || page.walk === 0;
  $("walk-next").disabled = !ready || page.walk === walkSteps.length - 1;
  $("walk-next").textContent = page.walk === 0 ? "Walk the wishes back \u2192" : "Next \u2192";
  if (!ready) {
    $("walk-text").textContent = "Circles: each neuron's activation. No wishes yet: they are what this example wants " +
      `to come closer to its target, and a drawing has none until you say which ${words.digit} it is.`;
    return;
  }
  const L = sizes.length - 1;
  const walk = walkSteps[page.walk];
  const n = walkSteps.length - 1;
  const scale = (l) => fmt(network.scaleOf[l]);
  let text;
  if (walk === null) {
    text = edgeWords(example);
  } else if (walk.layer === L) {
    const wishes = example.da[L].map((d) => -d);
    text = `Step 1 of ${n} \u00b7 The outputs. The cost wants each output moved by \u2212\u2202C/\u2202a = \u22122(a \u2212 y): ` +
      `the target ${example.target} by ${signed(wishes[example.target])}, the others down (\u2195 ${scale(L)}).`;
  } else {
    const l = walk.layer, above = l + 1 === L ? "output" : `layer-${l + 1} neuron`;
    if (walk.part === "each") {
      const wishes = example.wishes[l + 1].flat().map((d) => -d);
      text = `Step ${page.walk} of ${n} \u00b7 Layer ${l}, wish by wish. Each ${above} j wishes each neuron k below moved by ` +
        `\u2212\u2202C/\u2202z\u2C7C \u00b7 w\u2C7C\u2096: the lines (largest ${fmt(largest(wishes))}), and the heatmap's rows below.`;
    } else {
      text = `Step ${page.walk} of ${n} \u00b7 Layer ${l}, the sum. The ${count(sizes[l + 1], above)}' wishes add up to ` +
        `what this example wants of layer ${l}, \u2212\u2202C/\u2202a: the arrows (\u2195 ${scale(l)}), the heatmap's sum row.` +
        (l === 1 ? " Each first-layer wish becomes nudges to 784 weights: the images below." : ` Layer ${l} passes it back in turn.`);
    }
  }
  $("walk-text").textContent = text;
}

// The lines' legend; with the weight nudges, the video's "neurons that fire together wire together",
// with the numbers that show it, for the output that changes most (the largest error term): the
// weight from the brightest neuron below gets its biggest nudge, the one from the dimmest its least.
function edgeWords(example) {
  if (!$("edge-nudges").checked) {
    return "Beside every neuron: what this example wants of its activation, \u2212\u2202C/\u2202a, an arrow up or down " +
      "as long as its share of the layer's largest wish (\u2195 under the layer). Lines: the weights, blue positive, red negative.";
  }
  const L = sizes.length - 1;
  const errors = example.dz[L].map(Math.abs);
  const j = errors.indexOf(Math.max(...errors));
  const below = example.a[L - 1];
  const bright = below.indexOf(Math.max(...below)), dim = below.indexOf(Math.min(...below));
  const nudge = (k) => signed(-example.dw[L][j][k]);
  const scales = network.edgeScale.map((s, l) => s && `${l - 1}\u2192${l}: ${fmt(s.scale)}`).filter(Boolean).join(", ");
  return `Lines: this example's weight nudges \u2212\u2202C/\u2202w = \u2212\u2202C/\u2202z\u2C7C \u00b7 a\u2096 (largest ${scales}; ` +
    `the first layer's: the small images, largest ${fmt(network.thumbScale.scale)}). Neurons that fire together wire together: ` +
    `to output ${j}, the weight from neuron ${bright} (a = ${fmt(below[bright])}) gets ${nudge(bright)}, ` +
    `from neuron ${dim} (a = ${fmt(below[dim])}) ${nudge(dim)}.`;
}

// --- training and the network's weights ---

// One request at a time asks for the costs since the last step this page has plotted. After an
// action (fresh), one that was already on its way may hold the old state: ask again after it.
let stateRequest = null;
function refreshState(fresh = false) {
  if (fresh && stateRequest) return stateRequest.then(() => refreshState());
  stateRequest = stateRequest || (async () => {
    try {
      const since = page.steps;
      applyState(await getJSON(`/api/state?since=${since}`), since);
    } finally {
      stateRequest = null;
    }
  })();
  return stateRequest;
}

async function poll() {
  const started = performance.now();
  try {
    await refreshState();
  } catch (error) {
    showError(error);
  }
  // at least 4 updates a second while training: every 200 ms from the start of the last one; a
  // score being measured comes in a moment (scores.py): ask for it soon
  const period = page.running ? 200 : page.measuring ? 100 : 1000;
  setTimeout(poll, Math.max(0, period - (performance.now() - started)));
}

// The badge says what is true: which network, how long it trained here, how well it reads now.
function badge(state) {
  const steps = state.training.steps;
  const loaded = state.live ? "your network" : "trained model"; // live: a notebook's own, trained or not
  const start = state.model !== "loaded" ? "untrained" : state.history
    ? `${loaded} (${count(state.history.length, "epoch")})` : loaded;
  const which = steps === 0 ? start : state.model === "loaded" ? `${loaded} + ${count(steps, "step")} here`
    : `trained here for ${count(steps, "step")}`;
  const { share, steps: at, measuring, error } = state.accuracy; // measured after `at` steps here
  if (error) return `${which} \u00b7 the test digits could not be scored`; // why: in its title
  if (share === null) return `${which} \u00b7 ${measuring ? "measuring the test accuracy\u2026" : "no test digits to score"}`;
  const when = at === steps ? "" : ` at step ${at.toLocaleString("en")}`;
  // measuring: these weights' score is on its way (a moment); until then the last one, with its step
  return `${which} \u00b7 test accuracy ${(100 * share).toFixed(1)}%${when}${measuring ? ", measuring now\u2026" : ""}`;
}

function applyState(state, since) {
  const progress = state.training;
  if (progress.steps < since) { // the network was switched or reset: fetch its costs from the start
    page.steps = 0;
    page.stale = true;
    setTimeout(refreshState, 0);
    return;
  }
  // A new network or new steps: draw it again and ask again about the example. Not on every poll of
  // an untrained network (since 0): a zoom asked for each second would never let a slow answer show.
  const changed = page.stale || progress.steps !== page.steps || state.model !== page.model;
  page.stale = false;
  page.running = progress.running;
  page.measuring = state.accuracy.measuring;
  page.steps = progress.steps;
  page.model = state.model;
  $("model-name").textContent = badge(state);
  $("model-name").title = badge(state) + (state.accuracy.error ? `: ${state.accuracy.error}` : "");
  pageBody().classList.toggle("training", progress.running);
  $("use-loaded").disabled = !state.has_loaded;
  if (state.live) $("use-loaded").textContent = "Your network"; // a notebook's own, trained or not
  $("train").disabled = progress.running;
  $("pause").disabled = !progress.running;
  $("step").disabled = progress.running;
  const own = state.history ? `the loaded model's own ${count(state.history.length, "epoch")} (grey), then ` : "";
  $("accuracy-caption").textContent = `test accuracy after each epoch: ${own}` +
    (state.model === "loaded" ? "as loaded, and after each epoch here" : "untrained, and after each epoch here");
  training.update(progress, since, state.history);
  if (progress.running && page.hovered === null) showLens(null); // a chosen neuron's lens would cover the changing picture
  if (changed) {
    if (state.w1) network.setWeights(state.w.map((matrix) => matrix && rows(matrix)), unpack(state.w1), progress.running);
    examine();
    if (!progress.running) zoomIn(true);
    if (progress.steps > 0) showBatch();
  }
}

let batchShownAt = 0;
async function showBatch() {
  if (performance.now() - batchShownAt < 1000 && page.running) return; // once a second is enough to read
  batchShownAt = performance.now();
  try {
    training.showBatch(await getJSON("/api/batch"));
  } catch (error) {
    training.noBatch(String(error.message || error)); // why there is no table (the weights moved since the step), in its place
  }
}

async function trainAction(action) {
  try {
    await postJSON("/api/train", { action });
    await refreshState(true); // the plots then continue from what this page has seen, with nothing lost
  } catch (error) {
    showError(error);
  }
}

// --- the lens: a first-layer neuron's 784 weights, beside it, never over the input digit ---

function showLens(hovered) {
  page.hovered = hovered;
  const lens = $("lens");
  // hovering shows a neuron; a chosen first-layer neuron stays shown, unless training or the walk back
  // needs the picture
  const chosen = page.selected && page.selected[0] === 1 && !page.running && page.walk === 0
    ? network.names[0].indexOf(page.selected[1]) : -1; // where it is drawn (a wide layer draws a few)
  const j = hovered ?? (chosen >= 0 ? chosen : null);
  lens.hidden = j === null || !network.w1;
  if (lens.hidden) return;
  const w1 = network.w1.subarray(784 * j, 784 * (j + 1));
  const scale = largest(w1);
  paint(lens.querySelector("canvas"), w1, { signedScale: scale });
  lens.querySelector("p").textContent = `Neuron ${network.names[0][j]} of layer 1 looks for this: its 784 weights, ` +
    `blue raising it, red lowering it (full colour: ${fmt(scale, 2)}).`;
  // to the right of the first layer, level with the neuron, inside the picture
  const svg = $("network").getBoundingClientRect(), panel = $("network-panel").getBoundingClientRect();
  const at = network.at(1, j), k = svg.width / at.width;
  const top = svg.top - panel.top + at.y * k - lens.offsetHeight / 2;
  lens.style.left = `${svg.left - panel.left + at.x * k + 28}px`;
  lens.style.top = `${Math.max(svg.top - panel.top, Math.min(top, svg.bottom - panel.top - lens.offsetHeight))}px`;
}

// --- presenter mode: larger type, fewer controls, arrow keys walk the wishes back ---

function setPresenter(on) {
  pageBody().classList.toggle("presenter", on);
  $("presenter").textContent = on ? "Leave presenter mode" : "Present";
  $("presenter").setAttribute("aria-pressed", String(on));
}

function onKey(event) {
  const typing = event.target.closest && event.target.closest("input, select, textarea, #zoom-panel");
  if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "p" || event.key === "P") setPresenter(!pageBody().classList.contains("presenter"));
  else if (/^[0-9]$/.test(event.key)) chooseTarget(Number(event.key)); // a drawing's target, by its key
  else if (pageBody().classList.contains("presenter") && event.key === "ArrowRight") walkTo(page.walk + 1);
  else if (pageBody().classList.contains("presenter") && event.key === "ArrowLeft") walkTo(page.walk - 1);
  else return;
  event.preventDefault();
}

// --- start ---

// where: the document, or a shadow root holding the page's markup (the notebook widget).
export async function start(where = document) {
  root = where;
  try {
    await wire();
  } catch (error) {
    showError(error);
  }
}

// The model picker: the models under runs/, with their shapes and accuracies; another one builds the
// page again for its shape (a model the explorer cannot show is listed, disabled, with the reason).
async function listModels() {
  const { models, current } = await getJSON("/api/models");
  if (!models.length) return;
  const picker = document.createElement("select");
  picker.id = "model-pick";
  picker.setAttribute("aria-label", "the model to explore");
  picker.title = "The models under runs/: shape, activations, cost, test accuracy";
  const percent = (share) => (share === null ? "" : `, ${(100 * share).toFixed(1)}%`);
  picker.innerHTML = (models.some((m) => m.name === current) ? "" : `<option value="">${current || "this network"}</option>`) +
    models.map((m) => `<option value="${m.name}" ${m.usable ? "" : "disabled"} title="${m.usable ? m.training : m.why}">` +
      `${m.name}: ${m.sizes ? m.sizes.join("-") : "?"}${percent(m.accuracy)}</option>`).join("");
  picker.value = models.some((m) => m.name === current) ? current : "";
  picker.addEventListener("change", async () => {
    try {
      await postJSON("/api/models", { name: picker.value });
      reload();
    } catch (error) {
      showError(error);
    }
  });
  picker.style.maxWidth = "12em"; // the list, open, shows each in full
  $("presenter").after(picker);
}

async function wire() {
  const state = await getJSON("/api/state?since=0");
  sizes = state.sizes;
  classes = state.classes;
  nameTheClasses(state);
  $("title").textContent = sizes.join(" \u2192 ");
  $("title").title = `${sizes[0]} pixels in, ${sizes[sizes.length - 1]} ${words.digits} out`;
  network = new NetworkView($("network"), sizes, {
    shownAtMost: state.shown_at_most, classes,
    kind: state.kind,
    onSelect: (layer, j) => { selectNeuron(layer, j); },
    onLens: showLens,
  });
  walkSteps = makeWalk(sizes.length - 1);
  wants = new WantsView($("wants"), {
    onOutput: (j) => { page.output = j; if (page.example) wants.show(page.example, j); },
    classes, noun: words.digit,
  });
  zoom = new ZoomView({ title: $("zoom-title"), check: $("zoom-check"), stepper: $("zoom-stepper") }, showError);
  zoom.layers = sizes.length - 1;
  training = new TrainingView({ costChart: $("cost-chart"), accuracyChart: $("accuracy-chart"), status: $("train-status"),
                                settings: $("train-settings"), batch: $("batch") });
  pad = new DrawingPad($("pad"), drew);
  $("targets").innerHTML = [...Array(sizes[sizes.length - 1]).keys()]
    .map((d) => `<button data-digit="${d}" aria-pressed="false">${classes[d]}</button>`).join("");
  for (const button of $("targets").children) button.addEventListener("click", () => chooseTarget(Number(button.dataset.digit)));
  average = new AverageView($("average-panel"), {
    ask: (body) => postJSON("/api/average", body).catch((error) => { showError(error); throw error; }),
    // the example on screen: a picked digit by set and index, a drawing with the target chosen for it
    // (a drawing with no target yet is not added: it wants nothing until it has one)
    current: () => (page.label !== null ? { ...page.picked }
      : page.input && page.target !== null ? { ...page.input, target: page.target } : null),
    wrong: async (start) => {
      const digit = await postJSON("/api/digit", { set: "test", wrong: true, start });
      return { set: digit.set, index: digit.index };
    },
    onStep: () => refreshState(true),
  });
  $("label-pick").innerHTML += classes.map((name, d) => `<option value="${d}">only ${name}${words.digit === "digit" ? "s" : ""}</option>`).join("");

  $("clear").addEventListener("click", () => { pad.clear(false); page.newDrawing = true; });
  $("go").addEventListener("click", () => pick({ index: Number($("index").value) }));
  $("index").addEventListener("keydown", (event) => { if (event.key === "Enter") pick({ index: Number($("index").value) }); });
  const label = () => ($("label-pick").value === "" ? {} : { label: Number($("label-pick").value) });
  $("next-digit").addEventListener("click", () => pick({ start: nextStart(), ...label() }));
  $("prev-digit").addEventListener("click", () => pick({ index: Math.max(0, page.picked.index - 1) }));
  $("label-pick").addEventListener("change", () => pick({ start: page.picked.index, ...label() }));
  $("wrong").addEventListener("click", () => pick({ start: nextStart(), wrong: true, ...label() }));
  $("set").addEventListener("change", () => pick({ index: 0 }));
  $("train").addEventListener("click", () => trainAction("start"));
  $("pause").addEventListener("click", () => trainAction("pause"));
  $("step").addEventListener("click", () => trainAction("step"));
  $("use-untrained").addEventListener("click", () => trainAction("untrained"));
  $("use-loaded").addEventListener("click", () => trainAction("loaded"));
  $("reset").addEventListener("click", () => trainAction(page.model)); // the same network, from its start
  $("walk-next").addEventListener("click", () => walkTo(page.walk + 1));
  $("walk-back").addEventListener("click", () => walkTo(page.walk - 1));
  $("edge-nudges").addEventListener("change", () => { network.setEdgeMode($("edge-nudges").checked ? "nudges" : "weights"); showWalk(); });
  $("presenter").addEventListener("click", () => setPresenter(!pageBody().classList.contains("presenter")));
  (root.host || document).addEventListener("keydown", onKey); // in a notebook, only keys typed in the widget
  setPresenter(new URLSearchParams(location.search).get("presenter") === "1");

  $("copy-link").addEventListener("click", copyLink);
  $("copy-link").hidden = root !== document; // a notebook's address is the notebook's own
  $("save-picture").addEventListener("click", savePicture);

  applyState(state, 0);
  if (!(root === document && await openLink({ sizes, counts: state.counts }))) await pick({ index: 0 });
  if (root === document) setInterval(rememberView, 1000);
  setTimeout(poll, 500);
  window.explorerTraining = training; // for the browser test and the benchmark: the costs the page plots
  await listModels().catch(showError);
  (root.host || document.body).dataset.ready = "true"; // for the browser test: the page is wired up
}

// --- a link that holds the view (link.js): the address records what is on screen ---

function linkMessage(text) {
  const message = $("link-message");
  message.textContent = text;
  message.hidden = !text;
}

let modelHash = { key: null, hash: null };
async function currentModel() { // the network's hash changes only when it trains or is switched
  const key = `${page.model}:${page.steps}`;
  if (modelHash.key !== key) modelHash = { key, hash: (await getJSON("/api/model")).hash };
  return modelHash.hash;
}

async function viewLink() {
  const digit = page.label !== null ? { ...page.picked } : page.input && page.input.drawing ? { ink: page.input.drawing.ink } : null;
  return encodeLink({
    digit, target: page.label === null ? page.target : null, neuron: page.selected,
    step: page.selected && zoom.steps ? zoom.index : 0, wishes: page.walk || null, model: await currentModel(),
    presenter: pageBody().classList.contains("presenter"), lock: pageBody().classList.contains("locked"),
  });
}

let remembered = "";
async function rememberView() {
  if (!page.input) return;
  try {
    const text = await viewLink();
    if (text !== remembered) {
      remembered = text;
      history.replaceState(null, "", `${location.pathname}${location.search}#${text}`);
    }
  } catch { /* the next second tries again */ }
}

async function copyLink() {
  remembered = "";
  await rememberView();
  try {
    await navigator.clipboard.writeText(location.href);
    linkMessage("Link copied: it opens this view, on this network.");
  } catch {
    linkMessage("The link is in the address bar: copy it from there.");
  }
  setTimeout(() => linkMessage(""), 4000);
}

// Opens the view a link holds; false (and the default view) when it names another network.
async function openLink(limits) {
  if (location.hash.length < 2) return false;
  const { view, problems } = await parseLink(location.hash, limits);
  if (view.lock) pageBody().classList.add("locked");
  if (view.presenter) setPresenter(true);
  if (view.model && view.model !== await currentModel()) {
    linkMessage(`This link was made on another network (weights ${view.model}); this explorer holds ${modelHash.hash}. ` +
      "Its numbers would not be the link's, so the default view is shown.");
    return false;
  }
  if (problems.length) linkMessage(`Part of this link could not be read and was left out: ${problems.join("; ")}.`);
  if (view.digit && view.digit.set) {
    $("set").value = view.digit.set;
    await pick({ set: view.digit.set, index: view.digit.index });
  } else if (view.digit && view.digit.ink) {
    pad.showInk(view.digit.ink);
    page.newDrawing = false;
    page.label = page.target = null;
    page.input = { drawing: { size: INK_SIDE, ink: view.digit.ink } };
    $("picked").textContent = "a drawing, from the link";
    showTargets();
    if (view.target !== undefined) chooseTarget(view.target); else examine();
  } else {
    await pick({ index: 0 });
  }
  await until(() => page.example);
  if (view.neuron) {
    await selectNeuron(...view.neuron);
    if (view.step) await zoom.show(Math.min(view.step, zoom.steps.length - 1));
  }
  if (view.wishes) walkTo(view.wishes);
  return true;
}

function until(ready, timeout = 20000) {
  const started = performance.now();
  return new Promise((resolve) => {
    const look = () => (ready() || performance.now() - started > timeout ? resolve() : setTimeout(look, 30));
    look();
  });
}

// --- the network picture as a PNG, for slides (snapshot.js) ---

async function savePicture() {
  const e = page.example;
  const what = page.label !== null ? `${page.picked.set} ${words.digit} ${page.picked.index} (a "${classes[page.label]}")` : "a drawing";
  const caption = !e ? what : `${what}: the network reads ${classes[e.guess]}` +
    (e.target !== null ? `; target ${classes[e.target]}, cost ${fmt(e.cost)}` : "") +
    `\n${$("model-name").textContent}`;
  try {
    saveBlob(await networkPng($("network"), caption), `explorer-${page.label !== null ? `${page.picked.set}-${page.picked.index}` : "drawing"}.png`);
  } catch (error) {
    showError(error);
  }
}
