"""How long Graphviz's `dot` takes to lay out our drawings, against the estimate draw() uses.

draw() suggests only the zoom levels that `dot` lays out in seconds, and warns with an estimate
when asked for more (autodiff/render.py, _layout_seconds). This script grounds that estimate: it
times `dot -Tsvg` on drawings of growing size (whole graphs of small MLPs, the summaries and the
focus view of the MNIST network) and prints each time beside the estimate.

Run from anywhere: python benchmarks/dot_layout.py [--largest N]
"""
import argparse
import re
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for autodiff and nn

from autodiff import draw  # noqa: E402
from autodiff.graph import topological_order  # noqa: E402
from autodiff.render import _layout_seconds  # noqa: E402
from nn.mlp import MLP  # noqa: E402

SMALL_MLPS = [(2, [4, 4, 1]), (4, [8, 8, 1]), (16, [16, 8, 2]), (32, [16, 16, 4]), (64, [16, 16, 10]), (100, [16, 16, 10])]


def boxes_and_ops(source):
    return len(re.findall(r'^\t"[^"]+" \[label=', source, re.M))


def dot_seconds(source, samples):
    """The fastest of a few runs of dot (noise only ever adds time); one run if it is slow."""
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        subprocess.run(["dot", "-Tsvg", "-o", "/dev/null"], input=source.encode(), check=True)
        times.append(time.perf_counter() - start)
        if times[-1] > 5:
            break
    return min(times)


def drawings(largest):
    for nin, sizes in SMALL_MLPS:
        out = MLP(nin, sizes)([0.5] * nin)
        drawing = draw(out, max_nodes=100_000)
        if boxes_and_ops(drawing.source) <= largest:
            yield f"MLP({nin}, {sizes}), every node", drawing
    mnist = MLP(784, [16, 16, 10])([0.5] * 784)
    coarse = draw(mnist)
    yield "MLP(784, [16, 16, 10]), one node per layer", coarse
    finer = int(re.search(r"max_nodes=(\d+)", coarse.source).group(1))
    yield f"MLP(784, ...), each neuron's weights (max_nodes={finer})", draw(mnist, max_nodes=finer)
    neuron = next(n for n in topological_order(*mnist) if n.op == "relu")
    yield "MLP(784, ...), focus on a first-layer neuron", draw(mnist, focus=neuron)


def main(largest, samples):
    if shutil.which("dot") is None:
        sys.exit("Graphviz's dot is not installed (apt-get install graphviz)")
    warnings.filterwarnings("ignore", message="draw: ")  # the warnings about slow layouts that we measure
    print(f"dot -Tsvg on our drawings, the fastest of {samples} runs; the estimate is draw()'s\n")
    print(f"{'drawing':<58}{'nodes':>7}{'dot':>10}{'estimate':>10}{'ratio':>7}")
    for name, drawing in drawings(largest):
        n = boxes_and_ops(drawing.source)
        measured, estimate = dot_seconds(drawing.source, samples), _layout_seconds(n)
        print(f"{name:<58}{n:>7,}{measured:>9.2f}s{estimate:>9.2f}s{measured / estimate:>7.2f}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--largest", type=int, default=2500, help="skip whole graphs with more boxes and ops than this")
    parser.add_argument("--samples", type=int, default=3, help="runs of dot per drawing")
    arguments = parser.parse_args()
    main(arguments.largest, arguments.samples)
