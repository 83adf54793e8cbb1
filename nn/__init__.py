"""nn: neural networks built from autodiff's Values (mlp.py) and Tensors (fast.py)."""
from .mlp import MLP, Layer, Neuron
from .module import Module

__all__ = ["MLP", "Layer", "Module", "Neuron"]
