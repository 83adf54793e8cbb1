"""What one example wants, as the page shows it: the forward pass and every nudge, by backward().

The numbers come from the Tensor engine's backward() on a batch of one, with the example's own
leaf Tensors (sharing the network's weight arrays, never its gradients, so a page looking at a
digit cannot disturb training). chain_rule below, the chain rule written out in numpy for any of
the activations and either cost, computes the same numbers a second way, and the largest difference between the two travels with them: the
page shows the check.

Layers are numbered as in the video and nn.nudges: 0 is the input, L the output.
"""
import base64

import numpy as np

from autodiff.tensor import Tensor

from ..data import one_hot


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


SHOWN = 16  # neurons of a wider layer drawn and listed: those that matter most for this example
# dC/dz from dC/da, by each activation's derivative written with its own output a (and z for ReLU)
DERIVATIVES = {
    "sigmoid": lambda a, z: a * (1.0 - a),  # σ'(z) = σ(z)(1 - σ(z))
    "tanh": lambda a, z: 1.0 - a * a,       # tanh'(z) = 1 - tanh²(z)
    "relu": lambda a, z: (z > 0).astype(a.dtype),
    "linear": lambda a, z: np.ones_like(a),
}
COSTS = ("squared", "cross-entropy")


class Kind:
    """What a network computes besides its weights: its hidden and output activations, and the cost it learns by."""

    def __init__(self, activation="sigmoid", output="sigmoid", cost="squared"):
        if cost not in COSTS:
            raise ValueError(f"the cost must be one of {', '.join(COSTS)}, got {cost!r}")
        self.activation, self.output, self.cost = activation, output, cost

    def of_layer(self, l, n):
        return self.output if l == n else self.activation

    def describe(self):
        return {"activation": self.activation, "output": self.output, "cost": self.cost}


def _cost(outputs, y, kind):
    return outputs.squared_error(y[None, :]) if kind.cost == "squared" else outputs.cross_entropy([int(np.argmax(y))])


def forward(weights, biases, xs, kind):
    """(ws, bs, zs, a): fresh leaf Tensors sharing the weights' arrays, and every layer's w·x+b and
    activation for the batch xs, by the Tensor engine (so that backward() can follow)."""
    a = [Tensor(xs)]
    ws = [Tensor(w) for w in weights]
    bs = [Tensor(b) for b in biases]
    zs = []
    for l, (w, b) in enumerate(zip(ws, bs), 1):
        zs.append(Tensor.weighted_sum(w, a[-1], b))
        name = kind.of_layer(l, len(ws))
        a.append(zs[-1] if name == "linear" else getattr(zs[-1], name)())
    return ws, bs, zs, a


def backward_pass(weights, biases, x, y, kind=None):
    """(cost, a, da, dz, dw, db) by the Tensor engine: lists indexed by layer (index 0 of dz, dw, db is None)."""
    kind = kind or Kind()
    ws, bs, zs, a = forward(weights, biases, x[None, :], kind)
    cost = _cost(a[-1], y, kind)  # a batch of one
    cost.backward()
    grad = lambda t: t.grad[0] if isinstance(t.grad, np.ndarray) else np.zeros(t.shape[1])  # noqa: E731
    return (float(cost.data), [t.data[0] for t in a], [grad(t) for t in a],
            [None] + [grad(z) for z in zs], [None] + [w.grad for w in ws], [None] + [b.grad for b in bs])


def output_gradient(a, y, cost):
    """∂C/∂a of the output layer: 2(a - y) for the squared error, softmax(a) - y for the cross-entropy."""
    if cost == "squared":
        return 2.0 * (a - y)
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True) - y


def chain_rule(weights, biases, xs, ys, kind):
    """The chain rule written out with numpy for a batch (rows of xs, ys): a, da, dz per layer, per example.

    The independent reference that backward()'s numbers are checked against on the page.
    """
    a, z = [xs], [None]
    n = len(weights)
    for l, (w, b) in enumerate(zip(weights, biases), 1):
        z.append(a[-1] @ w.T + b)
        name = kind.of_layer(l, n)
        a.append({"sigmoid": lambda v: 0.5 * (1.0 + np.tanh(0.5 * v)), "tanh": np.tanh,
                  "relu": lambda v: np.maximum(v, 0.0), "linear": lambda v: v}[name](z[-1]))
    da, dz = [None] * (n + 1), [None] * (n + 1)
    da[n] = output_gradient(a[n], ys, kind.cost)
    for l in range(n, 0, -1):
        dz[l] = da[l] * DERIVATIVES[kind.of_layer(l, n)](a[l], z[l])
        da[l - 1] = dz[l] @ weights[l - 1]
    return a, da, dz


def cost_of(a_out, y, cost):
    return float(costs_of(a_out[None, :], y[None, :], cost)[0])


def costs_of(outputs, ys, cost):
    """Each example's own cost, a row of outputs and of one-hot targets each: Σ (a - y)², or -log softmax(a)[label]."""
    if cost == "squared":
        return np.sum((outputs - ys) ** 2, axis=1)
    shifted = outputs - outputs.max(axis=1, keepdims=True)
    return np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(len(ys)), np.argmax(ys, axis=1)]


def shown_neurons(a, da, count=SHOWN):
    """The neurons of a layer worth drawing for this example: all if it has at most `count`, else the
    count/2 most active and the rest by the largest wish |∂C/∂a| (in order of index)."""
    n = len(a)
    if n <= count:
        return list(range(n))
    chosen = list(np.argsort(-np.abs(a), kind="stable")[:count // 2])
    for j in np.argsort(-np.abs(da), kind="stable"):
        if len(chosen) == count:
            break
        if j not in chosen:
            chosen.append(j)
    return sorted(int(j) for j in chosen)


def example(weights, biases, x, target, kind=None):
    """Everything the page shows about one example, as JSON-ready lists.

    weights[l - 1], biases[l - 1]: layer l's (nout, nin) matrix and bias vector; x: 784 inputs in
    [0, 1]; target: the class whose output should be 1 (every other output 0).

    Every layer's activations and gradients go whole (a few thousand numbers at most); the matrices
    only between the neurons shown (`shown`: all of a layer of up to SHOWN, else those that matter
    most for this example), with each layer's totals: a 512-512 layer is 262,144 numbers.
    """
    kind = kind or Kind()
    y = one_hot([target], len(biases[-1]))[0]
    cost, a, da, dz, dw, db = backward_pass(weights, biases, x, y, kind)
    ref_a, ref_da, ref_dz = chain_rule(weights, biases, x[None, :], y[None, :], kind)
    n = len(weights)
    shown = [list(range(len(x)))] + [shown_neurons(a[l], da[l]) for l in range(1, n)] + [list(range(len(a[n])))]
    rows = lambda m, l: m[np.ix_(shown[l], shown[l - 1])]  # noqa: E731  the part of layer l's matrix drawn
    # A neuron j of layer l wishes each activation k below it moved by -∂C/∂z_j · w_jk: its share
    # of ∂C/∂a_k. The video shows these wishes one neuron at a time, then their sum, which is ∂C/∂a.
    wishes = [None] + [dz[l][:, None] * weights[l - 1] for l in range(1, n + 1)]
    difference = max(
        [abs(cost - cost_of(ref_a[n][0], y, kind.cost))]
        + [float(np.max(np.abs(mine - theirs[0]))) for mine, theirs in zip(a + da, ref_a + ref_da)]
        + [float(np.max(np.abs(dz[l] - ref_dz[l][0]))) for l in range(1, n + 1)]
        + [float(np.max(np.abs(dw[l] - np.outer(ref_dz[l][0], ref_a[l - 1][0])))) for l in range(1, n + 1)]
        + [float(np.max(np.abs(db[l] - ref_dz[l][0]))) for l in range(1, n + 1)]
        + [float(np.max(np.abs(wishes[l].sum(axis=0) - da[l - 1]))) for l in range(1, n + 1)])
    largest = max(float(np.max(np.abs(g))) for g in dw[1:] + db[1:])
    return {
        "image": packed(a[0]),  # the 784 inputs the network received
        "target": int(target),
        "guess": int(np.argmax(a[n])),
        "cost": cost,
        "kind": kind.describe(),
        "shown": [None] + shown[1:],
        "totals": [None] + [{"neurons": len(a[l]), "active": int(np.sum(a[l] > 0.5 if kind.of_layer(l, n) == "sigmoid"
                                                                          else a[l] > 0)),
                             "activation": float(np.sum(a[l])), "wish": float(np.sum(np.abs(da[l])))}
                            for l in range(1, n + 1)],
        # The input layer's 784 numbers are packed (see "image"); the neurons' are lists.
        "a": [None] + [layer.tolist() for layer in a[1:]],
        "da": [packed(da[0])] + [layer.tolist() for layer in da[1:]],
        "dz": [None] + [layer.tolist() for layer in dz[1:]],
        "db": [None] + [layer.tolist() for layer in db[1:]],
        # Layer 1's weights are one 28x28 image per neuron; the others' matrices are printed: exact.
        "dw1": packed(dw[1][shown[1]]),
        "dw": [None, None] + [packed(rows(dw[l], l), exact=True) for l in range(2, n + 1)],
        "wishes": [None, None] + [packed(rows(wishes[l], l), exact=True) for l in range(2, n + 1)],
        # The weights between the neurons shown, for the picture (the state sends them whole only for small networks)
        "w1": packed(weights[0][shown[1]]),
        "w": [None, None] + [packed(rows(weights[l - 1], l), exact=True) for l in range(2, n + 1)],
        "check": {
            "engine": "Tensor backward()",
            "reference": "numpy chain rule (nn.explore.wants.chain_rule)",
            "max_difference": difference,
            "relative": difference / largest if largest else 0.0,
            "agree": difference <= 1e-9 * max(1.0, largest),
        },
    }



def forward_only(weights, biases, x, kind=None):
    """A drawing nobody has labelled yet: what the network reads and guesses, and no nudges, since
    the nudges depend on the target and there is none until the learner says which digit it is.
    A wide layer shows its most active neurons."""
    kind = kind or Kind()
    n = len(weights)
    a = [Tensor(x[None, :])]
    for l, (w, b) in enumerate(zip(weights, biases), 1):
        z = Tensor.weighted_sum(Tensor(w), a[-1], Tensor(b))
        name = kind.of_layer(l, n)
        a.append(z if name == "linear" else getattr(z, name)())
    a = [t.data[0] for t in a]
    shown = [None] + [shown_neurons(a[l], a[l]) for l in range(1, n)] + [list(range(len(a[n])))]
    return {"image": packed(a[0]), "target": None, "guess": int(np.argmax(a[n])), "kind": kind.describe(),
            "a": [None] + [layer.tolist() for layer in a[1:]], "shown": shown,
            "w1": packed(weights[0][shown[1]]),
            "w": [None, None] + [packed(weights[l - 1][np.ix_(shown[l], shown[l - 1])], exact=True)
                                 for l in range(2, n + 1)]}


def per_example_nudges(weights, biases, xs, ys, chosen, kind=None):
    """The video's mini-batch table: row i, column e is what example e wants of chosen weight
    (l, j, k), -∂C_e/∂w. The chain rule in numpy for the whole batch at once (nn.nudges does it an
    example at a time), so that the page can ask for it every second while training runs."""
    a, _, dz = chain_rule(weights, biases, xs, ys, kind or Kind())
    return np.array([-dz[l][:, j] * a[l - 1][:, k] for l, j, k in chosen])
