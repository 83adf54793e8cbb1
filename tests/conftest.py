"""Shared test settings and helpers: hypothesis profiles, finite differences, random expression graphs.

Run more examples with `HYPOTHESIS_PROFILE=ci python3 -m pytest` (or `--hypothesis-profile=ci`).
"""
import operator
import os
import shutil
from dataclasses import dataclass

# One BLAS thread for the tests, whatever the machine's load: on a shared 2-core machine, BLAS threads
# waiting for each other made small-matrix training up to 10 times slower. nn/threads.py, which
# chooses the count for the demo and the explorer, leaves a thread count set here alone.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import pytest

from hypothesis import HealthCheck, assume, settings
from hypothesis import strategies as st

from autodiff import Value

# No deadlines: a slow example on a busy 2-core machine is not a failure.
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("ci", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
    config.addinivalue_line("markers", "needs(program): skip without this system program (dot, chromium)")


# --- system programs: a fresh machine skips what needs them, CI must not ---
#
# Graphviz's `dot` and Chromium are system programs, not Python packages: `make test` on a machine
# with only Python passes, skipping the tests that need them and saying why (-rs). CI installs both
# and sets SEEBACKPROP_STRICT=1, which turns those skips into failures: rendering and the browser
# are tested for real there, never passed by skipping.

STRICT = os.environ.get("SEEBACKPROP_STRICT", "") not in ("", "0")
INSTALL_HINTS = {"dot": "apt-get install graphviz", "chromium": "apt-get install chromium", "tmux": "apt-get install tmux"}


def missing(what):
    """Skip, saying what is missing; under SEEBACKPROP_STRICT=1 (CI) fail instead."""
    if STRICT:
        pytest.fail(f"{what}, and SEEBACKPROP_STRICT=1 says this machine must have it", pytrace=False)
    pytest.skip(what)


def require_program(name):
    """The path of a system program, or a skip (a failure under SEEBACKPROP_STRICT=1)."""
    path = shutil.which(name)
    if path is None:
        missing(f"needs the system program `{name}` ({INSTALL_HINTS.get(name, 'not installed')})")
    return path


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium, driven by playwright (autodiff/chromium.py): one for the whole run."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the python package playwright is not installed")
    from autodiff import chromium

    path = require_program("chromium")
    with sync_playwright() as p:
        browser = chromium.launch(p, path)
        yield browser
        browser.close()


def pytest_runtest_setup(item):
    for marker in item.iter_markers("needs"):
        for name in marker.args:
            require_program(name)


# --- finite differences: the independent reference for every derivative ---
#
# The central difference (f(x+h) - f(x-h)) / 2h has two errors:
#   truncation  h²/6 · |f'''|          (shrinks with h)
#   rounding    ε · |f| / h, ε ≈ 2.2e-16 (grows as h shrinks: f(x±h) are each rounded)
# h = 1e-6 · max(1, |x|) sits near the best trade-off (ε^(1/3) ≈ 6e-6) and scales with x, so that
# x ± h really differ from x. Then rounding costs about 2e-10 · |f|, which ATOL · scale covers with
# a margin of 50 when `scale` is the size of the values computed (for a graph: its largest value,
# since intermediate values are rounded too); truncation costs about 1e-12 · |f'''|, which
# RTOL · |f'| covers wherever |f'''| < 1e6 · |f'|: the strategies keep each op far enough from
# poles (log and 1/x at 0) and kinks (relu at 0) for that to hold. Over 5,000 random graphs the
# worst error measured was 1.3% of this tolerance; a wrong derivative is off by a factor or a sign.
STEP = 1e-6
RTOL = 1e-6
ATOL = 1e-8


def central_difference(f, x):
    """d f / d x at x, estimated from two evaluations of f."""
    h = STEP * max(1.0, abs(x))
    up, down = x + h, x - h
    return (f(up) - f(down)) / (up - down)  # up - down: the step the floats really took


def assert_close_to_fd(analytic, numeric, scale, what=""):
    """`scale`: the size of the values f computes, which sets how much rounding to allow."""
    tolerance = RTOL * abs(numeric) + ATOL * scale + 1e-300  # and subnormal floats have few digits
    assert abs(analytic - numeric) <= tolerance, (
        f"{what}: backward() gives {analytic!r}, finite differences {numeric!r} (tolerance {tolerance:.2g})"
    )


# --- random expression graphs that reuse nodes ---
#
# A graph is a recipe: leaf values, then ops. Op i takes the newest node as its first operand, so the
# root depends on every op, and picks its other operands from ANY earlier node, leaves included:
# nodes are shared, so a node's gradient must sum contributions along several paths (a DAG).
# The recipe can be replayed with other leaf values, which is what finite differences need.
#
# Ops with a restricted domain are fed something always inside it (log(a² + 1), b / (a² + 1),
# (a² + 1) ** b), so every recipe is valid; relu's kink is handled in the tests (see kinks).


def _weighted_sum(w1, x1, w2, x2, b):
    return Value.weighted_sum([w1, w2], [x1, x2], b)


GRAPH_OPS = {  # name: (number of operands, how to compute it from Values)
    "+": (2, operator.add),
    "-": (2, operator.sub),
    "*": (2, operator.mul),
    "/": (2, lambda a, b: b / (a * a + 1)),
    "**": (2, lambda a, b: (a * a + 1) ** b),  # a Value exponent
    "w·x+b": (5, _weighted_sum),
    "neg": (1, operator.neg),
    "exp": (1, Value.exp),
    "log": (1, lambda a: (a * a + 1).log()),
    "tanh": (1, Value.tanh),
    "sigmoid": (1, Value.sigmoid),
    "relu": (1, Value.relu),
    "**3": (1, lambda a: a**3),
    "**-0.5": (1, lambda a: (a * a + 1) ** -0.5),
    "3+": (1, lambda a: 3 + a),  # the reflected ops, with an int and with a float
    "1-": (1, lambda a: 1 - a),
    "2*": (1, lambda a: 2 * a),
    "2/": (1, lambda a: 2.0 / (a * a + 1)),
    "2**": (1, lambda a: 2**a),
}

LARGEST = 100.0  # graphs whose values exceed this are rejected: finite differences lose precision


@dataclass(frozen=True)
class Graph:
    leaf_values: tuple  # floats
    ops: tuple  # (name, operand indices into the nodes built so far)

    def build(self, leaf_values=None):
        """Fresh Values for the recipe: (leaves, all nodes with the root last, relu input signs)."""
        leaves = [Value(x) for x in (leaf_values or self.leaf_values)]
        nodes, relu_signs = list(leaves), []
        for name, operands in self.ops:
            args = [nodes[i] for i in operands]
            if name == "relu":
                relu_signs.append(args[0].data > 0)
            nodes.append(GRAPH_OPS[name][1](*args))
        return leaves, nodes, tuple(relu_signs)

    def __repr__(self):  # readable when hypothesis reports a failing example
        lines = [f"x{i} = {x!r}" for i, x in enumerate(self.leaf_values)]
        n = len(self.leaf_values)
        lines += [f"n{n + i} = {name}{operands}" for i, (name, operands) in enumerate(self.ops)]
        return "Graph:\n  " + "\n  ".join(lines)


@st.composite
def graphs(draw, max_leaves=4, max_ops=12):
    leaf_values = draw(st.lists(st.floats(-2.0, 2.0), min_size=1, max_size=max_leaves))
    ops = []
    for i in range(draw(st.integers(1, max_ops))):
        newest = len(leaf_values) + i - 1
        name = draw(st.sampled_from(sorted(GRAPH_OPS)))
        others = [draw(st.integers(0, newest)) for _ in range(GRAPH_OPS[name][0] - 1)]
        ops.append((name, (newest, *others)))
    return Graph(tuple(leaf_values), tuple(ops))


def built(graph):
    """graph.build(), rejecting (for hypothesis) recipes whose values overflow or grow too large."""
    try:
        leaves, nodes, kinks = graph.build()
    except OverflowError:
        assume(False)
    assume(max(abs(n.data) for n in nodes) <= LARGEST)
    return leaves, nodes, kinks
