"""A backward pass, one node at a time, explained: in the terminal, or as a web page to step through.

    python -m autodiff.walkthrough                    # n (or Enter): next step, b: back, q: quit
    python -m autodiff.walkthrough --example network  # a 2-2-2 network instead of one neuron
    python -m autodiff.walkthrough --all              # every step at once
    python -m autodiff.walkthrough --html steps.html  # a page to step through in a browser
    python -m autodiff.walkthrough --quiz             # predict each step's numbers, then see them
    python -m autodiff.walkthrough --gif steps.gif    # the walk for slides (--svg frames/: numbered SVGs)

Slides are laid out by Graphviz's `dot` where it is installed, else by the pages' own Graphviz in
Chromium (autodiff/chromium.py, draw).

The examples are those of 3Blue1Brown's "What is backpropagation really doing?": a sigmoid neuron
a = σ(z), z = w·a + b, and its cost C = (a - y)² against a target y; then a small network of such
neurons with two outputs, whose cost sums both outputs' squared errors. At each step one node's
gradient ∂C/∂node is complete, and the chain rule passes it to the node's children:
∂C/∂child = ∂C/∂node · ∂node/∂child. A last frame gives every leaf's gradient, the weights and
biases (what training changes) apart from the inputs and targets (what it cannot change).
"""
import argparse
import base64
import html
import io
import math
import os
import re
import shutil
import sys
import textwrap
from collections import Counter
from pathlib import Path

from . import chromium
from .files import atomic_write
from .graph import topological_order
from .render import FRAME_FONT, _roles, _script_json, frame_dot, frame_rows, renderer_script, text_width
from .step import backward_steps
from .value import Value

# --- the examples, labelled as in the video: a(layer)_neuron, w(layer)_to,from, b(layer)_neuron ---


def neuron():
    """The video's one neuron and its cost: C = (σ(w(1)_00·a(0)_0 + w(1)_01·a(0)_1 + b(1)_0) - y_0)²."""
    inputs = [Value(0.9, "a(0)_0"), Value(0.3, "a(0)_1")]
    outputs = _layer(1, inputs, weights=[[0.6, -0.4]], biases=[0.1])
    return _cost(outputs, targets=[1.0])


def network():
    """A 2-2-2 sigmoid network and its cost. Two outputs: each hidden activation feeds both, so its
    gradient sums what both outputs want of it (the video's point)."""
    inputs = [Value(0.9, "a(0)_0"), Value(0.3, "a(0)_1")]
    hidden = _layer(1, inputs, weights=[[0.6, -0.4], [0.2, 0.8]], biases=[0.1, -0.3])
    outputs = _layer(2, hidden, weights=[[1.2, -0.7], [-0.5, 0.9]], biases=[0.05, -0.1])
    return _cost(outputs, targets=[1.0, 0.0])  # as if the image were of the first class


def _layer(number, inputs, weights, biases):
    """Sigmoid neurons, one per row of weights, each node labelled with its layer and place."""
    outputs = []
    for j, (row, bias) in enumerate(zip(weights, biases)):
        ws = [Value(w, f"w({number})_{j}{k}") for k, w in enumerate(row)]
        z = Value.weighted_sum(ws, inputs, Value(bias, f"b({number})_{j}"))
        z.label = f"z({number})_{j}"
        a = z.sigmoid()
        a.label = f"a({number})_{j}"
        outputs.append(a)
    return outputs


def _cost(outputs, targets):
    """C = Σ_j (a_j - y_j)²: each output's squared distance from its target, summed."""
    # a - y and its square stay unlabelled: names() shows how they read, (a(2)_0 - y_0)²
    errors = [(a - Value(y, f"y_{j}")) ** 2 for j, (a, y) in enumerate(zip(outputs, targets))]
    cost = errors[0]
    for error in errors[1:]:
        cost = cost + error
    cost.label = "C"
    return cost


EXAMPLES = {"neuron": neuron, "network": network}

# --- names and numbers as the text shows them ---


def names(nodes):
    """A readable name for each node: its label; else how it was made, e.g. "a - y"; else its op and value.

    `nodes` must come children first (a topological order), so that a node can be named after its
    children.
    """
    name = {}
    for node in nodes:
        if node.label:
            name[node] = node.label
        elif not node._children:
            name[node] = f"{node.data:g}"  # a constant, like the 1 in 1 - x
        else:
            expression = _expression(node.op, [_grouped(name[child]) for child in node._children])
            name[node] = expression if len(expression) <= 24 else f"{node.op} = {node.data:.4g}"
    return name


def _expression(op, children):
    if op in ("+", "-", "/"):
        return f" {op} ".join(children)
    if op == "*":
        return "·".join(children)
    if op == "**":
        return f"{_base(children[0])}^{children[1]}"
    if op.startswith("**"):  # a power by a number, like **2: one child
        return power(_base(children[0]), float(op[2:]))
    return f"{op}({', '.join(children)})"


def _op_name(op):
    """An op's name in the text: Python's **2 reads "power 2"."""
    return op if not op.startswith("**") else "power" if op == "**" else f"power {op[2:]}"


def _grouped(name):
    """Brackets around a name with a space outside brackets, so that ∂C/∂(a - y) reads as one thing."""
    depth = 0
    for character in name:
        depth += (character == "(") - (character == ")")
        if character == " " and depth == 0:
            return f"({name})"
    return name


def _base(name):
    """Brackets around a power's base unless it is one symbol: (x·y)², (x²)³, (-1)², but a(1)_0²."""
    depth, simple = 0, not name.endswith(tuple("⁰¹²³⁴⁵⁶⁷⁸⁹"))
    for character in name:
        depth += (character == "(") - (character == ")")
        simple = simple and (depth > 0 or character not in " +-·/^")
    return name if simple else f"({name})"


SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def power(base, exponent):
    """base to a number as mathematics writes it: x², x⁻¹, x^0.5."""
    if exponent == 1:
        return base
    if exponent.is_integer() and abs(exponent) < 1000:
        return base + f"{exponent:g}".translate(SUPERSCRIPTS)
    return f"{base}^({exponent:g})" if exponent < 0 else f"{base}^{exponent:g}"


def number(x):
    return f"{x:.4g}"


def factor(x):
    """A number to write after × or +: in brackets when negative, as in 0.5 × (-2)."""
    return number(x) if x >= 0 else f"({number(x)})"


def local_rule(op):
    """The local derivatives of an op, as mathematics: what each child's share is multiplied by."""
    if op.startswith("**") and op != "**":  # a power by a number n: ∂(xⁿ)/∂x = n·xⁿ⁻¹
        n = float(op[2:])
        return f"∂({power('x', n)})/∂x = {_times(n, power('x', n - 1)) if n else '0'}"
    return LOCAL_RULES.get(op, "")


def _times(coefficient, term):
    """coefficient·term as written by hand: 2x, -x⁻², 0.5·x^(-0.5); and 1 for x⁰."""
    if term == "x⁰":
        return f"{coefficient:g}"
    if coefficient in (1, -1):
        return ("-" if coefficient < 0 else "") + term
    by_hand = coefficient.is_integer() and "^" not in term  # 3x², but 0.5·x^(-0.5)
    return f"{coefficient:g}{term}" if by_hand else f"{coefficient:g}·{term}"


LOCAL_RULES = {
    "+": "∂(x + y)/∂x = ∂(x + y)/∂y = 1: a sum passes its gradient on unchanged",
    "-": "∂(x - y)/∂x = 1, ∂(x - y)/∂y = -1",
    "*": "∂(x·y)/∂x = y, ∂(x·y)/∂y = x: each factor's local derivative is the other factor",
    "/": "∂(x/y)/∂x = 1/y, ∂(x/y)/∂y = -x/y²",
    "**": "∂(x^y)/∂x = y·x^(y - 1), ∂(x^y)/∂y = x^y·log(x)",
    "neg": "∂(-x)/∂x = -1",
    "exp": "∂(eˣ)/∂x = eˣ",
    "log": "∂(log x)/∂x = 1/x",
    "tanh": "∂(tanh x)/∂x = 1 - tanh²(x)",
    "relu": "∂(relu x)/∂x = 1 where x > 0, else 0",
    "sigmoid": "∂σ(x)/∂x = σ(x)·(1 - σ(x))",
    "w·x+b": "∂z/∂wᵢ = aᵢ (a weight matters as much as its input), ∂z/∂aᵢ = wᵢ, ∂z/∂b = 1",
}

# --- the walk ---


def describe(root):
    """The graph as text, inputs first: each node's name, value, and the op and children it came from."""
    nodes = topological_order(root)
    name = names(nodes)
    width = max(len(name[node]) for node in nodes)
    lines = [f"The graph of {name[root]}, inputs first:"]
    for node in nodes:
        made = f"{_op_name(node.op)} of {_children(node, name)}" if node._children else "leaf"
        lines.append(f"  {name[node]:<{width}}  = {node.data:<10.4g}  {made}")
    return "\n".join(lines)


SHOWN_PER_ROLE = 4  # of a neuron's 784 weights and inputs, the text names the few largest shares


def walk(root, seed=1.0, cost=None, start=None):
    """Backpropagate from `root` one node at a time, explaining each step.

    Yields (step, explanation, known): `known` maps every node whose gradient is final after this
    step to that gradient. Like backward(), this leaves every node's .grad filled in, but for this
    pass alone: leaves start from zero too, so that the numbers shown add up.

    seed: the root's gradient, ∂cost/∂root (1 when the root is the cost); cost: the name of what
    is differentiated (the root's own name by default); start: the words of the first step that say
    where the seed comes from (by default: the cost itself, ∂C/∂C = 1).
    """
    _check_root(root)
    nodes = topological_order(root)
    return _walk(root, seed, start, nodes, names(nodes), _users(nodes), cost)


def _check_root(root):
    if not isinstance(root, Value):
        raise TypeError(f"walkthrough needs a Value to backpropagate from, got {type(root).__name__}")
    if not root._children:
        raise ValueError(f"nothing to step through: {root!r} is a leaf, not computed from anything")


def _walk(root, seed, start, nodes, name, users, cost=None):
    """walk(), given the graph's nodes in order, their names and users (stepper has them already)."""
    cost = cost or _grouped(name[root])
    uses_left = Counter({node: len(users[node]) for node in nodes})  # final once every use passed its share
    total = sum(1 for node in nodes if node._children)
    for node in nodes:
        if not node._children:
            node.grad = 0.0  # leaves keep gradients across backward() calls: start this pass from zero
    known = {root: seed}
    for step in backward_steps(root, seed):
        lines = _header(step, total, name, cost, start)
        shown = {id(edge) for edge in _shown_edges(step.edges)}  # by identity: a neuron has 1,569 edges
        for edge in step.edges:
            uses_left[edge.child] -= 1
            if id(edge) in shown:
                user_names = [name[user] for user in users[edge.child]]
                lines += _chain_rule(step, edge, name, cost, user_names, uses_left[edge.child])
            if uses_left[edge.child] == 0:
                known[edge.child] = edge.after
        if len(shown) < len(step.edges):
            lines.append(f"  … and {len(step.edges) - len(shown):,} more weights and inputs, the same way "
                         "(the largest shares are shown)")
        rule = local_rule(step.node.op)
        if rule:
            lines.append(f"  rule: {rule}")
        yield step, "\n".join(lines), dict(known)


def _users(nodes):
    """{node: the nodes that use it, once per use, in the order the backward pass reaches them}."""
    users = {node: [] for node in nodes}
    for node in reversed(nodes):
        for child in node._children:
            users[child].append(node)
    return users


def _shown_edges(edges):
    """The edges the text spells out: all of them, or for a neuron's hundreds, the bias and the largest few."""
    if len(edges) <= 2 * SHOWN_PER_ROLE + 1:
        return list(edges)
    n = (len(edges) - 1) // 2
    weights, inputs, bias = edges[:n], edges[n : 2 * n], edges[2 * n :]
    kept = {id(e) for e in bias}  # by identity: comparing Edges field by field took most of a neuron's walk
    for group in (weights, inputs):
        kept.update(id(e) for e in sorted(group, key=lambda e: -abs(e.contribution))[:SHOWN_PER_ROLE])
    return [e for e in edges if id(e) in kept]


def _children(node, name):
    children = [name[c] for c in node._children]
    if node.op == "w·x+b" and len(children) > 2 * SHOWN_PER_ROLE + 1:  # a neuron's 784 weights and inputs
        n = (len(children) - 1) // 2
        return f"{n} weights, {n} inputs and a bias"
    return ", ".join(children)


def _header(step, total, name, cost, start):
    node = step.node
    made = f"{name[node]} = {number(node.data)}, made by {_op_name(node.op)} from {_children(node, name)}"
    lines = [f"Step {step.index + 1} / {total}: {made}"]
    if step.index == 0 and start:
        lines.append(start)
        lines.append("The chain rule passes it to each child, times the local derivative:")
    elif step.index == 0:  # the root: no chain yet, only its own local derivatives
        lines.append(f"The backward pass starts at {cost} itself: nudging {cost} moves {cost} by as much, "
                     f"∂{cost}/∂{cost} = 1.")
        lines.append(f"Each child's gradient is {cost}'s local derivative with respect to it, times that 1:")
    else:
        lines.append(
            f"∂{cost}/∂{_grouped(name[node])} = {number(step.grad)} is complete: every use has passed its share back."
        )
        lines.append("The chain rule passes it to each child, times the local derivative:")
    return lines


def _chain_rule(step, edge, name, cost, users, uses_left):
    """One child's share, in symbols and in numbers; and, for a child used more than once, its sum so far."""
    parent, child = _grouped(name[step.node]), _grouped(name[edge.child])
    total = f"∂{cost}/∂{child}"
    uses = len(users)
    sign = "=" if uses == 1 else "+="
    # the root of a cost passes on its local derivatives alone: ∂C/∂C · ∂C/∂child would read in a circle
    circle = step.index == 0 and cost == _grouped(name[step.node])
    symbols = "" if circle else f" ∂{cost}/∂{parent} · ∂{parent}/∂{child} ="
    lines = [f"  {total} {sign}{symbols} {number(step.grad)} × {factor(edge.local)} = {number(edge.contribution)}"]
    if uses > 1 and uses_left == uses - 1:
        by = _listed(list(dict.fromkeys(users)))  # x·x uses x twice
        lines.append(f"      (the first of {uses} shares: {child} is used by {by})")
    elif uses > 1:
        done = f"complete, all {uses} shares" if uses_left == 0 else f"so far, {uses - uses_left} of {uses} shares"
        lines.append(f"      ({child} had {number(edge.before)} from an earlier use:"
                     f" {total} = {number(edge.before)} + {factor(edge.contribution)} = {number(edge.after)}, {done})")
    return lines


def _listed(words):
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def trainable(root):
    """The leaves that training changes: those a neuron uses as a weight or a bias (w·x+b's w and b)."""
    return {child for node in topological_order(root) for child, letter, _ in _roles(node)
            if letter in ("w", "b") and not child._children}


def leaf_gradients(root, cost=None):
    """The last word of a walkthrough: every leaf's gradient, what training can change apart from what it cannot.

    Each line also gives the nudge, -∂C/∂x: the direction that lowers the cost, which the explorer draws.
    """
    nodes = topological_order(root)
    name = names(nodes)
    cost = cost or _grouped(name[root])
    leaves = [n for n in nodes if not n._children]
    parameters = trainable(root)

    def listed(group):
        return [f"  ∂{cost}/∂{_grouped(name[n])} = {number(n.grad)}, nudge {number(-n.grad + 0.0)}" for n in group]

    if not parameters:
        return "\n".join([f"Done: the gradient of {cost} with respect to each leaf, and its nudge -∂{cost}/∂x:"]
                         + listed(leaves))
    return "\n".join(
        [f"Done: every gradient is known. Training nudges each weight and bias against its gradient: "
         f"the nudge -∂{cost}/∂x, times a small step, makes {cost} smaller."]
        + listed([n for n in leaves if n in parameters])
        + [f"The inputs and targets are the data: training cannot change them (their gradients say how {cost} "
           "would move if it could; the inputs' are what a layer before would receive)."]
        + listed([n for n in leaves if n not in parameters])
    )


# --- the stepper's data: what the page, the explorer's zoom, the terminal and the quiz all show ---

MAX_DRAWN = 100  # boxes and rows a frame draws: beyond this it is neither readable nor quick
OP_SIGNS = {"sigmoid": "σ"}


def stepper(root, seed=1.0, cost=None, start=None, summary=True):
    """The walk as data, ready for JSON: {"title", "steps": [...]}, one step per node, then (if
    summary) a last one with every leaf's gradient. Each step has its "caption", its "text" (the
    chain rule in words and numbers), its "dot" (the frame, see render.frame_dot) and, for the quiz,
    an "ask": a question on this step, its answer and tolerance, and the frame as it was before.

    The one stepper view (autodiff/web/stepper/stepper.js) draws this on the page that write_html
    writes and in the explorer's zoom; the terminal and its quiz read the same steps.
    """
    _check_root(root)
    nodes = topological_order(root)
    name = names(nodes)
    cost = cost or _grouped(name[root])
    users = _users(nodes)
    walked = list(_walk(root, seed, start, nodes, name, users, cost))  # fills in every .grad: the rows shown are the largest
    rows = frame_rows(nodes, {node: node.grad for node in nodes})
    in_rows = {leaf for shown, _ in rows.values() for leaf in shown}
    row_leaves = _row_leaves(nodes, users)  # once: a first-layer neuron has 1,569 nodes
    boxes = [n for n in nodes if n._children or n not in row_leaves]
    drawn = len(boxes) + len(in_rows)
    if drawn > MAX_DRAWN:
        raise ValueError(
            f"walkthrough: a frame of this graph would draw {drawn:,} values, too many to read (at most "
            f"{MAX_DRAWN}); step through it with walk(), or see it with draw()"
        )
    visible = set(boxes) | in_rows
    receives = {edge.child for step, _, _ in walked for edge in step.edges}
    got = {node: [0.0, 0] for node in nodes}  # each node's gradient so far, and how many shares it holds
    got[root] = [seed, 0]

    def grad_lines(node):
        total, (so_far, shares) = len(users[node]), got[node]
        if node is root:
            return [f"grad {number(seed)}"]
        if node not in receives:
            return ["no grad: data"]
        if total == 1:
            return [f"grad {number(so_far)}" if shares else "grad ?"]
        if shares == 0:
            return ["grad ?", f"0 of {total} shares"]
        if shares < total:
            return [f"so far {number(so_far)}", f"{shares} of {total} shares"]
        return [f"grad {number(so_far)}", f"all {total} shares"]

    def cells():
        return {node: (name[node], _op_shown(node), number(node.data), grad_lines(node)) for node in visible}

    frames = []  # (cells, kinds, passing) of each frame, drawn once every frame's widths are known
    steps = []
    total = len(walked)
    for k, (step, text, _) in enumerate(walked):
        kinds = {step.node: "highlight", **{edge.child: "updated" for edge in step.edges}}
        passing = {(step.node, edge.child) for edge in step.edges}
        before = cells()
        question = _question(step, name, cost, users, got, visible, k)
        for edge in step.edges:
            got[edge.child][0] = edge.after
            got[edge.child][1] += 1
        frames.append((cells(), kinds, passing))
        question["shown"] = number(question["answer"])  # as the steps show it
        steps.append({"caption": f"step {k + 1} / {total}", "text": text, "node": f"node-{step.node._id}",
                      "ask": {**question, "frame": len(frames)}})
        frames.append((before, kinds, passing))  # the frame a quiz shows while it asks
    if summary:
        parameters = trainable(root)
        kinds = {leaf: "parameter" if leaf in parameters else "data" for leaf in nodes if not leaf._children}
        frames.append((cells(), kinds, set()))
        steps.append({"caption": "all gradients", "text": leaf_gradients(root, cost), "node": None})
    widest = max(text_width(line) for drawn_cells, _, _ in frames for cell in drawn_cells.values() for line in cell[3])
    dots = [frame_dot(nodes, rows, c, kinds, passing, widest) for c, kinds, passing in frames]
    picture = iter(dots)
    for step in steps:  # each step's frame, then (for the quiz) the one before it
        step["dot"] = next(picture)
        if "ask" in step:
            step["ask"]["dot"] = next(picture)
            del step["ask"]["frame"]
    title = f"Backpropagation through {name[root]}, one node at a time"
    return {"title": title, "cost": cost, "steps": steps}


def _row_leaves(nodes, users):
    """Leaves used once, by one node: candidates to be a row of that node's box (render.frame_rows)."""
    return {n for n in nodes if not n._children and len(users[n]) == 1}


def _op_shown(node):
    """The op beside a labelled node's name: z(1)_0 w·x+b, a(1)_0 σ. An unlabelled node's name says it already."""
    if not node._children or not node.label:
        return ""
    return OP_SIGNS.get(node.op, _op_name(node.op))


def tolerance(answer, *terms):
    """How far a learner's answer may be from the exact one: the steps show numbers to 4 significant
    digits, so a product of them is right to about 3; half a unit of the 3rd digit is allowed, of the
    largest of the answer and the terms it adds up (a sum of shown numbers is as rough as its largest)."""
    largest = max(abs(x) for x in (answer, *terms))
    if largest == 0:
        return 1e-12
    return 0.5 * 10 ** (math.floor(math.log10(largest)) - 2)


def _question(step, name, cost, users, got, visible, k):
    """One question on this step, before its answer is shown: at a node that receives its last share
    here, the sum of its shares; else, in turn, a local derivative or the share passed on."""
    parent = _grouped(name[step.node])
    edges = [e for e in step.edges if e.child in visible and e.local is not None] or list(step.edges)
    for edge in edges:
        total = len(users[edge.child])
        if total > 1 and got[edge.child][1] == total - 1:
            child = _grouped(name[edge.child])
            return {"kind": "sum", "answer": edge.after, "tolerance": tolerance(edge.after, edge.before, edge.contribution),
                    "question": f"{child} receives its last share here: what is ∂{cost}/∂{child}, "
                                f"the sum of its {total} shares?",
                    "hint": f"it had {number(edge.before)}; add {parent}'s share, "
                            f"∂{cost}/∂{parent} × ∂{parent}/∂{child}"}
    edge = edges[0]
    child = _grouped(name[edge.child])
    if k % 2 == 0 and edge.local is not None:
        return {"kind": "local", "answer": edge.local, "tolerance": tolerance(edge.local),
                "question": f"What is the local derivative ∂{parent}/∂{child}?",
                "hint": local_rule(step.node.op) or f"how much {parent} moves per unit nudge of {child}"}
    return {"kind": "share", "answer": edge.contribution, "tolerance": tolerance(edge.contribution),
            "question": f"What share does {parent} pass on to {child}: ∂{cost}/∂{parent} × ∂{parent}/∂{child}?",
            "hint": f"∂{cost}/∂{parent} = {number(step.grad)}; ∂{parent}/∂{child} is {child}'s local derivative"}


def frames(root):
    """(dot, explanation) for each step, then a last one with every leaf's gradient: stepper() without the quiz."""
    return [(step["dot"], step["text"]) for step in stepper(root)["steps"]]


STEPPER = Path(__file__).resolve().parent / "web" / "stepper"


def write_html(root, path):
    """Write a page that steps through stepper(root) to `path`, atomically; return the number of steps.

    The page is autodiff/web/stepper/page.html with its style, its script (the stepper view, the
    same module the explorer's zoom uses), the vendored Graphviz and the steps inline: it opens
    from file://, with no server, no network and no Graphviz installed.
    """
    data = stepper(root)
    style = (STEPPER / "stepper.css").read_text(encoding="utf-8")
    view = _inlined(STEPPER / "stepper.js")
    page = (STEPPER / "page.html").read_text(encoding="utf-8")
    parts = {"TITLE": html.escape(data["title"]), "STYLE": style, "RENDERER": renderer_script(),
             "STEPPER": view, "STEPS": _script_json(data)}
    page = re.sub(r"/\*(TITLE|STYLE|RENDERER|STEPPER|STEPS)\*/", lambda match: parts[match.group(1)], page)
    atomic_write(path, lambda file: file.write(page.encode("utf-8")))
    return len(data["steps"]) - 1


def _inlined(module):
    """A JS module's text with each relative import ("./slides.js", "../vendor/gifenc.esm.js") made a
    data: URL of that module, itself so inlined: a page opened from file:// can import no file."""
    def data_url(match):
        text = _inlined((module.parent / match.group(2)).resolve())
        return f'{match.group(1)}"data:text/javascript;base64,{base64.b64encode(text.encode("utf-8")).decode("ascii")}"'

    return re.sub(r'(\bfrom\s+)"(\.\.?/[\w./-]+\.js)"', data_url, module.read_text(encoding="utf-8"))


# --- a backward pass for slides: an animated GIF, numbered SVG frames ---

SLIDE_DPI = 96  # the frames' 18-point text is 24 px: readable when a 1024 px slide shows the picture smaller
CAPTION_PX = 18  # the chain-rule lines under each frame
SLIDE_WIDTH = 1024


def slide_captions(data):
    """Each frame's words under it: the step's first line, then up to six of its chain-rule lines, and how many
    more there are (each is also on its node in the frame): a slide never hides that it shows only some."""
    captions = []
    for step in data["steps"]:
        lines = step["text"].splitlines()
        chain = [line.strip() for line in lines[1:] if line.startswith("  ∂")]
        shown = [lines[0]] + chain[:6] if chain else [line.strip() for line in lines[:7]]
        if len(chain) > 6:
            shown.append(f"… and {len(chain) - 6} more, each on its node above")
        captions.append(shown)
    return captions


def _dot_frames(data, format):
    import graphviz

    from .render import GraphvizNotFound

    def for_slides(dot):  # on white, at SLIDE_DPI, in Arial (Liberation Sans on Linux): Helvetica's widths
        dot = dot.replace('bgcolor="transparent"', f'bgcolor="white" dpi={SLIDE_DPI}', 1)
        return dot.replace('fontname="Helvetica"', 'fontname="Arial"', 1)

    dots = [for_slides(step["dot"]) for step in data["steps"]]
    if shutil.which("dot") is None:  # the pages' own Graphviz, in Chromium: the same DOT, the same layout in each frame
        return chromium.draw(dots, format)
    try:  # every frame at the same resolution; the layout is the frames' own, the same in each
        return [graphviz.Source(dot).pipe(format=format) for dot in dots]
    except graphviz.ExecutableNotFound:
        raise GraphvizNotFound() from None


def write_gif(root, path, seconds=2.0):
    """The walk as an animated GIF at most SLIDE_WIDTH px wide: each frame laid out by `dot`, else in
    Chromium (one layout for all: nodes do not jump), its chain-rule lines under it. Returns the
    number of frames."""
    from matplotlib import font_manager
    from PIL import Image, ImageDraw, ImageFont

    data = stepper(root)
    pictures = [Image.open(io.BytesIO(png)).convert("RGB") for png in _dot_frames(data, "png")]
    font = ImageFont.truetype(font_manager.findfont("DejaVu Sans"), CAPTION_PX)
    width = SLIDE_WIDTH
    scale = min(1.0, width / max(p.width for p in pictures))
    if scale * FRAME_FONT * SLIDE_DPI / 72 < 14:
        raise ValueError(f"walkthrough: this graph is too wide for a {SLIDE_WIDTH} px slide with readable text")
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    chars = max(20, int((width - 16) / (measure.textlength("0", font=font) * 1.05)))
    captions = [sum((textwrap.wrap(line, chars, subsequent_indent="    ") for line in lines), [])
                for lines in slide_captions(data)]
    line_height = round(CAPTION_PX * 1.3)
    graph_height = round(max(p.height for p in pictures) * scale)
    height = graph_height + 12 + line_height * max(map(len, captions))
    frames = []
    for picture, caption in zip(pictures, captions):
        if scale < 1:
            picture = picture.resize((round(picture.width * scale), round(picture.height * scale)), Image.LANCZOS)
        frame = Image.new("RGB", (width, height), "white")
        frame.paste(picture, ((width - picture.width) // 2, 0))
        draw = ImageDraw.Draw(frame)
        for k, line in enumerate(caption):
            draw.text((8, graph_height + 6 + k * line_height), line, fill="black", font=font)
        frames.append(frame.quantize(colors=255, method=Image.Quantize.MEDIANCUT))

    def save(file):
        frames[0].save(file, format="GIF", save_all=True, append_images=frames[1:], duration=round(1000 * seconds),
                       loop=0)

    atomic_write(path, save)
    return len(frames)


def write_svg_frames(root, folder):
    """The walk as numbered SVG frames, folder/step-01.svg, ...: Graphviz's drawing (by `dot`, else in
    Chromium) with the chain-rule lines under it. Returns the paths written."""
    data = stepper(root)
    written = []
    for k, (svg, caption) in enumerate(zip(_dot_frames(data, "svg"), slide_captions(data)), start=1):
        svg = svg.decode("utf-8")
        svg = svg[svg.index("<svg"):]
        width, height = (float(x) for x in re.search(r'viewBox="[\d.]+ [\d.]+ ([\d.]+) ([\d.]+)"', svg).groups())
        svg = re.sub(r'width="[\d.]+pt" height="[\d.]+pt"', f'width="{width}" height="{height}"', svg, count=1)
        line = FRAME_FONT * 1.3
        total = height + 8 + line * len(caption)
        texts = "".join(f'<text x="6" y="{height + 4 + line * (i + 1):.1f}" font-family="Helvetica,Arial,sans-serif" '
                        f'font-size="{FRAME_FONT * 0.85:.1f}">{html.escape(text)}</text>' for i, text in enumerate(caption))
        page = (f'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
                f'width="{width}pt" height="{total}pt" viewBox="0 0 {width} {total}">\n{svg}\n{texts}\n</svg>\n')
        path = Path(folder) / f"step-{k:02d}.svg"
        atomic_write(path, lambda file, page=page: file.write(page.encode("utf-8")))
        written.append(path)
    return written


# --- the terminal ---


def wrapped(text, width=None):
    """`text` wrapped to the terminal's width; a wrapped line continues indented under its start."""
    width = max(20, width or shutil.get_terminal_size().columns)
    lines = []
    for line in text.splitlines():
        indent = " " * min(len(line) - len(line.lstrip(" ")) + 4, width // 2)
        lines += textwrap.wrap(line, width, subsequent_indent=indent, break_on_hyphens=False) or [""]
    return "\n".join(lines)


KEYS = "n or Enter: next, b: back, q: quit"


def neighbourhood(root, step, cost=None):
    """What a step refers to, as a few lines: the node, its users, and its children's gradients
    before and after this step (a shared child's earlier shares included)."""
    nodes = topological_order(root)
    name = names(nodes)
    cost = cost or _grouped(name[root])
    users = _users(nodes)
    node = step.node
    by = _listed(list(dict.fromkeys(name[u] for u in users[node]))) if users[node] else "no one: the start"
    lines = [f"[{name[node]} = {number(node.data)}, grad {number(step.grad)}; used by {by}]"]
    width = max(len(name[edge.child]) for edge in step.edges)
    for edge in _shown_edges(step.edges):
        total = len(users[edge.child])
        before = "?" if edge.before == 0 and edge.after == edge.contribution else number(edge.before)
        shares = f" ({total} uses)" if total > 1 else ""
        lines.append(f"  ← {name[edge.child]:<{width}} = {number(edge.child.data):<8} "
                     f"grad {before} → {number(edge.after)}{shares}")
    return "\n".join(lines)


def pages(root, seed=1.0, cost=None):
    """The terminal's pages: each step with its neighbourhood on top, then every leaf's gradient."""
    shown = []
    for step, text, _ in walk(root, seed, cost):
        header, _, rest = text.partition("\n")
        shown.append(f"{header}\n{neighbourhood(root, step, cost)}\n{rest}")
    return shown + [leaf_gradients(root, cost)]


def keys(stream=None):
    """What the reader presses: single keys from a terminal (no Enter needed), else one answer a line.

    Arrow keys read as n (→) and b (←); Enter and space as n. Stops when the input ends.
    """
    stream = sys.stdin if stream is None else stream
    if stream is None:
        return
    try:
        import termios
        import tty

        fd = stream.fileno()
        if not os.isatty(fd):
            raise OSError("not a terminal")
        saved = termios.tcgetattr(fd)
    except (ImportError, OSError, ValueError, AttributeError, io.UnsupportedOperation):
        yield from _line_keys(stream)
        return
    try:
        tty.setcbreak(fd)
        while True:
            key = os.read(fd, 1).decode("utf-8", "replace")
            if not key or key == "\x04":  # end of input, or Ctrl-D
                return
            if key == "\x1b":  # an arrow key: ESC [ C or ESC [ D
                key = {"C": "n", "D": "b"}.get(os.read(fd, 2).decode("ascii", "replace")[-1:], "")
            yield {"\r": "n", "\n": "n", " ": "n", "p": "b"}.get(key.lower(), key.lower())
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _line_keys(stream):
    while True:
        try:
            line = stream.readline()
        except (OSError, ValueError):  # a closed or unreadable stdin
            return
        if not line:
            return
        answer = line.strip().lower()
        yield {"": "n", "next": "n", "back": "b", "p": "b", "quit": "q"}.get(answer, answer)


def step_through(shown, typed=None):
    """Show one page at a time as the reader presses keys; back from the end too. Without a reader
    (no stdin, or at its end), show the rest without waiting."""
    screen = sys.stdout.isatty()
    width = shutil.get_terminal_size().columns

    def show(index, note=""):
        clear = "\x1b[H\x1b[2J" if screen else "\n"
        print(f"{clear}{wrapped(shown[index], width)}", flush=True)
        at_end = "the end; " if index == len(shown) - 1 else ""
        print(wrapped(f"{note}[{at_end}{KEYS}] ", width), end="", flush=True)

    index = 0
    show(index)
    for key in keys() if typed is None else typed:
        if key == "q":
            print()
            return
        if key == "n" and index < len(shown) - 1:
            index += 1
            show(index)
        elif key == "b" and index > 0:
            index -= 1
            show(index)
        elif key in ("n", "b"):
            show(index, "(this is the last step) " if key == "n" else "(this is the first step) ")
        else:
            show(index, f"({key!r}? ) ")
    print()
    if typed is None:  # the input ended before the reader was done: show the rest
        for page in shown[index + 1 :]:
            print(f"\n{wrapped(page, width)}")


def quiz(root, ask=input, say=print):
    """Predict, then reveal: each step asks one question (stepper()'s), checks the answer to the
    rounding the steps show, then reveals the chain rule in numbers. Returns (right first time, asked)."""
    data = stepper(root, summary=False)
    right = asked = 0
    for step in data["steps"]:
        question = step["ask"]
        say(f"\n{wrapped(step['text'].partition(chr(10))[0])}")
        say(wrapped(f"{question['question']}  (hint: {question['hint']})"))
        asked += 1
        first = True
        while True:
            try:
                answer = ask("your answer (Enter: show me): ").strip()
            except EOFError:
                say(f"\nscore: {right} / {asked - 1} right first time")
                return right, asked - 1
            if not answer:
                say(f"it is {number(question['answer'])}")
                break
            try:
                guess = float(answer.replace("−", "-"))
            except ValueError:
                say(f"{answer!r} is not a number: type one like -0.0312, or press Enter to see the answer")
                continue
            if abs(guess - question["answer"]) <= question["tolerance"]:
                right += first
                say(f"right: {number(question['answer'])}")
                break
            first = False
            say(f"not {answer}: try again, or press Enter to see it")
        say(wrapped(step["text"].partition("\n")[2]))
    say(f"\nscore: {right} / {asked} right first time")
    return right, asked


# --- the command line ---


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m autodiff.walkthrough",
        description=f"Step through a backward pass, one node at a time ({KEYS}).",
    )
    parser.add_argument("--example", choices=EXAMPLES, default="neuron", help="which graph (default: neuron)")
    parser.add_argument("--all", action="store_true", help="print every step without waiting")
    parser.add_argument("--quiz", action="store_true", help="predict each step's numbers before they are shown")
    parser.add_argument("--html", metavar="PATH", help="write a page that steps through the frames, and stop")
    parser.add_argument("--gif", metavar="PATH", help="write the walk as an animated GIF for slides (drawn by dot, else in Chromium)")
    parser.add_argument("--svg", metavar="FOLDER", help="write the walk as numbered SVG frames (drawn by dot, else in Chromium)")
    args = parser.parse_args(argv)
    root = EXAMPLES[args.example]()
    if args.gif or args.svg:
        try:
            if args.gif:
                print(f"wrote {args.gif}: {write_gif(root, args.gif)} frames")
            if args.svg:
                print(f"wrote {len(write_svg_frames(root, args.svg))} frames to {args.svg}")
        except (OSError, RuntimeError, ValueError) as error:  # ValueError: a graph too wide to read on a slide
            sys.exit(f"cannot write the slides: {error}")
        return
    if args.html:
        try:
            count = write_html(root, args.html)
        except OSError as error:
            sys.exit(f"cannot write {args.html}: {error}")
        print(f"wrote {args.html}: {count} steps; open it in a browser")
        return
    if args.quiz:
        quiz(root)
        return
    shown = pages(root)
    if args.all:
        print(wrapped(describe(root)))
        for page in shown:
            print(f"\n{wrapped(page)}")
        return
    step_through(shown)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C is how one stops stepping: no traceback for it
        sys.exit(130)
    except BrokenPipeError:  # the reader of a pipe (| head) has seen enough
        sys.stdout = None
        sys.exit(0)
