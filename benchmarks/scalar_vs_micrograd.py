"""Our scalar engine against micrograd 0.1.0: the same work, in one process, side by side.

Two workloads, each written once and run by both engines:
  (a) one training step's autodiff on MLP(784, [16, 16, 10]): zero_grad, forward, cost, backward;
  (b) a chain of 10,000 binary ops that nothing can fuse: x = x * c + d with fresh leaves c, d.
Before timing, both engines run each workload once on identical numbers and must agree on the
result and on every gradient, so that we know they did the same work.

Then (c) one epoch of the real MNIST training set (60,000 digits) with our scalar engine, a graph
per digit (nn.train.train on an MLP of Values), beside the fast path's epoch on the same batches:
its time, and its test accuracy against the fast path's after one epoch. micrograd is not run on
it (about ten hours at its speed in (a)); the ratio printed is its time per example from (a),
times 60,000, over our epoch.

Run from anywhere: python benchmarks/scalar_vs_micrograd.py [--repeat N] [--workers N ...] [--no-epoch]
"""
import argparse
import gc
import math
import os
import random
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for autodiff and nn

# (c) runs the fast path beside the scalar engine: one BLAS thread, as demos/train_mnist.py gives it
# (on a busy machine, BLAS threads waiting for each other make its small products many times slower)
for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

try:
    import micrograd.engine
    import micrograd.nn
except ImportError:
    sys.exit("micrograd is not installed: pip install -r benchmarks/requirements.txt")

import numpy as np

import autodiff
import nn
from nn.data import load_mnist
from nn.fast import FastMLP
from nn.optim import SGD
from nn.train import COSTS, train

SIZES = [16, 16, 10]
CHAIN_OPS = 10_000


# --- the workloads: the same code for both engines ---


def mlp_step(net, x, target):
    """What one training step asks of autodiff (everything but the update)."""
    net.zero_grad()
    out = net(x)
    loss = sum((o - t) ** 2 for o, t in zip(out, target))
    loss.backward()
    return loss


def chain(Value, cs, ds):
    """x = x * c + d, CHAIN_OPS ops in all, with fresh leaves: nothing to fuse, nothing to share."""
    x = Value(1.0)
    leaves = [x]
    for c, d in zip(cs, ds):
        c, d = Value(c), Value(d)
        x = x * c + d
        leaves += (c, d)
    x.backward()
    return x, leaves


# --- the same numbers for both engines ---


def twin_mlps():
    """Our MLP and micrograd's, holding the same weights (ours, copied into micrograd's)."""
    ours = nn.MLP(784, SIZES)
    theirs = micrograd.nn.MLP(784, SIZES)
    for theirs_p, ours_p in zip(theirs.parameters(), ours.parameters(), strict=True):
        theirs_p.data = ours_p.data
    return theirs, ours


# A workload: its name, the speed-up we aim for (micrograd's time / ours), and for each engine a
# function that runs it once on the same numbers and returns the output and the leaves.


def mlp_workload():
    rng = random.Random(0)
    x = [rng.random() for _ in range(784)]  # a random "image"
    target = [0.0] * SIZES[-1]
    target[3] = 1.0  # one-hot
    theirs, ours = twin_mlps()
    return (
        f"(a) MLP 784-{'-'.join(map(str, SIZES))} fwd+bwd",
        10.0,
        lambda: (mlp_step(theirs, x, target), theirs.parameters()),
        lambda: (mlp_step(ours, x, target), ours.parameters()),
    )


def chain_workload():
    rng = random.Random(0)
    # c near 1 keeps x finite and every gradient (a product of thousands of c's) far from 0
    cs = [rng.uniform(0.9, 1.1) for _ in range(CHAIN_OPS // 2)]
    ds = [rng.uniform(-1.0, 1.0) for _ in range(CHAIN_OPS // 2)]
    return (
        f"(b) chain of {CHAIN_OPS:,} ops",
        5.0,
        lambda: chain(micrograd.engine.Value, cs, ds),
        lambda: chain(autodiff.Value, cs, ds),
    )


def same_work(theirs, ours):
    """Whether both engines computed the same output and the same gradient for every leaf.

    Only to rounding: the engines may add the same terms in a different order.
    """
    (their_out, their_leaves), (our_out, our_leaves) = theirs, ours
    close = lambda a, b: math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)  # noqa: E731
    return (
        close(their_out.data, our_out.data)
        and len(their_leaves) == len(our_leaves)
        and all(close(t.grad, o.grad) for t, o in zip(their_leaves, our_leaves))
    )


def seconds(run, runs=5):
    """Seconds per run over `runs` runs back to back, as a training loop pays them.

    The garbage collector stays on. micrograd's nodes are reference cycles (each node's _backward
    closure refers to the node), so its old graphs are freed by the collector as it runs; ours
    hold no cycles and are freed as soon as the next run replaces them. We collect before the
    clock starts, so that no run pays for garbage from before.
    """
    gc.collect()
    start = time.perf_counter()
    for _ in range(runs):
        result = run()
    elapsed = time.perf_counter() - start
    del result
    return elapsed / runs


def build_chain(n):
    """x = x * c + d, n ops, leaves from one list: the time of building alone (no backward)."""
    x, c, d = autodiff.Value(1.0), autodiff.Value(0.999), autodiff.Value(0.001)
    for _ in range(n // 2):
        x = x * c + d
    return x


def building(repeat):
    """Microseconds per op to build our chain of 1e3 and 1e6 ops: as plain code builds it (the collector on), and as
    nn's networks build theirs (inside collector_paused). Should not grow with the graph."""
    from autodiff.value import collector_paused

    print(f"\nbuilding a chain of Values, us per op (fastest of {max(2, repeat // 5)})      "
          f"collector on   collector_paused   target at 1e6: <= 1.0 us   load {os.getloadavg()[0]:.1f}")
    for n in (1_000, 1_000_000):
        runs = max(1, 1_000_000 // n)  # a million ops per sample
        times = {"on": [], "paused": []}
        for _ in range(max(2, repeat // 5)):
            for how in times:
                gc.collect()
                start = time.perf_counter()
                for _ in range(runs):
                    if how == "on":
                        x = build_chain(n)
                    else:
                        with collector_paused():
                            x = build_chain(n)
                    del x  # freed here, by reference counting: part of the cost, as in a training loop
                times[how].append((time.perf_counter() - start) / (runs * n) * 1e6)
        on, paused = min(times["on"]), min(times["paused"])
        verdict = "" if n < 1_000_000 else ("PASS" if paused <= 1.0 else "BELOW TARGET")
        print(f"  {n:>9,} ops{on:>36.2f}{paused:>18.2f}   {verdict}")


def progress(batches, what, every=100):
    """The batches, with a line printed every `every` of them: a long epoch is never silent."""
    batches = list(batches)
    for i, batch in enumerate(batches, 1):
        yield batch
        if i % every == 0 or i == len(batches):
            print(f"      {what}: batch {i}/{len(batches)}   load {os.getloadavg()[0]:.1f}", flush=True)


def cpu_seconds():
    """CPU time of this process and of its children that have exited (the workers of an epoch)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def mnist_epoch(workers, micrograd_seconds_per_example):
    """(c): one epoch of MNIST in the scalar engine, beside the fast path's, from the same weights and batches."""
    data = load_mnist()
    n = len(data[0])
    fast = FastMLP(784, SIZES, "sigmoid", "sigmoid")
    fast_history = train(fast, SGD(fast.parameters(), 3.0), COSTS["squared"], data, epochs=1)
    print(f"\n(c) one MNIST epoch, 784-{'-'.join(map(str, SIZES))} sigmoid, squared error, SGD 3.0, batches of 100")
    print(f"    fast path: {fast_history[0]['seconds']:.1f} s, test accuracy {fast_history[0]['test_accuracy']:.2%}")
    for count in workers:
        scalar = nn.MLP(784, SIZES, "sigmoid", "sigmoid")
        start = cpu_seconds()
        history = train(scalar, SGD(scalar.parameters(), 3.0), COSTS["squared"], data, epochs=1, workers=count,
                        progress=lambda batches, epoch: progress(batches, f"scalar engine, {count} processes"))
        seconds, accuracy = history[0]["seconds"], history[0]["test_accuracy"]
        weights = FastMLP.from_scalar(scalar).parameters()
        difference = max(np.abs(a.data - b.data).max() for a, b in zip(weights, fast.parameters()))
        cpu = cpu_seconds() - start  # this process's and the workers' (counted once they have exited)
        ratio = micrograd_seconds_per_example * n / seconds
        verdict = "PASS" if seconds <= 60 and accuracy >= fast_history[0]["test_accuracy"] else "BELOW TARGET"
        print(f"    scalar engine, {count} process{'es' if count > 1 else ''}: {seconds:.1f} s "
              f"({seconds / n * 1e3 * count:.2f} ms per example per process), test accuracy {accuracy:.2%}, "
              f"weights within {difference:.1e} of the fast path's; micrograd's (a) time x {n:,}: "
              f"{ratio:,.0f}x ours   target <= 60 s and the fast path's accuracy: {verdict}")
        print(f"      CPU time, all processes: {cpu / n * 1e3:.2f} ms per example, {cpu:.1f} s in all "
              f"(a busy machine stretches it least: on free cores the epoch would take about "
              f"{cpu / min(count, os.cpu_count() or 1):.0f} s)")


def main(repeat, workers=(), epoch=True):
    print(f"micrograd 0.1.0 vs ours, the fastest of {repeat} interleaved samples each (noise only ever adds time)\n")
    print(f"{'workload':<32}{'micrograd':>10}{'ours':>10}{'speed-up':>10}   target")
    per_example = {}  # micrograd's seconds per run, by workload
    # one workload at a time, so that (a)'s networks are gone, not slowing the collector, in (b)
    for workload in (mlp_workload, chain_workload):
        name, target, theirs, ours = workload()
        if not same_work(theirs(), ours()):  # also warms both up
            print(f"{name}: the engines disagree on the result or a gradient: not the same work")
            return 1
        times = {theirs: [], ours: []}
        for i in range(repeat):
            # alternate who goes first, so that neither always runs on a warmer (or busier) machine
            for run in (theirs, ours) if i % 2 == 0 else (ours, theirs):
                times[run].append(seconds(run))
        t_theirs, t_ours = min(times[theirs]), min(times[ours])
        per_example[name[:3]] = t_theirs
        ratio = t_theirs / t_ours
        verdict = "PASS" if ratio >= target else "BELOW TARGET"
        columns = f"{t_theirs:>8.3f} s{t_ours:>8.3f} s{ratio:>9.1f}x"
        print(f"{name:<32}{columns}   >= {target:g}x {verdict}")
    print("\nBoth engines computed the same outputs and gradients (checked before timing).")
    building(repeat)
    if epoch:
        mnist_epoch(workers, per_example["(a)"])
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per engine and workload")
    parser.add_argument("--workers", type=int, nargs="+", default=[os.cpu_count() or 1], metavar="N",
                        help="(c): run the epoch with each of these numbers of processes (default: one per core)")
    parser.add_argument("--no-epoch", action="store_true", help="skip (c), which needs MNIST (fetched once)")
    args = parser.parse_args()
    repeat = args.repeat
    if repeat < 1 or min(args.workers) < 1:
        parser.error("--repeat and --workers must be at least 1")
    # micrograd's backward sorts the graph recursively, one Python call per node along the longest
    # path: about 830 deep for (a), just under the default limit of 1,000, and 10,000 for (b). So
    # we raise the limit. Python 3.10 also spends some 300 bytes of C stack a call, 3 MB for (b),
    # more than some platforms give the main thread (Windows: 1 MB): so we run in a thread with a
    # stack of our choosing. Our engine needs neither: its backward is a loop.
    sys.setrecursionlimit(10 * CHAIN_OPS)
    threading.stack_size(64 * 2**20)
    status = []
    worker = threading.Thread(target=lambda: status.append(main(repeat, args.workers, not args.no_epoch)))
    worker.start()
    worker.join()
    sys.exit(status[0] if status else 1)  # no status: main raised, and the thread printed why
