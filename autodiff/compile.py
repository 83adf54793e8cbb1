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
The tape is written out as straight-line Python, which step.source() shows:

    v7, d7 = weighted_sum(v0, v6, v3, out=o0)  # w·x+b        (forward: value and local derivatives)
    v8, d8 = sigmoid(v7, out=o1)  # sigmoid
    ...
    g11 = np.multiply(d12[0], g12, out=b1)     (backward: local derivative times the gradient)
    g2 = d11[0](g11, b2)                       (a weight's: g.T @ x, written into its array)

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
from collections import Counter

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

    def source(self):
        """The Python that the newest tape replays: each op's rule forward, then the chain rule edge by edge."""
        if not self.tapes:
            raise ValueError("compile: nothing is recorded yet: call the step first")
        return next(reversed(self.tapes.values())).source

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
    """One recorded step, written out as straight-line Python: each op's rule forward, each chain-rule edge backward.

    The code it replays is in .source (print it to see a step without its bookkeeping); it calls
    the same rules as the plain graph's nodes, in the same order, into arrays allocated once.
    """

    def __init__(self, nodes, args, loss, verified):
        self.verified = verified
        slot = {node: i for i, node in enumerate(nodes)}
        self.learned = []  # (slot, learned Tensor): each is read at every replay, and gets its gradient
        self.description = []  # what verify_against compares
        names = {"np": np, "_unbroadcast": _unbroadcast, "_add_into": _add_into}  # what the code refers to
        forward, backward = [], []

        named, counts = {}, Counter()  # id(object) -> its name in the code; names given per prefix

        def name(prefix, thing):  # the name the code uses for an object: prefix and a number (o0, b3, ...)
            if id(thing) not in named:
                named[id(thing)] = key = f"{prefix}{counts[prefix]}"
                counts[prefix] += 1
                names[key] = thing
            return named[id(thing)]

        for node in nodes:
            i = slot[node]
            if not node._children:  # a leaf
                source = node if node.requires_grad else _argument(node.data, args)
                if node.requires_grad:
                    self.learned.append((i, node))
                    forward.append(f"v{i} = {name('p', node)}.data  # learned")
                elif type(source) is _Arg:
                    forward.append(f"v{i} = args[{source.i}]")
                else:
                    forward.append(f"v{i} = {name('c', source)}  # a constant")
                self.description.append(("leaf", source if node.requires_grad or type(source) is _Arg else
                                         (node.data.dtype, node.data.shape, node.data.tobytes())))
                continue
            rule, settings = node._rule
            settings = tuple(_argument(s, args) if type(s) is np.ndarray else s for s in settings)
            operands = [f"v{slot[c]}" for c in node._children] + [
                f"args[{s.i}]" if type(s) is _Arg else _literal(s) or name("s", s) for s in settings]
            if "out" in rule.__code__.co_varnames[:rule.__code__.co_argcount]:
                operands.append(f"out={name('o', np.empty_like(node.data))}")
            names.setdefault(rule.__name__, rule)
            if names[rule.__name__] is not rule:
                raise ValueError(f"compile: two different rules are named {rule.__name__}")
            forward.append(f"v{i}, d{i} = {rule.__name__}({', '.join(operands)})  # {node.op}")
            self.description.append((rule, tuple(slot[c] for c in node._children),
                                     tuple(s if type(s) is not np.ndarray else (s.dtype, s.shape, s.tobytes())
                                           for s in settings)))
        root = slot[loss]
        # The learned gradients are views of one array per dtype, so that the gradient check is one
        # BLAS call (a sum of squares: NaN or inf in, NaN or inf out) instead of one per parameter.
        self.gradients, views = _packed([(leaf.data.shape, np.result_type(leaf.grad)) for _, leaf in self.learned])
        buffers = {i: array for (i, _), array in zip(self.learned, views)}
        # backward: the plain graph's chain rule, edge by edge, in its order (reverse creation order)
        backward.append(f"g{root} = {name('seed', np.ones_like(loss.data))}")
        seen, edges = set(), []
        for node in reversed(nodes):
            if not node._children or not node.requires_grad:
                continue
            i = slot[node]
            for j, child in enumerate(node._children):
                if not child.requires_grad:
                    continue
                c = slot[child]
                local = node._local_grads[j]
                how = VJP if callable(local) else ELEMENTWISE if np.broadcast_shapes(
                    np.shape(local), node.data.shape) == child.data.shape else BROADCAST
                edges.append((i, j, c, how))
                first = c not in seen
                seen.add(c)
                if first and c not in buffers:
                    buffers[c] = np.empty(child.data.shape, np.result_type(child.grad))
                out = name("b", buffers[c] if first else np.empty_like(buffers[c]))
                if first and node is loss and how is ELEMENTWISE and _times_one_is_itself(local, child, loss):
                    backward.append(f"g{c} = d{i}[{j}]  # times d{i}/d{i} = 1")  # the cost's own derivative
                    continue
                contribution = (f"d{i}[{j}](g{i}, {out})" if how is VJP else
                                f"np.multiply(d{i}[{j}], g{i}, out={out})" if how is ELEMENTWISE else
                                f"_unbroadcast(d{i}[{j}] * g{i}, {child.data.shape})")
                backward.append(f"g{c} = {contribution}" if first else
                                f"g{c} = _add_into(g{c}, {contribution}, {name('b', buffers[c])})")
        self.description.append(tuple(edges))
        for (c, _), buffer in zip(self.learned, views):  # a gradient that is a view (a transpose) is copied
            backward.append(f"if g{c} is not {(b := name('b', buffer))}: np.copyto({b}, g{c})")
        results = ", ".join(name("b", buffer) for buffer in views)
        self.source = "\n    ".join(["def replay(args):", "# forward", *forward, "# backward", *backward,
                                      f"return v{root}, ({results}{',' if len(views) == 1 else ''})"])
        exec(self.source, names)  # noqa: S102  code we wrote above, from the recorded graph
        self._replay = names["replay"]

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
        cost, gradients = self._replay(args)
        for (_, leaf), g in zip(self.learned, gradients):
            leaf.grad = g
            if not leaf.data.flags.writeable:  # locked by a graph never walked back, such as a prediction's:
                _writable(leaf.data)  # its backward() would have unlocked it, as the plain step's does
        total = 0.0  # graph.check_gradients: the learned gradients' sum of squares, by BLAS (which never warns)
        for flat in self.gradients:
            total += float(np.vdot(flat, flat))
        return float(cost) if math.isfinite(total) else None


def _packed(specs):
    """(flat arrays, views): arrays of these (shape, dtype)s as views, in order, of one flat array per dtype."""
    flats = {dtype: np.empty(sum(math.prod(s) for s, d in specs if d == dtype), dtype)
             for dtype in dict.fromkeys(d for _, d in specs)}
    views, used = [], dict.fromkeys(flats, 0)
    for shape, dtype in specs:
        start, used[dtype] = used[dtype], used[dtype] + math.prod(shape)
        views.append(flats[dtype][start:used[dtype]].reshape(shape))
    return list(flats.values()), views


def _times_one_is_itself(local, child, loss):
    """Whether local * 1 (the cost's seed) is local itself, bit for bit: an array of the child's shape and type.
    (The tape never writes into a gradient it did not allocate.)"""
    return (type(local) is np.ndarray and local.shape == child.data.shape
            and np.result_type(local, loss.data) == local.dtype)


def _add_into(total, contribution, buffer):
    """A gradient plus one more contribution: in place when it is the tape's own array, else a new array."""
    if total is buffer:
        return np.add(total, contribution, out=total)
    return total + contribution  # the first contribution was a view of another gradient (a transpose)


def _literal(setting):
    """The setting written as Python (an axis, a flag, a number), or None: then the code names it."""
    if setting is None or type(setting) in (bool, int, float) and math.isfinite(setting):
        return repr(setting)
    if type(setting) is tuple and all(type(s) is int for s in setting):
        return repr(setting)
    return None


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

