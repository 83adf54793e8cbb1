"""autodiff: reverse-mode automatic differentiation you can read, step through and draw."""
from .value import Value

__all__ = ["Value"]
