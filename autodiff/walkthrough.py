"""A backward pass, one node at a time, explained: in the terminal, or as a web page to step through.

    python -m autodiff.walkthrough                    # Enter or n: next step, b: back, q: quit
    python -m autodiff.walkthrough --example network  # a 2-2-2 network instead of one neuron
    python -m autodiff.walkthrough --all              # every step at once
    python -m autodiff.walkthrough --html steps.html  # a page to step through in a browser

The examples are those of 3Blue1Brown's "What is backpropagation really doing?": a sigmoid neuron
a = σ(z), z = w·a + b, and its cost C = (a - y)² against a target y; then a small network of such
neurons with two outputs, whose cost sums both outputs' squared errors. At each step one node's
gradient ∂C/∂node is complete, and the chain rule passes it to the node's children:
∂C/∂child = ∂C/∂node · ∂node/∂child. A last frame gives every leaf's gradient, the weights and
biases (what training changes) apart from the inputs and targets (what it cannot change).
"""
import argparse
import html
import shutil
import sys
import textwrap
from collections import Counter

from .files import atomic_write
from .graph import topological_order
from .render import _roles, draw
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
    "w·x+b": "z = Σ wᵢ·aᵢ + b, so ∂z/∂wᵢ = aᵢ (a weight matters as much as its input), ∂z/∂aᵢ = wᵢ, "
    "∂z/∂b = 1",
}

# --- the walk ---


def describe(root):
    """The graph as text, inputs first: each node's name, value, and the op and children it came from."""
    nodes = topological_order(root)
    name = names(nodes)
    width = max(len(name[node]) for node in nodes)
    lines = [f"The graph of {name[root]}, inputs first:"]
    for node in nodes:
        made = f"{_op_name(node.op)} of {', '.join(name[c] for c in node._children)}" if node._children else "leaf"
        lines.append(f"  {name[node]:<{width}}  = {node.data:<10.4g}  {made}")
    return "\n".join(lines)


def walk(root):
    """Backpropagate from `root` one node at a time, explaining each step.

    Yields (step, explanation, known): `known` maps every node whose gradient is final after this
    step to that gradient, as render.draw(grads=...) takes it. Like backward(), this leaves every
    node's .grad filled in, but for this pass alone: leaves start from zero too, so that the numbers
    shown add up.
    """
    if not isinstance(root, Value):
        raise TypeError(f"walkthrough needs a Value to backpropagate from, got {type(root).__name__}")
    if not root._children:
        raise ValueError(f"nothing to step through: {root!r} is a leaf, not computed from anything")
    nodes = topological_order(root)
    name = names(nodes)
    cost = _grouped(name[root])
    users = {node: [] for node in nodes}  # in the order the backward pass reaches them
    for node in reversed(nodes):
        for child in node._children:
            users[child].append(node)
    uses_left = Counter({node: len(users[node]) for node in nodes})  # final once every use passed its share
    total = sum(1 for node in nodes if node._children)
    for node in nodes:
        if not node._children:
            node.grad = 0.0  # leaves keep gradients across backward() calls: start this pass from zero
    known = {root: 1.0}
    for step in backward_steps(root, 1.0):
        lines = _header(step, total, name, cost)
        for edge in step.edges:
            uses_left[edge.child] -= 1
            user_names = [name[user] for user in users[edge.child]]
            lines += _chain_rule(step, edge, name, cost, user_names, uses_left[edge.child])
            if uses_left[edge.child] == 0:
                known[edge.child] = edge.after
        rule = local_rule(step.node.op)
        if rule:
            lines.append(f"  rule: {rule}")
        yield step, "\n".join(lines), dict(known)


def _header(step, total, name, cost):
    node = step.node
    children = ", ".join(name[child] for child in node._children)
    made = f"{name[node]} = {number(node.data)}, made by {_op_name(node.op)} from {children}"
    lines = [f"Step {step.index + 1} / {total}: {made}"]
    if step.index == 0:  # the root: no chain yet, only its own local derivatives
        lines.append(f"The backward pass starts at {cost} itself: nudging {cost} moves {cost} by as much, "
                     f"∂{cost}/∂{cost} = 1.")
        lines.append(f"Each child's gradient is {cost}'s local derivative with respect to it, times that 1:")
    else:
        lines.append(
            f"∂{cost}/∂{_grouped(name[node])} = {number(step.grad)} is complete: "
            "every node that uses it has passed its share back."
        )
        lines.append("The chain rule passes it on to each child, times the child's local derivative:")
    return lines


def _chain_rule(step, edge, name, cost, users, uses_left):
    """One child's share, in symbols and in numbers; and, for a child used more than once, its sum so far."""
    parent, child = _grouped(name[step.node]), _grouped(name[edge.child])
    total = f"∂{cost}/∂{child}"
    uses = len(users)
    sign = "=" if uses == 1 else "+="
    # the root passes on its local derivatives alone: ∂C/∂C · ∂C/∂child would read in a circle
    symbols = "" if step.index == 0 else f" ∂{cost}/∂{parent} · ∂{parent}/∂{child} ="
    lines = [f"  {total} {sign}{symbols} {number(step.grad)} × {factor(edge.local)} = {number(edge.contribution)}"]
    if uses > 1 and uses_left == uses - 1:
        by = _listed(list(dict.fromkeys(users)))  # x·x uses x twice
        lines.append(
            f"      ({child} is used {uses} times, by {by}: its gradient sums what each wants of it, "
            f"{uses} shares; this is the first)"
        )
    elif uses > 1:
        done = f"complete, the sum of all {uses} shares" if uses_left == 0 else "so far"
        lines.append(
            f"      ({child} had {number(edge.before)} from an earlier use; this adds to it:"
            f" {total} = {number(edge.before)} + {factor(edge.contribution)} = {number(edge.after)}, {done})"
        )
    return lines


def _listed(words):
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def trainable(root):
    """The leaves that training changes: those a neuron uses as a weight or a bias (w·x+b's w and b)."""
    return {child for node in topological_order(root) for child, letter, _ in _roles(node)
            if letter in ("w", "b") and not child._children}


def leaf_gradients(root):
    """The last word of a walkthrough: every leaf's gradient, what training can change apart from what it cannot."""
    nodes = topological_order(root)
    name = names(nodes)
    cost = _grouped(name[root])
    leaves = [n for n in nodes if not n._children]
    parameters = trainable(root)

    def listed(group):
        return [f"  ∂{cost}/∂{_grouped(name[n])} = {number(n.grad)}" for n in group]

    if not parameters:
        return "\n".join([f"Done: the gradient of {cost} with respect to each leaf:"] + listed(leaves))
    return "\n".join(
        ["Done: every gradient is known. The weights and biases are what training changes: each is",
         f"nudged against its gradient (a small step times it, taken away) to make {cost} smaller."]
        + listed([n for n in leaves if n in parameters])
        + ["The inputs and targets are the data: training cannot change them, though their",
           f"gradients say how {cost} would move if they did (the inputs' are what a layer before would receive)."]
        + listed([n for n in leaves if n not in parameters])
    )


# --- frames and a page to step through them ---

# A walkthrough's graph is read on a projector: top to bottom (a neuron's leaves side by side, not a
# long row of layers), records stacked name / data / grad, and a sans-serif face.
LAYOUT = {"nodesep": "0.12", "ranksep": "0.25"}  # with rankdir="TB", passed to draw()
FONT = {"fontname": "Helvetica,Arial,sans-serif", "fontsize": "14"}
PARAMETER = {"style": "filled", "fillcolor": "palegreen", "class": "parameter"}  # training changes it
DATA = {"style": "filled,dashed", "fillcolor": "gainsboro", "class": "data"}  # training cannot
MAX_VALUES = 100  # a page draws every value in every frame: beyond this it is neither readable nor quick


def frames(root):
    """One (dot, explanation) per step, then a last one with every leaf's gradient.

    A step's frame highlights its node, and the children receiving their shares with the edges that
    carry them; every gradient known so far is filled in. The last frame marks the weights and
    biases apart from the inputs and targets. A page lays the DOT out in the browser: `dot` need
    not exist.
    """
    nodes = topological_order(root)
    values = len(nodes)
    if values > MAX_VALUES:
        raise ValueError(
            f"walkthrough: a page of frames draws all {values:,} values of this graph in each of its steps, "
            f"too many to read (at most {MAX_VALUES}); step through it with walk(), or see it with draw()"
        )
    every_node = 2 * values  # a box and an op each at most: never summarised

    def drawing(**options):
        picture = draw(root, rankdir="TB", max_nodes=every_node, **options)
        picture.graph_attr.update(LAYOUT)
        picture.node_attr.update(FONT)
        picture.edge_attr.update(FONT)
        return picture

    pictures = [
        (drawing(highlight=step.node, updated=[edge.child for edge in step.edges], grads=known).source, text)
        for step, text, known in walk(root)
    ]
    last = drawing()  # every .grad is final now
    parameters = trainable(root)
    for leaf in nodes:
        if not leaf._children:  # drawn as node-<_id>; declaring it again in DOT adds to its attributes
            last.node(f"node-{leaf._id}", **(PARAMETER if leaf in parameters else DATA))
    return pictures + [(last.source, leaf_gradients(root))]


NOTATION = """As in the video: <b>a(l)_k</b> is the activation of neuron k in layer l (layer 0 is the input);
<b>w(l)_jk</b> the weight from neuron k of layer l−1 to neuron j of layer l, and <b>b(l)_j</b> its bias;
<b>z(l)_j</b> = Σ<sub>k</sub> w(l)_jk·a(l−1)_k + b(l)_j, and a(l)_j = σ(z(l)_j).
<b>y_j</b> is output j's target; the cost <b>C</b> = Σ<sub>j</sub> (a(L)_j − y_j)² sums over the last layer L.
<b>∂C/∂x</b> is how much C moves per unit nudge of x. A box is a value: its name, <i>data</i> (the value)
and <i>grad</i> (∂C/∂ it, ? until known); an ellipse is the op that made the value it points to."""

LEGEND = """<span class="key highlight">complete: passes its gradient on</span>
<span class="key updated">its children: receive their shares</span>
<span class="key parameter">weights, biases: training changes them</span>
<span class="key data">inputs, targets: it cannot</span>"""


def write_html(root, path):
    """Write a web page that steps through frames(root) to `path`, atomically; return the number of steps.

    The page needs no server, no network and no Graphviz installed: the frames (as DOT), the style,
    the script and the WebAssembly Graphviz that lays the frames out are all inline.
    """
    from .render import _script_json, renderer_script

    pictures = frames(root)
    count = len(pictures) - 1  # the steps, then the leaves' gradients
    captions = [f"step {k} / {count}" for k in range(1, count + 1)] + ["all gradients"]
    title = f"Backpropagation through {names(topological_order(root))[root]}, one node at a time"
    data = _script_json([{"dot": dot, "text": text, "caption": c} for (dot, text), c in zip(pictures, captions)])
    page = PAGE.format(
        title=html.escape(title), caption=captions[0], notation=NOTATION, legend=LEGEND, steps=data,
        renderer=renderer_script(),
    )
    atomic_write(path, lambda file: file.write(page.encode("utf-8")))
    return count


# The page fills the window: the graph in a pannable, zoomable view, the step's explanation below.
# The view starts at "fit width", with the graph's text no smaller than MIN_TEXT css pixels (a
# narrower window pans) and no larger than the page's own text: so at 200% browser zoom the graph
# grows with everything else. Each frame is laid out by the browser the first time it is shown, then
# kept: stepping back is instant. The notation shows at the start, and folds away at the first step.
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
  html, body {{ height: 100%; margin: 0; }}
  body {{ display: flex; flex-direction: column; font-family: system-ui, sans-serif; font-size: 16px; }}
  header {{ padding: 0.3em 0.8em; display: flex; flex-wrap: wrap; gap: 0.3em 1.2em; align-items: center; }}
  h1 {{ font-size: 1.15em; margin: 0; }}
  nav {{ display: flex; flex-wrap: wrap; gap: 0.4em; align-items: center; }}
  button {{ font-size: 1em; padding: 0.2em 0.7em; }}
  #counter {{ min-width: 7.5em; text-align: center; font-weight: bold; }}
  details {{ flex-basis: 100%; font-size: 0.9em; line-height: 1.4; }}
  summary {{ cursor: pointer; }}
  details p {{ margin: 0.2em 0; }}
  .legend {{ font-size: 0.85em; }}
  .key {{ display: inline-block; padding: 0 0.4em; margin-right: 0.3em; border: 1px solid #888; white-space: nowrap; }}
  .key.highlight {{ background: gold; border: 2px solid black; }}
  .key.updated {{ background: lightskyblue; }}
  .key.parameter {{ background: palegreen; }}
  .key.data {{ background: gainsboro; border-style: dashed; }}
  #view {{ flex: 1 1 auto; display: flex; flex-direction: column; min-height: 0; }}
  #graph {{ flex: 1 1 10em; min-height: 10em; overflow: auto; scrollbar-gutter: stable; cursor: grab;
            border-top: 1px solid #ccc; border-bottom: 1px solid #ccc; touch-action: none; }}
  #graph.dragging {{ cursor: grabbing; }}
  #graph:focus-visible {{ outline: 2px solid royalblue; outline-offset: -2px; }}
  #graph .frame {{ width: max-content; margin: 0 auto; padding: 6px; }}
  #graph svg {{ display: block; }}
  #explanation {{ flex: 0 0 auto; height: 38vh; overflow: auto; margin: 0; padding: 0.4em 0.8em;
                  font-family: monospace; font-size: 0.95em; line-height: 1.4; }}
  #explanation div {{ white-space: pre-wrap; }}  /* a long line wraps under its own start, indented */
</style>
</head>
<body>
<header>
<h1>{title}</h1>
<nav>
  <button id="prev" title="previous step: ← or p">&larr; Back</button>
  <span id="counter">{caption}</span>
  <button id="next" title="next step: → or n">Next &rarr;</button>
  <button id="zoom-out" title="zoom out: − or the wheel">&minus;</button>
  <button id="fit" title="fit the width: 0">Fit width</button>
  <button id="zoom-in" title="zoom in: + or the wheel">+</button>
</nav>
<details id="notation" open><summary>Notation and keys</summary>
<p>{notation}</p>
<p>Keys: &larr; &rarr; (or p, n) step; + &minus; zoom, 0 fits the width; &uarr; &darr; and shift+&larr; &rarr; pan.
Drag the graph to pan, turn the wheel over it to zoom.</p></details>
<div class="legend">{legend}</div>
</header>
<main id="view">
  <div id="graph" tabindex="0"><div class="frame"></div></div>
  <div id="explanation"></div>
</main>
<script>{renderer}</script>
<script>
  const steps = {steps};
  const MIN_TEXT = 12;  // css px: fitting the width never makes the graph's text smaller than this
  const graph = document.getElementById("graph");
  const frame = graph.querySelector(".frame");
  const explanation = document.getElementById("explanation");
  const drawn = [];  // the <svg> of each step, once laid out
  let current = 0;
  let zoom = null;  // css px per point of the drawing; null: fit the width
  const notation = document.getElementById("notation");
  let foldNotation = true;  // at the first step away from step 1, unless the reader has opened or shut it
  notation.querySelector("summary").addEventListener("click", () => (foldNotation = false));

  function explained(line) {{
    const div = document.createElement("div");
    const indent = line.length - line.trimStart().length;
    div.textContent = line.trimStart() || "\\u00a0";
    div.style.paddingLeft = `${{indent + 4}}ch`;
    div.style.textIndent = "-4ch";
    return div;
  }}

  function shownSvg() {{ return frame.querySelector("svg"); }}

  // Css px per point that fit the width, keeping the text between MIN_TEXT and the page's own size.
  function fitZoom(svg) {{
    const sizes = [...svg.querySelectorAll("text")].map((t) => parseFloat(t.getAttribute("font-size")));
    const pageText = parseFloat(getComputedStyle(document.body).fontSize);
    const room = graph.clientWidth - 12;  // the frame's padding
    const fit = Math.min(room / svg.viewBox.baseVal.width, pageText / Math.max(...sizes));
    return Math.max(fit, MIN_TEXT / Math.min(...sizes));
  }}

  function resize(svg, scale) {{
    const box = svg.viewBox.baseVal;
    svg.setAttribute("width", box.width * scale);
    svg.setAttribute("height", box.height * scale);
    svg.dataset.scale = scale;
  }}

  // Zoom to `scale`, keeping the point of the drawing under (x, y) in the window where it is.
  function zoomTo(scale, x, y) {{
    const svg = shownSvg();
    if (!svg) return;
    const view = graph.getBoundingClientRect();
    x = x ?? view.left + view.width / 2;
    y = y ?? view.top + view.height / 2;
    zoom = Math.max(0.1, Math.min(8, scale));
    const before = svg.getBoundingClientRect(), old = parseFloat(svg.dataset.scale);
    const px = (x - before.left) / old, py = (y - before.top) / old;
    resize(svg, zoom);
    const after = svg.getBoundingClientRect();
    graph.scrollLeft += after.left + px * zoom - x;
    graph.scrollTop += after.top + py * zoom - y;
  }}

  function fitWidth() {{
    zoom = null;
    const svg = shownSvg();
    if (svg) {{ resize(svg, fitZoom(svg)); follow(svg); }}
  }}

  // Bring the step's node and its children into view, if they are not in it already.
  function follow(svg) {{
    const boxes = [...svg.querySelectorAll("g.highlight, g.updated")].map((g) => g.getBoundingClientRect());
    if (!boxes.length) return;
    const left = Math.min(...boxes.map((b) => b.left)), right = Math.max(...boxes.map((b) => b.right));
    const top = Math.min(...boxes.map((b) => b.top)), bottom = Math.max(...boxes.map((b) => b.bottom));
    const view = graph.getBoundingClientRect();
    if (left < view.left || right > view.right) graph.scrollLeft += (left + right) / 2 - (view.left + view.right) / 2;
    if (top < view.top || bottom > view.bottom) graph.scrollTop += (top + bottom) / 2 - (view.top + view.bottom) / 2;
  }}

  async function show(index) {{
    current = Math.max(0, Math.min(steps.length - 1, index));
    const step = current;
    document.getElementById("counter").textContent = steps[step].caption;
    document.getElementById("prev").disabled = step === 0;
    document.getElementById("next").disabled = step === steps.length - 1;
    explanation.replaceChildren(...steps[step].text.split("\\n").map(explained));
    if (!drawn[step]) {{
      const scratch = document.createElement("div");
      drawn[step] = await seebackprop.drawDot(scratch, steps[step].dot);
    }}
    if (step === current) {{  // the reader may have moved on while this frame was laid out
      const svg = drawn[step];
      if (step > 0 && foldNotation) notation.open = foldNotation = false;
      resize(svg, zoom ?? fitZoom(svg));
      frame.replaceChildren(svg);
      follow(svg);
      document.getElementById("view").dataset.shown = step + 1;
    }}
  }}

  function pan(dx, dy) {{
    graph.scrollLeft += dx * graph.clientWidth;
    graph.scrollTop += dy * graph.clientHeight;
  }}

  document.getElementById("prev").addEventListener("click", () => show(current - 1));
  document.getElementById("next").addEventListener("click", () => show(current + 1));
  document.getElementById("zoom-in").addEventListener("click", () => zoomTo(currentScale() * 1.25));
  document.getElementById("zoom-out").addEventListener("click", () => zoomTo(currentScale() / 1.25));
  document.getElementById("fit").addEventListener("click", fitWidth);

  function currentScale() {{
    const svg = shownSvg();
    return svg ? parseFloat(svg.dataset.scale) : 1;
  }}

  document.addEventListener("keydown", (event) => {{
    if (event.altKey || event.ctrlKey || event.metaKey) return;  // the browser's own shortcuts, like ctrl +
    const key = event.key;
    if (event.shiftKey && key === "ArrowLeft") pan(-0.2, 0);
    else if (event.shiftKey && key === "ArrowRight") pan(0.2, 0);
    else if (key === "ArrowLeft" || key === "PageUp" || key === "p" || key === "b") show(current - 1);
    else if (key === "ArrowRight" || key === "PageDown" || key === "n") show(current + 1);
    else if (key === "Home") show(0);
    else if (key === "End") show(steps.length - 1);
    else if (key === "ArrowUp") pan(0, -0.2);
    else if (key === "ArrowDown") pan(0, 0.2);
    else if (key === "+" || key === "=") zoomTo(currentScale() * 1.25);
    else if (key === "-" || key === "_") zoomTo(currentScale() / 1.25);
    else if (key === "0" || key === "f") fitWidth();
    else return;
    event.preventDefault();
  }});

  graph.addEventListener("wheel", (event) => {{
    event.preventDefault();
    const pixels = event.deltaY * (event.deltaMode === 1 ? 16 : event.deltaMode === 2 ? 400 : 1);
    zoomTo(currentScale() * Math.exp(-pixels / 500), event.clientX, event.clientY);
  }}, {{ passive: false }});

  let drag = null;
  graph.addEventListener("pointerdown", (event) => {{
    if (event.button !== 0) return;
    drag = {{ x: event.clientX, y: event.clientY, left: graph.scrollLeft, top: graph.scrollTop }};
    graph.setPointerCapture(event.pointerId);
    graph.classList.add("dragging");
  }});
  graph.addEventListener("pointermove", (event) => {{
    if (!drag) return;
    graph.scrollLeft = drag.left - (event.clientX - drag.x);
    graph.scrollTop = drag.top - (event.clientY - drag.y);
  }});
  const endDrag = () => {{ drag = null; graph.classList.remove("dragging"); }};
  graph.addEventListener("pointerup", endDrag);
  graph.addEventListener("pointercancel", endDrag);

  window.addEventListener("resize", () => {{ if (zoom === null) fitWidth(); }});
  show(0);
</script>
</body>
</html>
"""


# --- the terminal ---


def wrapped(text, width=None):
    """`text` wrapped to the terminal's width; a wrapped line continues indented under its start."""
    width = max(20, width or shutil.get_terminal_size().columns)
    lines = []
    for line in text.splitlines():
        indent = " " * (len(line) - len(line.lstrip(" ")) + 4)
        lines += textwrap.wrap(line, width, subsequent_indent=indent, break_on_hyphens=False) or [""]
    return "\n".join(lines)


KEYS = "Enter or n: next step, b: back, q: quit"


def step_through(pages):
    """Show one page at a time, moving as the reader types; without a reader, show them all."""
    index = 0
    print(f"\n{wrapped(pages[0])}")
    while index < len(pages) - 1:
        answer = _read_line(f"[{KEYS}] ")
        if answer is None:  # stdin closed or at its end: show the rest without waiting
            for page in pages[index + 1 :]:
                print(f"\n{wrapped(page)}")
            return
        answer = answer.strip().lower()
        if answer in ("q", "quit"):
            print()
            return
        if answer in ("", "n", "next"):
            index += 1
        elif answer in ("b", "p", "back"):
            if index == 0:
                print("(this is the first step)")
                continue
            index -= 1
        else:
            print(f"({answer!r}? {KEYS})")
            continue
        print(f"\n{wrapped(pages[index])}")


def _read_line(prompt):
    """A line typed by the reader, or None when none can come: stdin closed, at its end, or absent."""
    if sys.stdin is None:
        return None
    print(prompt, end="", flush=True)
    try:
        line = sys.stdin.readline()
    except (OSError, ValueError):  # a closed or unreadable stdin
        line = ""
    if not line:
        print()  # end the prompt's line
        return None
    return line


# --- the command line ---


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m autodiff.walkthrough",
        description=f"Step through a backward pass, one node at a time ({KEYS}).",
    )
    parser.add_argument("--example", choices=EXAMPLES, default="neuron", help="which graph (default: neuron)")
    parser.add_argument("--all", action="store_true", help="print every step without waiting")
    parser.add_argument("--html", metavar="PATH", help="write a page that steps through the frames, and stop")
    args = parser.parse_args(argv)
    root = EXAMPLES[args.example]()
    if args.html:
        try:
            count = write_html(root, args.html)
        except OSError as error:
            sys.exit(f"cannot write {args.html}: {error}")
        print(f"wrote {args.html}: {count} steps; open it in a browser")
        return
    print(wrapped(describe(root)))
    pages = [explanation for _, explanation, _ in walk(root)] + [leaf_gradients(root)]
    if args.all:
        for page in pages:
            print(f"\n{wrapped(page)}")
        return
    step_through(pages)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C is how one stops stepping: no traceback for it
        sys.exit(130)
    except BrokenPipeError:  # the reader of a pipe (| head) has seen enough
        sys.stdout = None
        sys.exit(0)
