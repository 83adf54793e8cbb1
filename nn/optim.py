"""Optimizers: how a step moves each parameter against its gradient.

They work on either engine: a parameter's .data and .grad are floats for Value, arrays for Tensor.
A Tensor's parameters and running sums are updated in place: a step allocates (almost) nothing.
"""
import math
from collections.abc import Iterable, Mapping
from numbers import Real

import numpy as np

from autodiff import Tensor, Value

from . import module


class Optimizer:
    def __init__(self, params, lr):
        self.params, self.lr = _parameters(params, type(self).__name__), _positive(self, "lr", lr)

    def zero_grad(self):
        module.zero_grad(self.params)

    def _can_step(self):
        """Refuse a step before it changes anything when a parameter's array is held read-only: a graph
        built from it is waiting for its backward(), which needs the values it was built with."""
        for i, p in enumerate(self.params):
            if isinstance(p.data, np.ndarray) and not p.data.flags.writeable:
                raise ValueError(
                    f"{type(self).__name__}.step: parameter {i} (shape {p.data.shape}) is held read-only by a graph "
                    "whose backward() has not run: call backward() on its cost first, or drop the graph (del it) "
                    "if it was only a forward pass")


class SGD(Optimizer):
    """Stochastic gradient descent: p -= lr * grad, or with momentum, p -= lr * (a decaying sum of grads)."""

    def __init__(self, params, lr=0.1, momentum=0.0):
        super().__init__(params, lr)
        self.momentum = _fraction(self, "momentum", momentum)
        self.velocity = [0.0 * p.data for p in self.params]  # zeros, in the parameter's shape and type
        self._scratch = [None] * len(self.params)  # a large parameter's scratch array (see _scratch), at its first step

    def step(self):
        self._can_step()
        lr, momentum = self.lr, self.momentum
        for i, (p, s) in enumerate(zip(self.params, self._scratch)):
            direction = p.grad
            if momentum:
                velocity = self.velocity[i]
                velocity *= momentum  # velocity = momentum * velocity + grad: in place for an array,
                velocity += direction  # a new number for a Value's float
                self.velocity[i] = direction = velocity
            data = p.data
            if type(data) is not np.ndarray or data.nbytes < SCRATCH_FROM:  # a Value's float, or a small array
                p.data -= lr * direction  # (an array's own, in place)
            else:  # data -= lr * direction, through a scratch array: see _scratch
                if s is None or s.shape != data.shape:
                    s = self._scratch[i] = _scratch(data, direction, lr)
                data -= np.multiply(direction, lr, out=s)  # the same numbers as lr * direction

    def state(self):
        """What a checkpoint must keep to resume exactly."""
        return {"velocity": self.velocity}

    def load_state(self, state):
        self.velocity = [v if v.ndim else float(v) for v in _checked_sums(state, "velocity", self.params)]


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015): a step per parameter scaled by running averages of its gradient and its square.

    The running averages are arrays, 0-d for a Value, updated in place through one scratch array
    per parameter: no temporary arrays, which for large layers cost more than the arithmetic.
    """

    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, lr)
        if isinstance(betas, (str, bytes)) or not isinstance(betas, Iterable) or len(betas := tuple(betas)) != 2:
            raise TypeError(f"Adam: betas must be two numbers (b1, b2) such as (0.9, 0.999), got {betas!r:.80}")
        self.betas = (_fraction(self, "betas[0]", betas[0]), _fraction(self, "betas[1]", betas[1]))
        self.eps, self.steps = _positive(self, "eps", eps), 0
        def zeros():  # one array per parameter, of its shape and dtype (0-d float64 for a Value's float)
            return [np.zeros_like(p.data) for p in self.params]

        self.mean, self.square, self._scratch = zeros(), zeros(), zeros()

    def step(self):
        self._can_step()
        b1, b2 = self.betas
        self.steps += 1
        unbias_mean, unbias_square = 1 - b1**self.steps, 1 - b2**self.steps  # the averages start at 0: undo that bias
        for p, mean, square, scratch in zip(self.params, self.mean, self.square, self._scratch):
            g = p.grad
            mean *= b1  # mean = b1 * mean + (1 - b1) * g
            mean += np.multiply(g, 1 - b1, out=scratch)
            square *= b2  # square = b2 * square + (1 - b2) * g²
            square += np.multiply(np.multiply(g, g, out=scratch), 1 - b2, out=scratch)
            # the step: lr * (mean / unbias_mean) / (sqrt(square / unbias_square) + eps)
            np.sqrt(np.divide(square, unbias_square, out=scratch), out=scratch)
            scratch += self.eps
            np.divide(mean, scratch, out=scratch)
            scratch *= self.lr / unbias_mean
            if isinstance(p.data, np.ndarray):
                p.data -= scratch  # in place: the parameter's array stays the one the graph and its users hold
            else:  # a Value's data stays a Python float
                p.data -= float(scratch)

    def state(self):
        return {"mean": self.mean, "square": self.square, "steps": self.steps}

    def load_state(self, state):
        mean, square = _checked_sums(state, "mean", self.params), _checked_sums(state, "square", self.params)
        self.mean, self.square, self.steps = mean, square, _checked_count(state, "steps")  # all checked, then set


SCRATCH_FROM = 128 * 1024  # bytes: glibc gives a larger new array fresh pages, whose faults cost more than the arithmetic


def _scratch(data, direction, lr):
    """An array for lr * direction, made at the first step, for a parameter of SCRATCH_FROM bytes or more.

    lr * direction as a new array cost a large layer a quarter of its update (an allocation the size
    of the layer, and its page faults): 450 against 333 us for 1024 x 784. A small one is cheaper to
    allocate than to write through out= (the video's six parameters: 7.7 against 8.4 us).
    """
    return np.empty(data.shape, np.result_type(direction, lr))


def _checked_sums(state, name, params):
    """state[name]: one running sum per parameter, each of its shape and finite; or a ValueError naming it."""
    if name not in state:
        raise ValueError(f"optimizer state: missing {name!r}")
    sums = list(state[name])
    if len(sums) != len(params):
        raise ValueError(f"optimizer state: {name} has {len(sums)} arrays for {len(params)} parameters")
    for i, (value, p) in enumerate(zip(sums, params)):
        value = np.asarray(value)
        if value.shape != np.shape(p.data) or value.dtype.kind != "f" or not np.isfinite(value).all():
            raise ValueError(f"optimizer state: {name}.{i} is {value.dtype} of shape {value.shape}, expected "
                             f"finite floats of shape {np.shape(p.data)} like parameter {i}")
    return [np.array(value) for value in sums]  # copies: the optimizer updates them in place


def _checked_count(state, name):
    value = np.asarray(state.get(name, -1))
    if value.ndim != 0 or value.dtype.kind not in "iu" or value < 0:
        raise ValueError(f"optimizer state: {name} must be a whole number >= 0, got {state.get(name)!r}")
    return int(value)


# --- the checks of the constructors: PyTorch refuses these too, by name ---


def _parameters(params, who):
    """params as a list of distinct learnable leaves, or an error naming the first that is not one.

    A number or an array has no gradient to step against; a node computed from others is recomputed
    by the next forward pass, which undoes any step; data (requires_grad=False) gets no gradient;
    and a parameter listed twice would be stepped twice.
    """
    if isinstance(params, (Value, Tensor, Mapping, str, bytes)) or not isinstance(params, Iterable):
        raise TypeError(f"{who}: params must be a list of parameters such as net.parameters(), got "
                        f"{type(params).__name__}")
    params, seen = list(params), {}
    if not params:
        raise ValueError(f"{who}: params is empty: there is nothing to learn")
    for i, p in enumerate(params):
        kind = "Values" if isinstance(p, Value) else "Tensors"
        if not isinstance(p, (Value, Tensor)):
            raise TypeError(f"{who}: params[{i}] is {type(p).__name__} {p!r:.40}, not a parameter (a Value or a Tensor)")
        if p._children:
            raise ValueError(f"{who}: params[{i}] is computed from other {kind} (op {p.op!r}), not a parameter: "
                             "only the leaves of a graph, such as weights, can be learned")
        if not getattr(p, "requires_grad", True):
            raise ValueError(f"{who}: params[{i}] is data (requires_grad=False), which gets no gradient")
        if id(p) in seen:
            raise ValueError(f"{who}: params[{i}] is params[{seen[id(p)]}] again: it would be stepped twice")
        seen[id(p)] = i
    return params


def _number(optimizer, name, x):
    if isinstance(x, bool) or not isinstance(x, Real) or not math.isfinite(x):
        raise (ValueError if isinstance(x, Real) and not isinstance(x, bool) else TypeError)(
            f"{type(optimizer).__name__}: {name} must be a finite number, got {x!r:.40}")
    return float(x)


def _positive(optimizer, name, x):
    """lr, eps: a finite number > 0 (lr <= 0 stands still or climbs the cost; eps = 0 divides 0 by 0)."""
    if not _number(optimizer, name, x) > 0:
        raise ValueError(f"{type(optimizer).__name__}: {name} must be a finite number > 0, got {x!r}")
    return float(x)


def _fraction(optimizer, name, x):
    """momentum, a beta: the share of the past a running sum keeps, in [0, 1): 1 keeps every gradient forever."""
    if not 0 <= _number(optimizer, name, x) < 1:
        raise ValueError(f"{type(optimizer).__name__}: {name} must be a number from 0 up to (not including) 1, got {x!r}")
    return float(x)
