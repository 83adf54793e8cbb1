"""Drawings are rendered for real by Graphviz's `dot` and read back from the SVG it writes."""
import json
import re
import xml.etree.ElementTree as ET

import graphviz
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autodiff import Value
from autodiff.graph import creation_counter, topological_order
from autodiff import render
from autodiff.render import GraphvizNotFound, draw, save, to_svg
from nn.mlp import MLP

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg):
    """The SVG's nodes and edges: {id: (classes, [texts], fill)} and {'tail->head': [texts]}."""
    root = ET.fromstring(svg)
    nodes, edges = {}, {}
    for g in root.iter(SVG + "g"):
        classes = g.get("class", "").split()
        texts = [t.text for t in g.iter(SVG + "text")]
        if "node" in classes:
            shape = next(e for e in g if e.tag in (SVG + "polygon", SVG + "ellipse"))
            nodes[g.get("id")] = (classes, texts, shape.get("fill"))
        elif "edge" in classes:
            edges[g.find(SVG + "title").text] = texts
    title = "".join(t.text for t in root.find(SVG + "g").findall(SVG + "text"))
    return nodes, edges, title


def box(node):
    return f"node-{node._id}"


def op(node):
    return f"op-{node._id}"


@pytest.fixture
def expression():
    """e = a*b + c, with gradients worked out by hand: de/da = b, de/db = a, de/dc = 1."""
    a, b, c = Value(2.0, label="a"), Value(-3.0, label="b"), Value(10.0, label="c")
    d = a * b
    d.label = "d"
    e = d + c
    e.label = "e"
    e.backward()
    return a, b, c, d, e


@pytest.mark.needs("dot")
def test_every_value_shows_its_label_data_and_grad(expression):
    a, b, c, d, e = expression
    nodes, _, title = parse(to_svg(e))
    by_hand = {a: (2.0, -3.0), b: (-3.0, 2.0), c: (10.0, 1.0), d: (-6.0, 1.0), e: (4.0, 1.0)}
    for node, (data, grad) in by_hand.items():
        assert nodes[box(node)][1] == [node.label, f"data {data:.4f}", f"grad {grad:.4f}"]
    assert "Summarised" not in title


@pytest.mark.needs("dot")
def test_op_nodes_sit_between_a_value_and_its_children(expression):
    a, b, c, d, e = expression
    nodes, edges, _ = parse(to_svg(e))
    assert nodes[op(d)][1] == ["*"] and nodes[op(e)][1] == ["+"]
    expected = {f"{box(x)}->{op(d)}" for x in (a, b)} | {f"{box(x)}->{op(e)}" for x in (d, c)}
    expected |= {f"{op(d)}->{box(d)}", f"{op(e)}->{box(e)}"}
    assert set(edges) == expected
    assert set(nodes) == {box(x) for x in expression} | {op(d), op(e)}  # leaves have no op


@pytest.mark.needs("dot")
def test_the_drawing_runs_left_to_right(expression):
    a, b, c, d, e = expression
    svg = to_svg(e)
    x = {}
    for g in ET.fromstring(svg).iter(SVG + "g"):
        if "node" in g.get("class", ""):
            x[g.get("id")] = min(float(t.get("x")) for t in g.iter(SVG + "text"))
    assert x[box(a)] < x[op(d)] < x[box(d)] < x[op(e)] < x[box(e)]


@pytest.mark.needs("dot")
def test_a_weighted_sum_reads_as_w_x_plus_b():
    w = [Value(0.5), Value(-1.0), Value(2.0)]
    x = [Value(1.0), Value(3.0), Value(-2.0)]
    bias = Value(0.25)
    n = Value.weighted_sum(w, x, bias)
    nodes, edges, _ = parse(to_svg(n))
    assert nodes[op(n)][1] == ["w·x + b"]
    for i, (wi, xi) in enumerate(zip(w, x)):  # numbered from 0, as in the video
        assert edges[f"{box(wi)}->{op(n)}"] == [f"w{i}"]
        assert edges[f"{box(xi)}->{op(n)}"] == [f"a{i}"]
    assert edges[f"{box(bias)}->{op(n)}"] == ["b"]
    assert nodes[box(n)][1] == [f"data {0.5 * 1 - 1 * 3 + 2 * -2 + 0.25:.4f}", "grad 0.0000"]


@pytest.mark.needs("dot")
def test_highlight_marks_exactly_the_node_asked_for(expression):
    e = expression[-1]
    for chosen in expression:
        nodes, _, _ = parse(to_svg(e, highlight=chosen))
        marked = {name for name, (classes, _, _) in nodes.items() if "highlight" in classes}
        assert marked == {box(chosen)}
        assert nodes[box(chosen)][2] not in (None, "none")  # filled


@pytest.mark.needs("dot")
def test_highlight_takes_a_collection(expression):
    a, b, c, d, e = expression
    nodes, _, _ = parse(to_svg(e, highlight=[a, d]))
    assert {name for name, (classes, _, _) in nodes.items() if "highlight" in classes} == {box(a), box(d)}


@pytest.mark.needs("dot")
def test_grads_dict_shows_its_values_and_a_question_mark_for_the_rest(expression):
    a, b, c, d, e = expression
    nodes, _, _ = parse(to_svg(e, grads={e: 1.0, d: 0.25}))
    assert nodes[box(e)][1][-1] == "grad 1.0000"
    assert nodes[box(d)][1][-1] == "grad 0.2500"  # the dict's value, not d.grad
    for unknown in (a, b, c):
        assert nodes[box(unknown)][1][-1] == "grad ?"


@pytest.mark.needs("dot")
def test_record_characters_in_a_label_stay_in_one_field():
    v = Value(1.0, label='a|{b}<c>"d\\')
    nodes, _, _ = parse(to_svg(v))
    assert nodes[box(v)][1] == ['a|{b}<c>"d\\', "data 1.0000", "grad 0.0000"]


class FakeTensor:
    """Tensor's protocol for drawing: data an array, grad an array or 0.0, shape, children, op, label."""

    def __init__(self, data, children=(), op="", label=""):
        self.data = np.asarray(data, dtype=float)
        self.grad = 0.0 if children else np.zeros_like(self.data)
        self.shape = self.data.shape
        self._children, self.op, self.label = children, op, label
        self._id = next(creation_counter)


@pytest.mark.needs("dot")
def test_tensor_nodes_show_shapes_instead_of_numbers():
    w, x = FakeTensor(np.ones((3, 4)), label="W"), FakeTensor(np.ones((5, 4)), label="x")
    b = FakeTensor(np.ones(3))
    h = FakeTensor(np.ones((5, 3)), (w, x, b), "w·x+b")
    cost = FakeTensor(7.5, (h,), "sum", label="cost")
    nodes, edges, _ = parse(to_svg(cost, grads={cost: np.array(1.0), h: np.ones((5, 3))}))
    assert nodes[box(w)][1] == ["W", "shape (3, 4)", "grad ?"]
    assert nodes[box(b)][1] == ["shape (3,)", "grad ?"]
    assert nodes[box(h)][1] == ["shape (5, 3)", "grad (5, 3)"]
    assert nodes[box(cost)][1] == ["cost", "data 7.5000", "grad 1.0000"]  # a single number is shown
    assert [edges[f"{box(t)}->{op(h)}"] for t in (w, x, b)] == [["w"], ["a"], ["b"]]


@pytest.mark.needs("dot")
def test_a_real_tensor_graph_draws():
    tensor = pytest.importorskip("autodiff.tensor")
    x = tensor.Tensor(np.arange(6.0).reshape(2, 3), label="x")
    cost = (x * x).sum()
    cost.backward()
    nodes, _, _ = parse(to_svg(cost))
    assert nodes[box(x)][1] == ["x", "shape (2, 3)", "grad (2, 3)"]
    assert nodes[box(cost)][1] == [f"data {sum(i * i for i in range(6)):.4f}", "grad 1.0000"]


def values_drawn(nodes):
    """How many Values the boxes of a drawing stand for: one each, or the count a group names."""
    total = 0
    for name, (_, texts, _) in nodes.items():
        if name.startswith("op-"):
            continue
        count = re.match(r"…? ?([\d,]+) (weights|inputs|biases|values|more values)", texts[0])
        total += int(count.group(1).replace(",", "")) if name.startswith(("group-", "rest")) else 1
    return total


@pytest.fixture(scope="module")
def mnist_network_output():
    """MLP(784, [16, 16, 10]) applied to one image: 13,002 parameters, 784 inputs."""
    x = np.random.default_rng(0).uniform(0, 1, 784).tolist()
    return MLP(784, [16, 16, 10])(x)


@pytest.mark.needs("dot")
def test_a_network_too_big_to_read_is_summarised(mnist_network_output):
    nodes, _, title = parse(to_svg(mnist_network_output))
    assert len(nodes) <= 200
    assert "Summarised" in title
    texts = {t for _, ts, _ in nodes.values() for t in ts}
    assert {"784 inputs", f"{784 * 16:,} weights", f"{16 * 16:,} weights", f"{16 * 10:,} weights"} <= texts
    parameters = 784 * 16 + 16 + 16 * 16 + 16 + 16 * 10 + 10
    interior = 16 * 2 + 16 * 2 + 10  # w·x+b and relu in the hidden layers, w·x+b in the last
    assert values_drawn(nodes) == parameters + 784 + interior


def test_raising_max_nodes_draws_more(mnist_network_output):
    # counted in the DOT source: laying out a few hundred nodes takes dot several seconds
    def boxes_and_ops(drawing):
        return len(re.findall(r"^\t\"[^\"]+\" \[label=", drawing.source, re.M))

    summary, finer = draw(mnist_network_output), draw(mnist_network_output, max_nodes=300)
    assert boxes_and_ops(summary) < boxes_and_ops(finer) <= 300
    with pytest.warns(UserWarning, match=r"will take Graphviz's dot more than 10 minutes"):
        everything = draw(mnist_network_output, max_nodes=20_000)
    values = 784 * 16 + 16 + 16 * 16 + 16 + 16 * 10 + 10 + 784 + 16 * 2 + 16 * 2 + 10
    assert boxes_and_ops(everything) == values + 16 * 2 + 16 * 2 + 10  # one op per interior value
    assert "Summarised" not in everything.source


@pytest.mark.needs("dot")
@settings(max_examples=15, deadline=None)
@given(st.integers(min_value=3, max_value=120))
def test_every_limit_is_kept_and_no_value_is_lost(max_nodes):
    out = MLP(12, [5, 3], seed=1)([0.5] * 12)
    total = 12 * 5 + 5 + 5 * 3 + 3 + 12 + 5 * 2 + 3
    nodes, _, title = parse(to_svg(out, max_nodes=max_nodes))
    assert len(nodes) <= max_nodes
    assert values_drawn(nodes) == total
    assert ("Summarised" in title) == (max_nodes < total + 5 * 2 + 3)


@pytest.mark.needs("dot")
def test_a_long_chain_shows_the_part_nearest_the_root():
    x = Value(1.0, label="x")
    y = x
    for _ in range(300):
        y = y * 1.01
    nodes, _, title = parse(to_svg(y, max_nodes=50, highlight=x))
    assert len(nodes) <= 50 and "nearest the root" in title
    assert box(y) in nodes
    assert "highlight" in nodes["rest"][0]  # x is among the values not drawn
    assert values_drawn(nodes) == len(topological_order(y))


@pytest.mark.needs("dot")
def test_png_and_svg_files(expression, tmp_path):
    e = expression[-1]
    save(e, tmp_path / "graph.png")
    assert (tmp_path / "graph.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    save(e, tmp_path / "graph.svg", highlight=e)
    nodes, _, _ = parse((tmp_path / "graph.svg").read_text(encoding="utf-8"))
    assert "highlight" in nodes[box(e)][0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["graph.png", "graph.svg"]  # no temporary left
    with pytest.raises(ValueError, match=r"\.svg, \.png or \.html"):
        save(e, tmp_path / "graph.jpeg")


@pytest.mark.needs("dot")
def test_jupyter_shows_the_drawing_inline(expression):
    bundle = draw(expression[-1])._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"]


def test_without_dot_the_source_is_there_and_rendering_says_how_to_install(expression, tmp_path, monkeypatch):
    empty = tmp_path / "no-programs"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    e = expression[-1]
    drawing = draw(e)
    assert "data 4.0000" in drawing.source and "rankdir=LR" in drawing.source
    attempts = [
        lambda: drawing.pipe(format="svg"),
        lambda: drawing.render(tmp_path / "graph", format="png"),
        lambda: to_svg(e),
        lambda: save(e, tmp_path / "graph.svg"),
    ]
    for attempt in attempts:
        with pytest.raises(GraphvizNotFound) as error:
            attempt()
        assert isinstance(error.value, graphviz.ExecutableNotFound)
        message = str(error.value)
        assert "`dot` program was not found" in message
        assert "apt-get install graphviz" in message and "https://graphviz.org/download/" in message
    assert not (tmp_path / "graph.svg").exists()


def test_without_dot_jupyter_draws_in_the_browser_and_carries_the_renderer_once(expression, tmp_path, monkeypatch):
    empty = tmp_path / "no-programs"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setattr(render, "_renderer_sent", False)  # a fresh kernel
    library = render._packed_renderer()
    first, second = draw(expression[-1]), draw(expression[0])
    outputs = [first._repr_mimebundle_(), second._repr_mimebundle_(), first._repr_mimebundle_()]
    for drawing, bundle in zip([first, second, first], outputs):
        assert set(bundle) == {"text/html", "text/plain"} and bundle["text/plain"] == drawing.source
        assert json.dumps(drawing.source).replace("<", "\\u003c") in bundle["text/html"]  # its own graph
    assert [library in bundle["text/html"] for bundle in outputs] == [True, False, False]
    assert len(outputs[1]["text/html"]) < len(first.source) + 2000  # a later drawing is its DOT and a little script


def test_an_html_file_needs_no_dot(expression, tmp_path, monkeypatch):
    empty = tmp_path / "no-programs"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    save(expression[-1], tmp_path / "graph.html")
    page = (tmp_path / "graph.html").read_text(encoding="utf-8")
    assert render.renderer_script() in page and json.dumps(draw(expression[-1]).source) in page
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == ["graph.html"]


def test_bad_arguments_are_named(expression):
    e = expression[-1]
    with pytest.raises(TypeError, match="root must be a Value or Tensor"):
        draw(3.0)
    with pytest.raises(TypeError, match="root must be"):
        draw([])
    with pytest.raises(TypeError, match="highlight must be"):
        draw(e, highlight="e")
    with pytest.raises(TypeError, match="grads must be None or a dict"):
        draw(e, grads=[1.0])
    with pytest.raises(ValueError, match="max_nodes must be an integer of at least 3"):
        draw(e, max_nodes=2)


# --- micrograd's drawing habits ---


def test_draw_takes_micrograds_draw_dot_arguments(expression):
    from autodiff import draw_dot

    e = expression[-1]
    assert draw_dot is draw
    default = draw_dot(e)
    assert default.format == "svg" and "rankdir=LR" in default.source  # micrograd's defaults
    positional = draw_dot(e, "png", "TB")  # micrograd's order: draw_dot(root, format, rankdir)
    assert positional.format == "png" and "rankdir=TB" in positional.source
    with pytest.raises(ValueError, match="unknown format 'svgz2'"):
        draw(e, format="svgz2")
    with pytest.raises(ValueError, match="rankdir must be one of LR, TB"):
        draw(e, rankdir="left")


@pytest.mark.needs("dot")
def test_render_writes_svg_by_default(expression, tmp_path):
    path = draw(expression[-1]).render(tmp_path / "graph")
    assert path.endswith(".svg")
    nodes, _, _ = parse(open(path, encoding="utf-8").read())
    assert box(expression[-1]) in nodes


@pytest.mark.needs("dot")
def test_rankdir_tb_runs_top_to_bottom(expression):
    a, b, c, d, e = expression
    y = {}
    for g in ET.fromstring(to_svg(e, rankdir="TB")).iter(SVG + "g"):
        if "node" in g.get("class", ""):
            y[g.get("id")] = min(float(t.get("y")) for t in g.iter(SVG + "text"))
    assert y[box(a)] < y[op(d)] < y[box(d)] < y[op(e)] < y[box(e)]  # SVG's y grows downwards


NOT_COMPUTED = "Gradients not computed yet"


@pytest.mark.needs("dot")
def test_a_drawing_before_backward_says_the_gradients_are_not_computed():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    L = a * b + b
    assert NOT_COMPUTED in parse(to_svg(L))[2]
    L.backward()
    assert NOT_COMPUTED not in parse(to_svg(L))[2]


def test_which_drawings_say_the_gradients_are_not_computed():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    L = a * b
    assert NOT_COMPUTED in draw(L).source
    assert NOT_COMPUTED not in draw(L, grads={L: 1.0}).source  # stepping shows its own gradients
    L.grad = 1.0  # the lecture's backpropagation by hand: a gradient is there
    assert NOT_COMPUTED not in draw(L).source
    tensor = pytest.importorskip("autodiff.tensor")
    x = tensor.Tensor(np.ones((2, 2)))
    cost = (x * x).sum()
    assert NOT_COMPUTED in draw(cost).source
    cost.backward()
    assert NOT_COMPUTED not in draw(cost).source


# --- large graphs: zoom levels that dot lays out in seconds ---


def note_of(drawing):
    return re.search(r'graph \[label="(.*?)" labelloc', drawing.source).group(1)


def test_the_summary_suggests_only_limits_dot_lays_out_in_seconds(mnist_network_output):
    from autodiff.render import FAST_SECONDS, _layout_seconds

    note = note_of(draw(mnist_network_output))
    suggested = [int(n) for n in re.findall(r"max_nodes=(\d+)", note)]
    assert suggested and all(_layout_seconds(n) <= FAST_SECONDS for n in suggested)
    full = len(topological_order(*mnist_network_output)) + 16 * 2 + 16 * 2 + 10
    assert f"every node ({full:,}) would take dot more than 10 minutes" in note
    assert "focus=node" in note
    for n in suggested:  # each suggestion draws what it says, without cutting the graph short
        finer = note_of(draw(mnist_network_output, max_nodes=n))
        assert "nearest the root" not in finer and f"drawn as {n:,}." in finer


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 40), st.lists(st.integers(1, 12), min_size=1, max_size=3), st.integers(3, 300))
def test_no_suggested_limit_is_slow_and_a_slow_one_warns(nin, sizes, max_nodes):
    import warnings

    from autodiff.render import FAST_SECONDS, _layout_seconds

    out = MLP(nin, sizes, seed=2)([0.5] * nin)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        drawing = draw(out, max_nodes=max_nodes)
    drawn = len(re.findall(r'^\t"[^"]+" \[label=', drawing.source, re.M))
    assert bool(caught) == (_layout_seconds(drawn) > FAST_SECONDS)
    for n in map(int, re.findall(r"max_nodes=(\d+)", drawing.source)):
        assert _layout_seconds(n) <= FAST_SECONDS


def focus_on_a_hidden_neuron(network_output):
    """The 5th neuron of the second hidden layer: its activation, as the network computed it."""
    nodes = topological_order(*network_output)
    second_layer = [n for n in nodes if n.op == "relu" and any(c.op == "relu" for c in n._children[0]._children)]
    return second_layer[4]


@pytest.mark.needs("dot")
def test_focus_draws_one_neurons_neighbourhood(mnist_network_output):
    neuron = focus_on_a_hidden_neuron(mnist_network_output)
    weighted_sum = neuron._children[0]
    users = [n for n in topological_order(*mnist_network_output) if neuron in n._children]
    assert len(users) == 10  # the output layer's weighted sums
    nodes, edges, title = parse(to_svg(mnist_network_output, focus=neuron))
    assert len(nodes) <= 200 and "within 2 steps of the focus" in title
    assert {name for name, (classes, _, _) in nodes.items() if "highlight" in classes} == {box(neuron)}
    for near in [neuron, weighted_sum, *weighted_sum._children, *users]:  # its inputs and its users, one by one
        assert box(near) in nodes
    i = weighted_sum._children.index(neuron._children[0]._children[0])  # its first weight
    assert edges[f"{box(weighted_sum._children[i])}->{op(weighted_sum)}"] == [f"w{i}"]
    assert values_drawn(nodes) == len(topological_order(*mnist_network_output))  # the rest is summarised, not lost


def test_focus_must_be_in_the_graph(expression):
    e = expression[-1]
    with pytest.raises(ValueError, match="focus must be a node of the graph being drawn"):
        draw(e, focus=Value(1.0))
    with pytest.raises(ValueError, match="focus must be a node"):
        draw(e, focus="a")
    assert "Summarised" not in draw(e, focus=expression[0]).source  # a small graph is all near: drawn whole
