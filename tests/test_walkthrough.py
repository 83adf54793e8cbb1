"""The walkthrough must say what the backward pass really did, in numbers a reader can check by hand."""
import contextlib
import html
import io
import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree

import graphviz
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pictures import gif_frames

from autodiff import Value, render, walkthrough
from autodiff.graph import topological_order
from autodiff.walkthrough import EXAMPLES, frames, leaf_gradients, local_rule, main, names, trainable, walk, write_html

REPO = Path(__file__).resolve().parent.parent

# An edge line ends "= <∂C/∂node> × <local derivative> = <contribution>"; negatives are bracketed.
# The first step's lines have no symbols before the numbers: ∂C/∂C · ∂C/∂x would read circularly.
EDGE = re.compile(r"^  ∂.+ \+?= (?:∂.+ · ∂.+ = )?(\S+) × (\S+) = (\S+)$")


def read(number):
    return float(number.strip("()"))


def close(shown, exact):
    """Equal to the 4 significant digits the text shows."""
    return math.isclose(shown, exact, rel_tol=1e-3, abs_tol=1e-12)


def explained_edges(text):
    """(∂C/∂node, local, contribution) for each chain-rule line of one step's explanation."""
    return [tuple(read(x) for x in EDGE.match(line).groups()) for line in text.splitlines() if EDGE.match(line)]


# --- an evaluator of the forward pass in plain floats, to differentiate numerically ---


def _weighted_sum(xs):
    n = (len(xs) - 1) // 2
    return sum(w * a for w, a in zip(xs[:n], xs[n : 2 * n])) + xs[-1]


FORWARD = {
    "+": lambda xs: xs[0] + xs[1],
    "-": lambda xs: xs[0] - xs[1],
    "*": lambda xs: xs[0] * xs[1],
    "**2": lambda xs: xs[0] ** 2,
    "sigmoid": lambda xs: 0.5 * (1.0 + math.tanh(xs[0] / 2)),  # the same function, never overflows
    "tanh": lambda xs: math.tanh(xs[0]),
    "w·x+b": _weighted_sum,
}


def evaluate(root, nudged=None, h=0.0):
    value = {}
    for node in topological_order(root):
        if node._children:
            value[node] = FORWARD[node.op]([value[child] for child in node._children])
        else:
            value[node] = node.data + (h if node is nudged else 0.0)
    return value[root]


def numerical_derivative(root, leaf, h=1e-6):
    return (evaluate(root, leaf, h) - evaluate(root, leaf, -h)) / (2 * h)


# --- random graphs in which nodes are used more than once ---


@st.composite
def graphs(draw):
    """A graph of +, -, *, sigmoid, tanh over a few labelled leaves; any node may be reused."""
    count = draw(st.integers(1, 4))
    nodes = [Value(draw(st.floats(-2, 2)), f"x{i}") for i in range(count)]
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["+", "-", "*", "sigmoid", "tanh"]))
        x = draw(st.sampled_from(nodes))
        if op in ("sigmoid", "tanh"):
            nodes.append(getattr(x, op)())
        else:
            y = draw(st.sampled_from(nodes))
            nodes.append({"+": x + y, "-": x - y, "*": x * y}[op])
    if not nodes[-1]._children:
        nodes.append(nodes[-1] * nodes[-1])
    return nodes[-1]


def check_walk(root):
    """Every number the text shows agrees with the Steps, and every leaf's shares add up to its derivative."""
    shares = {}
    seen = set()
    cost = names(topological_order(root))[root]
    cost = f"({cost})" if " " in cost else cost
    for step, text, _ in walk(root):
        lines = text.splitlines()
        if step.node is root:
            assert f"∂{cost}/∂{cost} ·" not in text  # the first step does not read in a circle
        assert "**" not in text  # mathematics, not Python
        explained = explained_edges(text)
        assert len(explained) == len(step.edges)
        for (grad, local, contribution), edge in zip(explained, step.edges):
            assert close(grad, step.grad) and close(local, edge.local)
            assert close(contribution, edge.local * step.grad)
            assert math.isclose(contribution, grad * local, rel_tol=2e-3, abs_tol=1e-12)  # the sum adds up
            shares.setdefault(edge.child, []).append(contribution)
        # a child that already had a share in this pass is said to have one, with that share's total
        notes = [line for line in lines if "from an earlier use" in line]
        earlier = []
        for edge in step.edges:
            if edge.child in seen:
                earlier.append(edge)
            seen.add(edge.child)
        assert len(notes) == len(earlier)
        for note, edge in zip(notes, earlier):
            assert f"had {edge.before:.4g} from an earlier use" in note
    # the shares were shown to 4 digits, and finite differences lose digits to the largest value
    scale = max(abs(node.data) for node in topological_order(root))
    for leaf, contributions in shares.items():
        if not leaf._children:
            tolerance = 1e-3 * (1 + sum(map(abs, contributions))) + 1e-8 * scale
            assert abs(sum(contributions) - numerical_derivative(root, leaf)) <= tolerance


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_explained_numbers_agree_with_the_steps_and_with_finite_differences(example):
    check_walk(EXAMPLES[example]())


@settings(max_examples=60, deadline=None)
@given(graphs())
def test_explained_numbers_agree_on_random_graphs_with_reuse(root):
    check_walk(root)


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def test_the_neuron_matches_the_video_formulas():
    """∂C/∂w(1)_00 = a(0)_0 · σ'(z) · 2(a - y), written out by hand."""
    root = EXAMPLES["neuron"]()
    leaf = {node.label: node.data for node in topological_order(root) if not node._children}
    z = leaf["w(1)_00"] * leaf["a(0)_0"] + leaf["w(1)_01"] * leaf["a(0)_1"] + leaf["b(1)_0"]
    a = sigmoid(z)
    by_hand = leaf["a(0)_0"] * a * (1 - a) * 2 * (a - leaf["y_0"])
    *_, (step, text, _) = walk(root)
    start = "  ∂C/∂w(1)_00 = ∂C/∂z(1)_0 · ∂z(1)_0/∂w(1)_00"
    line = next(line for line in text.splitlines() if line.startswith(start))
    assert close(read(line.rsplit("= ", 1)[1]), by_hand)


def test_in_the_network_a_hidden_activation_sums_the_wishes_of_both_outputs():
    """C = Σ_j (a(2)_j - y_j)² over two outputs, and ∂C/∂a(1)_k = Σ_j w(2)_jk σ'(z(2)_j) 2(a(2)_j - y_j),
    written out by hand."""
    root = EXAMPLES["network"]()
    v = {node.label: node.data for node in topological_order(root) if node.label}
    a1 = [sigmoid(v[f"w(1)_{j}0"] * v["a(0)_0"] + v[f"w(1)_{j}1"] * v["a(0)_1"] + v[f"b(1)_{j}"]) for j in (0, 1)]
    z2 = [v[f"w(2)_{j}0"] * a1[0] + v[f"w(2)_{j}1"] * a1[1] + v[f"b(2)_{j}"] for j in (0, 1)]
    a2 = [sigmoid(z) for z in z2]
    assert math.isclose(root.data, sum((a2[j] - v[f"y_{j}"]) ** 2 for j in (0, 1)))  # the cost sums both outputs
    wishes = {k: [v[f"w(2)_{j}{k}"] * a2[j] * (1 - a2[j]) * 2 * (a2[j] - v[f"y_{j}"]) for j in (0, 1)] for k in (0, 1)}
    texts = "\n".join(text for _, text, _ in walk(root))
    for k in (0, 1):
        assert all(abs(wish) > 1e-3 for wish in wishes[k])  # both outputs want something of it
        shares = [read(m) for m in re.findall(rf"^  ∂C/∂a\(1\)_{k} \+= .* = (\S+)$", texts, flags=re.MULTILINE)]
        assert len(shares) == 2 and all(any(close(s, w) for s in shares) for w in wishes[k])
        total = re.search(rf"∂C/∂a\(1\)_{k} = \S+ \+ \S+ = (\S+), complete, all 2 shares", texts)
        assert close(read(total.group(1)), sum(wishes[k]))


def test_the_last_word_of_a_graph_without_neurons_lists_every_leaf():
    a, b = Value(2.0, "a"), Value(-3.0, "b")
    c = a * b + b**2
    for _ in walk(c):
        pass
    lines = leaf_gradients(c).splitlines()
    # ∂c/∂a = b, ∂c/∂b = a + 2b; and the nudges the explorer speaks of, their negatives
    assert lines[1:] == ["  ∂(a·b + b²)/∂a = -3, nudge 3", "  ∂(a·b + b²)/∂b = -4, nudge 4"]


def test_rules_are_written_as_mathematics():
    assert local_rule("**2") == "∂(x²)/∂x = 2x"
    assert local_rule("**3") == "∂(x³)/∂x = 3x²"
    assert local_rule("**-1") == "∂(x⁻¹)/∂x = -x⁻²"
    assert local_rule("**0.5") == "∂(x^0.5)/∂x = 0.5·x^(-0.5)"
    name = names(topological_order(EXAMPLES["network"]()))
    assert "(a(2)_0 - y_0)²" in name.values()


SUPERSCRIPT_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")


def as_python(rule):
    """The right-hand side of a power rule, as a Python expression in x: 3x² -> 3*x**(2)."""
    expression = rule.split(" = ", 1)[1].replace("·", "*").replace("^", "**")
    expression = re.sub(r"([⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+)", lambda m: f"**({m.group(1).translate(SUPERSCRIPT_DIGITS)})", expression)
    return re.sub(r"(\d)x", r"\1*x", expression)


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.integers(-6, 6).map(float), st.floats(-4, 4).map(lambda n: round(n, 2))))
def test_a_power_rule_means_what_finite_differences_measure(n):
    x = 1.7
    rule = local_rule(f"**{n:g}")
    derivative = eval(as_python(rule), {"x": x})  # the rule as a reader would compute it by hand
    h = 1e-6
    assert math.isclose(derivative, ((x + h) ** n - (x - h) ** n) / (2 * h), rel_tol=1e-6, abs_tol=1e-8), rule


def test_every_interior_node_has_a_readable_name():
    x, y = Value(2.0, "x"), Value(3.0, "y")
    difference = x - y
    long = Value.weighted_sum([x, y], [y, x], difference)
    root = (long * 2).tanh()
    name = names(topological_order(root))
    assert name[difference] == "x - y"
    assert name[long] == f"w·x+b = {long.data:.4g}"  # too long to spell out: its op and value
    assert all(name[node] for node in name)


def test_bad_roots_get_clear_errors(tmp_path):
    with pytest.raises(TypeError, match="needs a Value"):
        next(walk(3.0))
    with pytest.raises(ValueError, match="is a leaf"):
        next(walk(Value(1.0, "w")))
    big = sum((Value(float(i)) for i in range(60)), Value(0.0))  # 121 values
    with pytest.raises(ValueError, match="would draw 121 values, too many to read .* step through it with walk"):
        write_html(big, tmp_path / "big.html")
    assert list(tmp_path.iterdir()) == []


def run(*args, columns=None, input=None):
    env = {**os.environ, **({"COLUMNS": str(columns)} if columns else {})}
    stdin = {"input": input} if input is not None else {"stdin": subprocess.DEVNULL}
    return subprocess.run(
        [sys.executable, "-m", "autodiff.walkthrough", *args],
        cwd=REPO, capture_output=True, text=True, encoding="utf-8", timeout=120, env=env, **stdin,
    )


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_the_command_line_prints_one_explanation_per_step(example):
    interior = sum(1 for node in topological_order(EXAMPLES[example]()) if node._children)
    result = run("--all", "--example", example)
    assert result.returncode == 0, result.stderr
    headers = re.findall(r"^Step (\d+) / (\d+):", result.stdout, flags=re.MULTILINE)
    assert headers == [(str(k), str(interior)) for k in range(1, interior + 1)]
    assert result.stdout.count("Done:") == 1


def test_the_command_line_does_not_wait_when_stdin_is_closed():
    result = run()  # no --all: it would wait for Enter, but stdin is at its end
    assert result.returncode == 0, result.stderr
    assert "Step 4 / 4:" in result.stdout and "Done:" in result.stdout


@pytest.mark.parametrize("columns", [40, 72])
def test_the_terminal_text_wraps_to_the_terminal_width(columns):
    result = run("--all", "--example", "network", columns=columns)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(map(len, lines)) <= columns
    assert max(map(len, lines)) >= columns - 12  # it fills the width, not some narrower default
    unwrapped = run("--all", "--example", "network", columns=10_000).stdout
    assert max(map(len, unwrapped.splitlines())) > 100  # so there was something to wrap
    assert result.stdout.split() == unwrapped.split()  # the same words, in the same order


class Keyboard:
    """A reader at the terminal: presses each key once the stepper waits, and notes what was shown by then."""

    def __init__(self, answers, out):
        self.answers, self.out, self.seen = list(answers), out, []

    def readline(self):
        self.seen.append(re.findall(r"^Step (\d+) /", self.out.getvalue(), flags=re.MULTILINE))
        return self.answers.pop(0) if self.answers else ""


def step(answers, monkeypatch, example="network"):
    out = io.StringIO()
    keyboard = Keyboard(answers, out)
    monkeypatch.setattr(sys, "stdin", keyboard)
    with contextlib.redirect_stdout(out):
        main(["--example", example])
    return keyboard.seen, out.getvalue()


def test_each_step_waits_for_its_key(monkeypatch):
    """Stepping shows step k only after the k-th key, then the leaves' gradients; at the end it waits on."""
    seen, shown = step(["n\n"] * 13 + ["\n", "q\n"], monkeypatch)
    assert [len(s) for s in seen] == list(range(1, 14)) + [13, 13]
    assert shown.count("\nStep ") == 13 and shown.count("Done:") == 2  # Enter at the end: the same page again
    assert "(this is the last step)" in shown


def test_the_reader_can_step_back_and_quit(monkeypatch):
    seen, shown = step(["n\n", "\n", "b\n", "p\n", "b\n", "x\n", "\n", "q\n", "\n"], monkeypatch)
    steps = re.findall(r"^Step (\d+) /", shown, flags=re.MULTILINE)
    assert steps == ["1", "2", "3", "2", "1", "1", "1", "2"]  # back at step 1 stays there; x is not understood
    assert "(this is the first step)" in shown and "('x'? )" in shown
    assert len(seen) == 8  # it stopped asking at q
    assert "Done:" not in shown


def test_the_reader_can_step_back_from_the_end(monkeypatch):
    seen, shown = step(["n\n"] * 4 + ["b\n", "q\n"], monkeypatch, example="neuron")
    steps = re.findall(r"^Step (\d+) /", shown, flags=re.MULTILINE)
    assert steps == ["1", "2", "3", "4", "4"] and shown.count("Done:") == 1


def test_each_step_shows_what_it_refers_to():
    """A step that says a child "had X from an earlier use" shows that child's gradient before and after, on its page."""
    root = EXAMPLES["network"]()
    shown = walkthrough.pages(root)
    notes = 0
    for page in shown[:-1]:
        for child, before, after in re.findall(r"\((\S+) had (\S+) from an earlier use: ∂C/∂\S+ = \S+ \+ \S+ = (\S+),",
                                               page):
            notes += 1
            neighbours = [line for line in page.splitlines() if line.startswith(f"  ← {child} ")]
            assert len(neighbours) == 1 and neighbours[0].rstrip().endswith(f"grad {before} → {after} (2 uses)")
    assert notes == 4  # a(1)_0, a(1)_1, a(0)_0, a(0)_1: each hears from its second user


@pytest.mark.parametrize("stdin", [None, "closed"])
def test_stepping_without_a_usable_stdin_shows_everything(monkeypatch, stdin):
    if stdin == "closed":
        stdin = io.StringIO()
        stdin.close()  # readline() raises ValueError
    monkeypatch.setattr(sys, "stdin", stdin)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main([])
    assert out.getvalue().count("\nStep ") == 4 and "Done:" in out.getvalue()


def tmux(*args):
    return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=30)


@pytest.mark.needs("tmux")
def test_single_keys_at_80_by_24_in_a_real_terminal(tmp_path):
    """In tmux at 80x24: n and b step without Enter; every screen fits 80 columns and shows its whole
    step, its header and neighbourhood included; b goes back from the end; q quits."""
    session = f"walkthrough-{os.getpid()}"
    command = f"cd {REPO} && {sys.executable} -m autodiff.walkthrough --example network; echo EXITED; sleep 30"
    assert tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", command).returncode == 0
    try:
        def screen():
            return tmux("capture-pane", "-p", "-t", session).stdout

        def wait_for(text):
            for _ in range(100):
                if text in screen():
                    return screen()
                time.sleep(0.1)
            raise AssertionError(f"{text!r} never showed; the screen:\n{screen()}")

        seen = {}
        seen[1] = wait_for("Step 1 / 13")
        for k in range(2, 14):
            tmux("send-keys", "-t", session, "n")  # a single key: no Enter
            seen[k] = wait_for(f"Step {k} / 13")
        tmux("send-keys", "-t", session, "n")
        last = wait_for("Done:")
        for k, shown in seen.items():
            lines = shown.rstrip("\n").splitlines()
            assert all(len(line) <= 80 for line in lines)
            assert lines[0].startswith(f"Step {k} / 13")  # the top of the step is on screen, not scrolled away
            assert "←" in shown and "q: quit]" in lines[-1]  # its neighbourhood, and at the bottom the keys
        assert "had " in seen[9] and "a(1)_0" in seen[9]
        tmux("send-keys", "-t", session, "b")
        assert wait_for("Step 13 / 13").splitlines()[0].startswith("Step 13 / 13")  # back from the end
        assert "Done:" in last
        tmux("send-keys", "-t", session, "q")
        wait_for("EXITED")
    finally:
        tmux("kill-session", "-t", session)


def test_the_quiz_refuses_a_wrong_answer_and_accepts_a_right_one():
    root = EXAMPLES["neuron"]()
    asks = [step["ask"] for step in walkthrough.stepper(EXAMPLES["neuron"](), summary=False)["steps"]]
    typed = []
    for ask in asks:  # a wrong answer first, then the right one as the steps show it (4 significant digits)
        typed += [str(ask["answer"] + 10 * ask["tolerance"] + 0.5), walkthrough.number(ask["answer"])]
    said = []
    right, asked = walkthrough.quiz(root, ask=lambda prompt: typed.pop(0), say=said.append)
    assert (right, asked) == (0, 4)  # every first answer was wrong
    assert sum("not " in line for line in said) == 4 and sum(line.startswith("right") for line in said) == 4
    root = EXAMPLES["neuron"]()
    right_away = [walkthrough.number(ask["answer"]) for ask in asks]
    assert walkthrough.quiz(root, ask=lambda prompt: right_away.pop(0), say=lambda line: None) == (4, 4)


def test_the_command_line_quiz_reads_answers_and_stops_at_the_end_of_input():
    asks = [step["ask"] for step in walkthrough.stepper(EXAMPLES["neuron"](), summary=False)["steps"]]
    answers = "".join(f"{walkthrough.number(ask['answer'])}\n" for ask in asks[:2]) + "oops\n\n"
    result = run("--quiz", input=answers)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("right: ") == 2 and "'oops' is not a number" in result.stdout
    assert "score: 2 / 3 right first time" in result.stdout  # the 4th question was never answered


# --- the questions: from the engine's own steps, on any graph ---


def displayed(x):
    """A number as the steps show it, read back."""
    return float(walkthrough.number(x))


@settings(max_examples=60, deadline=None)
@given(graphs())
def test_every_question_is_answerable_from_the_numbers_shown(root):
    """Each answer agrees with the engine; computed by hand from the 4-digit numbers the page shows,
    it is accepted; 2% off, it is refused."""
    data = walkthrough.stepper(root, summary=False)
    steps = [step for step, _, _ in walk(root)]
    for shown, step in zip(data["steps"], steps):
        ask = shown["ask"]
        edge = next(e for e in step.edges if math.isclose(
            ask["answer"], {"local": e.local, "share": e.contribution, "sum": e.after}[ask["kind"]], rel_tol=1e-12))
        if ask["kind"] == "local":
            by_hand = displayed(edge.local)
        elif ask["kind"] == "share":
            by_hand = displayed(step.grad) * displayed(edge.local)
            assert math.isclose(ask["answer"], step.grad * edge.local, rel_tol=1e-9, abs_tol=1e-12)
        else:
            by_hand = displayed(edge.before) + displayed(step.grad) * displayed(edge.local)
            assert edge.child.grad == edge.after  # the sum of its shares is its gradient, as backward() leaves it
        assert abs(by_hand - ask["answer"]) <= ask["tolerance"] or abs(ask["answer"]) < 1e-9
        # 2% of the largest number the learner works with is refused (a sum that nearly cancels is
        # known only as well as its terms: 2% of such a sum can be less than their rounding)
        terms = (ask["answer"], edge.before, edge.contribution) if ask["kind"] == "sum" else (ask["answer"],)
        scale = max(abs(x) for x in terms)
        if scale > 1e-6:
            assert 0.02 * scale > ask["tolerance"]


def test_a_node_used_twice_is_asked_for_the_sum_of_its_shares():
    """At each step where a shared node receives its last share (a hidden activation, an input),
    the question is that node's gradient, the sum of its shares: one question a step."""
    data = walkthrough.stepper(EXAMPLES["network"]())
    completing = [step for step, _, _ in walk(EXAMPLES["network"]())
                  if any(e.before != 0 and e.child.label.startswith("a(") for e in step.edges)]
    sums = [step["ask"] for step in data["steps"] if step.get("ask", {}).get("kind") == "sum"]
    assert len(sums) == len(completing) == 2  # z(2)_0 completes both a(1)_k, z(1)_0 both a(0)_k
    root = EXAMPLES["network"]()
    root.backward()
    finals = {node.label: node.grad for node in topological_order(root) if node.label}
    for ask in sums:
        label = re.match(r"(\S+) receives", ask["question"]).group(1)
        assert math.isclose(ask["answer"], finals[label], rel_tol=1e-12)


# --- frames and the page ---

SVG = "{http://www.w3.org/2000/svg}"


def drawn_values(svg):
    """{name: (the classes of its box, the fill behind its name, its grad lines)} for every value drawn,
    a box of its own or a row of another's; and {edge id: classes} for every edge."""
    values, edges = {}, {}
    for group in ElementTree.fromstring(svg).iter(f"{SVG}g"):
        classes = group.get("class", "").split()
        if "edge" in classes:
            edges[group.get("id")] = classes
        if not group.get("id", "").startswith("node-"):
            continue
        fill, cells = None, []  # each text, with the last cell background drawn before it
        for part in group:
            if part.tag == f"{SVG}polygon" and part.get("fill") not in (None, "none", "transparent"):
                fill = part.get("fill")
            elif part.tag == f"{SVG}text":
                cells.append(((part.text or "").strip(), fill, float(part.get("x")), float(part.get("y"))))
        left = min(x for _, _, x, _ in cells)
        names = [(text, background, y) for text, background, x, y in cells if x == left]  # the first column
        grads = [(text, y) for text, _, _, y in cells if text.startswith(GRAD_WORDS)]
        for text, background, y in names:
            mine = [g for g, gy in grads if min(names, key=lambda n: abs(n[2] - gy))[0] == text]
            values[text] = (classes, background, mine)
    return values, edges


GRAD_WORDS = ("grad", "so far", "no grad", "all ") + tuple(f"{k} of" for k in range(10))


@pytest.mark.needs("dot")
@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_each_frame_highlights_its_step_and_shows_each_gradient_so_far(example):
    """Each frame: its node gold, its children blue, the edges that carry the shares bold; every
    gradient final once all its uses passed their shares back, and before that its partial sum."""
    root = EXAMPLES[example]()
    pictures = frames(root)
    steps = [step for step, _, _ in walk(root)]
    assert len(pictures) == len(steps) + 1  # and a last frame with every leaf's gradient
    nodes = topological_order(root)
    name = names(nodes)
    parents = {node: [] for node in nodes}
    for node in nodes:
        for child in node._children:
            parents[child].append(node)
    received = {node: [] for node in nodes}  # the shares each node has had so far
    for step, (dot, explanation) in zip(steps, pictures):
        for edge in step.edges:
            received[edge.child].append(edge.contribution)
        svg = graphviz.Source(dot).pipe(format="svg", encoding="utf-8")
        values, edges = drawn_values(svg)
        me = step.node
        assert "highlight" in values[name[me]][0] and values[name[me]][1] == "gold"
        for child in me._children:
            assert values[name[child]][1] == "lightskyblue"  # a row or a box of its own, painted blue
        boxes = {n for n in nodes if f'"node-{n._id}" [id=' in dot}
        passing = {i for i, classes in edges.items() if "passing" in classes}
        assert passing == {f"edge-{me._id}-{child._id}" for child in me._children if child in boxes}
        assert explanation.startswith(f"Step {step.index + 1} / {len(steps)}:")
        for node in nodes:
            if node is root:
                continue
            shares, uses = received[node], len(parents[node])
            grad = values[name[node]][2]
            if len(shares) == uses:
                assert grad[0] == f"grad {walkthrough.number(node.grad)}"  # the final gradient
            elif shares:
                assert grad == [f"so far {walkthrough.number(sum(shares))}", f"{len(shares)} of {uses} shares"]
            else:
                assert grad[0] == "grad ?"


@pytest.mark.needs("dot")
@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_the_last_frame_gives_every_leaf_its_gradient_and_marks_what_training_changes(example):
    root = EXAMPLES[example]()
    dot, text = frames(root)[-1]
    values, _ = drawn_values(graphviz.Source(dot).pipe(format="svg", encoding="utf-8"))
    leaves = [node for node in topological_order(root) if not node._children]
    # independently of trainable(): the video's names say which leaves are weights and biases
    weights_and_biases = {leaf for leaf in leaves if leaf.label[0] in "wb"}
    assert trainable(root) == weights_and_biases and {leaf.label[0] for leaf in leaves} == {"w", "b", "a", "y"}
    for leaf in leaves:
        _, fill, grad = values[leaf.label]
        assert fill == ("palegreen" if leaf in weights_and_biases else "gainsboro")
        assert math.isclose(float(grad[0].split()[1]), numerical_derivative(root, leaf), rel_tol=1e-3, abs_tol=1e-4)
    changed, fixed = text.split("The inputs and targets")
    for leaf in leaves:
        line = f"  ∂C/∂{leaf.label} = {leaf.grad:.4g}, nudge {-leaf.grad:.4g}"
        assert line in (changed if leaf in weights_and_biases else fixed).splitlines()
    assert "gold" not in dot


def box(group):
    """The bounding box of a node's outer border (its cells' backgrounds are drawn inside it)."""
    points = [tuple(map(float, p.split(","))) for polygon in group.iter(f"{SVG}polygon")
              if polygon.get("fill") == "none" for p in polygon.get("points").split()]
    return min(x for x, _ in points), min(y for _, y in points), max(x for x, _ in points), max(y for _, y in points)


@pytest.mark.needs("dot")
@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_stepping_never_moves_a_box_and_no_edge_has_a_label(example):
    """Every frame (the quiz's too) has the same layout: stepping changes colours and numbers only.
    (The browser's Graphviz measures text as the frames do, and gives identical layouts, see
    test_walkthrough_browser.py; a system `dot` may measure with the real font: a point or two.)"""
    data = walkthrough.stepper(EXAMPLES[example]())
    dots = [step["dot"] for step in data["steps"]] + [step["ask"]["dot"] for step in data["steps"] if "ask" in step]
    layouts = []
    for dot in dots:
        assert not re.search(r"->[^\n]*\blabel=", dot)  # no edge labels to collide: a0, w0, b are in the boxes
        svg = ElementTree.fromstring(graphviz.Source(dot).pipe(format="svg", encoding="utf-8"))
        layouts.append({g.get("id"): box(g) for g in svg.iter(f"{SVG}g") if "node" in g.get("class", "").split()})
    for layout in layouts[1:]:
        assert layout.keys() == layouts[0].keys()
        for node, corners in layout.items():
            assert corners == pytest.approx(layouts[0][node], abs=8)


def test_a_neurons_many_weights_are_summarised_by_the_largest():
    inputs = [Value(0.01 * k, f"x{k}") for k in range(40)]
    weights = [Value((-1) ** k * 0.1, f"w{k}") for k in range(40)]
    z = Value.weighted_sum(weights, inputs, Value(0.0, "b")).sigmoid()
    data = walkthrough.stepper(z)
    dot = data["steps"][-2]["dot"]
    drawn = set(re.findall(r">([wxb]\d*)<", dot))
    # ∂C/∂wᵢ = xᵢ·∂C/∂z: the last four weights have the largest; ∂C/∂xᵢ = wᵢ·∂C/∂z, all as large: the first four
    assert drawn == {f"w{k}" for k in range(36, 40)} | {f"x{k}" for k in range(4)} | {"b"}
    assert "… and 72 more, like these" in dot


def page_steps(page):
    return json.loads(re.search(r"^startPage\((.*)\);$", page, flags=re.MULTILINE).group(1))


def test_the_page_is_self_contained_and_holds_every_frame(tmp_path):
    root = EXAMPLES["network"]()
    path = tmp_path / "steps.html"
    assert write_html(root, path) == 13
    page = path.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, flags=re.IGNORECASE)
    assert not re.search(r"<script[^>]*\ssrc\s*=|<link\b|<iframe\b|@import|url\(\s*['\"]?\s*(https?:)?//", page)
    steps = page_steps(page)["steps"]
    assert [(s["dot"], s["text"]) for s in steps] == frames(root)  # every frame, as DOT for the browser
    assert [s["caption"] for s in steps] == [f"step {k} / 13" for k in range(1, 14)] + ["all gradients"]
    assert render.renderer_script() in page  # and the Graphviz that lays them out, inline
    stepper_files = render.WEB / "stepper"
    assert (stepper_files / "stepper.css").read_text(encoding="utf-8") in page  # the view, the same files the explorer serves
    view = (stepper_files / "stepper.js").read_text(encoding="utf-8")
    assert view.replace('from "./slides.js"', "") != view  # its one import, slides.js, inline (its own import too)
    assert walkthrough._inlined(stepper_files / "stepper.js") in page
    assert walkthrough._inlined(stepper_files / "stepper.js").replace(re.search(r'"data:[^"]*"', page).group(0),
                                                                       '"./slides.js"') == view
    assert [p.name for p in tmp_path.iterdir()] == ["steps.html"]  # no temporary file left behind


def test_the_page_explains_its_notation_once(tmp_path):
    path = tmp_path / "steps.html"
    write_html(EXAMPLES["network"](), path)
    page = path.read_text(encoding="utf-8")
    notation = re.findall(r'<details id="notation".*?</details>', page, flags=re.DOTALL)
    assert len(notation) == 1
    for symbol in ("a(l)_k", "w(l)_jk", "b(l)_j", "z(l)_j", "y_j", "C", "∂C/∂x"):
        assert page.count(f"<b>{symbol}</b>") == notation[0].count(f"<b>{symbol}</b>") == 1  # defined once
    assert "−∂C/∂x" in notation[0]  # and the explorer's nudge, with its sign
    labels = {node.label for node in topological_order(EXAMPLES["network"]()) if node.label}
    assert all(re.fullmatch(r"[awbz]\(\d\)_\d+|y_\d|C", label) for label in labels)  # what it explains is what is drawn


def test_a_failed_drawing_leaves_the_old_page_alone(tmp_path, monkeypatch):
    path = tmp_path / "steps.html"
    path.write_text("the old page")

    def broken(*args, **kwargs):
        raise RuntimeError("dot crashed")

    monkeypatch.setattr(walkthrough, "frame_dot", broken)  # the drawing its frames are made with
    with pytest.raises(RuntimeError, match="dot crashed"):
        write_html(EXAMPLES["neuron"](), path)
    assert path.read_text() == "the old page"
    assert [p.name for p in tmp_path.iterdir()] == ["steps.html"]


def test_the_command_line_writes_the_page(tmp_path):
    path = tmp_path / "out.html"
    result = run("--html", str(path))
    assert result.returncode == 0, result.stderr
    assert len(page_steps(path.read_text(encoding="utf-8"))["steps"]) == 4 + 1


# --- a backward pass for slides ---


@pytest.mark.needs("dot")
def test_the_gif_has_a_frame_per_step_at_a_slides_width(tmp_path):
    from PIL import Image, ImageChops

    path = tmp_path / "steps.gif"
    result = run("--example", "network", "--gif", str(path), "--svg", str(tmp_path / "frames"))
    assert result.returncode == 0, result.stderr
    steps = len(walkthrough.stepper(EXAMPLES["network"]())["steps"])
    with Image.open(path) as gif:
        assert gif.n_frames == steps == 14 and gif.size[0] == walkthrough.SLIDE_WIDTH
        frames = []
        for k in range(gif.n_frames):
            gif.seek(k)
            frames.append(gif.convert("RGB"))
    assert all(frame.size == frames[0].size for frame in frames)
    assert all(ImageChops.difference(a, b).getbbox() for a, b in zip(frames, frames[1:]))  # each step shows something new
    # the graph's 18-point text at the slide's resolution, and the captions, are readable at 1024 px
    assert walkthrough.FRAME_FONT * walkthrough.SLIDE_DPI / 72 >= 14 and walkthrough.CAPTION_PX >= 14
    svgs = sorted((tmp_path / "frames").iterdir())
    assert [p.name for p in svgs] == [f"step-{k:02d}.svg" for k in range(1, steps + 1)]
    for svg, step in zip(svgs, walkthrough.stepper(EXAMPLES["network"]())["steps"]):
        root = ElementTree.parse(svg).getroot()
        captions = [t.text for t in root.findall(f"{SVG}text")]  # the step's words, under its drawing
        assert captions[0] == step["text"].splitlines()[0]
    assert len({layout(svg) for svg in svgs}) == 1 and len(layout(svgs[0])) > 10  # one layout: nodes do not jump


def path_without(folder, *programs):
    """A PATH whose folders hold every program this one's do, but `programs`: a machine without them."""
    folder.mkdir()
    for directory in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for entry in os.scandir(directory):
            if entry.name not in programs and not (folder / entry.name).exists():
                (folder / entry.name).symlink_to(entry.path)
    return str(folder)


@pytest.mark.needs("chromium")
def test_without_dot_the_slides_are_drawn_in_chromium(tmp_path):
    """No `dot` on the PATH: the command line lays out and draws the frames with the pages' own Graphviz in
    Chromium, and writes the same slides: a frame per step, one size, 1024 px wide, and the SVG frames."""
    from PIL import ImageChops

    env = {**os.environ, "PATH": path_without(tmp_path / "bin", "dot")}
    assert shutil_which("dot", env["PATH"]) is None and shutil_which("chromium", env["PATH"])
    path = tmp_path / "steps.gif"
    result = subprocess.run([sys.executable, "-m", "autodiff.walkthrough", "--example", "network", "--gif", str(path),
                             "--svg", str(tmp_path / "frames")], cwd=REPO, capture_output=True, text=True,
                            encoding="utf-8", timeout=180, env=env, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    steps = walkthrough.stepper(EXAMPLES["network"]())["steps"]
    frames, _ = gif_frames(path)
    assert len(frames) == len(steps) and {f.size for f in frames} == {frames[0].size}
    assert frames[0].size[0] == walkthrough.SLIDE_WIDTH
    assert all(ImageChops.difference(a, b).getbbox() for a, b in zip(frames, frames[1:]))
    svgs = sorted((tmp_path / "frames").iterdir())
    assert [p.name for p in svgs] == [f"step-{k:02d}.svg" for k in range(1, len(steps) + 1)]
    for svg, step in zip(svgs, steps):
        root = ElementTree.parse(svg).getroot()
        assert [t.text for t in root.findall(f"{SVG}text")][0] == step["text"].splitlines()[0]
        assert root.find(f".//{SVG}g[@class='graph']") is not None  # Graphviz's drawing, above the words
    assert len({layout(svg) for svg in svgs}) == 1  # nodes do not jump


def layout(svg):
    """Where each node's outline is in an SVG frame: (node id, its outline's points), in order."""
    root = ElementTree.parse(svg).getroot()
    return tuple((g.get("id"), g.find(f"{SVG}polygon[@fill='none']").get("points"))
                 for g in root.iter(f"{SVG}g") if (g.get("class") or "").startswith("node"))


@pytest.mark.needs("chromium", "dot")
def test_the_fallback_lays_out_the_frames_as_dot_does(monkeypatch):
    """The browser's Graphviz draws each frame at the size `dot` does, to within its estimate of the
    font's widths (a few percent), and at one size for every frame: nodes do not jump."""
    import io

    from PIL import Image

    data = walkthrough.stepper(EXAMPLES["network"]())
    by_dot = [Image.open(io.BytesIO(png)).size for png in walkthrough._dot_frames(data, "png")]
    real = walkthrough.shutil.which
    monkeypatch.setattr(walkthrough.shutil, "which", lambda name, *a, **k: None if name == "dot" else real(name, *a, **k))
    by_browser = [Image.open(io.BytesIO(png)).size for png in walkthrough._dot_frames(data, "png")]
    assert len(set(by_dot)) == len(set(by_browser)) == 1 and len(by_browser) == len(data["steps"])
    (w1, h1), (w2, h2) = by_dot[0], by_browser[0]
    assert abs(w2 / w1 - 1) < 0.08 and abs(h2 / h1 - 1) < 0.08, (by_dot[0], by_browser[0])


def shutil_which(name, path):
    import shutil

    return shutil.which(name, path=path)


def test_without_dot_or_chromium_the_slides_say_what_to_install(tmp_path):
    env = {**os.environ, "PATH": path_without(tmp_path / "bin", "dot", "chromium")}
    out = tmp_path / "out"
    out.mkdir()
    result = subprocess.run([sys.executable, "-m", "autodiff.walkthrough", "--gif", str(out / "steps.gif"),
                             "--svg", str(out / "frames")], cwd=REPO, capture_output=True, text=True,
                            encoding="utf-8", timeout=120, env=env, stdin=subprocess.DEVNULL)
    assert result.returncode == 1 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    for words in ("`dot`", "apt-get install graphviz", "chromium", "pip install playwright"):
        assert words in result.stderr
    assert list(out.iterdir()) == []  # nothing written


def test_without_dot_or_playwright_the_slides_say_what_to_install(tmp_path, monkeypatch):
    real = walkthrough.shutil.which
    monkeypatch.setattr(walkthrough.shutil, "which", lambda name, *a, **k: None if name == "dot" else real(name, *a, **k))
    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)  # import playwright.sync_api fails
    with pytest.raises(SystemExit) as stopped:
        main(["--gif", str(tmp_path / "steps.gif")])
    assert "pip install playwright" in str(stopped.value.code) and "apt-get install graphviz" in str(stopped.value.code)
    assert list(tmp_path.iterdir()) == []


def test_the_vendored_scripts_are_the_pinned_ones():
    """Each vendored file (the pages' Graphviz, the GIF encoder) matches the sha256 fetch.py pins, with its license beside it."""
    import hashlib
    import importlib.util

    vendor = REPO / "autodiff" / "web" / "vendor"
    spec = importlib.util.spec_from_file_location("vendor_fetch", vendor / "fetch.py")
    fetch = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fetch)
    assert {pin[3] for pin in fetch.PINNED} == {"viz-global.js", "gifenc.esm.js"}
    for package, version, _, name, sha256 in fetch.PINNED:
        assert hashlib.sha256((vendor / name).read_bytes()).hexdigest() == sha256, f"{name} is not {package}@{version}"
        assert version in (vendor / "README.md").read_text(encoding="utf-8") and sha256 in (vendor / "README.md").read_text(encoding="utf-8")
    assert (vendor / "LICENSE-gifenc-MIT.md").read_text(encoding="utf-8").startswith("The MIT License")


def test_the_stepper_page_carries_its_modules_inline():
    """The page opens from file://, which can import no file: slides.js and the GIF encoder ride in it as data: URLs."""
    import base64

    page = walkthrough._inlined(walkthrough.STEPPER / "stepper.js")
    assert 'from "./slides.js"' not in page and "../vendor/" not in page
    [slides] = re.findall(r'from "data:text/javascript;base64,([A-Za-z0-9+/=]+)"', page)
    slides = base64.b64decode(slides).decode("utf-8")
    assert "export async function walkAsGif" in slides
    [encoder] = re.findall(r'from "data:text/javascript;base64,([A-Za-z0-9+/=]+)"', slides)
    assert base64.b64decode(encoder) == (REPO / "autodiff" / "web" / "vendor" / "gifenc.esm.js").read_bytes()


def test_a_chromium_that_will_not_start_is_one_line_not_a_traceback(tmp_path):
    folder = Path(path_without(tmp_path / "bin", "dot", "chromium"))
    (folder / "chromium").write_text("#!/bin/sh\necho 'cannot open display' >&2\nexit 1\n")
    (folder / "chromium").chmod(0o755)
    out = tmp_path / "out"
    out.mkdir()
    result = subprocess.run([sys.executable, "-m", "autodiff.walkthrough", "--gif", str(out / "steps.gif")],
                            cwd=REPO, capture_output=True, text=True, encoding="utf-8", timeout=120,
                            env={**os.environ, "PATH": str(folder)}, stdin=subprocess.DEVNULL)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Chromium failed" in result.stderr, result.stderr
    assert list(out.iterdir()) == []


def test_a_slide_caption_says_how_many_chain_rule_lines_it_leaves_out():
    """The last frame has 16 gradients: its caption shows six and says how many more there are, never hides them."""
    from autodiff.walkthrough import EXAMPLES, slide_captions, stepper

    data = stepper(EXAMPLES["network"]())
    for step, caption in zip(data["steps"], slide_captions(data)):
        chain = [line for line in step["text"].splitlines()[1:] if line.startswith("  ∂")]
        shown = [line for line in caption if line.startswith("∂")]
        assert shown == [line.strip() for line in chain[:6]]
        if len(chain) > 6:
            assert caption[-1] == f"… and {len(chain) - 6} more, each on its node above"
        else:
            assert not caption[-1].startswith("…")
    assert any(len([line for line in s["text"].splitlines() if line.startswith("  ∂")]) > 6 for s in data["steps"])
