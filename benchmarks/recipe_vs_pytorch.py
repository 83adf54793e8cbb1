"""The demo's best recipe (--recipe best) trained by us and by PyTorch on the CPU, on the real MNIST.

All train the same network from the same starting weights, with the same batches, the same
random shifts of the images, the same momentum and the same cosine decay of the learning rate:
ours as `train_mnist.py --recipe best` trains it (nn.train.train, the recorded step replayed),
PyTorch with its default threads, and PyTorch with one thread, as numpy has. They take turns an
epoch at a time (PyTorch's two settings in alternating order), so a change of load hits all three
alike; each epoch prints a line as it ends. At the end: each one's test accuracy and seconds of
training, the ratios, and the load average.

    pip install -r benchmarks/requirements.txt     # torch==2.13.0, never a dependency of the package
    python benchmarks/recipe_vs_pytorch.py [--seeds 0 1 2] [--epochs N]

The accuracies differ a little (float32 rounding in different orders grows over the run); the
times show what the recipe costs in each. --epochs N shortens the cosine schedule to N epochs.
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


def torch_run(net, threads):
    """A PyTorch copy of net (same layers and starting weights), its optimizer, and its thread count."""
    model = net.to_torch()
    return {"model": model, "optimizer": torch.optim.SGD(model.parameters(), lr=RECIPE["lr"], momentum=0.9),
            "threads": threads, "seconds": []}


def torch_steps(model, optimizer, images, labels, batches, rates, rng, shift):
    """PyTorch's steps of the recipe over these batches, with the shifts (drawn from rng) and learning rates
    our trainer uses for them. blas_threads.py runs it too."""
    for batch, rate in zip(batches, rates):
        inputs = torch.from_numpy(scaled(shifted(images[batch], shift, rng), np.float32))
        for group in optimizer.param_groups:
            group["lr"] = rate
        loss = torch.nn.functional.cross_entropy(model(inputs), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def torch_epoch(run, data, epoch, epochs, seed):
    """One epoch of the same run in PyTorch: the batches, shifts and learning rates our trainer draws for it."""
    train_images, train_labels = data[0], data[1]
    model, optimizer, labels = run["model"], run["optimizer"], torch.from_numpy(train_labels)
    steps = math.ceil(len(train_images) / BATCH)
    rng = np.random.default_rng([seed, epoch])  # as our trainer draws them
    batches = shuffled_batches(len(train_images), BATCH, rng)
    rates = cosine_rates(RECIPE["lr"], (epoch - 1) * steps, steps, epochs * steps)
    threads = torch.get_num_threads()
    torch.set_num_threads(run["threads"])
    try:
        time.sleep(0.1)  # the other setting's worker threads stop spinning on our cores
        start = time.perf_counter()
        torch_steps(model, optimizer, train_images, labels, batches, rates, rng, RECIPE["shift"])
        run["seconds"].append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)


def torch_accuracy(run, data):
    with torch.no_grad():
        guesses = run["model"](torch.from_numpy(scaled(data[2], np.float32))).argmax(dim=1).numpy()
    return float(np.mean(guesses == data[3]))


def one_seed(data, epochs, seed, default_threads):
    """Ours, PyTorch with its threads and PyTorch with one, an epoch each in turn; their figures."""
    torch.manual_seed(seed)
    net = FastMLP(784, RECIPE["hidden"] + [10], "relu", "linear", seed=seed, dtype=np.float32)
    runs = [torch_run(net, default_threads), torch_run(net, 1)]  # copies of the starting weights, before we train

    def after_our_epoch(history):
        epoch = history[-1]["epoch"]
        for run in runs if epoch % 2 else runs[::-1]:
            torch_epoch(run, data, epoch, epochs, seed)
        print(f"  seed {seed}, epoch {epoch:2d}/{epochs}: ours {history[-1]['seconds']:5.1f}s, PyTorch "
              f"{runs[0]['seconds'][-1]:5.1f}s ({default_threads} threads), {runs[1]['seconds'][-1]:5.1f}s (1 thread)"
              f"   load {os.getloadavg()[0]:.1f}", flush=True)

    history = train(net, SGD(net.parameters(), RECIPE["lr"], momentum=0.9), COSTS["cross-entropy"], data, epochs,
                    BATCH, seed, on_epoch=after_our_epoch, lr_decay=RECIPE["lr_decay"], shift=RECIPE["shift"])
    ours = sum(figures["seconds"] for figures in history), history[-1]["test_accuracy"]
    return ours, [(sum(run["seconds"]), torch_accuracy(run, data)) for run in runs]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, default=RECIPE["epochs"])
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")
    threads = torch.get_num_threads()
    data = mnist.load_mnist()
    print(f"--recipe best: {RECIPE}, {args.epochs} epochs; torch {torch.__version__}, {threads} threads by "
          f"default, and 1; numpy 1 BLAS thread; an epoch of each in turn", flush=True)
    rows = []
    for seed in args.seeds:
        (seconds, accuracy), ((t2, a2), (t1, a1)) = one_seed(data, args.epochs, seed, threads)
        rows.append((seed, accuracy, seconds, a2, t2, a1, t1))
    print(f"{'seed':>4s} {'ours: accuracy':>15s} {'seconds':>8s}   PyTorch {threads} threads: accuracy  seconds  "
          f"ratio   1 thread: accuracy  seconds  ratio")
    for seed, accuracy, seconds, a2, t2, a1, t1 in rows:
        print(f"{seed:4d} {accuracy:15.2%} {seconds:7.1f}s {a2:27.2%} {t2:7.1f}s {seconds / t2:6.2f} {a1:19.2%} "
              f"{t1:7.1f}s {seconds / t1:6.2f}")
    print(f"(ratio: our seconds over PyTorch's; load average {os.getloadavg()[0]:.1f} at the end)")


if __name__ == "__main__":
    main()
