"""Stepping through a backward pass, node by node.

backward_steps() does exactly what backward() does, in the same order, but stops after each node
and reports what the chain rule did there: the node's gradient, and for each child the local
derivative, the contribution it passed on and the child's gradient before and after.
"""
from dataclasses import dataclass

from .graph import start_backward


@dataclass(frozen=True)
class Edge:
    """One use of the chain rule: d(root)/d(child) += d(node)/d(child) * d(root)/d(node)."""

    child: object
    local: object  # d(node)/d(child)
    contribution: object  # local * node's gradient, what the child receives
    before: object  # the child's gradient before this contribution
    after: object  # and after


@dataclass(frozen=True)
class Step:
    """One node of a backward pass: its gradient is complete, and it passes it to its children."""

    index: int  # 0 for the root, then in backward() order
    node: object
    grad: object  # d(root)/d(node)
    edges: tuple  # one Edge per child, in the order of the node's children


def backward_steps(root, seed):
    """A generator of Steps; exhausting it leaves the same gradients as root.backward()."""
    for index, node in enumerate(start_backward(root, seed)):
        edges = []
        for child, local, contribution in node._chain_rule():
            before = child.grad
            child.grad = before + contribution
            edges.append(Edge(child, local, contribution, before, child.grad))
        yield Step(index, node, node.grad, tuple(edges))
