"""What one training example wants: the gradient of its cost, taken apart as 3Blue1Brown explains it.

For one example the cost is C (the video's Σ_j (a_j - y_j)², or softmax cross-entropy), and its
negative gradient is a list of nudges, one per weight and bias. The video says where each comes from:
  - each output wants to move in proportion to its distance from its target: -∂C/∂a_j = -2(a_j - y_j)
    for the squared error (y_j - softmax_j for cross-entropy);
  - a neuron's bias moves with its error term -∂C/∂z, and its weights in proportion to the
    activations feeding them: -∂C/∂w_k = -∂C/∂z · a_k;
  - it wishes the previous activations moved in proportion to its weights: -∂C/∂z · w_k;
  - adding up every neuron's wishes gives the previous layer's gradient: that sum is backpropagation.

Everything here is computed by independent routes, so that one can check another: by_hand()
applies the chain rule with numpy to the weight matrices; by_engine() builds the graph of scalar
Values and calls backward(); by_tensor() does the same with the fast path's Tensors, which a
network too wide to build as Values in a moment needs. demos/nudges.py tells the story and shows
that they agree.
"""
from dataclasses import dataclass

import numpy as np

from autodiff import Value
from autodiff.tensor import Tensor

from .data import scaled
from .losses import cross_entropy, squared_error

# What the story says, per cost and per activation: the formula, and how it is computed.
COST_WORDS = {  # (the cost of one example, each output's nudge -∂C/∂a_j, what the formula's terms are)
    "squared": ("C = Σ_j (a_j - y_j)²", "-2(a_j - y_j)", ""),
    "cross-entropy": ("C = -log softmax(a)_y", "y_j - softmax(a)_j",
                      ",\nwhere softmax(a)_j = e^a_j / Σ_i e^a_i turns the outputs (logits) into probabilities"),
}
SLOPE_WORDS = {"sigmoid": "a(1 - a)", "tanh": "1 - a²", "relu": "1 where z > 0, else 0", "linear": "1"}


def as_input(image):
    """Pixel brightness from 0 (black) to 1 (white): the input activations of the video's network."""
    return scaled(np.asarray(image).reshape(-1), np.float64)


def first_index(labels, digit):
    """Where the first example of `digit` is, or a clear error if there is none."""
    found = np.flatnonzero(np.asarray(labels) == digit)
    if found.size == 0:
        raise ValueError(f"the training labels hold no {digit}")
    return int(found[0])


def first_mistake(guesses, labels, digit):
    """The index of the first `digit` the network misreads, else of the first example it misreads; None if none."""
    wrong = np.asarray(guesses) != np.asarray(labels)
    for candidates in (wrong & (np.asarray(labels) == digit), wrong):
        found = np.flatnonzero(candidates)
        if found.size:
            return int(found[0])
    return None


@dataclass
class Backprop:
    """One example's forward and backward pass, indexed by layer as in the video: layer 0 is the input.

    a[l] and da[l] = ∂C/∂a(l) for l = 0..L; dz[l] = ∂C/∂z(l), dw[l] and db[l] for l = 1..L, where
    dw[l][j, k] = ∂C/∂w(l)_jk is for the weight from neuron k of layer l-1 to neuron j of layer l.
    Index 0 of dz, dw and db is None: the input layer has no weights.
    """

    cost: float
    a: list
    da: list
    dz: list
    dw: list
    db: list


def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # the same function as 1 / (1 + e^-z), and it never overflows


FUNCTIONS = {"sigmoid": sigmoid, "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0.0), "linear": lambda z: z}
SLOPES = {  # da/dz, from z and a = f(z)
    "sigmoid": lambda z, a: a * (1.0 - a),
    "tanh": lambda z, a: 1.0 - a * a,
    "relu": lambda z, a: (z > 0.0).astype(np.float64),
    "linear": lambda z, a: np.ones_like(a),
}


def softmax(z):
    e = np.exp(z - np.max(z))
    return e / e.sum()


def by_hand(weights, biases, x, y, activation="sigmoid", output="sigmoid", cost="squared"):
    """The chain rule written out with numpy: weights[l - 1] is layer l's (nout, nin) matrix; y is one-hot."""
    n = len(weights)
    names = [activation] * (n - 1) + [output]
    a, z = [np.asarray(x, dtype=np.float64)], [None]
    for w, b, name in zip(weights, biases, names):
        z.append(w @ a[-1] + b)
        a.append(FUNCTIONS[name](z[-1]))
    da, dz, dw, db = [None] * (n + 1), [None] * (n + 1), [None] * (n + 1), [None] * (n + 1)
    if cost == "squared":
        total = float(np.sum((a[n] - y) ** 2))
        da[n] = 2.0 * (a[n] - y)  # each output's distance from its target, doubled
    else:  # cross-entropy: the outputs are logits, and softmax is part of the cost
        p = softmax(a[n])
        total = float(-np.log(p[int(np.argmax(y))]))
        da[n] = p - y
    for l in range(n, 0, -1):
        dz[l] = da[l] * SLOPES[names[l - 1]](z[l], a[l])  # through the activation: da/dz
        db[l] = dz[l]  # z = w·a + b moves one for one with b
        dw[l] = np.outer(dz[l], a[l - 1])  # ∂z_j/∂w_jk = a_k: the activation feeding the weight
        da[l - 1] = weights[l - 1].T @ dz[l]  # ∂z_j/∂a_k = w_jk, added up over every neuron j
    return Backprop(total, a, da, dz, dw, db)


def forward(mlp, x):
    """The scalar network's activations for one input, layer by layer, as lists of Values."""
    a = [[Value(float(p)) for p in x]]
    for layer in mlp.layers:
        out = layer(a[-1])
        a.append(out if isinstance(out, list) else [out])
    return a


def _grads(values):
    return np.array([v.grad for v in values])


def parameter_grads(mlp):
    """[None, dw1, ..., dwL], [None, db1, ..., dbL]: the .grad of every weight and bias, as matrices."""
    dw = [None] + [np.array([_grads(n.w) for n in layer.neurons]) for layer in mlp.layers]
    db = [None] + [_grads([n.b for n in layer.neurons]) for layer in mlp.layers]
    return dw, db


def _scalar_cost(outputs, ys, cost):
    """The mini-batch cost of a list of examples' outputs (lists of Values), y one-hot: nn.losses' graph."""
    if cost == "squared":
        return squared_error(outputs, list(ys))
    return cross_entropy(outputs, [int(np.argmax(y)) for y in ys])


def by_engine(mlp, x, y, cost="squared"):
    """The same numbers from the scalar engine: build the graph of one example's cost, then backward()."""
    mlp.zero_grad()
    a = forward(mlp, x)
    total = _scalar_cost([a[-1]], [y], cost)
    total.backward()
    dw, db = parameter_grads(mlp)
    # a = f(z): z is the activation's one child; a linear layer's a is its z
    dz = [None] + [_grads(v if layer.neurons[0].activation == "linear" else v._children[0] for v in values)
                   for layer, values in zip(mlp.layers, a[1:])]
    return Backprop(total.data, [np.array([v.data for v in layer]) for layer in a], [_grads(layer) for layer in a],
                    dz, dw, db)


def minibatch_by_engine(mlp, xs, ys, cost="squared"):
    """The mini-batch cost (the mean of the examples' costs), backward() once: (cost, dw, db)."""
    mlp.zero_grad()
    total = _scalar_cost([forward(mlp, x)[-1] for x in xs], ys, cost)
    total.backward()
    return (total.data, *parameter_grads(mlp))


def in_float64(net):
    """A FastMLP's float64 twin (float32 weights convert exactly): every route then rounds alike."""
    state = {key: value.astype(np.float64) if value.dtype.kind == "f" else value for key, value in net.state().items()}
    return type(net).from_state(state)


def _tensor_pass(net, xs, ys, cost):
    """The fast path's forward and backward over a batch: (cost, activations, weighted sums) as Tensors."""
    net.zero_grad()
    a, z = [Tensor(np.asarray(xs, dtype=np.float64))], [None]  # inputs that take a gradient, as forward() makes
    last = len(net.weights) - 1
    for i, (w, b) in enumerate(zip(net.weights, net.biases)):
        z.append(Tensor.weighted_sum(w, a[-1], b))
        name = net.output if i == last else net.activation
        a.append(z[-1] if name == "linear" else getattr(z[-1], name)())
    ys = np.asarray(ys, dtype=np.float64)
    total = squared_error(a[-1], ys) if cost == "squared" else cross_entropy(a[-1], ys.argmax(axis=1))
    total.backward()
    return total, a, z


def by_tensor(net, x, y, cost="squared"):
    """The same numbers from the fast path (a float64 FastMLP): a batch of one example, then backward()."""
    total, a, z = _tensor_pass(net, [x], [y], cost)
    none = [None]
    return Backprop(float(total.data), [t.data[0] for t in a], [t.grad[0] for t in a],
                    none + [t.grad[0] for t in z[1:]], none + [w.grad for w in net.weights],
                    none + [b.grad for b in net.biases])


def minibatch_by_tensor(net, xs, ys, cost="squared"):
    """minibatch_by_engine on the fast path: the whole batch in one graph of Tensors, backward() once."""
    total, _, _ = _tensor_pass(net, xs, ys, cost)
    return float(total.data), [None] + [w.grad for w in net.weights], [None] + [b.grad for b in net.biases]


# --- naming and choosing weights: (l, j, k) is the weight from neuron k of layer l-1 to neuron j of layer l ---


def weight_name(weight):
    l, j, k = weight
    source = f"pixel {k} (row {k // 28}, column {k % 28})" if l == 1 else f"neuron {k} of layer {l - 1}"
    return f"w({l})_{j},{k}: layer {l}, neuron {j}, from {source}"


class WeightNames:
    """The (l, j, k) of every weight, in the order of the flattened matrices, made only when asked for:
    a list of them all took a second for the 669,706 weights of a 784-512-512-10 network."""

    def __init__(self, dw):
        self.shapes = [dw[l].shape for l in range(1, len(dw))]
        self.starts = np.cumsum([0] + [m * n for m, n in self.shapes])

    def __len__(self):
        return int(self.starts[-1])

    def __getitem__(self, i):
        i = range(len(self))[i]  # negative indices as a list takes them; an IndexError past the end
        layer = int(np.searchsorted(self.starts, i, side="right")) - 1
        j, k = np.unravel_index(i - self.starts[layer], self.shapes[layer])
        return layer + 1, int(j), int(k)


def all_weights(dw):
    """Every weight as (l, j, k), in the order of the flattened matrices, and its gradient."""
    return WeightNames(dw), np.concatenate([dw[l].ravel() for l in range(1, len(dw))])


@dataclass
class Sensitivity:
    """The cost is `ratio` times more sensitive to `largest` than to `typical`."""

    largest: tuple
    typical: tuple
    ratio: float
    moving: int  # how many weights have a non-zero gradient
    total: int


def sensitivity(dw):
    """The weight with the largest |∂C/∂w| against the median one among those with any gradient at all.

    The median over all weights would be zero: a first-layer weight from a blank pixel cannot change
    the cost, since its input is 0.
    """
    names, grads = all_weights(dw)
    size = np.abs(grads)
    moving = np.flatnonzero(size)
    if moving.size == 0:
        raise ValueError("every weight's gradient is zero: the cost does not depend on any of them")
    largest = int(np.argmax(size))
    by_size = moving[np.argsort(size[moving], kind="stable")]
    typical = int(by_size[(len(by_size) - 1) // 2])
    return Sensitivity(names[largest], names[typical], size[largest] / size[typical], moving.size, size.size)


def chosen_weights(dw):
    """A few weights worth following across examples: the most sensitive of each layer, then a typical one."""
    chosen = [(l, *np.unravel_index(np.argmax(np.abs(dw[l])), dw[l].shape)) for l in range(1, len(dw))]
    chosen = [tuple(int(i) for i in weight) for weight in chosen]
    if not any(np.any(dw[l]) for l in range(1, len(dw))):
        return chosen  # no weight has a gradient: there is no typical one to add
    typical = sensitivity(dw).typical
    return chosen + ([typical] if typical not in chosen else [])


def nudges_per_example(weights, biases, xs, ys, chosen, **network):
    """The video's table: row i, column e is what example e wants of chosen weight i, -∂C_e/∂w.

    network: by_hand's activation, output and cost."""
    table = np.empty((len(chosen), len(xs)))
    for e, (x, y) in enumerate(zip(xs, ys)):
        dw = by_hand(weights, biases, x, y, **network).dw
        table[:, e] = [-dw[l][j, k] for l, j, k in chosen]
    return table
