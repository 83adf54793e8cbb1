"""Module: anything with parameters to learn."""


class Module:
    def parameters(self):
        """The learnable Values (or Tensors), in a fixed order."""
        return []

    def zero_grad(self):
        """Clear gradients before the next backward pass: leaf gradients accumulate."""
        for p in self.parameters():
            p.grad = 0.0 * p.grad
