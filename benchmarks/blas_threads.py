"""numpy's BLAS threads chosen by nn/threads.py, against one thread and against PyTorch, free and with a core taken.

    pip install -r benchmarks/requirements.txt     # torch==2.13.0, never a dependency of the package
    python benchmarks/blas_threads.py [--epochs 2] [--samples 2] [--hidden 16 16 ...]   # --recipe best, or its layers changed

Each run is the real command in its own process, as a user starts it, on the real MNIST (cached by
the demo):
  - ours, threads following the machine: `python demos/train_mnist.py --recipe best` (nn.train.train
    asks nn/threads.py at every epoch);
  - ours, one thread: the same with OPENBLAS_NUM_THREADS=1, which nn/threads.py leaves alone;
  - PyTorch at its default threads: the same network, recipe, batches and starting weights
    (FastMLP.to_torch), in a process of its own (this script with --torch).
They take turns, in a rotating order, --samples times each; a run's time is its fastest epoch.
Then the same again with one core kept busy by a process this script starts (a Python loop).
Targets (issue 18): on a free machine ours following the machine within 1.0x PyTorch's time; with
a core taken, never slower than one thread. The load average is printed beside each state.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
BATCH = 100  # the demo's default


def load():
    return f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"


def ours(options, epochs, one_thread):
    """Fastest epoch's seconds of demos/train_mnist.py with these options."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    if one_thread:
        env["OPENBLAS_NUM_THREADS"] = "1"
    with tempfile.TemporaryDirectory() as out:
        metrics = Path(out) / "metrics.json"
        subprocess.run([sys.executable, "demos/train_mnist.py", *options, "--epochs", str(epochs), "--out", out,
                        "--metrics-json", str(metrics)], cwd=REPO, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return min(epoch["seconds"] for epoch in json.loads(metrics.read_text())["epochs"])


def pytorch(hidden, epochs):
    options = ["--hidden", *map(str, hidden)] if hidden else []
    output = subprocess.run([sys.executable, __file__, "--torch", "--epochs", str(epochs), *options],
                            cwd=REPO, check=True, capture_output=True, text=True).stdout
    return float(output.split()[-1])


def torch_run(args):
    """In its own process: PyTorch at its default threads on the recipe; prints the fastest epoch's seconds."""
    import numpy as np
    import torch

    from nn import data as mnist
    from nn.data import shuffled_batches
    from nn.fast import FastMLP
    from nn.train import cosine_rates
    from nn.cli import RECIPES
    from recipe_vs_pytorch import torch_steps  # after numpy is loaded, so its OPENBLAS_NUM_THREADS default changes nothing

    recipe = {**RECIPES["best"], "hidden": args.hidden or RECIPES["best"]["hidden"]}
    train_images, train_labels, _, _ = mnist.load_mnist()
    net = FastMLP(784, recipe["hidden"] + [10], recipe["activation"], "linear", seed=0, dtype=np.float32)
    model = net.to_torch()
    optimizer = torch.optim.SGD(model.parameters(), lr=recipe["lr"], momentum=0.9)
    labels = torch.from_numpy(train_labels)
    steps = math.ceil(len(train_images) / BATCH)
    best = math.inf
    for epoch in range(1, args.epochs + 1):
        rng = np.random.default_rng([0, epoch])
        rates = cosine_rates(recipe["lr"], (epoch - 1) * steps, steps, args.epochs * steps)
        start = time.perf_counter()
        torch_steps(model, optimizer, train_images, labels, shuffled_batches(len(train_images), BATCH, rng), rates,
                    rng, recipe["shift"])
        best = min(best, time.perf_counter() - start)
    print(f"torch {torch.__version__} {torch.get_num_threads()} threads: {best}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2, help="of each run; its fastest counts")
    parser.add_argument("--samples", type=int, default=2, help="runs of each, taking turns")
    parser.add_argument("--hidden", type=int, nargs="+", help="hidden sizes instead of the recipe's 512 512")
    parser.add_argument("--torch", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.torch:
        return torch_run(args)
    options = ["--recipe", "best"] + (["--hidden", *map(str, args.hidden)] if args.hidden else [])
    print(f"demos/train_mnist.py {' '.join(options)}: fastest of {args.epochs} epochs a run, {args.samples} runs each")
    print(f"{'state':38s} {'ours, following':>16s} {'ours, 1 thread':>15s} {'PyTorch':>8s}  "
          f"{'following/PyTorch':>17s} {'following/1 thread':>18s}")
    for busy in (False, True):
        spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
        try:
            time.sleep(1.0 if busy else 0)
            before = load()
            runs = {"following": [], "one": [], "torch": []}
            engines = [("following", lambda: ours(options, args.epochs, False)),
                       ("one", lambda: ours(options, args.epochs, True)),
                       ("torch", lambda: pytorch(args.hidden, args.epochs))]
            for sample in range(args.samples):
                for name, run in engines[sample % 3:] + engines[:sample % 3]:  # each goes first in turn
                    runs[name].append(run())
        finally:
            if spinner is not None:
                spinner.kill()
                spinner.wait()
        following, one, theirs = (min(runs[name]) for name in ("following", "one", "torch"))
        state = "a core kept busy" if busy else "the machine as it is"
        print(f"{state:38s} {following:15.2f}s {one:14.2f}s {theirs:7.2f}s  {following / theirs:12.2f} "
              f"{'<=1.0' if not busy else '     '} {following / one:13.2f}{' <=1.0' if busy else ''}"
              f"   ({before}, after: {load()})", flush=True)
        print(f"{'':38s} samples: {json.dumps({k: [round(v, 2) for v in vs] for k, vs in runs.items()})}")


if __name__ == "__main__":
    main()
