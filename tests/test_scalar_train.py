"""The scalar engine trains: a graph of Values per example gives the fast path's weights and checkpoints."""
import multiprocessing

import numpy as np
import pytest

from nn.fast import FastMLP
from nn.mlp import MLP
from nn.optim import SGD, Adam
from nn.scalar_train import summed_gradients
from nn.train import COSTS, load_checkpoint, train
from test_train import synthetic_digits

# the video's network, and the common practice's activations, cost and optimizers
CONFIGS = {
    "video": ("sigmoid", "sigmoid", "squared", lambda params: SGD(params, 3.0)),
    "momentum": ("relu", "linear", "cross-entropy", lambda params: SGD(params, 0.1, momentum=0.9)),
    "adam": ("tanh", "linear", "cross-entropy", lambda params: Adam(params, 0.01)),
}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    return synthetic_digits(80, rng) + synthetic_digits(20, rng)


def twins(config, sizes=(16, 16, 10), seed=5):
    """The same network in both engines, each with its own optimizer: (fast, its optimizer, scalar, its optimizer)."""
    activation, output, _, optimizer = CONFIGS[config]
    fast = FastMLP(784, list(sizes), activation, output, seed=seed)
    scalar = MLP(784, list(sizes), activation, output, seed=seed)
    return fast, optimizer(fast.parameters()), scalar, optimizer(scalar.parameters())


def largest_difference(fast, scalar):
    as_arrays = FastMLP.from_scalar(scalar)
    return max(np.abs(a.data - b.data).max() for a, b in zip(fast.parameters(), as_arrays.parameters()))


@pytest.mark.parametrize("config, workers", [("video", 1), ("video", 2), ("momentum", 1), ("adam", 2)])
def test_an_epoch_of_values_ends_with_the_fast_paths_weights(data, config, workers):
    fast, fast_optimizer, scalar, scalar_optimizer = twins(config)
    start = FastMLP.from_scalar(scalar)
    cost = COSTS[CONFIGS[config][2]]
    fast_history = train(fast, fast_optimizer, cost, data, epochs=1, batch_size=20, seed=1)
    scalar_history = train(scalar, scalar_optimizer, cost, data, epochs=1, batch_size=20, seed=1, workers=workers)
    assert largest_difference(start, scalar) > 1e-3  # it learned: 4 steps moved the weights
    assert largest_difference(fast, scalar) <= 1e-9
    assert scalar_history[0]["cost"] == pytest.approx(fast_history[0]["cost"], rel=1e-12)
    assert scalar_history[0]["test_accuracy"] == fast_history[0]["test_accuracy"]


def test_summed_gradients_add_up_each_examples_gradient(data):
    """One graph per example, gradients accumulated: the fast path's batch gradient times the batch size."""
    fast, _, scalar, _ = twins("video", sizes=(8, 10))
    images, labels = data[0][:5], data[1][:5]
    total = summed_gradients(scalar, COSTS["squared"], images, labels)
    batch_cost = COSTS["squared"](fast(images / 255), labels)
    batch_cost.backward()
    assert total == pytest.approx(5 * float(batch_cost.data), rel=1e-12)
    neurons = [n for layer in scalar.layers for n in layer.neurons]
    scalar_grads = np.concatenate([[w.grad for w in n.w] for n in neurons] + [[n.b.grad for n in neurons]])
    fast_grads = np.concatenate([w.grad.ravel() for w in fast.weights] + [b.grad for b in fast.biases])
    np.testing.assert_allclose(scalar_grads, 5 * fast_grads, rtol=1e-10, atol=1e-14)


def test_a_batch_smaller_than_the_workers_leaves_none_idle_with_nothing_to_do(data):
    """Two workers on batches of 1: the second gets no examples, and no step is skewed by it."""
    fast, fast_optimizer, scalar, scalar_optimizer = twins("video", sizes=(4, 10))
    small = (data[0][:8], data[1][:8], data[2][:4], data[3][:4])
    train(fast, fast_optimizer, COSTS["squared"], small, epochs=1, batch_size=1)
    train(scalar, scalar_optimizer, COSTS["squared"], small, epochs=1, batch_size=1, workers=2)
    assert largest_difference(fast, scalar) <= 1e-12


def refusing_cost(outputs, labels):
    raise ValueError("this cost refuses every example")


def test_an_error_in_a_worker_reaches_the_caller_with_its_message(data):
    _, _, scalar, optimizer = twins("video", sizes=(4, 10))
    with pytest.raises(ValueError, match="this cost refuses every example"):
        train(scalar, optimizer, refusing_cost, data, epochs=1, batch_size=20, workers=2)
    assert multiprocessing.active_children() == []  # the workers are gone


def test_ctrl_c_stops_the_workers_and_keeps_the_last_checkpoint(data, tmp_path):
    _, _, scalar, optimizer = twins("video", sizes=(4, 10))
    checkpoint, step, steps = tmp_path / "run.npz", optimizer.step, []

    def step_then_ctrl_c():
        steps.append(1)
        if len(steps) == 6:  # in epoch 2: 4 steps an epoch
            raise KeyboardInterrupt
        step()

    optimizer.step = step_then_ctrl_c
    with pytest.raises(KeyboardInterrupt):
        train(scalar, optimizer, COSTS["squared"], data, epochs=3, batch_size=20, checkpoint=checkpoint, workers=2)
    assert multiprocessing.active_children() == []
    with np.load(checkpoint) as archive:
        assert '"epoch": 1' in str(archive["run"]) and '"epoch": 2' not in str(archive["run"])


@pytest.mark.parametrize("workers", [0, -1, 1.5, True])
def test_workers_must_be_a_whole_number_of_processes(data, workers):
    _, _, scalar, optimizer = twins("video", sizes=(4, 10))
    with pytest.raises(ValueError, match="workers must be a whole number"):
        train(scalar, optimizer, COSTS["squared"], data, epochs=1, workers=workers)


# --- checkpoints: the same file as the fast path's ------------------------------------------------

def scalar_run(data, checkpoint, epochs, resume=False, config="momentum"):
    _, _, scalar, optimizer = twins(config, sizes=(6, 10))
    data = (data[0][:40], data[1][:40], data[2], data[3])
    history = train(scalar, optimizer, COSTS[CONFIGS[config][2]], data, epochs, batch_size=10, seed=2,
                    checkpoint=checkpoint, resume=resume, workers=1)
    return scalar, history


@pytest.mark.parametrize("config", ["momentum", "adam"])
def test_resuming_a_scalar_run_ends_with_the_weights_of_an_uninterrupted_one(data, tmp_path, config):
    straight, straight_history = scalar_run(data, tmp_path / "a.npz", epochs=2, config=config)
    scalar_run(data, tmp_path / "b.npz", epochs=1, config=config)
    resumed, resumed_history = scalar_run(data, tmp_path / "b.npz", epochs=2, resume=True, config=config)
    assert [p.data for p in resumed.parameters()] == [p.data for p in straight.parameters()]
    assert [h["cost"] for h in resumed_history] == [h["cost"] for h in straight_history]


def test_a_scalar_checkpoint_holds_the_network_as_the_fast_path_lays_it_out(data, tmp_path):
    scalar, history = scalar_run(data, tmp_path / "c.npz", epochs=1)
    with np.load(tmp_path / "c.npz") as archive:
        saved = FastMLP.from_state({key[4:]: archive[key] for key in archive.files if key.startswith("net.")})
        assert archive["optimizer.velocity"].shape == (len(scalar.parameters()),)  # one array, not 4,780
    assert largest_difference(saved, scalar) == 0.0
    scalar.save(tmp_path / "model.npz")
    assert largest_difference(FastMLP.load(tmp_path / "model.npz"), scalar) == 0.0


def test_a_fast_checkpoint_does_not_resume_a_scalar_run(data, tmp_path):
    fast, optimizer, scalar, scalar_optimizer = twins("momentum", sizes=(6, 10))
    train(fast, optimizer, COSTS["cross-entropy"], data, 1, batch_size=30, seed=2, checkpoint=tmp_path / "f.npz")
    with pytest.raises(ValueError, match="checkpoint of a different run: network"):
        load_checkpoint(tmp_path / "f.npz", scalar, scalar_optimizer, {"network": repr(scalar)})


# --- the demo ---------------------------------------------------------------------------------------

from test_train import demo  # noqa: E402, F401  the demo's module, reading this file's `data`


def test_the_demo_trains_and_resumes_with_values_as_the_fast_path_does(demo, tmp_path, capsys):
    args = ["--hidden", "6", "--batch-size", "20"]
    fast = demo.main([*args, "--epochs", "2", "--out", str(tmp_path / "fast")])
    scalar = [*args, "--out", str(tmp_path / "scalar"), "--engine", "scalar"]
    demo.main([*scalar, "--epochs", "1", "--workers", "2"])
    assert "2 processes" in capsys.readouterr().out
    resumed = demo.main([*scalar, "--epochs", "2", "--workers", "1", "--resume"])
    assert [h["epoch"] for h in resumed] == [1, 2]
    assert [h["cost"] for h in resumed] == pytest.approx([h["cost"] for h in fast], rel=1e-9)
    models = [FastMLP.load(tmp_path / name / "model.npz") for name in ("fast", "scalar")]
    assert max(np.abs(a.data - b.data).max() for a, b in zip(*(m.parameters() for m in models))) <= 1e-9


@pytest.mark.parametrize("args, message", [
    (["--engine", "scalar", "--dtype", "float32"], "float64 only"),
    (["--workers", "2"], "--workers is for --engine scalar"),
    (["--engine", "scalar", "--workers", "0"], "at least 1"),
])
def test_the_demo_refuses_options_the_scalar_engine_cannot_take(demo, args, message, capsys):
    with pytest.raises(SystemExit):
        demo.main(args)
    assert message in capsys.readouterr().err


# --- issue 14, cause 1: divergence is judged on each batch's cost, in the main process -------------

import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from mnist_fixtures import idx_files, write_files  # noqa: E402

DEMO = Path(__file__).resolve().parents[1] / "demos" / "train_mnist.py"


@pytest.fixture(scope="module")
def idx_dir(tmp_path_factory):
    """The synthetic digits as the four IDX files a user would pass with --data-dir, a fifth of them mislabelled.

    As in MNIST, once the network learns, most examples cost little and a few (here the mislabelled
    ones) cost a hundred times more: the spread that a per-example judgement mistook for divergence.
    """
    rng = np.random.default_rng(11)
    train_images, train_labels = synthetic_digits(120, rng)
    train_labels[::5] = (train_labels[::5] + 1) % 10
    test_images, test_labels = synthetic_digits(30, rng)
    arrays = (train_images.reshape(-1, 28, 28), train_labels, test_images.reshape(-1, 28, 28), test_labels)
    return write_files(tmp_path_factory.mktemp("idx"), idx_files(arrays, gz=False))


def scalar_command(idx_dir, out, *args):
    """The README's scalar command as a user types it, on the small IDX files: (exit code, stdout, stderr)."""
    command = [sys.executable, str(DEMO), "--engine", "scalar", "--data-dir", str(idx_dir), "--out", str(out),
               "--batch-size", "20", *args]
    env = dict(os.environ, SEEBACKPROP_CACHE=str(out) + "-cache")
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    return result.returncode, result.stdout, result.stderr


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_learning_scalar_run_is_not_stopped_after_its_first_epoch(idx_dir, tmp_path, workers):
    """Examples' costs differ by far more than 10x once the network learns: only the batch's cost is judged."""
    code, out, err = scalar_command(idx_dir, tmp_path / "run", "--hidden", "16", "--epochs", "6", "--lr", "3",
                                    "--workers", workers)
    assert code == 0, err
    assert "epoch 6/6" in out and "diverged" not in err


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_diverging_scalar_run_stops_with_any_number_of_workers(idx_dir, tmp_path, workers):
    code, out, err = scalar_command(idx_dir, tmp_path / "run", "--hidden", "8", "--epochs", "2", "--lr", "1e6",
                                    "--workers", workers)
    assert code == 1, out + err
    assert "training diverged in epoch 1" in err and "smaller learning rate (1e+06 now)" in err


def test_the_scalar_and_fast_engines_stop_at_the_same_batch(data):
    """The guard sees the same batch costs in both engines, so it stops both at the same place."""
    fast, fast_optimizer, scalar, scalar_optimizer = twins("video", sizes=(8, 10))
    fast_optimizer.lr = scalar_optimizer.lr = 1e6
    errors = []
    for net, optimizer, workers in ((fast, fast_optimizer, None), (scalar, scalar_optimizer, 2)):
        with pytest.raises(ValueError) as stopped:
            train(net, optimizer, COSTS["squared"], data, epochs=2, batch_size=20, seed=1, workers=workers)
        errors.append(str(stopped.value))
    assert "training diverged" in errors[0] and errors[0] == errors[1]


# --- issue 14, cause 12: no more worker processes than cores ---------------------------------------

def test_more_workers_than_cores_are_refused_by_the_library_and_the_command(data, demo, capsys):
    cores = os.cpu_count() or 1
    _, _, scalar, optimizer = twins("video", sizes=(4, 10))
    with pytest.raises(ValueError, match=f"{cores + 1} worker processes on a machine with {cores} core"):
        train(scalar, optimizer, COSTS["squared"], data, epochs=1, workers=cores + 1)
    assert multiprocessing.active_children() == []
    with pytest.raises(SystemExit) as stopped:
        demo.main(["--engine", "scalar", "--workers", "100000"])
    assert stopped.value.code == 2
    assert f"--workers: 100000 worker processes on a machine with {cores} core" in capsys.readouterr().err
