"""What the safety checks of issue 10 cost: each workload timed with the check and without, side by side.

    python benchmarks/safety_checks.py [--repeat N]

Each line times the same work twice in this process, alternating, the fastest of N samples each:
once as shipped, once with one check replaced by a no-op. The ratio is the check's cost.
"""
import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the demo and the PyTorch benchmark run

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import autodiff.graph  # noqa: E402
import autodiff.tensor  # noqa: E402
import nn  # noqa: E402
from autodiff import Value  # noqa: E402
from nn import data as mnist  # noqa: E402
from nn import guard  # noqa: E402
from nn.fast import FastMLP  # noqa: E402
from nn.losses import squared_error  # noqa: E402
from nn.optim import SGD  # noqa: E402
from autodiff.files import read_npz  # noqa: E402
from nn.train import COSTS, train_epoch  # noqa: E402


def fastest(run, repeat, runs=3):
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(runs):
            run()
        samples.append((time.perf_counter() - start) / runs)
    return min(samples)


def side_by_side(name, run, disable, repeat):
    """run() as shipped and with the check disabled (disable() returns a function that restores it)."""
    run()  # warm up
    on, off = [], []
    for i in range(repeat):
        for checked in (True, False) if i % 2 == 0 else (False, True):
            restore = None if checked else disable()
            (on if checked else off).append(fastest(run, 1))
            if restore:
                restore()
    t_on, t_off = min(on), min(off)
    print(f"{name:<58}{t_off * 1e3:>9.2f} ms{t_on * 1e3:>9.2f} ms{100 * (t_on / t_off - 1):>+8.1f}%")


def without(module, name, replacement):
    def disable():
        original = getattr(module, name)
        setattr(module, name, replacement)
        return lambda: setattr(module, name, original)
    return disable


# --- workloads ---

def scalar_mlp():
    net = nn.MLP(784, [16, 16, 10])
    rng = random.Random(0)
    x = [rng.random() for _ in range(784)]

    def step():
        net.zero_grad()
        loss = sum((o - t) ** 2 for o, t in zip(net(x), [0.0] * 3 + [1.0] + [0.0] * 6))
        loss.backward()
    return step


def scalar_chain():
    rng = random.Random(0)
    cs = [rng.uniform(0.9, 1.1) for _ in range(5000)]
    ds = [rng.uniform(-1.0, 1.0) for _ in range(5000)]

    def run():
        x = Value(1.0)
        for c, d in zip(cs, ds):
            x = x * Value(c) + Value(d)
        x.backward()
    return run


def fast_epoch(sizes, activation, output, cost, batch, n=12_000):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 784), dtype=np.uint8)
    labels = rng.integers(0, 10, n)
    net = FastMLP(784, sizes, activation, output, dtype=np.float32)
    optimizer = SGD(net.parameters(), 0.01)
    cost = COSTS[cost]

    def epoch():
        for start in range(0, n, batch):
            x = images[start:start + batch].astype(np.float32) / 255
            loss = cost(net(x), labels[start:start + batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return epoch


def training_epoch(watched, n=12_000, batch=100):
    """nn.train's epoch on random digits, its cost and batches watched by guard.Watch or not."""
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (n, 784), dtype=np.uint8), rng.integers(0, 10, n)
    net = FastMLP(784, [16, 16, 10], "sigmoid", "sigmoid")
    optimizer = SGD(net.parameters(), 3.0)
    batches = [np.arange(i, i + batch) for i in range(0, n, batch)]
    cost = COSTS["squared"]

    def epoch():
        if watched:
            watch = guard.Watch(cost, optimizer, [])
            with watch.epoch(1, net):
                train_epoch(net, optimizer, watch.cost, images, labels, watch.batches(batches))
        else:
            train_epoch(net, optimizer, cost, images, labels, batches)
    return epoch


def npz_load(path):
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def main(repeat):
    print(f"each check on and off, the fastest of {repeat} samples; machine load {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores\n")
    print(f"{'workload (check)':<58}{'off':>12}{'on':>12}{'cost':>9}")
    no_check = lambda root, order: None  # noqa: E731
    gradients = without(autodiff.graph, "check_gradients", no_check)
    side_by_side("scalar MLP(784,[16,16,10]) step (backward check)", scalar_mlp(), gradients, repeat)
    side_by_side("scalar chain of 10,000 ops (backward check)", scalar_chain(), gradients, repeat)
    for sizes, act, out, cost, batch in (([16, 16, 10], "sigmoid", "sigmoid", "squared", 100),
                                         ([128, 10], "relu", "linear", "cross-entropy", 128)):
        side_by_side(f"fast epoch 784-{'-'.join(map(str, sizes))} {act}, 12k images (backward check)",
                     fast_epoch(sizes, act, out, cost, batch), gradients, repeat)
    def no_holding():  # arrays stay writable: no in-place check
        restore = [without(autodiff.tensor, "_hold", lambda data, children: None)(),
                   without(autodiff.tensor, "_release", lambda root: None)()]
        return lambda: [undo() for undo in restore]
    for sizes, act, out, cost, batch in (([16, 16, 10], "sigmoid", "sigmoid", "squared", 100),
                                         ([128, 10], "relu", "linear", "cross-entropy", 128)):
        side_by_side(f"fast epoch 784-{'-'.join(map(str, sizes))} {act}, 12k images (read-only arrays)",
                     fast_epoch(sizes, act, out, cost, batch), no_holding, repeat)
    both = [training_epoch(True), training_epoch(False)]
    state = {"watched": True}
    side_by_side("training epoch 784-16-16-10, 12k images (divergence watch)",
                 lambda: both[0 if state["watched"] else 1](),
                 lambda: state.update(watched=False) or (lambda: state.update(watched=True)), repeat)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.npz"
        FastMLP(784, [512, 10], dtype=np.float32).save(path)
        reader = {"read": read_npz}
        side_by_side("reading a 784-512-10 model (read_npz's checks vs np.load)", lambda: reader["read"](path),
                     lambda: reader.update(read=npz_load) or (lambda: reader.update(read=read_npz)), repeat)
        out = Path(folder) / "out"
        start = time.perf_counter()
        guard.own_output(out)
        guard.release_output(out)
        print(f"{'locking --out, removing stale temporaries (once a run)':<58}"
              f"{(time.perf_counter() - start) * 1e3:>21.2f} ms")
    data = mnist.load_mnist() if mnist.cache_file().exists() else None
    if data is not None:
        cache = mnist.cache_file()
        side_by_side("loading the MNIST cache (content hash)", lambda: mnist.checked_cache(cache),
                     without(mnist, "content_hash", lambda arrays: mnist.MNIST_SHA256), max(3, repeat // 3))
        print(f"{'fingerprint of the data for a checkpoint (once a run)':<58}"
              f"{fastest(lambda: guard.fingerprint(data), 3) * 1e3:>21.2f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    main(parser.parse_args().repeat)
