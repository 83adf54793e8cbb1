// Draws DOT text as SVG in the browser, with the vendored WebAssembly Graphviz (vendor/viz-global.js,
// which must be loaded first and defines the global Viz). A classic script, not a module, so that a
// page opened from file:// can carry it inline. Every page of the project draws its graphs this way:
// the Python side writes DOT (autodiff/render.py), the browser lays it out.
(function () {
  let instance = null; // Graphviz's WebAssembly is compiled once per page, on first use

  function graphviz() {
    if (typeof Viz === "undefined") {
      return Promise.reject(new Error("the graph renderer (viz-global.js) is not loaded"));
    }
    instance = instance || Viz.instance();
    return instance;
  }

  // Lay out `dot` and put the drawing in `container`, replacing what was there. Resolves to the
  // <svg> element; on a bad graph, shows the error in the container and rejects.
  async function drawDot(container, dot) {
    try {
      const viz = await graphviz();
      const svg = viz.renderSVGElement(dot);
      container.replaceChildren(svg);
      return svg;
    } catch (error) {
      const message = document.createElement("pre");
      message.className = "graph-error";
      message.textContent = `Could not draw this graph: ${error.message || error}`;
      container.replaceChildren(message);
      throw error;
    }
  }

  window.seebackprop = Object.assign(window.seebackprop || {}, { drawDot });
})();
