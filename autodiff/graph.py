"""The graph walk that both engines share: order the nodes, then apply the chain rule from the root back.

A node is anything with
  ._id            its creation number, from creation_counter
  .grad           its gradient so far (a float for Value, an array for Tensor)
  ._children      the nodes it was computed from (a tuple; a child may appear twice)
  ._walk          the children a backward pass must look into: for most nodes the same tuple as
                  ._children; a weighted sum of data leaves out the data, which gets no gradient
  ._chain_rule()  for each child: (child, local derivative, contribution), where the
                  contribution is the local derivative times this node's gradient
  ._backward()    adds each contribution to its child's .grad: what _chain_rule() describes,
                  done without describing it (Value's is a tight loop: it is the hot path)

Value and Tensor differ only in what a gradient is and how a contribution is multiplied out;
the order of work and the bookkeeping live here, once.
"""
from itertools import count
from math import hypot, isfinite, sqrt
from operator import attrgetter

creation_counter = count()  # every node takes the next number as its ._id when it is made
_every_pass = 0.0  # the sum of every Value pass's bound (check_gradients): no leaf has a larger gradient
_creation_number = attrgetter("_id")


def topological_order(*roots, leaves=True):
    """Every node reachable from the roots, each one after all of its children.

    With leaves=False, only the nodes computed from others: all that a backward pass must visit.

    A node is always created after the nodes it is computed from, so sorting by creation number
    is a topological order. Finding the nodes is a loop over a stack, not recursion: a chain of a
    million nodes would overflow Python's recursion limit (micrograd's sort fails at about 1,000).
    """
    seen, stack = set(roots), list(roots)
    if leaves:
        while stack:
            for child in stack.pop()._children:
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
    else:  # the hot path of every backward pass: only what gradients flow through, only interior nodes
        while stack:
            for child in stack.pop()._walk:
                if child._children and child not in seen:
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
    order = start_backward(root, seed)
    for node in order:
        node._backward()
    check_gradients(root, order)
    return order  # what was walked: Tensor.backward makes its arrays writable again


def check_gradients(root, order):
    """Raise OverflowError if this pass made a gradient inf or nan, naming the op where it first appeared.

    inf and nan absorb whatever they meet (inf * x, inf + x, inf - inf = nan), so one anywhere ends
    up in a leaf. Cheap tests first, the search only when they fail:
    - Tensor: few nodes, large arrays. The sum of the squares of the learned leaves' gradients must be finite.
    - Value: many nodes; looking at every leaf again would cost a third of the backward pass. So
      we bound: a node passes on at most |its gradient| x sum(|its local derivatives|), and the
      latter is at most sqrt(n) x hypot(derivatives), one C loop. If the total of these bounds is
      finite, so is every gradient this pass added. A node without a list of local derivatives has
      its children looked at instead. A leaf's gradient also holds what earlier passes added (until
      zero_grad), and finite sums can overflow when added up: so the bounds of every pass are summed
      too, and while that sum stays finite, with room to spare, no leaf's gradient can have
      overflowed; beyond it (gradients near 1e308), the leaves are looked at, by every later pass
      of the process (13-46% of an MNIST example's pass). A gradient set by hand, v.grad = ..., is
      not in that sum: a learner sets 0 or 1 there.
    The cost, measured by benchmarks/safety_checks.py: 1% of a micrograd-benchmark MLP step, 5% of
    its chain of ops, 2-4% of a fast-path step. A bound that overflows with every gradient finite is
    no error: the search then finds nothing.
    """
    if hasattr(root.grad, "shape"):  # Tensor
        import numpy as np

        # Each array's sum of squares, one BLAS call: nan or inf in, nan or inf out, five times faster than
        # .sum() (pairwise) on a float32 layer. Squares of finite numbers may overflow: the search decides.
        with np.errstate(over="ignore", invalid="ignore"):
            total = float(np.vdot(root.grad, root.grad)) + sum([
                float(np.vdot(child.grad, child.grad)) for node in order for child in node._children
                if child.requires_grad and not child._children])
    else:  # Value
        total = abs(root.grad)
        for node in order:
            local = node._local_grads
            if local.__class__ is not tuple and hasattr(local, "abs_sum"):  # w·x + b on constant inputs (value.Constants):
                total += abs(node.grad) * local.abs_sum  # the weights' local derivatives are the inputs, the bias's is 1
            elif len(local) == 2:  # most ops: spelled out, twice as fast as calling hypot
                a, b = local
                total += abs(node.grad) * (abs(a) + abs(b))
            elif len(local) == len(node._children):
                total += abs(node.grad) * sqrt(len(local)) * hypot(*local)
            else:  # a node that keeps its derivatives in a _backward closure (micrograd's style): look
                total += sum(abs(child.grad) for child in node._children)
        global _every_pass
        _every_pass += total
        if not isfinite(2.0 * _every_pass):  # the leaves may hold sums past the float range: look
            total += sum([abs(child.grad) for node in order for child in node._children if not child._children])
    if not isfinite(total):
        import numpy as np

        with np.errstate(all="ignore"):  # the search recomputes the overflowing products: no warnings
            _find_non_finite(order)


def _find_non_finite(order):
    """The error path of check_gradients: the first op, root first, whose gradient or contribution is not finite."""
    import numpy as np

    finite = lambda x: bool(np.isfinite(x).all())  # noqa: E731
    for node in order:  # root first: a node's gradient is complete before it is passed on
        if not finite(node.grad):  # every contribution into it was finite (else found above), their sum is not
            raise OverflowError(f"backward: the gradient of {_name(node)} overflows the range of a float "
                                "when the gradients flowing into it are summed")
        for child, local, contribution in node._chain_rule():
            if not finite(contribution) and getattr(node, "_closure", None) is not None:  # micrograd's style
                raise OverflowError(
                    f"backward: the _backward function of op {node.op!r} added {_number(contribution)} to the "
                    f"gradient of {_name(child)}, with the gradient {_number(node.grad)} arriving at the op")
            if not finite(contribution):
                how = "(a matrix product)" if callable(local) else _number(local)
                operands = ", ".join(map(_name, node._children[:4])) + (", ..." if len(node._children) > 4 else "")
                raise OverflowError(
                    f"backward: the gradient overflows at op {node.op!r} on ({operands}): the local derivative "
                    f"{how} for {_name(child)} times the gradient {_number(node.grad)} arriving at the op is not finite")
    leaves = {child for node in order for child in node._children if not child._children}
    for leaf in sorted(leaves, key=_creation_number):
        if not finite(leaf.grad):
            raise OverflowError(f"backward: the gradient of {_name(leaf)} overflows the range of a float "
                                "when the gradients flowing into it are summed")


def _name(node):
    """A node as a message names it: what it is, and its value or its shape."""
    what = f"an input {node.label!r}" if node.label else "an input" if not node._children else f"the {node.op!r} node"
    data = node.data
    return f"{what} of shape {data.shape}" if getattr(data, "ndim", 0) else f"{what} = {_number(data)}"


def _number(x):
    """A number or an array, briefly."""
    if getattr(x, "ndim", 0):
        return f"(an array of shape {x.shape}, largest {float(abs(x).max()):.3g})"
    return f"{float(x):.4g}"
