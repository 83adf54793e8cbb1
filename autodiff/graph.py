"""The graph walk that both engines share: order the nodes, then apply the chain rule from the root back.

A node is anything with
  ._id            its creation number, from creation_counter
  .grad           its gradient so far (a float for Value, an array for Tensor)
  ._children      the nodes it was computed from (a tuple; a child may appear twice)
  ._chain_rule()  for each child: (child, local derivative, contribution), where the
                  contribution is the local derivative times this node's gradient
  ._backward()    adds each contribution to its child's .grad: what _chain_rule() describes,
                  done without describing it (Value's is a tight loop: it is the hot path)

Value and Tensor differ only in what a gradient is and how a contribution is multiplied out;
the order of work and the bookkeeping live here, once.
"""
from itertools import count
from operator import attrgetter

creation_counter = count()  # every node takes the next number as its ._id when it is made
_creation_number = attrgetter("_id")


def topological_order(*roots, leaves=True):
    """Every node reachable from the roots, each one after all of its children.

    With leaves=False, only the nodes computed from others: all that a backward pass must visit.

    A node is always created after the nodes it is computed from, so sorting by creation number
    is a topological order. Finding the nodes is a loop over a stack, not recursion: a chain of a
    million nodes would overflow Python's recursion limit (micrograd's sort fails at about 1,000).
    """
    seen, stack = set(roots), list(roots)
    while stack:
        for child in stack.pop()._children:
            if (leaves or child._children) and child not in seen:
                seen.add(child)
                stack.append(child)
    return sorted(seen, key=_creation_number)


def start_backward(root, seed):
    """Prepare a backward pass: the interior nodes from the root down, cleared, and the root seeded.

    Leaves keep what they had, so their gradients accumulate across passes (as in PyTorch: call
    zero_grad() between steps). Interior nodes start from zero so that they show this pass only.
    """
    order = topological_order(root, leaves=False) if root._children else []  # a leaf root just accumulates
    order.reverse()
    for node in order:
        node.grad = 0.0
    root.grad = root.grad + seed
    return order


def backward(root, seed):
    """Reverse-mode differentiation: every node passes its gradient to its children, root first.

    Reverse topological order means a node's gradient is complete, all of its parents having
    contributed, before it is passed on.
    """
    for node in start_backward(root, seed):
        node._backward()
