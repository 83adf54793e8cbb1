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

from ..data import one_hot
from ..nudges import by_hand, sigmoid


def packed(array, exact=False):
    """An array as {"shape": [...], "float32" or "float64": base64 of its little-endian numbers}.

    JSON text costs about 20 bytes and a microsecond or two a number, each way; the page answers
    every stroke, so arrays travel as bytes and the page reads them with one typed array. Images
    (784 pixels, a neuron's 784 weights) go as float32, which the eye cannot tell apart; exact=True
    keeps all of float64's digits, for the numbers the page prints.
    """
    array = np.asarray(array)
    kind, dtype = ("float64", "<f8") if exact else ("float32", "<f4")
    return {"shape": list(array.shape), kind: base64.b64encode(np.ascontiguousarray(array, dtype).tobytes()).decode()}


def unpacked(value):
    """The inverse of packed(), for tests and benchmarks: a float64 array."""
    kind, dtype = ("float64", "<f8") if "float64" in value else ("float32", "<f4")
    return np.frombuffer(base64.b64decode(value[kind]), dtype).reshape(value["shape"]).astype(np.float64)


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
    y = one_hot([target], len(biases[-1]))[0]
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
        # Layer 1's weights are one 28x28 image per neuron; the others' matrices are printed: exact.
        "dw1": packed(dw[1]),
        "dw": [None, None] + [packed(layer, exact=True) for layer in dw[2:]],
        "wishes": [None, None] + [packed(layer, exact=True) for layer in wishes[2:]],
        "check": {
            "engine": "Tensor backward()",
            "reference": "numpy chain rule (nn.nudges.by_hand)",
            "max_difference": difference,
            "relative": difference / largest if largest else 0.0,
            "agree": difference <= 1e-9 * max(1.0, largest),
        },
    }



def forward_only(weights, biases, x):
    """A drawing nobody has labelled yet: what the network reads and guesses, and no nudges, since
    the nudges depend on the target and there is none until the learner says which digit it is."""
    a = [Tensor(x[None, :])]
    for w, b in zip(weights, biases):
        a.append(Tensor.weighted_sum(Tensor(w), a[-1], Tensor(b)).sigmoid())
    outputs = a[-1].data[0]
    return {"image": packed(a[0].data[0]), "target": None, "guess": int(np.argmax(outputs)),
            "a": [None] + [t.data[0].tolist() for t in a[1:]]}


def per_example_nudges(weights, biases, xs, ys, chosen):
    """The video's mini-batch table: row i, column e is what example e wants of chosen weight
    (l, j, k), -∂C_e/∂w. The chain rule in numpy for the whole batch at once (nn.nudges does it an
    example at a time), so that the page can ask for it every second while training runs."""
    a = [xs]
    for w, b in zip(weights, biases):
        a.append(sigmoid(a[-1] @ w.T + b))
    n = len(weights)
    dz = [None] * (n + 1)
    da = 2.0 * (a[n] - ys)
    for l in range(n, 0, -1):
        dz[l] = da * a[l] * (1.0 - a[l])
        da = dz[l] @ weights[l - 1]
    return np.array([-dz[l][:, j] * a[l - 1][:, k] for l, j, k in chosen])
