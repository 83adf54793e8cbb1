// Numbers and colours, the same everywhere on the page.

// A number to its scale: three significant digits, and an exponent when small, so that a nudge of
// 0.00002 reads 2.00e-5 and never +0.0000.
export function fmt(x, digits = 3) {
  if (x === 0) return "0";
  const size = Math.abs(x);
  if (size >= 1e-3 && size < 1e4) return Number(x.toPrecision(digits)).toString();
  return x.toExponential(digits - 1).replace("e+", "e");
}

// A sentence that ends in a number, the number kept on one line ("9.1e-20" broke after its "e-").
export function sayNumber(element, words, x, digits = 3) {
  const number = document.createElement("span");
  number.className = "number";
  number.textContent = fmt(x, digits);
  element.replaceChildren(words, number);
}

export function signed(x, digits = 3) {
  if (x === 0) return "0";
  return (x > 0 ? "+" : "\u2212") + fmt(Math.abs(x), digits);
}

const POSITIVE = [37, 99, 235];
const NEGATIVE = [220, 38, 38];

// A colour for a signed value, as bright as its share of `scale`: blue up, red down.
export function signedColour(value, scale, background = [255, 255, 255]) {
  const t = scale > 0 ? Math.min(1, Math.abs(value) / scale) : 0;
  const c = value >= 0 ? POSITIVE : NEGATIVE;
  const mix = (i) => Math.round(background[i] + (c[i] - background[i]) * t);
  return `rgb(${mix(0)},${mix(1)},${mix(2)})`;
}

export function largest(values) {
  let m = 0;
  for (const v of values) m = Math.max(m, Math.abs(v));
  return m;
}

// Paint 784 values onto a 28x28 canvas: ink as white on black (as the video shows digits), or, for
// signed values (weights, nudges), blue and red on black, scaled by `scale`.
export function paint(canvas, values, { signedScale = null } = {}) {
  const context = canvas.getContext("2d");
  const image = context.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = values[i];
    let rgb;
    if (signedScale === null) {
      const g = Math.round(255 * Math.max(0, Math.min(1, v)));
      rgb = [g, g, g];
    } else {
      const t = signedScale > 0 ? Math.min(1, Math.abs(v) / signedScale) : 0;
      const c = v >= 0 ? [90, 150, 255] : [255, 80, 80];
      rgb = c.map((x) => Math.round(x * t));
    }
    image.data.set([...rgb, 255], 4 * i);
  }
  context.putImageData(image, 0, 0);
}

// A horizontal bar from the middle: right for positive, left for negative, length by share of scale.
export function bar(value, scale) {
  const share = scale > 0 ? Math.min(1, Math.abs(value) / scale) * 50 : 0;
  const side = value >= 0 ? `left:50%;width:${share}%` : `right:50%;width:${share}%`;
  const colour = value >= 0 ? "var(--pos)" : "var(--neg)";
  return `<div class="barbox"><span style="${side};background:${colour}"></span></div>`;
}

// "1 step", "2 steps", "1,234 steps"
export function count(n, word, words = `${word}s`) {
  return `${n.toLocaleString("en")} ${n === 1 ? word : words}`;
}
