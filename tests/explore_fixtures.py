"""Small learnable fake digits and a running explorer server, for the explorer's tests (offline).

Digit d is a bright bar across rows 4 + 2d .. 5 + 2d on faint noise: a network can learn them in a
few dozen steps, so a test can watch the cost fall and the accuracy rise.
"""
import contextlib
import json
import threading
import http.client
from urllib.parse import urlsplit

import numpy as np

from nn.explore.server import ExplorerServer
from nn.explore.session import Session
from nn.fast import FastMLP


def bar_digits(n, seed):
    """(images (n, 784) uint8, labels (n,) int64): digit d is a bar across rows 4 + 2d and 5 + 2d."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    images = rng.integers(0, 30, (n, 28, 28))
    for image, label in zip(images, labels):
        image[4 + 2 * label:6 + 2 * label, 5:23] = 255
    return images.astype(np.uint8).reshape(n, 784), labels.astype(np.int64)


def bar_data(n_train=1000, n_test=200):
    return (*bar_digits(n_train, 1), *bar_digits(n_test, 2))


class Gated(np.ndarray):
    """Test images whose slices wait while `gate` (an Event set on this array only) is clear: scoring
    them (scores.py) then takes as long as a test wants."""

    def __getitem__(self, key):
        gate = self.__dict__.get("gate")
        if gate is not None:
            gate.wait()
        return np.asarray(self)[key]


def gated_data():
    """(bar_data() with Gated test images, their gate (open))."""
    train_images, train_labels, test_images, test_labels = bar_data()
    images = test_images.view(Gated)
    images.gate = threading.Event()
    images.gate.set()
    return (train_images, train_labels, images, test_labels), images.gate


def lively_network(seed=3):
    """A sigmoid 784-16-16-10 network with weights and biases big enough that every gradient matters."""
    net = FastMLP(784, [16, 16, 10], "sigmoid", "sigmoid", seed=seed)
    rng = np.random.default_rng(seed)
    for w, b in zip(net.weights, net.biases):
        w.data *= 3.0
        b.data[...] = rng.uniform(-1, 1, b.shape)
    return net


@contextlib.contextmanager
def running(session):
    """An explorer server on a free port of 127.0.0.1, in a thread; yields it, shuts it down after."""
    server = ExplorerServer(session, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        session.trainer.pause()
        server.shutdown()
        server.server_close()
        thread.join()


class Client:
    """Raw HTTP to the server (http.client sends paths exactly as given, ../ included)."""

    def __init__(self, url):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port

    def request(self, method, path, body=None, headers=None):
        """(status, headers, raw body)."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request(method, path, body, headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def get(self, path):
        status, headers, raw = self.request("GET", path)
        return status, json.loads(raw)

    def post(self, path, value):
        body = value if isinstance(value, bytes) else json.dumps(value).encode()
        status, headers, raw = self.request("POST", path, body, {"Content-Type": "application/json"})
        assert headers["Content-Type"] == "application/json"
        return status, json.loads(raw)


def draw_stroke(page, pad=None, start=0.2):
    """A stroke down and slightly left across the drawing pad, with the mouse, as a person draws a "1"."""
    box = (pad or page.locator("#pad")).bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * start)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(box["x"] + box["width"] * (0.5 - 0.01 * i), box["y"] + box["height"] * (start + 0.06 * i))
    page.mouse.up()


def session_with(model=None, data=None):
    return Session(data if data is not None else bar_data(), model)
