"""The explorer: a network reading 28x28 images (3Blue1Brown's 784-16-16-10 by default), live in the browser.

    python -m nn.explore [--model PATH] [--port N] [--host H] [--no-browser] [--data-dir DIR]

or inline in a notebook, the kernel computing (pip install "seebackprop[notebook]"):

    from nn.explore import Explorer
    Explorer(net)                  # net: a FastMLP or an MLP, 784 inputs, up to 10 outputs

A thin server (server.py, the standard library's ThreadingHTTPServer) answers JSON computed by the
engines and serves the page in static/ (HTML, CSS, plain JavaScript modules: no build step, no
network). The page shows; Python computes:
  server.py      the HTTP layer: only its own files, JSON answers, every request checked (checks.py)
  preprocess.py  a drawing made into an MNIST digit: fitted into 20x20, centred by mass, anti-aliased
  wants.py       what one example wants: its forward pass and every nudge, by backward(), checked
  neuron.py      one neuron's scalar graph and its backward pass, step by step, in words and numbers
  training.py    the demo's training, in a background thread: train, pause, one step; the shared lock
  session.py     what the server holds: the network, the digits, the trainer, behind one lock
  models.py      the models under runs/, and the settings their training recorded
  api.py         the API calls, answered alike for the server and the widget
  widget.py      the notebook widget: the page's views, the kernel answering through anywidget
"""


def __getattr__(name):
    if name == "Explorer":  # anywidget only when it is asked for: the web page does not need it
        from .widget import Explorer

        return Explorer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
