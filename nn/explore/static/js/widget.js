// The explorer inside a notebook (anywidget): the page's own markup, style and views, drawn into a
// shadow root (so that its style and the notebook's leave each other alone), asking the kernel
// through the widget's messages instead of HTTP: no server, no port. nn/explore/widget.py sends
// the page's files as they are and answers each message with api.py's answer(), as the server does.

// The page's modules, each as a blob: URL whose relative imports ("./x.js", "../stepper/x.js") point
// at the blob: URL of the module they name, resolved against the importing module's own path.
function moduleUrls(sources) {
  const urls = {};
  const resolve = (from, specifier) => {
    const parts = from.split("/").slice(0, -1);
    for (const part of specifier.split("/")) {
      if (part === "..") parts.pop();
      else if (part !== ".") parts.push(part);
    }
    return parts.join("/");
  };
  const build = (name) => {
    if (!urls[name]) {
      if (sources[name] === undefined) throw new Error(`the explorer's module ${name} was not sent`);
      const code = sources[name].replace(/from\s+"(\.\.?\/[\w./-]+\.js)"/g, (_, dep) => `from "${build(resolve(name, dep))}"`);
      urls[name] = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
    }
    return urls[name];
  };
  Object.keys(sources).forEach(build);
  return urls;
}

// The graph drawing scripts (Graphviz in WebAssembly), once per notebook page, as classic scripts.
let vendorLoaded = null;
function loadVendor(scripts) {
  vendorLoaded = vendorLoaded || scripts.reduce((previous, source) => previous.then(() => new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    script.onload = resolve;
    script.onerror = () => reject(new Error("the graph drawing script did not load"));
    document.head.appendChild(script);
  })), Promise.resolve());
  return vendorLoaded;
}

// The page's style, for a shadow root: its :root and body rules apply to the host and the page's box.
function shadowStyle(css) {
  return css.replace(/^:root\b/gm, ":host").replace(/(^|[\s,}])body(?=[\s.{:#,[>])/g, "$1.page");
}

async function render({ model, el }) {
  const shadow = el.shadowRoot || el.attachShadow({ mode: "open" });
  let closed = false, next = 0;
  const pending = new Map();
  const onMessage = (message) => {
    const waiting = pending.get(message.id);
    if (!waiting) return;
    pending.delete(message.id);
    if (message.error !== undefined) waiting.reject(new Error(message.error));
    else waiting.resolve(message.value);
  };
  model.on("msg:custom", onMessage);
  // After the widget is gone, requests never settle: its polling stops where it is.
  const ask = (method, path, body) => new Promise((resolve, reject) => {
    if (closed) return;
    const id = next++;
    pending.set(id, { resolve, reject });
    model.send({ id, method, path, body });
  });

  // the page's files come by message, not as a synced trait (which the notebook would save with its state)
  const files = await ask("FILES", "");
  shadow.innerHTML = `<style>${shadowStyle(files.css)}
    :host { display: block; background: #fff; color: var(--ink); }
    footer#error { position: sticky; }</style><div class="page">${files.body}</div>`;
  await loadVendor(files.vendor);
  const urls = moduleUrls(files.modules);
  const api = await import(urls["js/api.js"]);
  api.useTransport({
    get: (path) => ask("GET", path),
    post: (path, body) => ask("POST", path, body),
    reload: () => { closed = true; model.off("msg:custom", onMessage); render({ model, el }); }, // another model: build again
  });
  const main = await import(urls["js/main.js"]);
  await main.start(shadow);
  return () => {
    closed = true;
    model.off("msg:custom", onMessage);
  };
}

export default { render };
