// Draws DOT frames for slides when the machine has no Graphviz `dot`: autodiff/chromium.py (draw)
// opens a blank page with the vendored Graphviz (viz-global.js) and this script, in headless
// Chromium, and asks for the frames as `dot -Tsvg` or `dot -Tpng` would write them. A classic
// script, like draw_dot.js.
(function () {
  // Each DOT laid out by the pages' own Graphviz, as SVG text, or rasterised on a white canvas a
  // px per unit of its viewBox (which the graph's dpi already scaled) as a PNG, base64.
  async function drawFrames(dots, format) {
    const viz = await Viz.instance();
    const out = [];
    for (const dot of dots) {
      const svg = viz.renderString(dot, { format: "svg" });
      if (format === "svg") {
        out.push(svg);
        continue;
      }
      const box = viz.renderSVGElement(dot).viewBox.baseVal;
      const [width, height] = [Math.ceil(box.width), Math.ceil(box.height)];
      const sized = svg.replace(/<svg width="[^"]*" height="[^"]*"/, `<svg width="${width}" height="${height}"`);
      const picture = new Image();
      await new Promise((resolve, reject) => {
        picture.onload = resolve;
        picture.onerror = () => reject(new Error("a frame could not be rasterised"));
        picture.src = URL.createObjectURL(new Blob([sized], { type: "image/svg+xml" }));
      });
      URL.revokeObjectURL(picture.src);
      const canvas = Object.assign(document.createElement("canvas"), { width, height });
      const context = canvas.getContext("2d");
      context.fillStyle = "white";
      context.fillRect(0, 0, width, height);
      context.drawImage(picture, 0, 0, width, height);
      out.push(canvas.toDataURL("image/png").split(",")[1]);
    }
    return out;
  }

  window.seebackprop = Object.assign(window.seebackprop || {}, { drawFrames });
})();
