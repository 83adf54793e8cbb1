// The explorer's page: wires the views to the server. The page keeps only what is on screen (the
// current input, the target, the chosen neuron); every number comes from the server's engines.

import { getJSON, postJSON, rows, unpack } from "./api.js";
import { largest, paint } from "./format.js";
import { NetworkView } from "./network.js";
import { DrawingPad, INK_SIDE } from "./pad.js";
import { TrainingView } from "./training.js";
import { WantsView } from "./wants.js";
import { AverageView } from "./average.js";
import { ZoomView } from "./zoom.js";

let root = document; // the page, or the shadow root the notebook widget draws into
const $ = (id) => root.getElementById(id);
const page = {
  input: null, // what the network reads: {pixels} (a picked digit) or {drawing} (the pad's ink)
  label: null, // the true label of a picked digit; null for a drawing
  picked: { set: "test", index: 0 },
  count: 1, // digits in the picked set
  target: 0,
  output: 0, // the output neuron whose wishes are shown
  selected: null, // [layer, neuron] zoomed into
  steps: 0, // training steps seen so far
  example: null,
};
// Frame times in milliseconds, for benchmarks/explorer.py: from asking the server to the next frame
// painted (total), and from its answer to that frame (render).
window.explorerTimings = [];

let network, wants, zoom, training, pad, sizes, average;

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
    example.dw = example.dw.map((matrix) => matrix && rows(matrix));
    example.wishes = example.wishes.map((matrix) => matrix && rows(matrix));
    page.example = example;
    const image = unpack(example.image);
    paint($("received"), image);
    network.setExample(example, image);
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

function zoomIn(keepStep = false) {
  if (!page.selected || !page.input) return;
  const [layer, neuron] = page.selected;
  zoom.load({ ...page.input, target: page.target, layer, neuron }, keepStep);
}

function refreshAll() {
  examine();
  zoomIn(true);
}

// --- input: the pad, or a digit of the test or training set ---

function drew(drawingPad) {
  if (drawingPad.blank) return;
  page.input = { drawing: { size: INK_SIDE, ink: drawingPad.ink() } };
  if (page.label !== null) { // a drawing has no true label: the target stays until the user chooses one
    page.label = null;
    wants.setTargets(null, page.target);
  }
  $("picked").textContent = "your drawing (choose its target below)";
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
    $("picked").textContent = `${digit.set} digit ${digit.index.toLocaleString()} of ${digit.count.toLocaleString()}: a "${digit.label}"`;
    wants.setTargets(digit.label, digit.label);
    pad.clear(false);
    refreshAll();
  } catch (error) {
    showError(error);
  }
}

function nextStart() {
  return (page.picked.index + 1) % page.count;
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
  // at least 4 updates a second while training: every 200 ms from the start of the last one
  const period = page.running ? 200 : 1000;
  setTimeout(poll, Math.max(0, period - (performance.now() - started)));
}

function applyState(state, since) {
  const progress = state.training;
  if (progress.steps < since) { // the network was switched or reset: fetch its costs from the start
    page.steps = 0;
    setTimeout(refreshState, 0);
    return;
  }
  const changed = progress.steps !== page.steps || since === 0;
  page.running = progress.running;
  page.steps = progress.steps;
  page.model = state.model;
  $("model-name").textContent = state.model === "loaded" ? "trained model" : "untrained";
  $("use-loaded").disabled = !state.has_loaded;
  $("train").disabled = progress.running;
  $("pause").disabled = !progress.running;
  $("step").disabled = progress.running;
  training.update(progress, since);
  if (changed) {
    network.setWeights(state.w.map((matrix) => matrix && rows(matrix)), unpack(state.w1), progress.running);
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
    showError(error);
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

async function wire() {
  const state = await getJSON("/api/state?since=0");
  sizes = state.sizes;
  network = new NetworkView($("network"), sizes, {
    onSelect: (layer, j) => {
      page.selected = [layer, j];
      network.select(layer, j);
      network.onLens(null);
      if (layer === sizes.length - 1) {
        page.output = j;
        if (page.example) wants.show(page.example, j);
      }
      zoomIn();
    },
    onLens: (hovered) => {
      const lens = $("lens");
      const chosen = page.selected && page.selected[0] === 1 ? page.selected[1] : null;
      const j = hovered ?? chosen; // hovering shows a neuron; a chosen first-layer neuron stays shown
      lens.hidden = j === null;
      if (j === null) return;
      const w1 = network.w1.subarray(784 * j, 784 * (j + 1));
      paint(lens.querySelector("canvas"), w1, { signedScale: largest(w1) });
      lens.querySelector("p").textContent = `Neuron ${j} of layer 1 looks for this: its 784 weights. ` +
        "Ink on blue raises its activation, on red lowers it.";
    },
  });
  wants = new WantsView($("wants"), {
    onTarget: (digit) => { page.target = digit; refreshAll(); },
    onOutput: (j) => { page.output = j; if (page.example) wants.show(page.example, j); },
  });
  zoom = new ZoomView({ title: $("zoom-title"), prev: $("zoom-prev"), next: $("zoom-next"), counter: $("zoom-counter"),
                        graph: $("zoom-graph"), text: $("zoom-text"), check: $("zoom-check") }, showError);
  zoom.layers = sizes.length - 1;
  training = new TrainingView({ costChart: $("cost-chart"), accuracyChart: $("accuracy-chart"), status: $("train-status"),
                                settings: $("train-settings"), batch: $("batch") });
  pad = new DrawingPad($("pad"), drew);
  average = new AverageView($("average-panel"), {
    ask: (body) => postJSON("/api/average", body).catch((error) => { showError(error); throw error; }),
    // the example on screen: a picked digit by set and index, a drawing with the target chosen for it
    current: () => (page.label !== null ? { ...page.picked } : page.input && { ...page.input, target: page.target }),
    wrong: async (start) => {
      const digit = await postJSON("/api/digit", { set: "test", wrong: true, start });
      return { set: digit.set, index: digit.index };
    },
    onStep: () => refreshState(true),
  });
  $("label-pick").innerHTML += [...Array(10).keys()].map((d) => `<option value="${d}">only ${d}s</option>`).join("");

  $("clear").addEventListener("click", () => pad.clear(false));
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

  applyState(state, 0);
  await pick({ index: 0 });
  setTimeout(poll, 500);
  window.explorerTraining = training; // for the browser test and the benchmark: the costs the page plots
  (root.host || document.body).dataset.ready = "true"; // for the browser test: the page is wired up
}
