"""Tensor: the ops of value.py on numpy arrays, for speed.

Read it beside value.py: every op has the same name, the same forward value and the same local
derivative, applied elementwise. Two things are new:
- broadcasting: an operand smaller than the result (a bias added to every row) receives the sum
  of the contributions of every element it was broadcast to;
- ops that mix elements (matmul, sum): their local derivative is not a number per element, so it
  is stored as the function that multiplies the upstream gradient by it (a vector-Jacobian product).
The graph walk is graph.py's, shared with Value.

A graph keeps references to the arrays it was computed from (a product's local derivatives are
its operands), so changing one between forward and backward would give a stale gradient. So
the arrays of a graph's parameters and results are read-only until backward() has run on it, or
until the graph is dropped (a prediction's): an in-place change in between (w.data[...] = ...,
w.data -= ...) is refused by numpy ("assignment destination is read-only"). PyTorch refuses the
same with a version counter.
Data you pass in (requires_grad=False) stays yours: it is not locked, nor checked.
"""
import functools
import math

import numpy as np

from .graph import backward, creation_counter, topological_order
from .step import backward_steps


def _real(data, dtype):
    """A float array from what a user gave us, or a TypeError naming what it is instead."""
    if type(data) is np.ndarray and data.dtype.kind == "f" and data.dtype == dtype and data.flags.writeable:
        return data  # already what we need, such as a batch of images: every batch comes this way
    array = np.asarray(data)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"Tensor data must be real numbers, got {type(data).__name__} of dtype {array.dtype}")
    if np.dtype(dtype).kind != "f":
        raise TypeError(f"Tensor dtype must be a float type such as float32 or float64, got {np.dtype(dtype)}: "
                        "gradients are fractions")
    with np.errstate(over="ignore"):  # a value too large for dtype: _checked names it
        cast = array.astype(dtype, copy=False)
    if not cast.flags.writeable:  # graphs make arrays read-only and writable again: only ever our own
        cast = cast.copy()
    return cast


def _checked(data, dtype):
    """A finite float array from what a user gave us, or a clear error: gradients of garbage are garbage."""
    if (type(data) is float or type(data) is int) and not math.isfinite(data):  # the common constant, quickly
        raise ValueError(f"Tensor data must be finite, got {data}")
    array = _real(data, dtype)
    if not np.isfinite(array).all():
        given = np.asarray(data)
        if given.dtype.kind == "f" and not np.isfinite(given).all():
            raise ValueError(f"Tensor data must be finite, got {given[~np.isfinite(given)].flat[0]} in it")
        big = given.flat[np.flatnonzero(~np.isfinite(array))[0]]
        raise OverflowError(f"Tensor data {big:g} does not fit in {np.dtype(dtype)} (largest {np.finfo(dtype).max:g})")
    return array


def _hold(data, children, local_grads, holder):
    """Make the arrays a new node's derivatives need read-only until backward: see the top of this file.

    holder: the new node's _id, kept by each child as the newest node that holds its array (see
    Tensor.__del__). Returns whether any child is learned (requires a gradient): then so is the new node.
    """
    learned = False
    for child in children:  # a product's local derivatives are its operands
        if child.requires_grad:  # not data you passed in
            learned = True
            if type(child.data) is np.ndarray:  # nor a numpy scalar
                child.data.setflags(write=False)
                child._held_by = holder
    if local_grads and local_grads[0] is data:  # exp's derivative is its own value
        data.setflags(write=False)
    return learned


def _release(root, order=None):
    """Make the arrays of root's graph writable again: backward() no longer needs them.

    order: the interior nodes that backward() walked; without it (a pass that stopped early) the
    graph is walked here.
    """
    if order is None:
        order = topological_order(root, leaves=False) if root._children else []
    _writable(root.data)
    for node in order:
        for child in node._children:
            _writable(child.data)


def _writable(array):
    if type(array) is np.ndarray and not array.flags.writeable:
        try:
            array.setflags(write=True)
        except ValueError:  # a view (reshape, .T) of an array still held: no one writes to those
            pass


def _unscanned_constant(data, dtype):
    """A Tensor of data that is not learned, such as a batch of images, with no scan for NaN or inf:
    for an op that checks its own result, where any such value would show."""
    return _node(_real(data, dtype), (), (), "")  # a leaf, made without _checked's scan


def _unbroadcast(grad, shape):
    """Sum a gradient back to the shape of an operand that was broadcast to the result's shape."""
    if grad.shape == shape:
        return grad
    grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))  # leading axes the operand lacked
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched, keepdims=True) if stretched else grad


def _contribution(local, grad, shape):
    """The chain rule for one child: its local derivative times the upstream gradient, in its shape."""
    return local(grad) if callable(local) else _unbroadcast(local * grad, shape)


def _spread(grad, axis, keepdims, shape):
    """A reduction's gradient handed back to every element of its input."""
    return np.broadcast_to(grad if keepdims or axis is None else np.expand_dims(grad, axis), shape)


def _overflow_checked(op, data, *operands):
    """data, or an error naming the op: for the ops that can overflow on finite operands.

    sigmoid, tanh, relu, log, neg, reshape and T cannot, so they skip this scan of their result:
    on the network's path, only w·x+b and the cost pay for it.
    """
    if not np.isfinite(data).all():
        shapes = ", ".join(str(np.shape(x)) for x in operands)
        raise OverflowError(f"{op}: the result on shapes {shapes} overflows the range of {data.dtype}")
    return data


def _finite(op, *derivatives):
    """The local derivatives, or an error: an infinite one would make a silent inf in the gradients."""
    for d in derivatives:
        if not np.isfinite(d).all():
            raise OverflowError(f"{op}: its derivative overflows the range of {np.result_type(d)}")
    return derivatives


def _broadcasting(op, f, a, b):
    """f(a, b) for two arrays, or an error naming the op and both shapes."""
    try:
        with np.errstate(over="ignore"):  # _overflow_checked reports it, naming the op
            return f(a, b)
    except ValueError:
        raise ValueError(f"{op}: shapes {a.shape} and {b.shape} do not broadcast together") from None


# --- the rules: each op's forward value and its local derivatives, side by side ---
#
# A rule takes its operands' arrays (and the op's settings) and returns (value, local derivatives):
# one per operand, an array (elementwise) or a function of the upstream gradient (a vector-Jacobian
# product, for the ops that mix elements; `out` is an array it may write into). A rule also checks
# what depends on the values (a result that overflows, a division by 0). Tensor's methods below
# check the operands' types and shapes, call the rule and make the node; a recorded step
# (compile.py) calls the same rules on the next batch's arrays, without making nodes.


def add(a, b):
    return _overflow_checked("+", _broadcasting("+", np.add, a, b), a, b), (1.0, 1.0)


def mul(a, b):
    return _overflow_checked("*", _broadcasting("*", np.multiply, a, b), a, b), (b, a)


def sub(a, b):
    return _overflow_checked("-", _broadcasting("-", np.subtract, a, b), a, b), (1.0, -1.0)


def div(a, b):
    if (b == 0.0).any():
        raise ZeroDivisionError(f"div: division by zero (the divisor of shape {b.shape} holds a 0)")
    out = _broadcasting("/", np.divide, a, b)
    with np.errstate(over="ignore"):
        local_grads = _finite("/", 1.0 / b, -out / b)
    return _overflow_checked("/", out, a, b), local_grads


def neg(x):
    return -x, (-1.0,)


def power(x, y):
    """x ** y for a number y."""
    if not y.is_integer() and (x < 0.0).any():
        raise ValueError(f"pow: a negative base needs an integer exponent, got {x[x < 0.0].flat[0]:g} ** {y:g}")
    if y < 1.0 and (x == 0.0).any():
        if y < 0.0:
            raise ZeroDivisionError(f"pow: zero to a negative power (0 ** {y:g})")
        if y > 0.0:
            raise ValueError(f"pow: the derivative of x ** {y:g} is infinite at x = 0")
    with np.errstate(over="ignore"):  # _overflow_checked reports it, naming the op
        out = x**y
        d_dx = y * x ** (y - 1.0) if y != 0.0 else np.zeros_like(x)
    local_grads = _finite("**", d_dx)
    return _overflow_checked("**", out, x), local_grads


def power_tensor(x, y, y_learned):
    """x ** y for an array y; y_learned: whether y needs a gradient (then x must be >= 0)."""
    x, y = _broadcasting("**", np.broadcast_arrays, x, y)
    if ((x < 0.0) & (y != np.round(y))).any():
        raise ValueError("pow: a negative base needs an integer exponent")
    if ((x == 0.0) & (y < 0.0)).any():
        raise ZeroDivisionError("pow: zero to a negative power")
    if ((x == 0.0) & (y > 0.0) & (y < 1.0)).any():
        raise ValueError("pow: the derivative of x ** y with 0 < y < 1 is infinite at x = 0")
    if y_learned and (x < 0.0).any():
        raise ValueError("pow: a Tensor exponent needs bases >= 0 to be differentiable")
    with np.errstate(over="ignore"):
        out = x**y
        d_dx = y * x ** np.where(y == 0.0, 1.0, y - 1.0)  # 0 for y == 0, even at x == 0
        d_dy = out * np.log(np.where(x > 0.0, x, 1.0))  # x ** y is 0 for all y > 0 near x = 0
    local_grads = _finite("**", d_dx, d_dy)
    return _overflow_checked("**", out, x, y), local_grads


def exp(x):
    with np.errstate(over="ignore"):  # _overflow_checked reports it, naming the op
        e = np.exp(x)
    return _overflow_checked("exp", e, x), (e,)  # exp's derivative is its own value


def log(x):
    if (x <= 0.0).any():
        raise ValueError(f"log: the logarithm needs positive inputs, got log({x[x <= 0.0].flat[0]:g})")
    with np.errstate(over="ignore"):
        return np.log(x), _finite("log", 1.0 / x)


def tanh(x):
    t = np.tanh(x)
    return t, (1.0 - t * t,)


@np.errstate(over="ignore")  # as a decorator it costs half a with-block (no object per call): this runs on every layer
def _exp_in_place(s):
    """s = exp(s), where an overflow is no error: exp(-x) = inf for x < -88.7 (float32) gives σ = 1 / inf = 0, the right limit."""
    np.exp(s, out=s)


def sigmoid(x, out=None):
    s = np.negative(x, out=np.empty_like(x) if out is None else out)  # an array even for a 0-d input
    _exp_in_place(s)
    s += 1.0
    np.reciprocal(s, out=s)  # 1 / (1 + exp(-x)), computed in place: this op runs on every layer
    local = 1.0 - s
    local *= s  # s (1 - s)
    return s, (local,)


def relu(x, out=None):
    return np.maximum(x, 0.0, out=out), ((x > 0.0).astype(x.dtype),)


def weighted_sum(w, x, b, out=None):
    """Every neuron's w·x + b for every example; each weight's local derivative is its input, each
    input's is its weight, the bias's is 1: summed over the examples of the batch."""
    out = np.matmul(x, w.T, out=out)  # numpy warns if it overflows, before the error below: errstate costs 2% of a step
    out += b
    if not math.isfinite(np.vdot(out, out)):  # NaN or inf in, NaN or inf out, by BLAS (no warning), one call where
        # isfinite(out).all() takes two: 2 against 3.7 us. Squares of finite numbers may overflow: the scan decides
        if np.isfinite(out).all():
            return out, _weighted_sum_derivatives(w, x)
        if not np.isfinite(x).all():
            raise ValueError(f"w·x+b: the inputs must be finite, got {x[~np.isfinite(x)].flat[0]} in them")
        _overflow_checked("w·x+b", out, w, x, b)
    return out, _weighted_sum_derivatives(w, x)


def _weighted_sum_derivatives(w, x):
    """w·x+b's local derivatives, as functions of the gradient g of its result: for the weights (g.T @ x),
    the inputs (g @ w) and the bias (g summed over the batch: a row of ones times g, which BLAS does
    three times faster than add.reduce down the columns of a batch of 100)."""
    return (lambda g, out=None: np.matmul(g.T, x, out=out),
            lambda g, out=None: np.matmul(g, w, out=out),
            lambda g, out=None: np.matmul(_ones(len(g), g.dtype), g, out=out))


@functools.lru_cache(maxsize=8)
def _ones(n, dtype):
    """A row of n ones, made once per batch size and kept read-only."""
    ones = np.ones(n, dtype)
    ones.setflags(write=False)
    return ones


def matmul(a, b):
    return _overflow_checked("@", a @ b, a, b), (lambda g, out=None: np.matmul(g, b.T, out=out),
                                                 lambda g, out=None: np.matmul(a.T, g, out=out))


def sum_(x, axis, keepdims):
    spread = lambda g, out=None: _spread(g, axis, keepdims, x.shape)  # noqa: E731  every element counted once
    return _overflow_checked("sum", x.sum(axis=axis, keepdims=keepdims), x), (spread,)


def mean(x, axis, keepdims):
    count = x.size if axis is None else math.prod(x.shape[a] for a in axis)
    spread = lambda g, out=None: _spread(g / count, axis, keepdims, x.shape)  # noqa: E731  each counted 1/count
    return _overflow_checked("mean", x.mean(axis=axis, keepdims=keepdims), x), (spread,)


def reshape(x, shape):
    return x.reshape(*shape), (lambda g, out=None: g.reshape(x.shape),)


def transpose(x):
    return x.T, (lambda g, out=None: g.T,)


@np.errstate(over="ignore", invalid="ignore")  # an overflow or a NaN is reported by squared_error, naming the op
def _squared_difference(y, targets):
    """y - targets, and the mean over the batch of each row's sum of its squares."""
    difference = y - targets
    flat = difference.ravel()
    return difference, np.dot(flat, flat) / len(difference)


def squared_error(y, targets, given):
    """Per example the sum of (output - target)², then the mean; its local derivative 2 (output - target) / batch.

    given: the targets as the user gave them, to name a NaN, inf or overflowing cast in them.
    """
    difference, cost = _squared_difference(y, targets)
    if not math.isfinite(cost):  # one number to look at; the search only when it fails
        _checked(given, y.dtype)  # a NaN or inf in the targets as given (or made by the cast), by name
        _overflow_checked("squared-error", cost, y)
    return np.asarray(cost), (difference * (2.0 / len(difference)),)


def cross_entropy(z, labels):
    """Softmax cross-entropy against integer labels, averaged; its local derivative (softmax - one_hot) / batch.

    Subtracting each row's largest logit changes no softmax, and then no exp can overflow.
    """
    if labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() >= z.shape[1]:
        raise ValueError(f"cross-entropy: labels must be integers from 0 to {z.shape[1] - 1}")
    rows = np.arange(len(z))
    with np.errstate(over="ignore", invalid="ignore"):  # reported by _overflow_checked, naming the op
        shifted = z - z.max(axis=1, keepdims=True)
        log_sum = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        cost = (log_sum[:, 0] - shifted[rows, labels]).mean()
    if not math.isfinite(cost):
        _overflow_checked("cross-entropy", cost, z)
    softmax_minus_one_hot = np.exp(shifted - log_sum)
    softmax_minus_one_hot[rows, labels] -= 1.0
    softmax_minus_one_hot /= len(z)
    return np.asarray(cost), (softmax_minus_one_hot,)


# --- the graph: a node per op ---

def _apply(rule, op, children, *settings):
    """The node of an op: its rule applied to its children's arrays (and the op's settings, such as an axis).

    The node keeps the rule and settings, so that compile.py can replay the op on new arrays.
    """
    data, local_grads = rule(*[child.data for child in children], *settings)
    t = _node(data, children, local_grads, op)
    t._rule = rule, settings
    return t


def _node(data, children, local_grads, op):
    """The result of an op. Built without __init__'s checks, which only user input needs."""
    t = _new(Tensor)
    t.data, t.grad, t._children, t._local_grads, t.op, t.label = data, 0.0, children, local_grads, op, ""
    t._id, t._held_by, t._rule = _next_id(), None, None
    t.requires_grad = _hold(data, children, local_grads, t._id)
    return t


class Tensor:
    """An array that remembers how it was computed, so that backward() can find its gradient."""

    __slots__ = ("data", "grad", "_children", "_local_grads", "op", "label", "_id", "requires_grad", "_held_by",
                 "_rule")

    def __init__(self, data, dtype=np.float64, label="", requires_grad=True):
        self.data = _checked(data, dtype)
        self.grad = np.zeros_like(self.data) if requires_grad else 0.0
        self._children = ()  # the Tensors this one was computed from
        self._local_grads = ()  # d(self)/d(child): an array, elementwise, or a function of the gradient
        self.op = ""  # the name of the op that made this Tensor; "" for a leaf
        self.label = label  # a name to show when rendering
        self.requires_grad = requires_grad  # False for data, such as the images, that is not learned
        self._id = _next_id()  # creation order, which graph.py uses as a topological order
        self._rule = None  # (rule, settings) of the op that made this Tensor: see _apply
        self._held_by = None  # the _id of the newest node whose derivatives need self.data as it is

    def __del__(self, _writable=_writable):
        """A graph dropped without backward() (a prediction, say) needs its arrays no more: writable again,
        unless a newer node holds one (the next step's graph): that one's backward() releases it."""
        try:
            for child in self._children:
                if child._held_by == self._id:
                    _writable(child.data)
        except AttributeError:  # a Tensor whose __init__ failed: it held nothing
            pass

    def _operand(self, x):
        return x if isinstance(x, Tensor) else Tensor(x, self.data.dtype, requires_grad=False)

    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    # --- arithmetic: each op's rule (above) gives its forward value and its local derivatives ---

    def __add__(self, other):
        return _apply(add, "+", (self, self._operand(other)))

    def __mul__(self, other):
        return _apply(mul, "*", (self, self._operand(other)))

    def __sub__(self, other):
        return _apply(sub, "-", (self, self._operand(other)))

    def __truediv__(self, other):
        return _apply(div, "/", (self, self._operand(other)))

    def __neg__(self):
        return _apply(neg, "neg", (self,))

    def __pow__(self, other):
        """x ** y for a number y (one child), as in Value, or a Tensor y (two children: x and y)."""
        if isinstance(other, Tensor) or np.ndim(other) > 0:
            other = self._operand(other)
            return _apply(power_tensor, "**", (self, other), other.requires_grad)
        y = float(_checked(other, np.float64))
        return _apply(power, f"**{y:g}", (self,), y)

    # --- the same ops with the operands swapped: 2 * t, 1 - t, 2 ** t ---

    def __radd__(self, other):
        return self._operand(other) + self

    def __rmul__(self, other):
        return self._operand(other) * self

    def __rsub__(self, other):
        return self._operand(other) - self

    def __rtruediv__(self, other):
        return self._operand(other) / self

    def __rpow__(self, other):
        return self._operand(other) ** self

    def __rmatmul__(self, other):
        return self._operand(other) @ self

    # --- numpy on the left: x * t, x @ t with x an array ---
    # Left to itself, numpy would apply the op element by element and make an array of Tensors.
    # __array_ufunc__ = None makes numpy hand its operators to the Tensor's reflected ops (NEP 13),
    # and refuse its functions (np.exp(t), x *= t): they could not record the op for backward().
    __array_ufunc__ = None

    def __array__(self, dtype=None, copy=None):
        raise TypeError("numpy cannot use a Tensor as an array: it would not record the ops for backward(). "
                        "Use the Tensor's own ops (t.exp(), x @ t, t.sum()), or t.data for its numbers")

    # --- functions of one input ---

    def exp(self):
        return _apply(exp, "exp", (self,))

    def log(self):
        return _apply(log, "log", (self,))

    def tanh(self):
        return _apply(tanh, "tanh", (self,))

    def sigmoid(self):
        return _apply(sigmoid, "sigmoid", (self,))

    def relu(self):
        return _apply(relu, "relu", (self,))

    @staticmethod
    def weighted_sum(weights, inputs, bias):
        """Every neuron's w·x + b for every example: inputs (batch, nin), weights (nout, nin), bias (nout,).

        The local derivatives are Value.weighted_sum's, a matrix at a time (the rule weighted_sum above).

        inputs may be an array, such as a batch of images: data, not learned. It is not scanned for
        NaN or inf on the way in: any would show in the result, which is checked and 50 times smaller.
        """
        if not isinstance(inputs, Tensor):
            inputs = _unscanned_constant(inputs, weights.dtype)
        w, x, b = weights.data, inputs.data, bias.data
        if x.ndim != 2 or w.ndim != 2 or b.shape != (w.shape[0],) or x.shape[1] != w.shape[1]:
            raise ValueError(f"w·x+b: weights {w.shape}, inputs {x.shape} and bias {b.shape} do not fit "
                             "(expected (nout, nin), (batch, nin), (nout,))")
        return _apply(weighted_sum, "w·x+b", (weights, inputs, bias))

    # --- ops that mix elements ---

    def __matmul__(self, other):
        other = self._operand(other)
        a, b = self.data, other.data
        if a.ndim != 2 or b.ndim != 2:
            raise ValueError(f"@: expected two matrices, got shapes {a.shape} and {b.shape}")
        if a.shape[1] != b.shape[0]:
            raise ValueError(f"@: shapes {a.shape} and {b.shape} do not fit a matrix product")
        return _apply(matmul, "@", (self, other))

    def sum(self, axis=None, keepdims=False):
        return _apply(sum_, "sum", (self,), self._axes("sum", axis), keepdims)

    def mean(self, axis=None, keepdims=False):
        axis = self._axes("mean", axis)
        if (self.data.size if axis is None else math.prod(self.shape[a] for a in axis)) == 0:
            raise ValueError(f"mean: no elements to average over (shape {self.shape}, axis {axis})")
        return _apply(mean, "mean", (self,), axis, keepdims)

    def _axes(self, op, axis):
        """axis as a tuple of non-negative axes (None stays None), or an error naming the op."""
        if axis is None:
            return None
        axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis) if isinstance(axis, (tuple, list)) else None
        if axes is None or not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in axes):
            raise TypeError(f"{op}: axis must be a whole number or a tuple of them, got {axis!r:.40}")
        if any(not -self.data.ndim <= a < self.data.ndim for a in axes):
            raise ValueError(f"{op}: axis {axis} is out of range for shape {self.shape}")
        if len({a % self.data.ndim for a in axes}) != len(axes):
            raise ValueError(f"{op}: axis {axis} names an axis twice")
        return tuple(a % self.data.ndim for a in axes)

    def reshape(self, *shape):
        given = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list, np.ndarray)) else shape
        if not shape or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in given):
            raise TypeError(f"reshape: the new shape must be whole numbers, got {shape!r:.40}")
        try:
            self.data.reshape(*shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape {self.shape} into {shape}") from None
        return _apply(reshape, "reshape", (self,), shape)

    @property
    def T(self):
        return _apply(transpose, "T", (self,))

    def squared_error(self, targets):
        """The video's cost for outputs (batch, k): per example the sum of (output - target)², then the mean.

        nn.losses builds the same cost from Values op by op; here it is fused for speed, and its
        local derivative is what that graph computes step by step: 2 (output - target) / batch.
        """
        given, targets = targets, _real(targets, self.dtype)  # a NaN or inf in them makes the cost so: see the rule
        if targets.shape != self.shape or self.data.ndim != 2:
            raise ValueError(f"squared-error: outputs {self.shape} and targets {targets.shape} do not fit "
                             "(expected two arrays of shape (batch, k))")
        if len(targets) == 0:
            raise ValueError("squared-error: the batch is empty (0 examples): there is no mean to take")
        return _apply(squared_error, "squared-error", (self,), targets, given)

    def cross_entropy(self, labels):
        """Softmax cross-entropy of logits (batch, k) against integer labels, averaged: one node.

        nn.losses builds the same cost from Values op by op; here it is fused for speed, and its
        local derivative is what that graph computes step by step: (softmax - one_hot) / batch.
        """
        given, z, labels = labels, self.data, np.asarray(labels)
        if z.ndim != 2 or labels.shape != (z.shape[0],):
            raise ValueError(f"cross-entropy: logits {z.shape} and labels {labels.shape} do not fit "
                             "(expected (batch, k) and (batch,))")
        if len(z) == 0:
            raise ValueError("cross-entropy: the batch is empty (0 examples): there is no mean to take")
        if z.shape[1] == 0:
            raise ValueError(f"cross-entropy: logits {z.shape} hold no logits: there is no class to choose")
        if isinstance(given, (list, tuple)) and any(isinstance(label, (bool, np.bool_)) for label in given):
            raise ValueError("cross-entropy: labels must be integers, got True or False among them")  # numpy reads 1, 0
        return _apply(cross_entropy, "cross-entropy", (self,), labels)

    # --- backpropagation ---

    def _chain_rule(self):
        g = self.grad
        for child, local in zip(self._children, self._local_grads):
            if child.requires_grad:
                yield child, local, _contribution(local, g, child.data.shape)

    def _backward(self):
        g = self.grad
        for child, local in zip(self._children, self._local_grads):
            if child.requires_grad:  # _contribution, inlined: this line runs for every edge of every step
                contribution = local(g) if callable(local) else _unbroadcast(local * g, child.data.shape)
                if type(child.grad) is float:  # 0.0, set by start_backward or zero_grad: the first contribution
                    # is the gradient. A view (sum, mean, .T, reshape) of another node's gradient is made an
                    # array of its own, as stepping's 0.0 + contribution does: the user may change it.
                    child.grad = contribution if contribution.base is None else 0.0 + contribution
                else:
                    child.grad = child.grad + contribution

    def backward(self):
        """Fill in d(self)/d(node) as .grad for every node this Tensor depends on.

        self must hold one number (a cost). Gradients of leaves accumulate across calls, as in
        PyTorch: call zero_grad() between optimisation steps.
        """
        order = None
        try:
            order = backward(self, self._seed())
        finally:
            _release(self, order)

    def backward_steps(self):
        """The same backward pass, one node at a time: a generator of Steps (see step.py)."""
        try:
            yield from backward_steps(self, self._seed())
        finally:
            _release(self)

    def _seed(self):
        """d(self)/d(self) = 1, for a self that holds one number."""
        if self.data.size != 1:
            raise ValueError(f"backward: needs a single number such as a cost, got shape {self.shape}")
        return np.ones(self.data.shape, self.data.dtype)

    def __repr__(self):
        label = f"label={self.label!r}, " if self.label else ""
        return f"Tensor({label}shape={self.shape}, dtype={self.dtype}, op={self.op!r})"


Tensor._walk = Tensor._children  # what a backward pass looks into (graph.py): every child

_new = object.__new__
_next_id = creation_counter.__next__
