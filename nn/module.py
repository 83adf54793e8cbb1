"""Module: anything with parameters to learn."""


def zero_grad(params):
    """Clear gradients before the next backward pass: leaf gradients accumulate.

    0.0 * grad is 0.0 for a Value and an array of zeros, of the right shape, for a Tensor.
    """
    for p in params:
        p.grad = 0.0 * p.grad


class Module:
    def parameters(self):
        """The learnable Values (or Tensors), in a fixed order."""
        return []

    def zero_grad(self):
        zero_grad(self.parameters())
