"""Optimizers: how a step moves each parameter against its gradient.

They work on either engine: a parameter's .data and .grad are floats for Value, arrays for Tensor.
"""
import numpy as np

from . import module


class Optimizer:
    def __init__(self, params, lr):
        self.params, self.lr = list(params), lr

    def zero_grad(self):
        module.zero_grad(self.params)


class SGD(Optimizer):
    """Stochastic gradient descent: p -= lr * grad, or with momentum, p -= lr * (a decaying sum of grads)."""

    def __init__(self, params, lr=0.1, momentum=0.0):
        super().__init__(params, lr)
        self.momentum = momentum
        self.velocity = [0.0 * p.grad for p in self.params]

    def step(self):
        for i, p in enumerate(self.params):
            if self.momentum:
                self.velocity[i] = self.momentum * self.velocity[i] + p.grad
                p.data -= self.lr * self.velocity[i]
            else:
                p.data -= self.lr * p.grad

    def state(self):
        """What a checkpoint must keep to resume exactly."""
        return {"velocity": self.velocity}

    def load_state(self, state):
        self.velocity = _checked_sums(state, "velocity", self.params)


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015): a step per parameter scaled by running averages of its gradient and its square."""

    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, lr)
        self.betas, self.eps, self.steps = betas, eps, 0
        self.mean = [0.0 * p.grad for p in self.params]
        self.square = [0.0 * p.grad for p in self.params]

    def step(self):
        b1, b2 = self.betas
        self.steps += 1
        for i, p in enumerate(self.params):
            self.mean[i] = b1 * self.mean[i] + (1 - b1) * p.grad
            self.square[i] = b2 * self.square[i] + (1 - b2) * p.grad * p.grad
            mean = self.mean[i] / (1 - b1**self.steps)  # the running averages start at 0: undo that bias
            square = self.square[i] / (1 - b2**self.steps)
            p.data -= self.lr * mean / (square**0.5 + self.eps)

    def state(self):
        return {"mean": self.mean, "square": self.square, "steps": self.steps}

    def load_state(self, state):
        mean, square = _checked_sums(state, "mean", self.params), _checked_sums(state, "square", self.params)
        self.mean, self.square, self.steps = mean, square, _checked_count(state, "steps")  # all checked, then set


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
    return [value if np.ndim(value) else float(value) for value in sums]


def _checked_count(state, name):
    value = np.asarray(state.get(name, -1))
    if value.ndim != 0 or value.dtype.kind not in "iu" or value < 0:
        raise ValueError(f"optimizer state: {name} must be a whole number >= 0, got {state.get(name)!r}")
    return int(value)
