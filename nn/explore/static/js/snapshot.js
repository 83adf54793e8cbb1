// The network picture as a PNG, for slides: the SVG on screen with its computed colours and sizes
// written into it (a picture drawn from an SVG file sees no style sheet), a caption under it saying
// what it shows, drawn onto a canvas at twice the size, and saved.

const STYLED = ["fill", "stroke", "stroke-width", "opacity", "font-size", "font-weight", "font-family", "text-anchor",
                "dominant-baseline", "visibility", "display"];

export async function networkPng(svg, caption, { scale = 2, background = "#0d1117" } = {}) {
  const copy = svg.cloneNode(true);
  const originals = svg.querySelectorAll("*"), copies = copy.querySelectorAll("*");
  originals.forEach((element, i) => {
    const style = getComputedStyle(element);
    copies[i].setAttribute("style", STYLED.map((name) => `${name}:${style.getPropertyValue(name)}`).join(";"));
  });
  const box = svg.getBoundingClientRect();
  copy.setAttribute("width", box.width);
  copy.setAttribute("height", box.height);
  copy.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  const url = URL.createObjectURL(new Blob([new XMLSerializer().serializeToString(copy)], { type: "image/svg+xml" }));
  try {
    const image = new Image();
    image.src = url;
    await image.decode();
    const captionSize = 22, lines = caption.split("\n");
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(box.width * scale);
    canvas.height = Math.round((box.height + lines.length * captionSize * 1.4 + 16) * scale);
    const context = canvas.getContext("2d");
    context.scale(scale, scale);
    context.fillStyle = background;
    context.fillRect(0, 0, box.width, canvas.height / scale);
    context.drawImage(image, 0, 0, box.width, box.height);
    context.fillStyle = "#f0f0f0";
    context.font = `${captionSize}px system-ui, sans-serif`;
    lines.forEach((line, i) => context.fillText(line, 12, box.height + 8 + captionSize * (1.1 + 1.4 * i)));
    return await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  } finally {
    URL.revokeObjectURL(url);
  }
}

export function save(blob, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
