"""The training loop and the MNIST demo, on small synthetic digits (no download, no real MNIST)."""
import re
import json
import os
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

import autodiff.tensor as tensor
import nn.cli
import nn.data
import nn.train
from autodiff.files import DamagedFileError
from mnist_fixtures import idx_files, write_files
from nn.fast import FastMLP
from nn.optim import SGD, Adam
from nn.data import scaled
from nn.train import COSTS, describe, load_checkpoint, predict, squared_error_cost, train

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demos" / "train_mnist.py"


def synthetic_digits(n, rng):
    """Ten easy classes: digit k is a bright band across rows 2k+3..2k+5, over faint noise."""
    labels = rng.integers(0, 10, n)
    images = rng.integers(0, 60, (n, 28, 28))
    for image, k in zip(images, labels):
        image[2 * k + 3:2 * k + 6, :] = 255
    return images.reshape(n, 784).astype(np.uint8), labels.astype(np.int64)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    return synthetic_digits(300, rng) + synthetic_digits(60, rng)


BATCHES_PER_EPOCH = 19  # 300 examples in batches of 16

OPTIMIZERS = {
    "sgd": lambda params, lr=0.5: SGD(params, lr),
    "momentum": lambda params, lr=0.05: SGD(params, lr, momentum=0.9),
    "adam": lambda params, lr=0.01: Adam(params, lr),
}


def setup(optimizer="momentum", cost="cross-entropy", lr=None, hidden=8, seed=3):
    """A small network: the video's sigmoids for the squared error, relu and logits for cross-entropy."""
    if cost == "squared":
        net = FastMLP(784, [hidden, 10], "sigmoid", "sigmoid", seed=seed, dtype=np.float32)
    else:
        net = FastMLP(784, [hidden, 10], "relu", "linear", seed=seed, dtype=np.float32)
    make = OPTIMIZERS[optimizer]
    return net, (make(net.parameters()) if lr is None else make(net.parameters(), lr))


def run(data, checkpoint=None, epochs=3, resume=False, optimizer="momentum", cost="cross-entropy",
        lr=None, hidden=8, seed=3, batch_size=16, compiled=True):
    """Train a fresh network (or resume one); the network and the history."""
    net, opt = setup(optimizer, cost, lr, hidden, seed)
    history = train(net, opt, COSTS[cost], data, epochs, batch_size, seed, checkpoint=checkpoint, resume=resume,
                    compiled=compiled)
    return net, history


def run_of(net, opt):
    """The description of run()'s defaults, which a checkpoint must match."""
    return describe(net, opt, COSTS["cross-entropy"], 16, 3)


def same_weights(a, b):
    return all(np.array_equal(p.data, q.data) for p, q in zip(a.parameters(), b.parameters()))


def without_seconds(history):
    return [{k: v for k, v in figures.items() if k != "seconds"} for figures in history]


class StopAfter:
    """optimizer.step, replaced: the real step `steps` times, then Ctrl-C (a KeyboardInterrupt)."""

    def __init__(self, step, steps):
        self.step, self.steps = step, steps

    def __call__(self):
        if self.steps == 0:
            raise KeyboardInterrupt
        self.steps -= 1
        self.step()


# --- the pieces ----------------------------------------------------------------------------

def test_squared_error_cost_matches_a_hand_computation():
    rng = np.random.default_rng(0)
    outputs, labels = rng.uniform(size=(5, 10)), rng.integers(0, 10, 5)
    targets = np.zeros((5, 10))
    targets[np.arange(5), labels] = 1.0
    expected = np.mean(np.sum((outputs - targets) ** 2, axis=1))
    net = FastMLP(10, [10], "relu", "linear", dtype=np.float64)
    for p in net.parameters():
        p.data[...] = 0.0
    net.weights[0].data[...] = np.eye(10)  # the identity: outputs = inputs
    assert squared_error_cost(net(outputs), labels).data == pytest.approx(expected)


def test_scaled_maps_bytes_onto_zero_to_one_in_the_networks_dtype():
    pixels = np.array([[0, 51, 255]], dtype=np.uint8)
    for dtype in (np.dtype(np.float32), np.dtype(np.float64)):
        out = scaled(pixels, dtype)
        assert out.dtype == dtype
        np.testing.assert_allclose(out, [[0.0, 0.2, 1.0]], rtol=1e-6)


def test_predict_is_the_most_active_output():
    net = FastMLP(784, [10], "relu", "linear", seed=0, dtype=np.float64)
    images = np.random.default_rng(0).integers(0, 256, (25, 784), dtype=np.uint8)
    expected = np.argmax(images / 255 @ net.weights[0].data.T + net.biases[0].data, axis=1)
    np.testing.assert_array_equal(predict(net, images, batch_size=7), expected)


# --- training --------------------------------------------------------------------------------

@pytest.mark.parametrize("optimizer, cost, lr", [
    ("sgd", "squared", 3.0),  # the video's network, with the learning rate of Nielsen's book
    ("sgd", "cross-entropy", 0.5),
    ("momentum", "cross-entropy", 0.05),
    ("adam", "cross-entropy", 0.01),
])
def test_training_lowers_the_cost_on_the_whole_set(data, optimizer, cost, lr):
    net, opt = setup(optimizer, cost, lr)
    images, labels = scaled(data[0], net.dtype), data[1]
    before = COSTS[cost](net(images), labels).data
    history = train(net, opt, COSTS[cost], data, epochs=4, batch_size=16, seed=0)
    after = COSTS[cost](net(images), labels).data
    assert after < 0.5 * before
    assert history[-1]["cost"] < history[0]["cost"]
    assert history[-1]["test_accuracy"] == np.mean(predict(net, data[2]) == data[3]) >= 0.8


def test_the_history_has_one_entry_per_epoch(data):
    _, history = run(data, epochs=3)
    assert [figures["epoch"] for figures in history] == [1, 2, 3]
    for figures in history:
        assert set(figures) == {"epoch", "seconds", "cost", "test_accuracy"}
        assert figures["seconds"] > 0 and figures["cost"] > 0 and 0 <= figures["test_accuracy"] <= 1


def test_the_seed_decides_the_run(data):
    first, _ = run(data, epochs=2, seed=5)
    again, _ = run(data, epochs=2, seed=5)
    other, _ = run(data, epochs=2, seed=6)
    assert same_weights(first, again)
    assert not same_weights(first, other)


# --- checkpoints and resuming -------------------------------------------------------------

@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_resuming_ends_with_the_weights_of_an_uninterrupted_run(data, tmp_path, optimizer):
    straight, straight_history = run(data, tmp_path / "a.npz", epochs=3, optimizer=optimizer)
    run(data, tmp_path / "b.npz", epochs=1, optimizer=optimizer)
    resumed, resumed_history = run(data, tmp_path / "b.npz", epochs=3, resume=True, optimizer=optimizer)
    assert same_weights(straight, resumed)
    assert without_seconds(resumed_history) == without_seconds(straight_history)


def test_the_checkpoint_holds_the_network_after_each_epoch(data, tmp_path):
    net, history = run(data, tmp_path / "c.npz", epochs=2)
    fresh, opt = setup()
    assert not same_weights(fresh, net)
    assert load_checkpoint(tmp_path / "c.npz", fresh, opt, run_of(fresh, opt)) == history
    assert same_weights(fresh, net)


def test_ctrl_c_mid_epoch_keeps_the_previous_checkpoint_and_resume_finishes(data, tmp_path):
    checkpoint = tmp_path / "run.npz"
    straight, _ = run(data, tmp_path / "straight.npz", epochs=3)
    net, opt = setup()
    saved = {}
    opt.step = StopAfter(opt.step, steps=BATCHES_PER_EPOCH + 3)  # stop in epoch 2
    with pytest.raises(KeyboardInterrupt):
        train(net, opt, COSTS["cross-entropy"], data, 3, 16, seed=3, checkpoint=checkpoint,
              on_epoch=lambda history: saved.setdefault("bytes", checkpoint.read_bytes()))
    assert checkpoint.read_bytes() == saved["bytes"]  # the file written after epoch 1, untouched
    assert sorted(os.listdir(tmp_path)) == ["run.npz", "straight.npz"]  # no temporary file left behind
    resumed, history = run(data, checkpoint, epochs=3, resume=True)
    assert [figures["epoch"] for figures in history] == [1, 2, 3]
    assert same_weights(straight, resumed)


def test_ctrl_c_while_writing_a_checkpoint_leaves_the_previous_one(data, tmp_path, monkeypatch):
    checkpoint = tmp_path / "run.npz"
    real_savez, calls = np.savez, []

    def savez_then_interrupt(file, **arrays):
        calls.append(1)
        if len(calls) == 1:
            return real_savez(file, **arrays)
        file.write(b"PK\x03\x04 half a zip file")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", savez_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        run(data, checkpoint, epochs=2)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["run.npz"]  # no temporary file left behind
    net, opt = setup()
    history = load_checkpoint(checkpoint, net, opt, run_of(net, opt))
    assert [figures["epoch"] for figures in history] == [1]


@pytest.mark.parametrize("change, named", [
    ({"lr": 0.2}, "optimizer"),
    ({"hidden": 9}, "network"),
    ({"optimizer": "adam"}, "optimizer"),
    ({"cost": "squared"}, "network"),  # squared error comes with sigmoid outputs
    ({"seed": 4}, "seed"),
    ({"batch_size": 8}, "batch_size"),
])
def test_resuming_with_other_options_is_refused_by_name(data, tmp_path, change, named):
    run(data, tmp_path / "c.npz", epochs=1)
    with pytest.raises(ValueError, match=f"checkpoint of a different run: .*{named}"):
        run(data, tmp_path / "c.npz", epochs=2, resume=True, **change)


def test_resuming_without_a_checkpoint_says_so(data, tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint at .*missing.npz"):
        run(data, tmp_path / "missing.npz", resume=True)


@pytest.mark.parametrize("content", [b"", b"not a zip file", b"PK\x03\x04 truncated"])
def test_a_damaged_checkpoint_is_named(data, tmp_path, content):
    (tmp_path / "bad.npz").write_bytes(content)
    with pytest.raises(DamagedFileError, match="bad.npz: not a readable .npz file"):
        run(data, tmp_path / "bad.npz", resume=True)


# --- the demo ----------------------------------------------------------------------------------

@pytest.fixture
def demo(monkeypatch, data):
    """The training command's module (nn/cli.py), reading the synthetic digits instead of MNIST."""
    monkeypatch.setattr(nn.data, "load_mnist", lambda directory=None, cache_dir=None: data)
    return nn.cli


def demo_args(out, *more):
    return ["--hidden", "8", "--epochs", "3", "--batch-size", "16", "--out", str(out), *more]


@pytest.mark.parametrize("options", [[], ["--cost", "cross-entropy", "--activation", "relu", "--optimizer", "adam",
                                         "--dtype", "float32"]])
def test_the_demo_replays_its_step_and_no_compile_gives_the_same_weights_bit_for_bit(demo, tmp_path, monkeypatch,
                                                                                      options):
    recorded = []
    real = nn.train.compiled_step
    monkeypatch.setattr(nn.train, "compiled_step", lambda net, cost: recorded.append(net) or real(net, cost))
    replayed = demo.main(demo_args(tmp_path / "replayed", *options))
    assert len(recorded) == 1  # the default: the step recorded and replayed
    plain = demo.main(demo_args(tmp_path / "plain", "--no-compile", *options))
    assert len(recorded) == 1  # --no-compile: the plain graph
    ours, theirs = (np.load(tmp_path / name / "model.npz") for name in ("replayed", "plain"))
    assert set(ours) == set(theirs) and all(ours[key].tobytes() == theirs[key].tobytes() for key in ours)
    assert [figures["cost"] for figures in replayed] == [figures["cost"] for figures in plain]


def test_the_demo_writes_metrics_for_every_epoch(demo, tmp_path, capsys):
    metrics = tmp_path / "metrics.json"
    history = demo.main(demo_args(tmp_path / "run", "--metrics-json", str(metrics)))
    written = json.loads(metrics.read_text())
    assert written["epochs"] == history
    assert [figures["epoch"] for figures in written["epochs"]] == [1, 2, 3]
    assert all(set(figures) == {"epoch", "seconds", "cost", "test_accuracy"} for figures in written["epochs"])
    assert written["options"]["hidden"] == [8]
    assert "epoch 3/3" in capsys.readouterr().out


def test_the_demo_resumes_after_ctrl_c_with_exit_code_130(demo, tmp_path, capsys, monkeypatch):
    straight = demo.main(demo_args(tmp_path / "straight"))
    real_step = SGD.step
    calls = []

    def step_then_interrupt(self):
        calls.append(1)
        if len(calls) == BATCHES_PER_EPOCH + 3:  # in epoch 2
            raise KeyboardInterrupt
        real_step(self)

    monkeypatch.setattr(SGD, "step", step_then_interrupt)
    with pytest.raises(SystemExit) as stopped:
        demo.main(demo_args(tmp_path / "run"))
    assert stopped.value.code == 130
    message = capsys.readouterr().err
    assert "checkpoint after epoch 1" in message and "--resume" in message
    monkeypatch.setattr(SGD, "step", real_step)
    resumed = demo.main(demo_args(tmp_path / "run", "--resume"))
    assert without_seconds(resumed) == without_seconds(straight)
    final, straight_final = (FastMLP.load(tmp_path / name / "model.npz") for name in ("run", "straight"))
    assert same_weights(final, straight_final)


def test_the_demo_refuses_to_resume_another_run(demo, tmp_path):
    demo.main(demo_args(tmp_path, "--epochs", "1"))
    with pytest.raises(SystemExit, match="different run: network"):
        demo.main(demo_args(tmp_path, "--hidden", "9", "--resume"))
    with pytest.raises(SystemExit, match="no checkpoint at"):
        demo.main(demo_args(tmp_path / "elsewhere", "--resume"))


def is_png(path):
    raw = Path(path).read_bytes()
    return raw[:8] == b"\x89PNG\r\n\x1a\n" and matplotlib.image.imread(path).ndim == 3


def test_the_demo_runs_end_to_end_from_a_directory_of_idx_files(tmp_path, data):
    train_images, train_labels, test_images, test_labels = data
    arrays = (train_images.reshape(-1, 28, 28), train_labels, test_images.reshape(-1, 28, 28), test_labels)
    write_files(tmp_path / "idx", idx_files(arrays, gz=True))
    env = dict(os.environ, SEEBACKPROP_CACHE=str(tmp_path / "cache"))  # never the user's cache
    command = [sys.executable, str(DEMO), *demo_args(tmp_path / "out"), "--data-dir", str(tmp_path / "idx"),
               "--activation", "relu", "--cost", "cross-entropy", "--optimizer", "adam", "--lr", "0.01"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "test accuracy" in result.stdout
    assert is_png(tmp_path / "out" / "curves.png") and is_png(tmp_path / "out" / "mistakes.png")
    net = FastMLP.load(tmp_path / "out" / "model.npz")
    assert (net.sizes, net.activation, net.output) == ([784, 8, 10], "relu", "linear")
    assert np.mean(predict(net, test_images) == test_labels) >= 0.8


# --- issue 10: nothing silent ----------------------------------------------------------------

import signal  # noqa: E402
import time  # noqa: E402
import zipfile  # noqa: E402

from nn import guard  # noqa: E402
from nn.guard import Diverged  # noqa: E402


# training stops when it diverges (cause 2)

@pytest.mark.parametrize("cost, lr, what", [
    ("cross-entropy", 1e4, r"epoch 1, batch 2: the cost rose to .* from 2.3"),  # logits explode
    ("squared", 1e3, r"epoch 1, batch 19: the gradients vanished"),  # the video's sigmoids saturate at 0 or 1
])
def test_diverging_training_stops_naming_epoch_batch_and_learning_rate(data, cost, lr, what):
    with pytest.raises(Diverged, match=f"training diverged in {what}.*smaller learning rate \\({lr:g} now\\)"):
        run(data, epochs=3, optimizer="sgd", cost=cost, lr=lr)


def test_divergence_keeps_the_last_good_checkpoint(data, tmp_path):
    checkpoint, saved, calls = tmp_path / "run.npz", {}, []
    net, opt = setup()

    def cost_exploding_in_epoch_2(outputs, labels):
        calls.append(1)
        loss = COSTS["cross-entropy"](outputs, labels)
        return loss * 1e3 if len(calls) == BATCHES_PER_EPOCH + 4 else loss

    with pytest.raises(Diverged, match="epoch 2, batch 4: the cost rose .* the checkpoint, if any, still holds epoch 1"):
        train(net, opt, cost_exploding_in_epoch_2, data, 3, 16, seed=3, checkpoint=checkpoint,
              on_epoch=lambda history: saved.setdefault("bytes", checkpoint.read_bytes()))
    assert checkpoint.read_bytes() == saved["bytes"]


def test_an_overflow_in_training_names_the_epoch_and_batch(data, monkeypatch):
    real_backward, calls = type(setup()[0].weights[0]).backward, []

    def overflowing_backward(self):
        calls.append(1)
        if len(calls) == 7:
            raise OverflowError("backward: the gradient overflows at op '*'")
        real_backward(self)
    monkeypatch.setattr(type(setup()[0].weights[0]), "backward", overflowing_backward)
    with pytest.raises(Diverged, match=r"epoch 1, batch 7: backward: the gradient overflows at op '\*'"):
        run(data, epochs=1, compiled=False)


def test_an_overflow_in_a_replayed_step_names_the_epoch_and_batch(data, monkeypatch):
    """The recorded step (the default) raises the same OverflowError, from the same rule, as the plain graph."""
    real_rule, calls = tensor.weighted_sum, []

    def overflowing_on_batch_7(w, x, b, out=None):
        calls.append(1)
        value, local_grads = real_rule(w, x, b, out)
        if len(calls) == 2 * 7 - 1:  # batch 7's first layer: two w·x+b per batch
            value[0, 0] = np.inf
            tensor._overflow_checked("w·x+b", value, w, x, b)
        return value, local_grads
    monkeypatch.setattr(tensor, "weighted_sum", overflowing_on_batch_7)
    with pytest.raises(Diverged, match=r"epoch 1, batch 7: w·x\+b: the result on shapes .* overflows"):
        run(data, epochs=1)


def test_the_demo_exits_non_zero_when_training_diverges(demo, tmp_path):
    with pytest.raises(SystemExit) as stopped:
        demo.main(demo_args(tmp_path, "--lr", "1e4", "--activation", "relu", "--cost", "cross-entropy"))
    assert stopped.value.code not in (0, None)
    assert "training diverged in epoch 1, batch 2" in str(stopped.value.code)


def test_an_empty_training_set_is_named(data):
    empty = (data[0][:0], data[1][:0], data[2], data[3])
    with pytest.raises(ValueError, match="the training set is empty"):
        run(empty)


# checkpoints are validated before anything is loaded (cause 4), and record their data (cause 5)

def damaged_checkpoint(path, change):
    with np.load(path) as archive:
        stored = dict(archive)
    change(stored)
    np.savez(path, **stored)


CHECKPOINT_DAMAGE = {
    "the last layer missing": (lambda s: s.pop("net.w1"), "missing w1"),
    "a momentum array missing": (lambda s: s.pop("optimizer.velocity.3"), "velocity has 3 arrays for 4 parameters"),
    "a momentum array of the wrong shape": (lambda s: s.update({"optimizer.velocity.0": np.ones(3)}),
                                            r"velocity.0 is float64 of shape \(3,\)"),
    "NaN weights": (lambda s: s["net.w0"].__setitem__((0, 0), np.nan), "w0 holds nan"),
    "integer weights": (lambda s: s.update({"net.b1": s["net.b1"].astype(np.int64)}), "b1 is int64"),
    "a network of another shape": (lambda s: s.update({"net.w1": s["net.w1"][:, :5], "net.w0": s["net.w0"][:5],
                                                       "net.b0": s["net.b0"][:5]}), r"holds FastMLP\(784-5-10"),
    "a garbled history": (lambda s: s.update(run=np.array('{"run": {}, "history": [{"epoch": 2}]}')),
                          "not a readable checkpoint"),
}


@pytest.mark.parametrize("damage", sorted(CHECKPOINT_DAMAGE))
def test_a_damaged_checkpoint_is_named_and_changes_nothing(data, tmp_path, damage):
    change, problem = CHECKPOINT_DAMAGE[damage]
    path = tmp_path / "c.npz"
    run(data, path, epochs=1)
    damaged_checkpoint(path, change)
    net, opt = setup()
    before = [p.data.copy() for p in net.parameters()], [v.copy() for v in opt.velocity]
    with pytest.raises(DamagedFileError, match=f"{path}: .*{problem}"):
        load_checkpoint(path, net, opt, run_of(net, opt))
    assert all(np.array_equal(p.data, b) for p, b in zip(net.parameters(), before[0]))
    assert all(np.array_equal(v, b) for v, b in zip(opt.velocity, before[1]))


def test_resuming_on_other_data_is_refused(data, tmp_path):
    run(data, tmp_path / "c.npz", epochs=1)
    other = (data[0][::-1].copy(), data[1][::-1].copy(), data[2], data[3])  # the same images, reordered
    with pytest.raises(ValueError, match="checkpoint of a different run: data 'sha256:"):
        run(other, tmp_path / "c.npz", epochs=2, resume=True)


# a run owns its output folder (cause 6)

def hold_the_lock(out):
    """Another process holding --out, as a second training run would; it prints 'locked' when it does."""
    code = f"import sys, time; sys.path.insert(0, {str(ROOT)!r}); from nn import guard; " \
           f"guard.own_output({str(out)!r}); print('locked', flush=True); time.sleep(120)"
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_two_runs_on_one_out_are_refused(demo, tmp_path):
    out = tmp_path / "run"
    holder = hold_the_lock(out)
    try:
        with pytest.raises(SystemExit, match=f"--out {out} is in use by another training run \\(process {holder.pid}\\)"):
            demo.main(demo_args(out))
        assert not (out / "checkpoint.npz").exists()
    finally:
        holder.kill()
        holder.wait()
    demo.main(demo_args(out, "--epochs", "1"))  # the lock died with its process
    assert (out / "model.npz").exists()


def test_a_killed_runs_temporary_files_are_removed_at_the_next_start(demo, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    stale = [out / ".checkpoint.npz.k3j_9xq2.tmp", out / ".model.npz.00000000.tmp"]
    for path in stale:
        path.write_bytes(b"half a file")
    (out / ".notes.tmp").write_text("the user's own")  # not a name atomic_write makes: kept
    demo.main(demo_args(out, "--epochs", "1"))
    assert not any(path.exists() for path in stale)
    assert (out / ".notes.tmp").exists()
    assert "removed 2 temporary files" in capsys.readouterr().err


@pytest.mark.parametrize("where, problem", [("a-file", "is a file, not a folder"),
                                            ("a-file/run", "cannot write there")])
def test_an_unusable_out_is_named_before_any_training(demo, tmp_path, monkeypatch, where, problem):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setattr(nn.data, "load_mnist", lambda *args, **kwargs: pytest.fail("training started"))
    with pytest.raises(SystemExit, match=f"--out {tmp_path / where}: {problem}"):
        demo.main(demo_args(tmp_path / where))


# Ctrl-C at any moment (cause 7)

def test_ctrl_c_during_start_up_exits_130_without_a_traceback(tmp_path, data):
    """The demo's imports take a second; Ctrl-C then is answered with one line (and any later one too)."""
    arrays = (data[0].reshape(-1, 28, 28), data[1], data[2].reshape(-1, 28, 28), data[3])
    write_files(tmp_path / "idx", idx_files(arrays, gz=False))
    argv = demo_args(tmp_path / "out", "--epochs", "100000", "--data-dir", str(tmp_path / "idx"))
    code = (f"import sys, runpy; sys.argv = ['train_mnist.py', *{argv!r}]; "
            f"print('starting', flush=True); runpy.run_path({str(DEMO)!r}, run_name='__main__')")
    env = dict(os.environ, SEEBACKPROP_CACHE=str(tmp_path / "cache"))
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env)
    assert process.stdout.readline().strip() == "starting"
    time.sleep(0.2)  # inside the imports of numpy and matplotlib, on all but the fastest machines
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err


def interrupt_on_call(monkeypatch, target, name, call):
    """target.name, replaced: the real one, except on call number `call`, which is Ctrl-C instead."""
    real, calls = getattr(target, name), []

    def wrapper(*args, **kwargs):
        calls.append(1)
        if len(calls) == call:
            raise KeyboardInterrupt
        return real(*args, **kwargs)
    monkeypatch.setattr(target, name, wrapper)


def test_ctrl_c_inside_savez_finishes_the_checkpoint_then_exits_130(demo, tmp_path, capsys, monkeypatch):
    """A real SIGINT while np.savez writes the second checkpoint: it is finished, then the run stops."""
    real_close, calls = zipfile._ZipWriteFile.close, []

    def close_with_a_ctrl_c(self):
        calls.append(1)
        if len(calls) == 15:  # a checkpoint is 11 arrays (net 4 + 2 names, optimizer 4, the run)
            os.kill(os.getpid(), signal.SIGINT)
        real_close(self)
    monkeypatch.setattr(zipfile._ZipWriteFile, "close", close_with_a_ctrl_c)
    with pytest.raises(SystemExit) as stopped:
        demo.main(demo_args(tmp_path / "run"))
    assert stopped.value.code == 130
    err = capsys.readouterr().err
    assert "checkpoint after epoch 2" in err and "--resume" in err and "Error" not in err
    assert sorted(os.listdir(tmp_path / "run")) == [".lock", "checkpoint.npz"]  # no temporary file left
    net, opt = setup(optimizer="sgd", hidden=8, seed=0)


def test_ctrl_c_just_after_a_checkpoint_names_the_epoch_on_disk(demo, tmp_path, capsys, monkeypatch):
    interrupt_on_call(monkeypatch, demo, "report", 2)  # after epoch 2's checkpoint, before it is counted
    with pytest.raises(SystemExit) as stopped:
        demo.main(demo_args(tmp_path / "run"))
    assert stopped.value.code == 130
    assert "checkpoint after epoch 2" in capsys.readouterr().err
    assert [figures["epoch"] for figures in demo.main(demo_args(tmp_path / "run", "--resume"))] == [1, 2, 3]


def test_ctrl_c_inside_a_writer_is_a_keyboard_interrupt(tmp_path):
    from autodiff.files import atomic_write

    def interrupted_then_cleanup_fails(file):
        try:
            raise KeyboardInterrupt
        finally:
            raise ValueError("Can't close the ZIP file while there is an open writing handle on it")
    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "x.npz", interrupted_then_cleanup_fails)
    assert os.listdir(tmp_path) == []


# the edges of the command line (cause 8)

@pytest.mark.parametrize("args, message", [
    (["--seed", "-1"], "--seed must be 0 or more, got -1"),
    (["--out", ""], "--out is empty: name a folder"),  # it wrote into the current folder (issue 14, cause 15)
    (["--metrics-json", ""], "--metrics-json is empty: name a file"),
    (["--data-dir", ""], "--data-dir is empty: name a folder"),
    (["--metrics-json", "."], "--metrics-json . is a folder"),
    (["--hidden", "1000000000"], r"--hidden: layer sizes \[784, 1000000000, 10\] make .* TiB of memory; "
                                 "this machine has"),
])
def test_bad_command_lines_are_named_before_anything_runs(demo, tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as stopped:
        demo.main(demo_args(tmp_path, *args))
    assert stopped.value.code == 2
    assert re.search(message, capsys.readouterr().err)


# --- issue 14, cause 5: the lock file ---------------------------------------------------------------

@pytest.mark.parametrize("link", ["symlink", "hard link"])
def test_a_linked_lock_file_is_refused_and_what_it_names_is_untouched(demo, tmp_path, link):
    out, precious = tmp_path / "run", tmp_path / "precious.txt"
    out.mkdir()
    precious.write_text("the user's notes")
    (out / ".lock").symlink_to(precious) if link == "symlink" else os.link(precious, out / ".lock")
    with pytest.raises(SystemExit, match=r"--out .*\.lock.* (symlink|other names)"):
        demo.main(demo_args(out, "--epochs", "1"))
    assert precious.read_text() == "the user's notes"
    assert not (out / "checkpoint.npz").exists()


def test_a_lock_file_replaced_mid_run_stops_the_run_before_it_writes_again(demo, tmp_path, monkeypatch):
    """Another run could now lock the new file: this one must stop before it writes over that run's files."""
    out = tmp_path / "run"
    real_step, calls = SGD.step, []

    def step_then_replace_the_lock(self):
        calls.append(1)
        if len(calls) == BATCHES_PER_EPOCH + 2:  # in epoch 2
            os.unlink(out / ".lock")
            (out / ".lock").write_text("")  # what a second run's start would make
        real_step(self)
    monkeypatch.setattr(SGD, "step", step_then_replace_the_lock)
    with pytest.raises(SystemExit, match=r"the lock file .*\.lock was replaced during the run"):
        demo.main(demo_args(out))
    saved = json.loads(str(np.load(out / "checkpoint.npz")["run"]))["history"]
    assert [figures["epoch"] for figures in saved] == [1]  # epoch 2's checkpoint was not written
    assert not (out / "model.npz").exists()


def test_the_lock_file_is_owned_by_its_run(tmp_path):
    out = tmp_path / "run"
    guard.own_output(out)
    try:
        with pytest.raises(OSError, match="is the lock of --out"):
            FastMLP(4, [3, 2]).save(out / ".lock")
    finally:
        guard.release_output(out)
    FastMLP(4, [3, 2]).save(out / ".lock")  # released: an ordinary file again


# --- issue 14, cause 8: the whole checkpoint is checked against one schema; resume compares every setting ---

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def with_history(path, history, run_part=None):
    """The checkpoint at `path` with its JSON replaced: `history` (and the run's settings, if given)."""
    def change(stored):
        saved = json.loads(str(stored["run"]))
        saved["history"] = "HISTORY" if isinstance(history, str) else history
        if run_part is not None:
            saved["run"] = run_part
        text = json.dumps(saved)
        stored["run"] = np.array(text.replace('"HISTORY"', history) if isinstance(history, str) else text)
    damaged_checkpoint(path, change)


GOOD = {"epoch": 1, "seconds": 0.5, "cost": 1.2, "test_accuracy": 0.5}

HAND_EDITS = {
    "an entry that is a list": [[1, 2]],
    "an entry without its cost": [{"epoch": 1, "seconds": 0.5, "test_accuracy": 0.5}],
    "a cost that is a string": [dict(GOOD, cost="1.2")],
    "a NaN cost": [dict(GOOD, cost=float("nan"))],
    "an infinite cost": [dict(GOOD, cost=float("inf"))],
    "a negative cost": [dict(GOOD, cost=-1.0)],
    "an accuracy above 1": [dict(GOOD, test_accuracy=7.0)],
    "an epoch that is true": [dict(GOOD, epoch=True)],
    "an epoch that is a float": [dict(GOOD, epoch=1.0)],
    "an unknown field": [dict(GOOD, note="hi")],
    "an empty history (epoch 1's weights)": [],
    "epochs out of order": [dict(GOOD, epoch=2), GOOD],
    "a history that is a dict": {"epoch": 1},
    "nested a hundred thousand deep": "[" * 100_000 + "]" * 100_000,  # raw JSON: json.dumps cannot make it
}


@pytest.mark.parametrize("edit", sorted(HAND_EDITS))
def test_a_hand_edited_history_is_named_and_changes_nothing(data, tmp_path, edit):
    path = tmp_path / "c.npz"
    run(data, path, epochs=1)
    with_history(path, HAND_EDITS[edit])
    net, opt = setup()
    before = [p.data.copy() for p in net.parameters()]
    with pytest.raises(DamagedFileError, match=f"{path}: not a readable checkpoint: .*(history|nested too deeply)"):
        load_checkpoint(path, net, opt, run_of(net, opt))
    assert all(np.array_equal(p.data, b) for p, b in zip(net.parameters(), before))


def test_a_run_whose_settings_are_not_a_flat_record_is_named(data, tmp_path):
    path = tmp_path / "c.npz"
    run(data, path, epochs=1)
    with_history(path, [GOOD], run_part={"network": {"nested": [1]}})
    net, opt = setup()
    with pytest.raises(DamagedFileError, match=f"{path}: .*run"):
        load_checkpoint(path, net, opt, run_of(net, opt))


json_values = st.recursive(st.none() | st.booleans() | st.integers(-3, 5) | st.floats(allow_nan=True) | st.text(max_size=5),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                               st.sampled_from(["epoch", "seconds", "cost", "test_accuracy", "x"]), inner, max_size=5),
                           max_leaves=12)


@pytest.fixture(scope="module")
def one_epoch_checkpoint(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("checkpoint") / "c.npz"
    run(data, path, epochs=1, hidden=4)
    return path.read_bytes()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=st.lists(st.fixed_dictionaries({}, optional={key: json_values for key in GOOD}) | json_values,
                        max_size=3) | json_values)
def test_any_history_either_loads_valid_or_is_named(data, one_epoch_checkpoint, tmp_path_factory, history):
    path = tmp_path_factory.mktemp("fuzz") / "c.npz"
    path.write_bytes(one_epoch_checkpoint)
    with_history(path, history)
    net, opt = setup(hidden=4)
    try:
        loaded = load_checkpoint(path, net, opt, describe(net, opt, COSTS["cross-entropy"], 16, 3) | {
            "data": guard.fingerprint(data)})
    except DamagedFileError as error:
        assert str(path) in str(error)
        return
    assert isinstance(loaded, list) and [e["epoch"] for e in loaded] == list(range(1, len(loaded) + 1))
    for entry in loaded:
        assert set(entry) == set(GOOD)
        assert all(type(entry[key]) is float and np.isfinite(entry[key]) for key in ("seconds", "cost", "test_accuracy"))
        assert 0 <= entry["test_accuracy"] <= 1


def test_a_cosine_run_resumed_without_its_decay_is_refused(data, tmp_path):
    """The schedule shapes training: dropping --lr-decay on --resume must not go on at a constant rate."""
    net, opt = setup()
    train(net, opt, COSTS["cross-entropy"], data, 3, 16, 3, checkpoint=tmp_path / "c.npz", lr_decay="cosine")
    for changed in (dict(), dict(shift=1), dict(lr_decay="cosine", epochs=5)):
        net, opt = setup()
        with pytest.raises(ValueError, match="checkpoint of a different run: .*(lr_decay|shift|epochs)"):
            train(net, opt, COSTS["cross-entropy"], data, changed.pop("epochs", 4), 16, 3,
                  checkpoint=tmp_path / "c.npz", resume=True, **changed)


def test_a_plain_run_resumed_with_a_decay_or_shifts_is_refused(data, tmp_path):
    run(data, tmp_path / "c.npz", epochs=1)
    for changed in (dict(lr_decay="cosine"), dict(shift=2)):
        net, opt = setup()
        with pytest.raises(ValueError, match="checkpoint of a different run: .*(lr_decay|shift)"):
            train(net, opt, COSTS["cross-entropy"], data, 2, 16, 3, checkpoint=tmp_path / "c.npz", resume=True,
                  **changed)


def test_the_demo_refuses_a_resume_that_drops_the_recipes_decay(demo, tmp_path):
    demo.main(demo_args(tmp_path / "run", "--epochs", "1", "--lr-decay", "cosine"))
    with pytest.raises(SystemExit, match="different run: .*lr_decay 'cosine' there, None here"):
        demo.main(demo_args(tmp_path / "run", "--resume"))


# --- issue 14, cause 11: stuck at chance stops the run ------------------------------------------------

def with_dead_relus(net):
    """Every first-layer ReLU off for every image (what a too-large step does): only the output biases can learn."""
    net.biases[0].data[:] = -100.0
    return net


def test_a_run_stuck_at_chance_stops_after_three_epochs_naming_it(data):
    net, opt = setup(optimizer="sgd", lr=0.5)
    with_dead_relus(net)
    seen = []
    with pytest.raises(guard.StuckAtChance, match=r"after 3 epochs the test accuracy is no better than chance") as stopped:
        train(net, opt, COSTS["cross-entropy"], data, 10, 16, 3, on_epoch=lambda h: seen.append(len(h)))
    assert seen == [1, 2, 3]
    assert "learning rate" in str(stopped.value) and "ReLU" in str(stopped.value)


def test_a_run_that_learns_slowly_is_not_stopped(data):
    """A small learning rate: near chance after the first epochs, but better than chance by the third."""
    _, history = run(data, epochs=4, optimizer="sgd", cost="squared", lr=0.05)
    assert history[-1]["test_accuracy"] > 0.3


def test_the_demo_exits_non_zero_when_stuck_at_chance(demo, tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "FastMLP", lambda *args, **kwargs: with_dead_relus(FastMLP(*args, **kwargs)))
    with pytest.raises(SystemExit) as stopped:
        demo.main(demo_args(tmp_path / "run", "--epochs", "6", "--activation", "relu", "--cost", "cross-entropy"))
    assert "no better than chance" in str(stopped.value.code)  # a message: Python prints it and exits 1


# --- issue 14, cause 12: memory under an address-space limit -------------------------------------------

def limited_to(gib):
    """preexec_fn for a subprocess: an address-space limit, as `prlimit --as` or `ulimit -v` set it."""
    import resource
    return lambda: resource.setrlimit(resource.RLIMIT_AS, (int(gib * 2**30), int(gib * 2**30)))


def test_a_network_beyond_the_address_space_limit_is_refused_by_name(tmp_path):
    """784-30000-10 fits this machine's memory (0.9 GiB) but not a 1 GiB address space that numpy shares."""
    command = [sys.executable, str(DEMO), "--hidden", "30000", "--out", str(tmp_path / "run")]
    result = subprocess.run(command, capture_output=True, text=True, preexec_fn=limited_to(1.0), timeout=300,
                            env=dict(os.environ, SEEBACKPROP_CACHE=str(tmp_path / "cache")))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert re.search(r"--hidden: layer sizes \[784, 30000, 10\] .* needs about 0\.\d\d GiB of memory; its "
                     r"address-space limit \(ulimit -v, prlimit --as\) is 1\.00 GiB", result.stderr), result.stderr


def test_running_out_of_memory_mid_run_is_one_clear_line(demo, tmp_path, monkeypatch, capsys):
    def no_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 3.2 GiB for an array with shape (60000, 784)")
    monkeypatch.setattr(demo, "predict", no_memory)
    with pytest.raises(SystemExit, match="ran out of memory .*Unable to allocate 3.2 GiB.*try smaller --hidden"):
        demo.main(demo_args(tmp_path / "run", "--epochs", "1"))


# --- issue 14, cause 14: Ctrl-C at the edges: before training, and twice --------------------------------

@pytest.fixture(autouse=True)
def python_handles_ctrl_c():
    """Python's own SIGINT handler for the test (another test may have left it ignored), then as it was."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def ctrl_c_inside(monkeypatch, target, name, times=1):
    """target.name, replaced: a real SIGINT to this process (`times` of them), then the real call."""
    real = getattr(target, name)

    def wrapper(*args, **kwargs):
        for _ in range(times):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.001)  # the handler runs between bytecodes: let the first one land
        return real(*args, **kwargs)
    monkeypatch.setattr(target, name, wrapper)


def test_ctrl_c_while_the_command_line_is_read_exits_130(demo, tmp_path, capsys, monkeypatch):
    ctrl_c_inside(monkeypatch, demo, "parse")
    with pytest.raises(SystemExit) as stopped:
        demo.main(demo_args(tmp_path / "run"))
    assert stopped.value.code == 130
    assert "interrupted" in capsys.readouterr().err


@pytest.mark.parametrize("where", ["saved_epochs", "release_output"])
def test_a_second_ctrl_c_while_the_first_is_answered_exits_130(demo, tmp_path, capsys, monkeypatch, where):
    interrupt_on_call(monkeypatch, SGD, "step", BATCHES_PER_EPOCH + 2)  # the first, in epoch 2
    ctrl_c_inside(monkeypatch, guard, where)  # the second, while the first is being answered
    with pytest.raises(SystemExit) as stopped:
        demo.main(demo_args(tmp_path / "run"))
    assert stopped.value.code == 130
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # as it was before main()


def process_has_numpy(pid):
    """Whether the process has begun loading numpy: by then the command's own Ctrl-C handler is in place."""
    try:
        with open(f"/proc/{pid}/maps") as maps:
            return "numpy" in maps.read()
    except OSError:  # gone already
        return True


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="needs Linux's /proc to see the imports start")
@pytest.mark.parametrize("command", ["demo", "python -m seebackprop"])
def test_ctrl_c_at_any_moment_exits_130_without_a_traceback(tmp_path, data, command):
    """SIGINT at delays from the first import to mid-training, alone or followed by a second within 40 ms.

    Signals in the few milliseconds before a script's first line reach Python's own start-up
    (site.py), where no program has a say; from the first line on, every one is answered.
    """
    arrays = (data[0].reshape(-1, 28, 28), data[1], data[2].reshape(-1, 28, 28), data[3])
    write_files(tmp_path / "idx", idx_files(arrays, gz=False))
    start = [sys.executable, str(DEMO)] if command == "demo" else [sys.executable, "-m", "seebackprop", "train"]
    argv = [*start, *demo_args(tmp_path / "out", "--epochs", "100000", "--data-dir", str(tmp_path / "idx"))]  # never done before the last signal
    env = dict(os.environ, SEEBACKPROP_CACHE=str(tmp_path / "cache"), PYTHONPATH=str(ROOT))
    failures = []
    for delay in (0, 0.002, 0.01, 0.03, 0.1, 0.3, 1.0, 2.5):
        for second in (None, 0.0, 0.01, 0.04):
            process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
            while not process_has_numpy(process.pid) and process.poll() is None:
                time.sleep(0.0005)
            time.sleep(delay)
            process.send_signal(signal.SIGINT)
            if second is not None:
                time.sleep(second)
                if process.poll() is None:
                    process.send_signal(signal.SIGINT)
            err = process.communicate(timeout=120)[1]
            if process.returncode != 130 or "Traceback" in err:
                failures.append((delay, second, process.returncode, err[-300:]))
    assert failures == []


def test_ctrl_c_inside_a_finalizer_is_sent_again_once_it_is_done():
    """A KeyboardInterrupt raised in a __del__ is printed by Python as a traceback and dropped; the
    handler the command installs (autodiff.files.interrupt) sends the signal again instead."""
    import autodiff.files as files

    got = []

    class Held:
        def __del__(self):
            files.interrupt(signal.SIGINT, sys._getframe())  # as if Ctrl-C came while this ran

    previous = signal.signal(signal.SIGINT, lambda signum, frame: got.append(signum))
    try:
        Held()  # dropped at once: its __del__ runs, and must not raise
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert got == [signal.SIGINT]
    with pytest.raises(KeyboardInterrupt):  # anywhere else, Ctrl-C is a KeyboardInterrupt at once
        files.interrupt(signal.SIGINT, sys._getframe())
