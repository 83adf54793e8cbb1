"""The explorer inside a notebook: `Explorer(net)` shows it inline (JupyterLab, Notebook 7, VS Code, Colab).

The page's own files (its markup, style and JavaScript views) are drawn by static/js/widget.js into
the output cell; each request the views make goes to the kernel as a widget message, and comes back
with api.answer()'s reply, the server's very function: no server, no port. Training runs in a thread
of the kernel, so the notebook stays free.

The widget shows `net` itself, not a copy: train it in a cell, and the widget shows the new weights;
train it in the widget, and `net` has learned. anywidget carries the messages (an optional
dependency: pip install "seebackprop[notebook]").
"""
import re
import sys
import traceback
from pathlib import Path

import anywidget
import numpy as np

import autodiff

from .. import data as mnist
from ..fast import FastMLP
from ..mlp import MLP
from . import api
from .api import NoSuchCall
from .checks import BadRequest
from .session import Session

STATIC = Path(__file__).parent / "static"
WEB = Path(autodiff.__file__).parent / "web"


def page_file(name):
    """A file as the page names it: its own under static/, the stepper view's (stepper/...) from autodiff/web."""
    return WEB / name if name.startswith("stepper/") else STATIC / name


def page_files():
    """What widget.js needs of the page: its body's markup, its style, its modules (by their paths as the
    page imports them: js/main.js, stepper/stepper.js) and the graph drawing scripts."""
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    body = re.search(r"<body>(.*)</body>", html, re.S).group(1)
    styles = re.findall(r'<link rel="stylesheet" href="([\w./-]+\.css)">', html)
    modules = [path for path in sorted((STATIC / "js").glob("*.js")) if path.name not in ("page.js", "widget.js")]
    modules += sorted((WEB / "stepper").glob("*.js")) + [WEB / "vendor" / "gifenc.esm.js"]  # the GIF encoder slides.js imports
    return {
        "body": body,
        "css": "\n".join(page_file(name).read_text(encoding="utf-8") for name in styles),
        "modules": {(path.parent.name if path.parent.name in ("stepper", "vendor") else "js") + "/" + path.name:
                    path.read_text(encoding="utf-8") for path in modules},
        "vendor": [(WEB / "vendor" / "viz-global.js").read_text(encoding="utf-8"),
                   (WEB / "draw_dot.js").read_text(encoding="utf-8")],
    }


class ScalarNetwork:
    """An MLP of Values, seen by the session as the FastMLP it equals: its numbers are copied in before each
    request (so that a cell's training shows), and back after the widget trains it."""

    def __init__(self, mlp):
        self.mlp = mlp
        self.fast = FastMLP.from_scalar(mlp)

    def read(self):
        for w, b, layer in zip(self.fast.weights, self.fast.biases, self.mlp.layers):
            w.data = np.array([[v.data for v in n.w] for n in layer.neurons])
            b.data = np.array([n.b.data for n in layer.neurons])

    def write(self):
        for w, b, layer in zip(self.fast.weights, self.fast.biases, self.mlp.layers):
            for j, neuron in enumerate(layer.neurons):
                for v, x in zip(neuron.w, w.data[j]):
                    v.data = float(x)
                neuron.b.data = float(b.data[j])


class Explorer(anywidget.AnyWidget):
    """The explorer for `net` (a FastMLP or an MLP reading 784 pixels into up to 10 classes), inline.

    data: (train images, train labels, test images, test labels) as nn.data.load_mnist returns them
    (MNIST by default); classes: a name for each label (nn.data.class_names reads classes.txt);
    kind: a wants.Kind, if the cost is not the one the output suggests; settings: a training.Settings.
    """

    _esm = STATIC / "js" / "widget.js"

    def __init__(self, net, data=None, classes=None, kind=None, settings=None, **kwargs):
        super().__init__(**kwargs)
        self.scalar = ScalarNetwork(net) if isinstance(net, MLP) else None
        model = self.scalar.fast if self.scalar else net
        if data is None:
            data = mnist.load_mnist()
        self.session = Session(data, model, kind=kind, settings=settings, classes=classes, live=True)
        self.on_msg(self._answer)

    def ask(self, method, path, query="", body=None):
        """api.answer() for this widget's session, with an MLP's numbers brought up to date around it."""
        with self.session.lock.serving():
            if self.scalar and not self.session.trainer.running:
                with self.session.lock:
                    self.scalar.read()
            value = api.answer(self.session, method, path, query, body)
            if self.scalar and path == "train" and not self.session.trainer.running:
                self.scalar.write()
            return value

    def _answer(self, widget, content, buffers):
        if not isinstance(content, dict) or "id" not in content:
            return
        path, _, query = str(content.get("path", "")).partition("?")
        reply = {"id": content["id"]}
        if content.get("method") == "FILES":  # the page's files, by message: a synced trait would be saved in
            reply["value"] = page_files()      # the notebook with the widget's state (1.4 MB, the renderer)
            self.send(reply)
            return
        try:
            reply["value"] = self.ask(content.get("method"), path, query, content.get("body"))
        except BadRequest as error:
            reply["error"] = str(error)
        except NoSuchCall:
            reply["error"] = f"no such API call: {content.get('method')} {path[:100]}"
        except Exception as error:  # a bug: the widget shows a message, the kernel's log the traceback
            traceback.print_exc(file=sys.stderr)
            reply["error"] = f"the explorer failed: {type(error).__name__}: {error}"
        self.send(reply)

    def close(self):
        self.session.trainer.pause()
        super().close()
