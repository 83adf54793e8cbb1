"""Optimizers: how a step moves each parameter against its gradient.

They work on either engine: a parameter's .data and .grad are floats for Value, arrays for Tensor.
"""
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
        self.velocity = list(state["velocity"])


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
        self.mean, self.square, self.steps = list(state["mean"]), list(state["square"]), int(state["steps"])
