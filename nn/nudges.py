"""What one training example wants: the gradient of its cost, taken apart as 3Blue1Brown explains it.

For one example the cost is C = Σ_j (a_j - y_j)², and its negative gradient is a list of nudges,
one per weight and bias. The video says where each comes from:
  - each output wants to move in proportion to its distance from its target: -∂C/∂a_j = -2(a_j - y_j);
  - a neuron's bias moves with its error term -∂C/∂z, and its weights in proportion to the
    activations feeding them: -∂C/∂w_k = -∂C/∂z · a_k;
  - it wishes the previous activations moved in proportion to its weights: -∂C/∂z · w_k;
  - adding up every neuron's wishes gives the previous layer's gradient: that sum is backpropagation.

Everything here is computed by two independent routes, so that one can check the other: by_hand()
applies the chain rule with numpy to the weight matrices; by_engine() builds the graph of scalar
Values and calls backward(). demos/nudges.py tells the story and shows that they agree.
"""
from dataclasses import dataclass

import numpy as np

from autodiff import Value

from .data import scaled
from .losses import squared_error


def as_input(image):
    """Pixel brightness from 0 (black) to 1 (white): the input activations of the video's network."""
    return scaled(np.asarray(image).reshape(-1), np.float64)


def first_index(labels, digit):
    """Where the first example of `digit` is, or a clear error if there is none."""
    found = np.flatnonzero(np.asarray(labels) == digit)
    if found.size == 0:
        raise ValueError(f"the training labels hold no {digit}")
    return int(found[0])


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


def by_hand(weights, biases, x, y):
    """The chain rule written out with numpy: weights[l - 1] is layer l's (nout, nin) matrix."""
    a = [np.asarray(x, dtype=np.float64)]
    for w, b in zip(weights, biases):
        a.append(sigmoid(w @ a[-1] + b))
    n = len(weights)
    da, dz, dw, db = [None] * (n + 1), [None] * (n + 1), [None] * (n + 1), [None] * (n + 1)
    da[n] = 2.0 * (a[n] - y)  # each output's distance from its target, doubled
    for l in range(n, 0, -1):
        dz[l] = da[l] * a[l] * (1.0 - a[l])  # through the sigmoid: σ'(z) = σ(z)(1 - σ(z))
        db[l] = dz[l]  # z = w·a + b moves one for one with b
        dw[l] = np.outer(dz[l], a[l - 1])  # ∂z_j/∂w_jk = a_k: the activation feeding the weight
        da[l - 1] = weights[l - 1].T @ dz[l]  # ∂z_j/∂a_k = w_jk, added up over every neuron j
    return Backprop(float(np.sum((a[n] - y) ** 2)), a, da, dz, dw, db)


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


def by_engine(mlp, x, y):
    """The same numbers from the scalar engine: build the graph of one example's cost, then backward()."""
    mlp.zero_grad()
    a = forward(mlp, x)
    cost = squared_error([a[-1]], [y])
    cost.backward()
    dw, db = parameter_grads(mlp)
    dz = [None] + [_grads(v._children[0] for v in layer) for layer in a[1:]]  # a = σ(z): z is σ's one child
    return Backprop(cost.data, [np.array([v.data for v in layer]) for layer in a], [_grads(layer) for layer in a],
                    dz, dw, db)


def minibatch_by_engine(mlp, xs, ys):
    """The mini-batch cost (the mean of the examples' costs), backward() once: (cost, dw, db)."""
    mlp.zero_grad()
    cost = squared_error([forward(mlp, x)[-1] for x in xs], list(ys))
    cost.backward()
    return (cost.data, *parameter_grads(mlp))


# --- naming and choosing weights: (l, j, k) is the weight from neuron k of layer l-1 to neuron j of layer l ---


def weight_name(weight):
    l, j, k = weight
    source = f"pixel {k} (row {k // 28}, column {k % 28})" if l == 1 else f"neuron {k} of layer {l - 1}"
    return f"w({l})_{j},{k}: layer {l}, neuron {j}, from {source}"


def all_weights(dw):
    """Every weight as (l, j, k), in the order of the flattened matrices, and its gradient."""
    names = [(l, j, k) for l in range(1, len(dw)) for j, k in np.ndindex(dw[l].shape)]
    return names, np.concatenate([dw[l].ravel() for l in range(1, len(dw))])


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
    typical = sensitivity(dw).typical
    return chosen + ([typical] if typical not in chosen else [])


def nudges_per_example(weights, biases, xs, ys, chosen):
    """The video's table: row i, column e is what example e wants of chosen weight i, -∂C_e/∂w."""
    table = np.empty((len(chosen), len(xs)))
    for e, (x, y) in enumerate(zip(xs, ys)):
        dw = by_hand(weights, biases, x, y).dw
        table[:, e] = [-dw[l][j, k] for l, j, k in chosen]
    return table
