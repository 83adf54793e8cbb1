"""The training command's output folder: runs with other settings than the video's get their own (issue 17.1),
and the commands it suggests afterwards work on what it wrote."""
import os
import re
import shlex
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn.cli
from mnist_fixtures import idx_files, write_files
from test_train import demo, data, synthetic_digits  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]


def out_of(*argv):
    return nn.cli.parse(list(argv)).out


def test_the_videos_network_goes_to_runs_mnist_and_others_to_a_folder_named_after_them():
    assert out_of() == "runs/mnist"
    assert out_of("--epochs", "3", "--workers", "1", "--engine", "scalar") == "runs/mnist-scalar"  # epochs: no
    assert out_of("--hidden", "512", "--activation", "relu", "--cost", "cross-entropy", "--optimizer", "momentum",
                  "--lr", "0.1", "--dtype", "float32") == "runs/mnist-512-relu-cross-entropy-momentum-float32"
    assert out_of("--recipe", "best") == "runs/mnist-best-15epochs"
    assert out_of("--recipe", "best", "--seed", "1") == "runs/mnist-best-seed1-15epochs"
    assert out_of("--lr", "0.5", "--out", "mine") == "mine"  # --out still chooses


OPTIONS = {"--hidden": ["16", "8", "32 32"], "--activation": ["sigmoid", "relu", "tanh"],
           "--cost": ["squared", "cross-entropy"], "--optimizer": ["sgd", "momentum", "adam"],
           "--lr": [None, "0.5", "3"], "--batch-size": ["100", "50"], "--seed": ["0", "2"],
           "--dtype": ["float64", "float32"], "--shift": ["0", "1"], "--lr-decay": [None, "cosine"]}


def command_line(choice):
    argv = []
    for option, value in choice.items():
        if value is not None:
            argv += [option, *value.split()]
    return argv


def settings_of(argv):
    args = nn.cli.parse(argv + ["--out", "x"])
    lr = args.lr if args.lr is not None else nn.cli.OPTIMIZERS[args.optimizer][1]
    return tuple(args.hidden), args.activation, args.cost, args.optimizer, lr, args.batch_size, args.seed, \
        args.dtype, args.shift, args.lr_decay, args.epochs if args.lr_decay else None


@settings(max_examples=150, deadline=None)
@given(st.fixed_dictionaries({option: st.sampled_from(values) for option, values in OPTIONS.items()}),
       st.fixed_dictionaries({option: st.sampled_from(values) for option, values in OPTIONS.items()}))
def test_two_runs_share_a_folder_only_if_their_settings_are_the_same(first, second):
    a, b = command_line(first), command_line(second)
    assert (out_of(*a) == out_of(*b)) == (settings_of(a) == settings_of(b))


@pytest.fixture
def idx_dir(tmp_path, data):
    arrays = (data[0].reshape(-1, 28, 28), data[1], data[2].reshape(-1, 28, 28), data[3])
    return write_files(tmp_path / "digits", idx_files(arrays, gz=False))


def suggested(stdout, command):
    """The command lines in the 'what to try next' block that start with `command`."""
    block = stdout[stdout.index("What to try next"):]
    return [shlex.split(line.strip()) for line in block.splitlines() if line.strip().startswith(command)]


def test_a_run_of_other_settings_leaves_runs_mnist_alone_and_its_suggestions_work(demo, tmp_path, idx_dir,
                                                                                    monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "mnist").mkdir(parents=True)
    (tmp_path / "runs" / "mnist" / "model.npz").write_bytes(b"the video's model")
    demo.main(["--hidden", "8", "--epochs", "2", "--batch-size", "16", "--data-dir", str(idx_dir)])
    assert (tmp_path / "runs" / "mnist" / "model.npz").read_bytes() == b"the video's model"
    out = tmp_path / "runs" / "digits-8-batch16"
    assert (out / "model.npz").exists()
    stdout = capsys.readouterr().out
    [explore] = suggested(stdout, "seebackprop explore")
    assert explore[explore.index("--model") + 1] == "runs/digits-8-batch16/model.npz"
    env = dict(os.environ, PYTHONPATH=str(ROOT), SEEBACKPROP_CACHE=str(tmp_path / "cache"))
    server = subprocess.Popen([sys.executable, "-m", "seebackprop", *explore[1:], "--port", "0", "--no-browser"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
    try:
        first = server.stdout.readline() + server.stdout.readline()
        assert "784-8-10" in first, first + server.stderr.read() if server.poll() is not None else first
        url = re.search(r"http://\S+", first).group(0)
        with urllib.request.urlopen(url, timeout=30) as page:
            assert page.status == 200 and b"<html" in page.read().lower()
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert [line[0] for line in suggested(stdout, "seebackprop step")] == ["seebackprop"]


def test_a_relu_cross_entropy_network_gets_an_explorer_line_that_works(demo, tmp_path, idx_dir, monkeypatch, capsys):
    """The explorer takes any MLP reading 784 pixels into up to 10 classes (issue 17): the line is there, and works."""
    monkeypatch.chdir(tmp_path)
    demo.main(["--hidden", "8", "--epochs", "1", "--batch-size", "16", "--data-dir", str(idx_dir),
               "--activation", "relu", "--cost", "cross-entropy"])
    stdout = capsys.readouterr().out
    [explore] = suggested(stdout, "seebackprop explore")
    assert explore[explore.index("--model") + 1] == "runs/digits-8-relu-cross-entropy-batch16/model.npz"
    server = subprocess.Popen([sys.executable, "-m", "seebackprop", *explore[1:], "--port", "0", "--no-browser"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                              env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        first = server.stdout.readline()
        assert "784-8-10" in first, first + server.stderr.read() if server.poll() is not None else first
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_resuming_finds_the_folder_of_its_settings(demo, tmp_path, idx_dir, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["--hidden", "8", "--batch-size", "16", "--data-dir", str(idx_dir), "--optimizer", "momentum"]
    demo.main([*args, "--epochs", "1"])
    history = demo.main([*args, "--epochs", "2", "--resume"])
    assert [figures["epoch"] for figures in history] == [1, 2]
