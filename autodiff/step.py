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
    local: object  # d(node)/d(child); None if hidden in a _backward closure and the node's gradient is 0
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
        closure = getattr(node, "_closure", None)  # set on a Value made as micrograd makes one
        edges = _run_closure(node, closure) if closure else _apply_chain_rule(node)
        yield Step(index, node, node.grad, tuple(edges))


def _apply_chain_rule(node):
    edges = []
    for child, local, contribution in node._chain_rule():
        before = child.grad
        child.grad = before + contribution
        edges.append(Edge(child, local, contribution, before, child.grad))
    return edges


def _run_closure(node, closure):
    """A micrograd-style _backward closure hides its local derivatives: run it, as backward() does,
    and read what it added to each child. The local derivative is that share divided by the node's
    gradient, and None (unknown) when the gradient is 0. One Edge per distinct child."""
    children = list(dict.fromkeys(node._children))  # a child used twice receives both shares at once
    before = [child.grad for child in children]
    closure()
    edges = []
    for child, old in zip(children, before):
        contribution = child.grad - old
        local = contribution / node.grad if node.grad != 0 else None
        edges.append(Edge(child, local, contribution, old, child.grad))
    return edges
