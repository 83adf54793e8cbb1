"""demos/nudges.py on a wide network: the fast path (as it runs) against the scalar engine throughout.

    python benchmarks/nudges.py [--model runs/recipe/model.npz] [--repeat N]

The demo builds a network of more than nudges.SCALAR_LIMIT parameters as Tensors, not Values. This
times the demo's main() on the same model and example both ways, alternating, as a user runs it
(pictures included), and prints the fastest of N runs each, their ratio and the load
average beside them.
"""
import argparse
import importlib.util
import io
import os
import time
from contextlib import redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = importlib.util.spec_from_file_location("nudges_demo", ROOT / "demos" / "nudges.py")
demo = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(demo)


def run(model, out, scalar_limit):
    demo.SCALAR_LIMIT = scalar_limit
    start = time.perf_counter()
    with redirect_stdout(io.StringIO()) as text:
        demo.main(["--model", model, "--out", out])
    return time.perf_counter() - start, text.getvalue()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="runs/recipe/model.npz")
    parser.add_argument("--out", default="runs/nudges-benchmark")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    ways = {"fast path (as shipped)": demo.SCALAR_LIMIT, "scalar engine throughout": 10**12}
    times = {way: [] for way in ways}
    for _ in range(args.repeat):
        for way, limit in ways.items():
            seconds, text = run(args.model, args.out, limit)
            times[way].append(seconds)
            assert "does NOT match" not in text and ("scalar engine's backward" in text) == (limit > 10**9), text[:400]
    print(f"demos/nudges.py --model {args.model}, fastest of {args.repeat}; load average {os.getloadavg()[0]:.1f}")
    reference = min(times["scalar engine throughout"])
    for way in ways:
        print(f"  {way:<26} {min(times[way]):6.2f} s  {min(times[way]) / reference:5.2f}x")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
