"""Drawing a computation graph with Graphviz, left to right, as in micrograd's draw_dot.

Each value is a box `label | data | grad` (a Tensor shows its shape instead of numbers); a small
ellipse between a value and its children names the op that made it. A neuron's fused weighted sum
reads as w·x + b: its edges are labelled w1..wn (weights), a1..an (inputs) and b (bias).

A graph too big to read (an MNIST network has some 13,000 weights) is summarised rather than
drawn node by node: first the weights of each neuron and the inputs of each layer become one node
each, then whole layers do, and as a last resort only the part nearest the root is drawn. The
drawing says so, and names the zoom levels that `dot` can lay out in seconds: a finer summary
(max_nodes=...), one node's neighbourhood (focus=...). Asking for more warns how long it will take.

Laying a graph out needs Graphviz. Python uses the system's `dot` program when there is one; a
browser never needs it: to_html() and every page of the project draw the same DOT text with a
WebAssembly build of Graphviz shipped in autodiff/web/vendor, and so does Jupyter without `dot`.
"""
import base64
import functools
import gzip
import html
import json
import math
import sys
import uuid
import warnings
from collections import deque
from collections.abc import Iterable
from pathlib import Path

import graphviz

from .files import atomic_write
from .graph import topological_order

WEIGHTED_SUM = "w·x+b"  # Value.weighted_sum's op
ROLE_NAMES = {"w": "weights", "a": "inputs", "b": "biases"}  # a weighted sum's children
HIGHLIGHT = {"style": "filled,bold", "fillcolor": "gold", "penwidth": "3", "class": "highlight"}
UPDATED = {"style": "filled", "fillcolor": "lightskyblue", "class": "updated"}  # receive a highlighted node's gradient
PASSING = {"color": "royalblue", "penwidth": "3", "class": "passing"}  # the op and edges that carry it
REST = "rest"  # the group key of the nodes a truncated drawing leaves out
RANKDIRS = ("LR", "TB", "RL", "BT")
FOCUS_STEPS = 2  # focus=node draws the values this many steps up or down from it one by one
FAST_SECONDS = 10  # a zoom level is suggested only if dot lays it out this fast; above, draw() warns
INSTALL = (
    "Graphviz's `dot` program was not found: install it with `apt-get install graphviz` (Debian/Ubuntu), "
    "`brew install graphviz` (macOS) or `conda install graphviz`, see https://graphviz.org/download/ "
    "(the DOT source is in .source without it)"
)


class GraphvizNotFound(graphviz.ExecutableNotFound):
    """Rendering needs Graphviz's `dot` program, which is not a Python package: say how to get it."""

    def __init__(self):
        RuntimeError.__init__(self, INSTALL)


class Drawing(graphviz.Digraph):
    """A Digraph that Jupyter shows with the system's `dot`, or without it through the browser.

    Rendering to a file without `dot` raises GraphvizNotFound, which says how to install it.
    """

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        try:
            return super()._repr_mimebundle_(include, exclude, **kwargs)
        except GraphvizNotFound:
            return {"text/html": notebook_html(self.source), "text/plain": self.source}

    def pipe(self, *args, **kwargs):  # Jupyter's _repr_mimebundle_ comes through here too
        try:
            return super().pipe(*args, **kwargs)
        except graphviz.ExecutableNotFound:
            raise GraphvizNotFound() from None

    def render(self, *args, **kwargs):  # and view() through here
        try:
            return super().render(*args, **kwargs)
        except graphviz.ExecutableNotFound:
            raise GraphvizNotFound() from None


def draw(root, format="svg", rankdir="LR", *, highlight=None, grads=None, max_nodes=200, focus=None, updated=None):
    """The graph that computed `root` (a Value or Tensor, or a list of them) as a graphviz Digraph.

    format, rankdir: as in micrograd's draw_dot (an alias of draw): the format .render() writes,
        and the direction of the graph (LR: left to right, TB: top to bottom).
    highlight: a node, or a collection of nodes, to draw filled and bold.
    grads: None shows each node's .grad; a dict {node: gradient} shows those instead, and
        "grad ?" for the nodes it leaves out (while stepping through backward, not known yet).
    max_nodes: above this many boxes and ellipses the drawing is summarised.
    focus: a node to zoom in on: the values within two steps of it are drawn one by one (as far as
        max_nodes allows), the rest of the graph one node per layer.
    updated: nodes that receive a share of a highlighted node's gradient (stepping through
        backward: its children), drawn filled blue, with the op and edges that carry it bold blue.
    """
    roots = _node_list(root, "root")
    marked = set() if highlight is None else {id(n) for n in _node_list(highlight, "highlight")}
    receiving = set() if updated is None else {id(n) for n in _node_list(updated, "updated")}
    if grads is not None:
        if not hasattr(grads, "items"):
            kind = type(grads).__name__
            raise TypeError(f"draw: grads must be None or a dict {{node: gradient}}, got {kind}")
        grads = {id(node): grad for node, grad in grads.items()}
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 3:
        raise ValueError(f"draw: max_nodes must be an integer of at least 3, got {max_nodes!r}")
    if format not in graphviz.FORMATS:
        raise ValueError(f"draw: unknown format {format!r}; try 'svg', 'png' or 'pdf'")
    if rankdir not in RANKDIRS:
        raise ValueError(f"draw: rankdir must be one of {', '.join(RANKDIRS)} (LR: left to right), got {rankdir!r}")

    nodes = topological_order(*roots)
    uses = _uses_of(nodes)
    levels = [(how, key_of, _size(nodes, key_of)) for how, key_of in _groupings(nodes, uses)]
    candidates = levels
    if focus is not None:
        if not hasattr(focus, "_children") or id(focus) not in uses:
            raise ValueError(f"draw: focus must be a node of the graph being drawn, got {focus!r:.80}")
        marked.add(id(focus))
        candidates = _zoomed(levels, nodes, _within(focus, uses, FOCUS_STEPS))
    for how, key_of, size in candidates:
        if size <= max_nodes:
            break
    else:
        how, key_of = "showing only the nodes nearest the root", _nearest(roots, key_of, max_nodes)
        size = _size(nodes, key_of)

    notes = []
    if grads is None and not any(_nonzero(n.grad) for n in nodes):
        notes.append("Gradients not computed yet: every grad is 0 until you call backward() on the root.")
    if how and size < levels[0][2]:  # something is drawn as one node with others
        zoom = "" if focus is not None else " " + _zoom_levels(levels, size)
        notes.append(f"Summarised ({how}): {levels[0][2]:,} nodes drawn as {size:,}.{zoom}")
    seconds = _layout_seconds(size)
    if seconds > FAST_SECONDS:
        warnings.warn(
            f"draw: {size:,} nodes will take Graphviz's dot {_duration(seconds)} to lay "
            "out; a lower max_nodes summarises the graph, and focus=node shows one node's neighbourhood",
            stacklevel=2,
        )
    return _drawing(nodes, key_of, uses, marked, grads, "\\n".join(notes), format, rankdir, receiving)


draw_dot = draw  # micrograd's name: draw_dot(root, format="svg", rankdir="LR")


def to_svg(root, **options):
    """draw(root, **options) as SVG text."""
    return draw(root, **options).pipe(format="svg", encoding="utf-8")


def to_html(root, **options):
    """draw(root, **options) as a web page that lays the graph out itself: no `dot`, no network."""
    return page_html(draw(root, **options).source)


def save(root, path, **options):
    """Write draw(root, **options) to `path`: SVG or PNG (through `dot`), or HTML (drawn by the browser)."""
    suffix = str(path).rpartition(".")[2].lower()
    if suffix == "html":
        image = to_html(root, **options).encode("utf-8")
    elif suffix in ("svg", "png"):
        image = draw(root, **options).pipe(format=suffix)  # before opening the file: a failure leaves none
    else:
        raise ValueError(f"save: cannot tell the format of {str(path)!r}; name it .svg, .png or .html")
    atomic_write(path, lambda file: file.write(image))


# --- drawing in the browser: Graphviz as WebAssembly, no `dot` needed ---

WEB = Path(__file__).resolve().parent / "web"


def renderer_script():
    """The JavaScript that draws DOT in a page: the vendored Graphviz, then draw_dot.js (seebackprop.drawDot)."""
    return (WEB / "vendor" / "viz-global.js").read_text(encoding="utf-8") + "\n" + (
        WEB / "draw_dot.js"
    ).read_text(encoding="utf-8")


def _script_json(value):
    """A value as JSON that is safe inside <script>: no "</script>" can end the element early."""
    return json.dumps(value).replace("<", "\\u003c")


def page_html(dot_source, title="Computation graph"):
    """A self-contained page showing one graph: opens from file://, works offline."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body {{ font-family: system-ui, sans-serif; margin: 1em; }} #graph svg {{ max-width: 100%; height: auto; }}</style>
</head>
<body>
<div id="graph">drawing the graph…</div>
<script>{renderer_script()}</script>
<script>seebackprop.drawDot(document.getElementById("graph"), {_script_json(dot_source)});</script>
</body>
</html>
"""


_renderer_sent = False  # whether this kernel's notebook already holds the renderer


@functools.lru_cache(maxsize=1)
def _packed_renderer():
    """renderer_script() gzipped and in base64: 0.64 MB in a notebook's JSON, where the plain
    script would take 3 MB (its WebAssembly is text full of escaped characters)."""
    return base64.b64encode(gzip.compress(renderer_script().encode("utf-8"), 9)).decode("ascii")


# Unpacks the renderer in the browser and runs it, once per page.
UNPACK = """<script>
(function () {
  if (window.seebackprop && window.seebackprop.drawDot) return;
  const bytes = Uint8Array.from(atob("%s"), (c) => c.charCodeAt(0));
  const text = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  new Response(text).text().then((code) => {
    const script = document.createElement("script");
    script.textContent = code;
    document.head.appendChild(script);
  });
})();
</script>"""


def notebook_html(dot_source):
    """A drawing for Jupyter without `dot`: a placeholder that the vendored Graphviz fills in.

    The 1.3 MB renderer goes into the first such output of a session only; later drawings wait for
    it on the same page (JupyterLab, Notebook and VS Code put every output in one page). Colab gives
    each output a page of its own, so there every drawing carries it.
    """
    global _renderer_sent
    element = f"seebackprop-graph-{uuid.uuid4().hex}"
    library = ""
    if not _renderer_sent or "google.colab" in sys.modules:
        library = UNPACK % _packed_renderer()
        _renderer_sent = True
    return f"""<div id="{element}" class="seebackprop-graph">drawing the graph in the browser…</div>
{library}<script>
(function () {{
  const element = document.getElementById("{element}");
  const dot = {_script_json(dot_source)};
  let tries = 0;
  (function draw() {{
    if (window.seebackprop && window.seebackprop.drawDot) {{ window.seebackprop.drawDot(element, dot); return; }}
    if (++tries < 600) {{ setTimeout(draw, 50); return; }}
    element.textContent = "The graph renderer did not load: it is in this notebook's first drawing; run that cell again.";
  }})();
}})();
</script>"""


# --- which nodes there are, and how they are used ---


def _node_list(x, what):
    if hasattr(x, "_children"):
        return [x]
    if isinstance(x, Iterable) and not isinstance(x, str):
        nodes = list(x)
        if nodes and all(hasattr(n, "_children") for n in nodes):
            return nodes
    raise TypeError(f"draw: {what} must be a Value or Tensor, or a non-empty list of them; got {x!r:.80}")


def _roles(node):
    """(child, letter, number) for each child: a weighted sum's are w0..wn-1, a0..an-1 and b, as in the video."""
    children = node._children
    if node.op != WEIGHTED_SUM:
        return [(child, "", i) for i, child in enumerate(children)]
    n = (len(children) - 1) // 2  # a Tensor's weighted sum has one child of each: a matrix W, x and b
    number = (lambda i: i) if n > 1 else (lambda i: None)
    return (
        [(w, "w", number(i)) for i, w in enumerate(children[:n])]
        + [(a, "a", number(i)) for i, a in enumerate(children[n : 2 * n])]
        + [(children[-1], "b", None)]
    )


def _uses_of(nodes):
    """For each node, by id: (parent, letter, number) for every place a parent uses it."""
    uses = {id(n): [] for n in nodes}
    for parent in nodes:
        for child, letter, number in _roles(parent):
            uses[id(child)].append((parent, letter, number))
    return uses


# --- zoom levels, and how long dot takes to lay one out ---


def _layout_seconds(size):
    """About how long `dot` takes to lay out `size` boxes and ellipses of a network's graph.

    Fitted to dot's times on this library's drawings (benchmarks/dot_layout.py): its crossing
    minimisation grows much faster than the size, 2 s at 1,000, 20 s at 2,300, over 400 s at 4,900.
    """
    return 0.1 + 1.6 * (size / 1000) ** 3.5  # 0.1 s: starting dot, and a small graph


def _duration(seconds):
    """An estimate in words; beyond 10 minutes only a bound, as the fit was measured up to there."""
    if seconds < 90:
        return f"about {seconds:.0f} s"
    return f"about {seconds / 60:.0f} minutes" if seconds < 600 else "more than 10 minutes"


def _zoom_levels(levels, drawn):
    """What to pass to see more: the finer levels dot lays out in seconds, and the time the others take."""
    finer = [(how, size) for how, _, size in levels if size > drawn]
    hints = []
    for how, size in reversed(finer):  # coarsest first: the next step in
        if _layout_seconds(size) <= FAST_SECONDS:
            hints.append(f"max_nodes={size} draws {how or 'every node'}")
        else:
            hints.append(f"{how or 'every node'} ({size:,}) would take dot {_duration(_layout_seconds(size))}")
            break
    hints.append("focus=node draws one node's neighbourhood")
    return "Zoom: " + "; ".join(hints) + "."


def _zoomed(levels, nodes, near):
    """The levels for focus=node: the nodes near it grouped as each level groups them, the rest by layer."""
    if len(near) == len(levels[0][1]):
        return levels[:1]  # the whole graph is near: nothing to summarise
    coarse_how, coarse = levels[-1][0], levels[-1][1]
    zoomed = []
    for how, key_of, _ in levels[:-1]:
        keys = {i: key_of[i] if i in near else key for i, key in coarse.items()}
        near_how = f"the {len(near):,} values within {FOCUS_STEPS} steps of the focus" + (f" with {how}" if how else "")
        zoomed.append((f"{near_how}; the rest {coarse_how}", keys, _size(nodes, keys)))
    return zoomed


def _within(focus, uses, steps):
    """The ids of focus, of what it was computed from and of what uses it, up to `steps` edges away."""
    near = {id(focus)}
    for neighbours in (lambda n: n._children, lambda n: [parent for parent, _, _ in uses[id(n)]]):
        frontier = [focus]
        for _ in range(steps):
            frontier = [other for node in frontier for other in neighbours(node)]
            near.update(map(id, frontier))
    return near


def _nonzero(grad):
    """Whether a gradient (a float, or a Tensor's array) holds anything but zeros."""
    return bool(grad.any()) if hasattr(grad, "any") else grad != 0


# --- summarising: grouping nodes that are drawn as one ---


def _groupings(nodes, uses):
    """(how, {id(node): group key}) from finest to coarsest; the first that fits is drawn."""
    yield "", {id(n): n._id for n in nodes}
    by_neuron = _group_leaves(nodes, uses, lambda n: n._id)
    yield "each neuron's weights, and each layer's inputs, as one node", by_neuron
    height = {}  # the longest path down to a leaf: the same for every neuron of a layer
    for n in nodes:
        height[id(n)] = 1 + max(height[id(c)] for c in n._children) if n._children else 0
    yield "one node per layer", _group_leaves(nodes, uses, lambda n: (n.op, height[id(n)]))


def _group_leaves(nodes, uses, interior_key):
    """Interior nodes grouped by interior_key; leaves grouped with the leaves used in the same places.

    The weights of a neuron are all used by its weighted sum, as weights: one group. The inputs of
    a layer are all used by every neuron of the layer, as inputs: another group.
    """
    key_of = {id(n): interior_key(n) for n in nodes if n._children}
    for n in nodes:
        if not n._children:
            places = frozenset((key_of[id(p)], letter or number) for p, letter, number in uses[id(n)])
            key_of[id(n)] = ("leaves", places) if places else n._id
    return key_of


def _nearest(roots, key_of, max_nodes):
    """Keep the groups nearest the roots, breadth first; all the others become one REST node."""
    kept, used = set(), 1  # the REST node itself
    queue, seen = deque(roots), {id(r) for r in roots}
    while queue:
        node = queue.popleft()
        key = key_of[id(node)]
        if key not in kept:
            cost = 2 if node._children else 1  # an interior group also has its op's ellipse
            if used + cost > max_nodes:
                break
            kept.add(key)
            used += cost
        for child in node._children:
            if id(child) not in seen:
                seen.add(id(child))
                queue.append(child)
    return {i: key if key in kept else REST for i, key in key_of.items()}


def _size(nodes, key_of):
    """How many boxes and ellipses a grouping draws: one per group, plus an op for interior groups."""
    groups = set(key_of.values())
    ops = {key_of[id(n)] for n in nodes if n._children} - {REST}
    return len(groups) + len(ops)


# --- drawing ---


def _drawing(nodes, key_of, uses, marked, grads, note, format, rankdir, receiving):
    members = {}
    for n in nodes:
        members.setdefault(key_of[id(n)], []).append(n)
    name = {key: _name(key, group) for key, group in members.items()}

    dot = Drawing(format=format, graph_attr={"rankdir": rankdir, **({"label": note, "labelloc": "t"} if note else {})})
    edges = {}  # (tail, head, label): whether it carries a highlighted node's gradient; each drawn once, in order
    for key, group in members.items():
        first, me = group[0], name[key]
        style = HIGHLIGHT if any(id(n) in marked for n in group) else {}
        style = style or (UPDATED if any(id(n) in receiving for n in group) else {})
        if key == REST:
            rest_style = {"shape": "box", "style": "dashed", **style}
            dot.node(me, f"… {len(group):,} more values, not drawn", id=me, **rest_style)
            continue
        if len(group) == 1:
            dot.node(me, _record(first, grads), id=me, shape="record", **style)
        else:
            dot.node(me, _group_label(group, uses), id=me, shape="box3d", **style)
        if not first._children:
            continue
        op = f"op-{first._id}"
        passing = any(id(n) in marked and id(c) in receiving for n in group for c in n._children)
        dot.node(op, "w·x + b" if first.op == WEIGHTED_SUM else first.op, id=op, **(PASSING if passing else {}))
        edges[(op, me, "")] = passing
        for n in group:
            for child, letter, number in _roles(n):
                tail = name[key_of[id(child)]]
                alone = len(group) == 1 and len(members[key_of[id(child)]]) == 1
                edge = (tail, op, f"{letter}{number}" if letter and number is not None and alone else letter)
                edges[edge] = edges.get(edge, False) or (id(n) in marked and id(child) in receiving)
    for (tail, head, label), passing in edges.items():
        dot.edge(tail, head, label=label or None, **(PASSING if passing else {}))
    return dot


def _name(key, group):
    """The DOT name, and SVG id, of a group's box: node-<_id> for a single node, stable across drawings."""
    if key == REST:
        return "rest"
    return f"{'node' if len(group) == 1 else 'group'}-{group[0]._id}"


def _record(node, grads):
    """`label | data 2.0000 | grad -3.0000`, or for a Tensor `label | shape (2, 3) | grad (2, 3)`."""
    if grads is None:
        grad = f"grad {_amount(node.grad)}"
    else:
        grad = f"grad {_amount(grads[id(node)])}" if id(node) in grads else "grad ?"
    data = ("shape " if getattr(node.data, "shape", ()) else "data ") + _amount(node.data)
    fields = [_escape(node.label)] if node.label else []
    return "{" + " | ".join(fields + [data, grad]) + "}"


def _amount(x):
    """A number as micrograd shows it, or an array's shape: (2, 3)."""
    shape = getattr(x, "shape", ())
    if shape:
        return str(tuple(shape))
    x = float(x)
    return f"{x:.4f}" if x == 0 or 1e-3 <= abs(x) < 1e6 else f"{x:.3e}"


def _group_label(group, uses):
    """'784 weights', '784 inputs', '16 biases' for a weighted sum's leaves, else '16 values'."""
    letters = {letter for n in group for _, letter, _ in uses[id(n)]}
    leaves_of_weighted_sums = not group[0]._children and len(letters) == 1 and "" not in letters
    return f"{len(group):,} {ROLE_NAMES[letters.pop()] if leaves_of_weighted_sums else 'values'}"


def _escape(text):
    """A user's label inside a record: braces, bars and angle brackets would make new fields."""
    return "".join("\\" + c if c in '\\{}|<>"' else c for c in str(text))


# --- the stepper's frames: every value of a small graph, readable on a projector ---
#
# A frame of the stepper draws each value as a box `name  value  grad`, with the op that made it
# beside its name. A leaf that only one node uses (a neuron's weights and bias, a cost's target)
# is a row inside that node's box rather than a box of its own: a neuron reads as one box, and no
# edge needs a label (w0, a0, ...) that could collide with its neighbour's. Edges point from a
# node to its children, the way gradients travel; the layout puts the root on top (rankdir BT),
# so the backward pass reads downwards, step after step. The same rows and the same cell widths in
# every frame: stepping changes colours and numbers, never the layout.

FRAME_FONT = 18  # points; the stepper never shows a frame at less than 1 css px per point
FRAME_ROWS = 4  # of a neuron's many weights (or inputs), its box lists this many: the largest gradients
FRAME_FILL = {"highlight": "gold", "updated": "lightskyblue", "parameter": "palegreen", "data": "gainsboro",
              "white": "white"}
# Helvetica's widths (in font sizes) of what a grad line is made of, as Graphviz measures them:
# the grad cells are as wide as the widest line of any frame, so that no frame is laid out wider.
HELVETICA = {**dict.fromkeys("0123456789?abdeghnopqu", 0.556), **dict.fromkeys(" .,:/ftijl", 0.278),
             "-": 0.333, "r": 0.333, "s": 0.5, "c": 0.5, "k": 0.5, "v": 0.5, "x": 0.5, "y": 0.5, "z": 0.5,
             "m": 0.833, "w": 0.722, "+": 0.584}


def text_width(text, size=None):
    """How wide Graphviz draws `text` in Helvetica (points); an unknown character counts as an m."""
    return sum(HELVETICA.get(c, 0.833) for c in text) * (size or FRAME_FONT)


def frame_rows(nodes, importance=None, most=FRAME_ROWS):
    """{node: ([leaves drawn as rows of its box], [those left out])}.

    A leaf is a row of the one node that uses it, once. A box with more than 2·most + 1 rows keeps
    the bias and the `most` most important weights and inputs (importance: {node: a number}).
    """
    users = {}
    for node in nodes:
        for child in node._children:
            users.setdefault(child, []).append(node)
    rows = {}
    for node in nodes:
        if not node._children:  # a leaf has no rows (a first-layer neuron's graph is 1,568 leaves)
            continue
        mine = [(c, letter) for c, letter, _ in _roles(node) if not c._children and len(users[c]) == 1]
        if not mine:
            continue
        shown = [c for c, _ in mine]
        if len(mine) > 2 * most + 1:
            weight = importance or {}
            shown = []
            for role in dict.fromkeys(letter for _, letter in mine):
                group = [c for c, letter in mine if letter == role]
                keep = set(sorted(group, key=lambda c: -abs(weight.get(c, 0.0)))[:most])
                shown += [c for c in group if c in keep]  # in the node's own order
        rows[node] = (shown, [c for c, _ in mine if c not in shown])
    return rows


def frame_dot(nodes, rows, cells, kinds=None, passing=(), grad_width=100, rankdir="BT"):
    """DOT for one frame. cells: {node: (name, op, value, grad lines)}, the words of each box (op
    may be ""); kinds: {node: "highlight" | "updated" | "parameter" | "data"}, its colour;
    passing: the (node, child) edges that carry gradient in this frame, drawn bold blue;
    grad_width: the widest grad line of any frame (text_width), so that every frame has the same widths."""
    kinds = kinds or {}
    in_a_box = {leaf for shown, _ in rows.values() for leaf in shown}
    hidden = {leaf for _, left_out in rows.values() for leaf in left_out}
    lines = [
        "digraph {",
        f'  graph [rankdir={rankdir} nodesep=0.12 ranksep=0.3 bgcolor="transparent"]',
        f'  node [shape=plain fontname="Helvetica" fontsize={FRAME_FONT}]',
        '  edge [dir=back arrowsize=1 color="#555555"]',
    ]
    # a cell's width includes its padding; and 10% to spare for a `dot` that measures with the real font
    grad_width = math.ceil(1.1 * grad_width) + 2 * 2
    for node in nodes:
        if node in in_a_box or node in hidden:
            continue
        kind = kinds.get(node)
        table = [_frame_row(cells[node], None, grad_width)]  # the box's own colour is the table's
        shown, left_out = rows.get(node, ((), ()))
        table += [_frame_row(cells[leaf], kinds.get(leaf) or kind and "white", grad_width) for leaf in shown]
        if left_out:
            fill = ' BGCOLOR="white"' if kind else ""
            table.append(f'<TR><TD COLSPAN="3" ALIGN="LEFT"{fill}>… and {len(left_out):,} more, like these</TD></TR>')
        colours = f'COLOR="{"black" if kind == "highlight" else "#888888"}"'  # one border width in every frame
        colours += f' BGCOLOR="{FRAME_FILL[kind]}"' if kind else ""
        label = f'<TABLE BORDER="2" {colours} CELLBORDER="0" CELLSPACING="0" CELLPADDING="2">{"".join(table)}</TABLE>'
        kind = f' class="{kind}"' if kind else ""
        lines.append(f'  "node-{node._id}" [id="node-{node._id}"{kind} label=<{label}>]')
    for node in nodes:
        if not node._children:
            continue
        for child in dict.fromkeys(node._children):
            if child in in_a_box or child in hidden:
                continue
            edge = f'"node-{child._id}" -> "node-{node._id}"'  # laid out forwards, drawn backwards
            style = ' class="passing" color="royalblue" penwidth=4' if (node, child) in passing else ""
            lines.append(f'  {edge} [id="edge-{node._id}-{child._id}"{style}]')
    lines.append("}")
    return "\n".join(lines)


def _frame_row(cell, kind, grad_width):
    name, op, value, grad = cell
    fill = f' BGCOLOR="{FRAME_FILL[kind]}"' if kind else ""
    title = html.escape(name)  # not bold: Graphviz sizes the boxes for the regular face
    if op:
        title += f' <FONT COLOR="#444444">{html.escape(op)}</FONT>'
    grads = "<BR/>".join(html.escape(line) for line in grad)
    return (f'<TR><TD ALIGN="LEFT"{fill}>{title}</TD><TD ALIGN="RIGHT"{fill}>{html.escape(value)}</TD>'
            f'<TD ALIGN="LEFT" WIDTH="{grad_width}"{fill}>{grads}</TD></TR>')
