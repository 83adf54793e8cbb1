"""compile: record a training step's graph once, then replay it on every batch of the same shapes.

A training step builds the same graph every time: the same ops, in the same order, on arrays of
the same shapes. Building it anew costs a node per op, the locks that keep its arrays unchanged
until backward, a sort of the nodes and the walk back. `compile` pays for that once:

    step = compile(lambda x, y: squared_error(net(x), y))
    for x, y in batches:
        cost = step(x, y)      # forward and backward: each learned Tensor's .grad is this batch's gradient
        optimizer.step()

The first call runs the plain graph (forward, then backward with fresh gradients, as after
zero_grad) and records it: for each op, its rule from tensor.py and where its operands come from
(an earlier op, a learned Tensor, an argument of the step, a constant). A second call with the
same shapes records again and checks that the two recordings agree, so an array computed from the
arguments outside the Tensor ops (which a replay would not recompute) is an error, never a silent
stale value. From then on a call replays the tape: the same rules, called in the same order on the
new arrays, the same chain rule edge by edge, results written into arrays allocated once. No node
is made, nothing is sorted or locked. So the weights come out bitwise equal to the plain graph's.

It keeps the checks that matter: each rule's own (w·x+b that overflows, a cost that is not finite,
with a NaN in the targets named), and backward's gradient check; when that check fails, the step is
done again on the plain graph, whose search names the op where the overflow began.

Arguments of a new shape or dtype, or a new `key()` (anything that describes the graph's structure,
such as the network's activations and parameters), record again. The stepper and the drawings work
on the plain graph: call the function itself for one.

Like tinygrad's TinyJit, a replay runs only the recorded Tensor ops: Python code inside the
function (a print, a branch on a value) runs while recording only.
"""
import math

import numpy as np

from .graph import topological_order
from .tensor import Tensor, _unbroadcast, _writable

KEPT = 8  # tapes kept, one per signature (an epoch's last, smaller batch has its own)
VJP, ELEMENTWISE, BROADCAST = "vjp", "elementwise", "broadcast"  # a local derivative: a function, or an array (times g)


class CompiledStep:
    """f(*arrays) -> a Tensor cost, recorded once per signature and replayed: see the top of this file."""

    def __init__(self, f, key=None):
        self.f, self.key = f, key
        self.tapes = {}  # signature -> the Tape replayed for it (verified), or the first recording (not yet)
        self.recordings = 0  # how many times the plain graph was recorded: for tests and benchmarks

    def __call__(self, *args):
        """The cost of f(*args), with each learned Tensor's .grad its gradient (an array the next call overwrites).

        args: numpy arrays (a new shape or dtype records again) or numbers (a new value records again).
        One thread at a time: a replay writes into the tape's own arrays.
        """
        signature = (self.key() if self.key is not None else None,
                     *[(a.shape, a.dtype) if type(a) is np.ndarray else _number(a) for a in args])
        tape = self.tapes.get(signature)
        if tape is not None and tape.verified:
            cost = tape.replay(args)
            if cost is not None:
                return cost
            return self.plain(*args)  # the gradient check failed: the plain graph's search names the op
        loss, recorded = self._record(args)
        if tape is not None:
            recorded.verify_against(tape)
        elif len(self.tapes) >= KEPT:
            self.tapes.pop(next(iter(self.tapes)))
        self.tapes[signature] = recorded
        return float(loss.data)

    def plain(self, *args):
        """The step on the plain graph, with no tape: the cost, and every learned Tensor's .grad."""
        loss = self.f(*args)
        _fresh_gradients(loss)
        loss.backward()
        return float(loss.data)

    def _record(self, args):
        loss = self.f(*args)
        if not isinstance(loss, Tensor) or loss.data.size != 1:
            raise TypeError(f"compile: the step must return a Tensor holding one number (a cost), got {loss!r}")
        nodes = _fresh_gradients(loss)
        loss.backward()
        self.recordings += 1
        return loss, Tape(nodes, args, loss, verified=False)


def compile(f, key=None):
    """f recorded on its first calls and replayed after: a CompiledStep. key(): what else describes the graph."""
    return CompiledStep(f, key)


def _number(a):
    if not isinstance(a, (int, float, np.generic)):
        raise TypeError(f"compile: a step's arguments must be numpy arrays or numbers, got {type(a).__name__}")
    return type(a), a


def _fresh_gradients(loss):
    """Every node of loss's graph, in creation order; the learned leaves' gradients set to 0.0, as zero_grad does."""
    nodes = topological_order(loss)
    for node in nodes:
        if node.requires_grad and not node._children:
            node.grad = 0.0
    return nodes


class _Arg:
    """An operand that is the step's argument number i: read from the arguments at every replay."""

    __slots__ = ("i",)

    def __init__(self, i):
        self.i = i

    def __eq__(self, other):
        return type(other) is _Arg and other.i == self.i

    def __repr__(self):
        return f"argument {self.i}"


class Tape:
    """One recorded step: the ops to run forward, the chain rule's edges backward, and the arrays they write into."""

    def __init__(self, nodes, args, loss, verified):
        self.verified = verified
        slot = {node: i for i, node in enumerate(nodes)}
        self.values = [None] * len(nodes)  # each node's value at the current replay
        self.locals = [None] * len(nodes)  # and its local derivatives
        self.learned = []  # (slot, learned Tensor): each is read at every replay, and gets its gradient
        self.arguments = []  # (slot, i): a leaf that is the step's argument i
        self.ops = []  # (slot, rule, operand slots, settings, {"out": buffer} or {}, whether a setting is an argument)
        self.description = []  # what verify_against compares
        for node in nodes:
            i = slot[node]
            if not node._children:  # a leaf
                source = node if node.requires_grad else _argument(node.data, args)
                if node.requires_grad:
                    self.learned.append((i, node))
                elif type(source) is _Arg:
                    self.arguments.append((i, source.i))
                else:
                    self.values[i] = source  # a constant: there for every replay
                self.description.append(("leaf", source if node.requires_grad or type(source) is _Arg else
                                         (node.data.dtype, node.data.shape, node.data.tobytes())))
                continue
            rule, settings = node._rule
            settings = tuple(_argument(s, args) if type(s) is np.ndarray else s for s in settings)
            takes_out = "out" in rule.__code__.co_varnames[:rule.__code__.co_argcount]
            out = {"out": np.empty_like(node.data)} if takes_out else {}
            self.ops.append((i, rule, tuple(slot[c] for c in node._children), settings, out,
                             any(type(s) is _Arg for s in settings)))
            self.description.append((rule, tuple(slot[c] for c in node._children),
                                     tuple(s if type(s) is not np.ndarray else (s.dtype, s.shape, s.tobytes())
                                           for s in settings)))
        self.root = slot[loss]
        self.seed = np.ones_like(loss.data)
        # backward: the edges of the plain graph's chain rule, in its order (reverse creation order)
        self.grads = [None] * len(nodes)
        buffers = [np.empty(node.data.shape, np.result_type(node.grad)) if node.requires_grad else None
                   for node in nodes]
        self.buffers = buffers
        self.edges = []  # (node slot, child index, child slot, how to multiply, out buffer, first into the child)
        seen = set()
        for node in reversed(nodes):
            if not node._children or not node.requires_grad:
                continue
            for j, child in enumerate(node._children):
                if not child.requires_grad:
                    continue
                c = slot[child]
                local = node._local_grads[j]
                how = VJP if callable(local) else ELEMENTWISE if np.broadcast_shapes(
                    np.shape(local), node.data.shape) == child.data.shape else BROADCAST
                first = c not in seen
                seen.add(c)
                self.edges.append((slot[node], j, c, how, buffers[c] if first else np.empty_like(buffers[c]), first))
        self.description.append(tuple(e[:4] for e in self.edges))

    def verify_against(self, first):
        """Two recordings with the same signature must describe the same graph: else the tape would replay a stale one."""
        if len(first.description) != len(self.description) or any(
                not _same(a, b) for a, b in zip(first.description, self.description)):
            raise ValueError(
                "compile: the step built a different graph on two calls with arguments of the same shapes: an "
                "array in it is computed from the arguments outside the Tensor ops (pass it as an argument), or "
                "the graph's structure changed (give compile a key() that describes it), or a constant changes; "
                "a replay would use a stale one. Call the function without compile")
        self.verified = True

    def replay(self, args):
        """The step on new arrays: the cost, with each learned Tensor's .grad set; None if the gradient check fails."""
        values, grads, local_grads, buffers = self.values, self.grads, self.locals, self.buffers
        for i, leaf in self.learned:
            values[i] = leaf.data
        for i, k in self.arguments:
            values[i] = args[k]
        for i, rule, children, settings, out, from_args in self.ops:  # forward: each op's rule, as its node calls it
            if from_args:
                settings = [args[s.i] if type(s) is _Arg else s for s in settings]
            values[i], local_grads[i] = rule(*[values[c] for c in children], *settings, **out)
        grads[self.root] = self.seed
        for i, j, c, how, out, first in self.edges:  # backward: the chain rule, edge by edge, as Tensor._backward
            local, g = local_grads[i][j], grads[i]
            if how is VJP:
                contribution = local(g, out)
            elif how is ELEMENTWISE:
                contribution = np.multiply(local, g, out=out)
            else:
                contribution = _unbroadcast(local * g, values[c].shape)
            if first:
                grads[c] = contribution
            elif grads[c] is buffers[c]:
                np.add(grads[c], contribution, out=grads[c])
            else:  # the first contribution is a view of another gradient (a transpose): add into a new array
                grads[c] = grads[c] + contribution
        total = 0.0  # graph.check_gradients: each learned gradient's sum of squares, by BLAS (which never warns)
        for i, leaf in self.learned:
            leaf.grad = g = grads[i]
            total += float(np.vdot(g, g))
            if not leaf.data.flags.writeable:  # locked by a graph never walked back, such as a prediction's:
                _writable(leaf.data)  # its backward() would have unlocked it, as the plain step's does
        if not math.isfinite(total):
            return None
        return float(values[self.root])


def _argument(array, args):
    """_Arg(i) if array is the step's argument i, else the array itself: a constant of the graph."""
    for i, a in enumerate(args):
        if array is a:
            return _Arg(i)
    return array


def _same(a, b):
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return a is b
    if type(a) is tuple and type(b) is tuple:
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return False  # never compared: the descriptions hold bytes instead
    return a is b or a == b

