"""autodiff: reverse-mode automatic differentiation you can read, step through and draw."""
from .render import GraphvizNotFound, draw, draw_dot, save, to_svg
from .tensor import Tensor
from .value import Value

__all__ = ["GraphvizNotFound", "Tensor", "Value", "draw", "draw_dot", "save", "to_svg"]
