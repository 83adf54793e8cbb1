"""The demo's best recipe (--recipe best) trained by us and by PyTorch on the CPU, on the real MNIST.

Both train the same network from the same starting weights, with the same batches, the same
random shifts of the images, the same momentum and the same cosine decay of the learning rate,
one after the other in this process. It prints each one's test accuracy and seconds of training,
and our CPU seconds: with one BLAS thread, what the wall clock shows when a core is free.

    pip install -r benchmarks/requirements.txt     # torch==2.13.0, never a dependency of the package
    python benchmarks/recipe_vs_pytorch.py [--seeds 0 1 2] [--epochs N] [--torch-threads N]

The accuracies differ a little (float32 rounding in different orders grows over the run); the
times show what the recipe costs in each.
"""
import argparse
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the demo: see its comment; PyTorch keeps its own threads

import numpy as np  # noqa: E402

try:  # before the demo, which sets OMP_NUM_THREADS=1 for numpy: PyTorch keeps its default threads
    import torch
except ImportError:
    sys.exit("PyTorch is not installed: pip install -r benchmarks/requirements.txt")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nn import data as mnist  # noqa: E402
from nn.data import scaled, shuffled_batches  # noqa: E402
from nn.fast import FastMLP  # noqa: E402
from nn.optim import SGD  # noqa: E402
from nn.train import COSTS, cosine_rates, shifted, train  # noqa: E402
from nn.cli import RECIPES  # noqa: E402

RECIPE = RECIPES["best"]
BATCH = 100  # the demo's default batch size


def ours(net, data, epochs, seed):
    """Our trainer, as `train_mnist.py --recipe best` runs it; seconds of training, test accuracy, CPU seconds.

    With one BLAS thread, the CPU seconds are what the wall clock shows on a machine with a core to spare.
    """
    optimizer = SGD(net.parameters(), RECIPE["lr"], momentum=0.9)
    cpu = []

    def cpu_timed(batches, epoch):  # the CPU seconds of an epoch's batches, the scoring left out
        start = time.process_time()
        yield from batches
        cpu.append(time.process_time() - start)

    history = train(net, optimizer, COSTS["cross-entropy"], data, epochs, BATCH, seed, progress=cpu_timed,
                    lr_decay=RECIPE["lr_decay"], shift=RECIPE["shift"])
    return sum(figures["seconds"] for figures in history), history[-1]["test_accuracy"], sum(cpu)


def theirs(net, data, epochs, seed):
    """The same run in PyTorch: same weights, batches, shifts and learning rates."""
    train_images, train_labels, test_images, test_labels = data
    model = net.to_torch()  # the same layers and starting weights
    optimizer = torch.optim.SGD(model.parameters(), lr=RECIPE["lr"], momentum=0.9)
    labels = torch.from_numpy(train_labels)
    steps = math.ceil(len(train_images) / BATCH)
    seconds = 0.0
    for epoch in range(1, epochs + 1):
        rng = np.random.default_rng([seed, epoch])  # as our trainer draws them
        batches = shuffled_batches(len(train_images), BATCH, rng)
        rates = cosine_rates(RECIPE["lr"], (epoch - 1) * steps, steps, epochs * steps)
        start = time.perf_counter()
        for batch, rate in zip(batches, rates):
            inputs = torch.from_numpy(scaled(shifted(train_images[batch], RECIPE["shift"], rng), np.float32))
            for group in optimizer.param_groups:
                group["lr"] = rate
            loss = torch.nn.functional.cross_entropy(model(inputs), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        seconds += time.perf_counter() - start
    with torch.no_grad():
        guesses = model(torch.from_numpy(scaled(test_images, np.float32))).argmax(dim=1).numpy()
    return seconds, float(np.mean(guesses == test_labels)), None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, default=RECIPE["epochs"])
    parser.add_argument("--torch-threads", type=int, help="PyTorch's threads (default: its own choice)")
    args = parser.parse_args(argv)
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    data = mnist.load_mnist()
    print(f"--recipe best: {RECIPE}, {args.epochs} epochs; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; numpy 1 BLAS thread")
    print(f"{'seed':>4s} {'ours: accuracy':>15s} {'seconds':>8s} {'(CPU)':>7s} {'PyTorch: accuracy':>18s} "
          f"{'seconds':>8s} {'time ratio':>10s}")
    results = []
    for seed in args.seeds:
        runs = []
        for engine in (ours, theirs):
            torch.manual_seed(seed)
            net = FastMLP(784, RECIPE["hidden"] + [10], "relu", "linear", seed=seed, dtype=np.float32)
            runs.append(engine(net, data, args.epochs, seed))
        (our_seconds, our_accuracy, our_cpu), (their_seconds, their_accuracy, _) = runs
        results.append((our_accuracy, our_seconds, our_cpu, their_accuracy, their_seconds))
        print(f"{seed:4d} {our_accuracy:15.2%} {our_seconds:7.1f}s {our_cpu:6.1f}s {their_accuracy:18.2%} "
              f"{their_seconds:7.1f}s {our_seconds / their_seconds:10.2f}", flush=True)
    if len(results) > 1:
        mean = np.mean(results, axis=0)
        print(f"mean {mean[0]:15.2%} {mean[1]:7.1f}s {mean[2]:6.1f}s {mean[3]:18.2%} {mean[4]:7.1f}s "
              f"{mean[1] / mean[4]:10.2f}")


if __name__ == "__main__":
    main()
