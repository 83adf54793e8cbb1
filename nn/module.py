"""Module: anything with parameters to learn."""


def zero_grad(params):
    """Clear gradients before the next backward pass: leaf gradients accumulate.

    0.0 is zero for either engine. A Tensor's next backward() takes its first contribution as its
    gradient (0.0 + contribution, without the addition): no array is filled with zeros, none is
    allocated for the sum.
    """
    for p in params:
        p.grad = 0.0


class Module:
    def parameters(self):
        """The learnable Values (or Tensors), in a fixed order."""
        return []

    def zero_grad(self):
        zero_grad(self.parameters())
