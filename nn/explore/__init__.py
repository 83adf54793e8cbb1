"""The explorer: 3Blue1Brown's 784-16-16-10 network, live in the browser.

    python -m nn.explore [--model PATH] [--port N] [--host H] [--no-browser]

A thin server (server.py, the standard library's ThreadingHTTPServer) answers JSON computed by the
engines and serves the page in static/ (HTML, CSS, plain JavaScript modules: no build step, no
network). The page shows; Python computes:
  server.py      the HTTP layer: only its own files, JSON answers, every request checked (checks.py)
  preprocess.py  a drawing made into an MNIST digit: fitted into 20x20, centred by mass, anti-aliased
  wants.py       what one example wants: its forward pass and every nudge, by backward(), checked
  neuron.py      one neuron's scalar graph and its backward pass, step by step, in words and numbers
  training.py    the demo's training, in a background thread: train, pause, one step; the shared lock
  session.py     what the server holds: the network, the digits, the trainer, behind one lock
"""
