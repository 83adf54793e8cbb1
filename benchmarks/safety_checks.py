"""What the safety checks of issues 10 and 14 cost, each as a fraction of the work it guards.

    python benchmarks/safety_checks.py [--repeat N]

For each check: the fastest of N timings of the check alone, on the state a real step leaves
(the graph after backward, the arrays a step holds, a batch's cost), and the fastest of N timings
of the whole step or epoch it belongs to. Timing the check alone is robust on a busy machine,
where timing the whole workload with and without it twice differs by more than the check costs.
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

import nn  # noqa: E402
from autodiff import Value  # noqa: E402
from autodiff.files import check_target, read_npz  # noqa: E402
from autodiff.graph import backward, check_gradients  # noqa: E402
from autodiff.graph import topological_order  # noqa: E402
from autodiff.tensor import _hold, _release  # noqa: E402
from nn import data as mnist  # noqa: E402
from nn import guard  # noqa: E402
from nn.fast import FastMLP  # noqa: E402
from nn.optim import SGD  # noqa: E402
from nn.train import COSTS  # noqa: E402


def fastest(run, repeat):
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return min(samples)


def report(name, check, whole):
    print(f"{name:<62}{check * 1e6:>10.1f} us{whole * 1e3:>10.2f} ms{100 * check / whole:>8.1f}%")


def scalar_workloads():
    rng = random.Random(0)
    net, x = nn.MLP(784, [16, 16, 10]), [rng.random() for _ in range(784)]
    target = [0.0] * 3 + [1.0] + [0.0] * 6

    def mlp():
        net.zero_grad()
        return sum((o - t) ** 2 for o, t in zip(net(x), target))

    cs = [rng.uniform(0.9, 1.1) for _ in range(5000)]
    ds = [rng.uniform(-1.0, 1.0) for _ in range(5000)]

    def chain():
        y = Value(1.0)
        for c, d in zip(cs, ds):
            y = y * Value(c) + Value(d)
        return y
    return [("scalar MLP(784, [16, 16, 10]) step, micrograd benchmark (a)", mlp),
            ("scalar chain of 10,000 ops, micrograd benchmark (b)", chain)]


FAST = [([16, 16, 10], "sigmoid", "sigmoid", "squared", 100), ([128, 10], "relu", "linear", "cross-entropy", 128)]


def fast_step(sizes, activation, output, cost, batch):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (batch, 784)).astype(np.float32) / 255
    labels = rng.integers(0, 10, batch)
    net = FastMLP(784, sizes, activation, output, dtype=np.float32)
    optimizer = SGD(net.parameters(), 0.01)
    cost = COSTS[cost]

    def step():
        loss = cost(net(x), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss
    return step, net, optimizer, cost, x, labels


def issue_14_checks(repeat):
    """The checks of issue 14 that run on every example or every step (the optimizers' run once, when made)."""
    from nn import losses

    rng = random.Random(0)
    net, x = nn.MLP(784, [16, 16, 10], activation="sigmoid", output="sigmoid"), [rng.random() for _ in range(784)]
    target, label = [[0.0] * 3 + [1.0] + [0.0] * 6], [3]
    for name, cost, targets in [("squared error", losses.squared_error, target),
                                ("cross-entropy", losses.cross_entropy, label)]:
        def example():  # what nn.scalar_train does for each example: a graph, its cost, backward()
            net.zero_grad()
            cost([net(x)], targets).backward()
        outputs = [net(x)]
        if cost is losses.squared_error:
            def check():
                losses._batch("squared-error", outputs, targets, "targets")
                losses._length("squared-error", 0, outputs[0], "outputs")
                losses._length("squared-error", 0, targets[0], "targets")
        else:
            def check():
                losses._batch("cross-entropy", outputs, targets, "labels")
                losses._class(0, targets[0], losses._length("cross-entropy", 0, outputs[0], "logits"))
        report(f"{name}'s length and label checks: a scalar example", fastest(check, repeat), fastest(example, repeat))
    for config in FAST:
        step, net, optimizer, cost, x, labels = fast_step(*config)
        whole = fastest(step, repeat)
        loss = cost(net(x), labels)
        loss.backward()
        nodes = topological_order(loss)
        grads = [n.grad for n in nodes if n.requires_grad]
        name = f"784-{'-'.join(map(str, config[0]))} {config[1]}, batch {config[4]}"
        report(f"gradients of their own (a view copied): fast-path step {name}",
               fastest(lambda: [g.base is None for g in grads], repeat), whole)
        report(f"a dropped graph's arrays released (__del__): fast-path step {name}",
               fastest(lambda: [n.__del__() for n in nodes], repeat), whole)


def main(repeat):
    print(f"the fastest of {repeat} timings each; machine load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
    print(f"{'check, on the work it guards':<62}{'check':>13}{'work':>13}{'cost':>9}")
    for name, build in scalar_workloads():
        whole = fastest(lambda: build().backward(), repeat)
        root = build()
        order = backward(root, 1.0)  # the interior nodes of a real pass, for the check to look at
        report(f"backward's gradient check: {name}", fastest(lambda: check_gradients(root, order), repeat), whole)
    for config in FAST:
        step, net, optimizer, cost, x, labels = fast_step(*config)
        whole = fastest(step, repeat)
        name = f"784-{'-'.join(map(str, config[0]))} {config[1]}, batch {config[4]}"
        loss = cost(net(x), labels)
        order = backward(loss, np.ones_like(loss.data))
        report(f"backward's gradient check: fast-path step {name}",
               fastest(lambda: check_gradients(loss, order), repeat), whole)
        nodes = topological_order(loss)
        report(f"read-only arrays until backward: fast-path step {name}",
               fastest(lambda: ([_hold(n.data, n._children, n._local_grads, n._id) for n in nodes if n._children],
                                _release(loss)), repeat), whole)
        watch = guard.Watch(cost, optimizer, [])
        outputs = net(x)
        raw, watched = fastest(lambda: cost(outputs, labels), repeat), fastest(lambda: watch.cost(outputs, labels), repeat)
        report(f"divergence watch (per batch): fast-path step {name}", max(watched - raw, 0.0), whole)
    issue_14_checks(repeat)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.npz"
        FastMLP(784, [512, 10], dtype=np.float32).save(path)

        def npz_load():
            with np.load(path, allow_pickle=False) as archive:
                return {key: archive[key] for key in archive.files}
        plain, checked = fastest(npz_load, repeat), fastest(lambda: read_npz(path), repeat)
        report("read_npz's checks: loading a 784-512-10 model (vs np.load)", max(checked - plain, 0.0), plain)
        net = FastMLP(784, [512, 10], dtype=np.float32)
        report("output target check (regular file, owner): saving a 784-512-10 model",
               fastest(lambda: check_target(path), repeat), fastest(lambda: net.save(path), repeat))
        out = Path(folder) / "out"
        start = time.perf_counter()
        guard.own_output(out)
        print(f"{'locking --out, removing stale temporaries: once a run':<62}"
              f"{(time.perf_counter() - start) * 1e6:>10.1f} us")
        print(f"{'the lock file is still ours: twice an epoch':<62}"
              f"{fastest(lambda: guard.check_still_owned(out), repeat) * 1e6:>10.1f} us")
        guard.release_output(out)
    if mnist.cache_file().exists():
        cache = mnist.cache_file()
        arrays = mnist.checked_cache(cache)
        load = fastest(lambda: mnist.checked_cache(cache), 3)
        report("MNIST cache content hash: on loading the cache", fastest(lambda: mnist.content_hash(arrays), 3), load)
        data = mnist.load_mnist()
        print(f"{'data fingerprint for the checkpoint: once a run':<62}"
              f"{fastest(lambda: guard.fingerprint(data), 3) * 1e6:>10.1f} us")
        watch, history = guard.Watch(None, None, []), [{"test_accuracy": 0.9}] * 3
        print(f"{'stuck-at-chance check on 10,000 test labels: once an epoch':<62}"
              f"{fastest(lambda: watch.judge_epoch(history, data[3]), repeat) * 1e6:>10.1f} us")
        with tempfile.TemporaryDirectory() as folder:  # MNIST as the four IDX files --data-dir reads
            for key, (name, _) in mnist.IDX_FILES.items():
                array = data[mnist.KEYS.index(key)]
                array = array.reshape(-1, 28, 28) if key.endswith("images") else array.astype(np.uint8)
                header = bytes([0, 0, 8, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
                Path(folder, name).write_bytes(header + array.tobytes())
            names = [str(Path(folder, name)) for name, _ in mnist.IDX_FILES.values()]
            whole = fastest(lambda: mnist.parse_idx_set([Path(n).read_bytes() for n in names], names), 5)
            checked = fastest(lambda: mnist.read_idx_directory(folder), 5)
            report("IDX header and size checked before reading: --data-dir MNIST (vs whole)",
                   checked - whole, whole)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    main(parser.parse_args().repeat)
