// A backward pass for slides: the stepper's whole walk as one animated GIF, made in the browser from
// the frames the stepper view draws (the vendored Graphviz's SVG), with each step's chain-rule lines
// under its frame. Every frame is the same size and the graph sits at the same place in each, so
// nodes never jump; the frames' layout is one layout already (autodiff/render.py, frame_dot).
// python -m autodiff.walkthrough --gif makes the same slides from Python.

import { GIFEncoder, applyPalette, quantize } from "../vendor/gifenc.esm.js";

export const WIDTH = 1024; // px: a slide, or a projector's width
const PX_PER_PT = 96 / 72; // the frames are written in points: 18 pt is 24 px at a screen's 96 dpi
const FRAME_PT = 18; // the frames' text size (autodiff/render.py, FRAME_FONT)
export const SMALLEST_TEXT = 14; // px: a wide graph shrinks to fit WIDTH, never below this
const CAPTION_PX = 18; // the chain-rule lines under each frame
const LINE = Math.round(CAPTION_PX * 1.3);
const MARGIN = 8;
const FONT = 'Arial, "Liberation Sans", Helvetica, sans-serif'; // Helvetica's widths, which Graphviz sized the boxes for

// The words under a frame: the step's first line and up to six of its chain-rule lines (∂C/∂x = ... × ... = ...),
// and how many more there are; a frame with none, its first lines. As walkthrough.slide_captions writes them.
export function captionLines(text) {
  const lines = text.split("\n");
  const chain = lines.slice(1).filter((line) => line.startsWith("  ∂")).map((line) => line.trim());
  if (!chain.length) return lines.slice(0, 7).map((line) => line.trim());
  const more = chain.length > 6 ? [`… and ${chain.length - 6} more, each on its node above`] : [];
  return [lines[0], ...chain.slice(0, 6), ...more];
}

// One line cut at spaces to fit `width` px; the lines it continues on are indented.
function wrap(context, line, width) {
  const out = [];
  let rest = line;
  while (context.measureText(rest).width > width) {
    let cut = rest.lastIndexOf(" ");
    while (cut > 0 && context.measureText(rest.slice(0, cut)).width > width) cut = rest.lastIndexOf(" ", cut - 1);
    if (cut <= 4) break; // one word longer than the line: let it run over rather than cut it
    out.push(rest.slice(0, cut));
    rest = "    " + rest.slice(cut + 1);
  }
  return [...out, rest];
}

// A laid-out <svg> as an image `scale` px per point, in the page's own font for it (an <img> sees no page CSS).
function image(svg, scale) {
  const copy = svg.cloneNode(true);
  const box = svg.viewBox.baseVal;
  copy.setAttribute("width", box.width * scale);
  copy.setAttribute("height", box.height * scale);
  const style = document.createElementNS("http://www.w3.org/2000/svg", "style");
  style.textContent = `text { font-family: ${FONT}; }`;
  copy.prepend(style);
  const url = URL.createObjectURL(new Blob([new XMLSerializer().serializeToString(copy)], { type: "image/svg+xml" }));
  const picture = new Image();
  return new Promise((resolve, reject) => {
    picture.onload = () => resolve(picture);
    picture.onerror = () => reject(new Error("a frame of the walk could not be drawn as a picture"));
    picture.src = url;
  }).finally(() => URL.revokeObjectURL(url));
}

// frames: [{svg, text}] in order (svg: the laid-out frame, text: the step's words). Resolves to the
// GIF's bytes, WIDTH px wide, every frame the same height. progress(k, n) is told as each frame is done.
export async function walkAsGif(frames, { seconds = 2, progress = () => {} } = {}) {
  const widest = Math.max(...frames.map(({ svg }) => svg.viewBox.baseVal.width));
  const tallest = Math.max(...frames.map(({ svg }) => svg.viewBox.baseVal.height));
  const scale = Math.min(PX_PER_PT, (WIDTH - 2 * MARGIN) / widest);
  if (scale * FRAME_PT < SMALLEST_TEXT) {
    throw new Error(`this graph is too wide for a ${WIDTH} px slide with text of ${SMALLEST_TEXT} px: ` +
                    "save its frames one by one (Save frame) instead");
  }
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.font = `${CAPTION_PX}px ${FONT}`;
  const captions = frames.map(({ text }) => captionLines(text).flatMap((line) => wrap(context, line, WIDTH - 2 * MARGIN)));
  const graphHeight = Math.ceil(tallest * scale);
  canvas.width = WIDTH;
  canvas.height = graphHeight + 2 * MARGIN + LINE * Math.max(...captions.map((lines) => lines.length));
  const gif = GIFEncoder();
  for (const [k, { svg }] of frames.entries()) {
    const picture = await image(svg, scale);
    context.fillStyle = "white";
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(picture, Math.round((WIDTH - picture.width) / 2), 0);
    context.fillStyle = "black";
    context.font = `${CAPTION_PX}px ${FONT}`;
    context.textBaseline = "top";
    captions[k].forEach((line, i) => context.fillText(line, MARGIN, graphHeight + MARGIN + i * LINE));
    const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
    const palette = quantize(data, 256);
    gif.writeFrame(applyPalette(data, palette), canvas.width, canvas.height, { palette, delay: seconds * 1000 });
    progress(k + 1, frames.length);
  }
  gif.finish();
  return gif.bytes();
}
