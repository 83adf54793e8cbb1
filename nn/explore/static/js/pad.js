// The drawing pad: white ink on black, as MNIST's digits are. It reports the ink, shrunk by the
// browser to INK_SIDE x INK_SIDE (smoothly, so strokes keep their grey edges); the server then does
// MNIST's preprocessing (nn/explore/preprocess.py): fit into 20x20, centre by mass, anti-alias.

export const INK_SIDE = 112;
const BRUSH = 22; // in the pad's own 280 pixels: about a pen stroke of an MNIST digit

export class DrawingPad {
  constructor(canvas, onChange) {
    this.canvas = canvas;
    this.onChange = onChange;
    this.context = canvas.getContext("2d");
    this.small = document.createElement("canvas");
    this.small.width = this.small.height = INK_SIDE;
    this.last = null;
    this.pending = false;
    this.blank = true;
    this.clear(false);
    canvas.addEventListener("pointerdown", (event) => this.down(event));
    canvas.addEventListener("pointermove", (event) => this.move(event));
    for (const name of ["pointerup", "pointercancel", "pointerleave"]) {
      canvas.addEventListener(name, () => this.up());
    }
  }

  // A drawing given as ink (base64 of INK_SIDE x INK_SIDE bytes, as ink() writes it), from a link.
  showInk(ink) {
    const bytes = Uint8Array.from(atob(ink), (c) => c.charCodeAt(0));
    const image = new ImageData(INK_SIDE, INK_SIDE);
    bytes.forEach((v, i) => image.data.set([v, v, v, 255], 4 * i));
    this.small.getContext("2d").putImageData(image, 0, 0);
    this.context.imageSmoothingEnabled = true;
    this.context.drawImage(this.small, 0, 0, this.canvas.width, this.canvas.height);
    this.blank = false;
  }

  clear(notify = true) {
    this.context.fillStyle = "#000";
    this.context.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.blank = true;
    if (notify) this.onChange(this);
  }

  point(event) {
    const box = this.canvas.getBoundingClientRect();
    return [((event.clientX - box.left) * this.canvas.width) / box.width,
            ((event.clientY - box.top) * this.canvas.height) / box.height];
  }

  down(event) {
    event.preventDefault();
    this.canvas.setPointerCapture?.(event.pointerId);
    this.last = this.point(event);
    this.stroke(this.last, this.last);
  }

  move(event) {
    if (!this.last) return;
    event.preventDefault();
    const next = this.point(event);
    this.stroke(this.last, next);
    this.last = next;
  }

  up() {
    if (!this.last) return;
    this.last = null;
    this.onChange(this);
  }

  stroke(from, to) {
    const c = this.context;
    c.strokeStyle = "#fff";
    c.lineWidth = BRUSH;
    c.lineCap = c.lineJoin = "round";
    c.beginPath();
    c.moveTo(...from);
    c.lineTo(...to);
    c.stroke();
    this.blank = false;
    if (!this.pending) { // at most one report per frame, however fast the pointer moves
      this.pending = true;
      requestAnimationFrame(() => {
        this.pending = false;
        this.onChange(this);
      });
    }
  }

  // The ink, INK_SIDE x INK_SIDE bytes (0 paper, 255 ink), row by row, in base64: small and quick to read.
  ink() {
    const c = this.small.getContext("2d");
    c.imageSmoothingEnabled = true;
    c.imageSmoothingQuality = "high";
    c.clearRect(0, 0, INK_SIDE, INK_SIDE);
    c.drawImage(this.canvas, 0, 0, INK_SIDE, INK_SIDE);
    const rgba = c.getImageData(0, 0, INK_SIDE, INK_SIDE).data;
    let text = "";
    for (let i = 0; i < INK_SIDE * INK_SIDE; i++) text += String.fromCharCode(rgba[4 * i]);
    return btoa(text);
  }
}
