"""What one example wants, as the page shows it: the forward pass and every nudge, by backward().

The numbers come from the Tensor engine's backward() on a batch of one, with the example's own
leaf Tensors (sharing the network's weight arrays, never its gradients, so a page looking at a
digit cannot disturb training). nn.nudges.by_hand, the chain rule written out in numpy, computes
the same numbers a second way, and the largest difference between the two travels with them: the
page shows the check.

Layers are numbered as in the video and nn.nudges: 0 is the input, L the output.
"""
import base64

import numpy as np

from autodiff.tensor import Tensor

from ..nudges import by_hand


def packed(array):
    """A large array (a 28x28 image per neuron) as base64 little-endian float32: 4 bytes a number
    instead of about 20 in JSON text, decoded by the page with one Float32Array."""
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f4").tobytes()).decode("ascii")


def unpacked(text, shape):
    """The inverse of packed(), for tests and benchmarks."""
    return np.frombuffer(base64.b64decode(text), dtype="<f4").reshape(shape).astype(np.float64)


def backward_pass(weights, biases, x, y):
    """(cost, a, da, dz, dw, db) by the Tensor engine: lists indexed by layer (index 0 of dz, dw, db is None)."""
    a = [Tensor(x[None, :])]
    ws = [Tensor(w) for w in weights]
    bs = [Tensor(b) for b in biases]
    zs = []
    for w, b in zip(ws, bs):
        zs.append(Tensor.weighted_sum(w, a[-1], b))
        a.append(zs[-1].sigmoid())
    cost = a[-1].squared_error(y[None, :])  # a batch of one: the sum of (a - y)² over the outputs
    cost.backward()
    return (float(cost.data), [t.data[0] for t in a], [t.grad[0] for t in a],
            [None] + [z.grad[0] for z in zs], [None] + [w.grad for w in ws], [None] + [b.grad for b in bs])


def example(weights, biases, x, target):
    """Everything the page shows about one example, as JSON-ready lists.

    weights[l - 1], biases[l - 1]: layer l's (nout, nin) matrix and bias vector; x: 784 inputs in
    [0, 1]; target: the digit whose output should be 1 (every other output 0).
    """
    y = np.zeros(len(biases[-1]))
    y[target] = 1.0
    cost, a, da, dz, dw, db = backward_pass(weights, biases, x, y)
    reference = by_hand(weights, biases, x, y)
    n = len(weights)
    # A neuron j of layer l wishes each activation k below it moved by -∂C/∂z_j · w_jk: its share
    # of ∂C/∂a_k. The video shows these wishes one neuron at a time, then their sum, which is ∂C/∂a.
    wishes = [None] + [dz[l][:, None] * weights[l - 1] for l in range(1, n + 1)]
    engine = {"a": a, "da": da, "dz": dz, "dw": dw, "db": db}
    difference = max(
        [abs(cost - reference.cost)]
        + [float(np.max(np.abs(mine - theirs)))
           for name, layers in engine.items()
           for mine, theirs in zip(layers, getattr(reference, name)) if mine is not None]
        + [float(np.max(np.abs(wishes[l].sum(axis=0) - da[l - 1]))) for l in range(1, n + 1)])
    largest = max(float(np.max(np.abs(g))) for g in dw[1:] + db[1:])
    return {
        "image": packed(a[0]),  # the 784 inputs the network received
        "target": int(target),
        "guess": int(np.argmax(a[n])),
        "cost": cost,
        # The input layer's 784 numbers are packed (see "image"); the neurons' are lists.
        "a": [None] + [layer.tolist() for layer in a[1:]],
        "da": [packed(da[0])] + [layer.tolist() for layer in da[1:]],
        "dz": [None] + [layer.tolist() for layer in dz[1:]],
        "db": [None] + [layer.tolist() for layer in db[1:]],
        # Layer 1's weights are one 28x28 image per neuron: packed. The others are small lists.
        "dw1": packed(dw[1]),
        "dw": [None, None] + [layer.tolist() for layer in dw[2:]],
        "wishes": [None, None] + [layer.tolist() for layer in wishes[2:]],
        "check": {
            "engine": "Tensor backward()",
            "reference": "numpy chain rule (nn.nudges.by_hand)",
            "max_difference": difference,
            "relative": difference / largest if largest else 0.0,
            "agree": difference <= 1e-9 * max(1.0, largest),
        },
    }

