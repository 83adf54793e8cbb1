// A link that holds the view: what is on screen, written into the URL's fragment and read back.
//
//   #d=test.5        the digit: set and index (its true label is the target unless t says otherwise)
//   #d=ink.<base64url of the deflated 112x112 ink>   a drawing
//   &t=3             the target
//   &n=1.4           the chosen neuron: layer 1, neuron 4
//   &s=6             the stepper's position in that neuron's backward pass
//   &w=2             how far the wishes have been walked back (0: not yet; then a layer's shares, its sum, ...)
//   &m=<12 hex>      the model, by a hash of its weights: another model's numbers are never shown as these
//   &presenter=1 &lock=1   presenter mode; the teacher's lock (no controls that change the network)
//
// The fragment never reaches the server. parse() never throws: a field it cannot read is dropped,
// with a sentence saying why, and the rest of the link still applies.

export const INK_BYTES = 112 * 112;

export async function encode(view) {
  const fields = [];
  if (view.digit?.ink) fields.push(["d", `ink.${await deflate(view.digit.ink)}`]);
  else if (view.digit) fields.push(["d", `${view.digit.set}.${view.digit.index}`]);
  if (view.target !== null && view.target !== undefined) fields.push(["t", view.target]);
  if (view.neuron) fields.push(["n", view.neuron.join(".")]);
  if (view.step) fields.push(["s", view.step]);
  if (view.wishes !== null && view.wishes !== undefined) fields.push(["w", view.wishes]);
  if (view.model) fields.push(["m", view.model]);
  if (view.presenter) fields.push(["presenter", 1]);
  if (view.lock) fields.push(["lock", 1]);
  return fields.map(([key, value]) => `${key}=${value}`).join("&");
}

// text: the fragment (or query) without its # or ?; limits: {sizes: [784, 16, 16, 10], counts: {test, train}}.
// Returns {view, problems}: view holds only the fields that were read correctly.
export async function parse(text, limits) {
  const view = {}, problems = [];
  let params;
  try {
    params = new URLSearchParams(String(text).replace(/^[#?]/, ""));
  } catch {
    return { view, problems: ["the link's fragment could not be read"] };
  }
  const layers = limits.sizes.length - 1;
  const whole = (value, low, high) => (/^\d{1,9}$/.test(value) && Number(value) >= low && Number(value) <= high
    ? Number(value) : null);
  for (const [key, value] of params) {
    const bad = (why) => problems.push(`${key}=${value.slice(0, 24)}${value.length > 24 ? "…" : ""}: ${why}`);
    if (key === "d") {
      const [kind, rest = ""] = value.split(/\.(.*)/s);
      if (kind === "ink") {
        const ink = await inflate(rest);
        if (ink) view.digit = { ink };
        else bad("not a drawing this page wrote");
      } else if (kind in limits.counts) {
        const index = whole(rest, 0, limits.counts[kind] - 1);
        if (index === null) bad(`the ${kind} set holds digits 0 to ${limits.counts[kind] - 1}`);
        else view.digit = { set: kind, index };
      } else bad("the digit is test.N, train.N or a drawing");
    } else if (key === "t") {
      const t = whole(value, 0, limits.sizes[layers] - 1);
      if (t === null) bad(`the target is a digit from 0 to ${limits.sizes[layers] - 1}`); else view.target = t;
    } else if (key === "n") {
      const [l, j] = value.split(".");
      const layer = whole(l ?? "", 1, layers);
      const neuron = layer === null ? null : whole(j ?? "", 0, limits.sizes[layer] - 1);
      if (neuron === null) bad(`a neuron is layer.number, layer 1 to ${layers}`); else view.neuron = [layer, neuron];
    } else if (key === "s") {
      const s = whole(value, 0, 10_000);
      if (s === null) bad("the stepper's position is a whole number"); else view.step = s;
    } else if (key === "w") {
      const w = whole(value, 0, 2 * layers - 1); // the walk back: 0, the outputs, then each layer's shares and sum
      if (w === null) bad(`the walk back has steps 0 to ${2 * layers - 1}`); else view.wishes = w;
    } else if (key === "m") {
      if (/^[0-9a-f]{12}$/.test(value)) view.model = value; else bad("not a model's hash");
    } else if (key === "presenter" || key === "lock") {
      if (value === "1" || value === "0") view[key] = value === "1"; else bad("1 or 0");
    } else {
      bad("this page does not know that field");
    }
  }
  return { view, problems };
}

// The pad's ink (base64 of 112x112 bytes) as deflated base64url, and back: a stroke is mostly
// black, so a drawing fits in a link of a few kilobytes.
async function deflate(ink) {
  const bytes = Uint8Array.from(atob(ink), (c) => c.charCodeAt(0));
  const packed = await new Response(new Blob([bytes]).stream().pipeThrough(new CompressionStream("deflate-raw"))).arrayBuffer();
  let text = "";
  for (const b of new Uint8Array(packed)) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function inflate(text) {
  if (!/^[A-Za-z0-9_-]{1,40000}$/.test(text)) return null;
  try {
    const bytes = Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
    const reader = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw")).getReader();
    const ink = new Uint8Array(INK_BYTES);
    let length = 0;
    for (let part = await reader.read(); !part.done; part = await reader.read()) {
      if (length + part.value.length > INK_BYTES) { reader.cancel(); return null; } // more than a drawing: stop reading
      ink.set(part.value, length);
      length += part.value.length;
    }
    if (length !== INK_BYTES) return null;
    let out = "";
    for (const b of ink) out += String.fromCharCode(b);
    return btoa(out);
  } catch {
    return null; // not base64, not deflate, or cut short
  }
}
