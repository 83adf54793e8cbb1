"""numpy's BLAS threads (nn/threads.py): one for small products or a busy machine, more only where they pay.

Speed itself is measured by benchmarks/blas_threads.py; these tests check the choice and that every
entry point makes it: the explorer's command and nn.train.train.
"""
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from threadpoolctl import threadpool_info, threadpool_limits

from explore_fixtures import bar_data
from nn import threads
from nn.fast import FastMLP
from nn.optim import SGD
from nn.train import COSTS, train


def blas_threads():
    return max(library["num_threads"] for library in threadpool_info() if library["user_api"] == "blas")


@pytest.fixture
def no_user_setting(monkeypatch):
    """As a user who set nothing (conftest sets OPENBLAS_NUM_THREADS=1 for the other tests), from 2 threads."""
    for name in threads.USER_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    with threadpool_limits(2, user_api="blas"):
        yield


sizes = st.lists(st.integers(1, 4096), min_size=2, max_size=5)


@given(sizes=sizes, batch=st.integers(1, 512), free=st.floats(0, 64))
def test_the_choice_is_at_least_one_and_never_more_than_pays(sizes, batch, free):
    n = threads.choose(sizes, batch, free)
    assert n >= 1
    assert n == 1 or n <= free + threads.SPARE  # never more threads than free cores
    assert n == 1 or threads.largest_product(sizes, batch) >= n * threads.WORK_PER_THREAD  # enough work for each


@given(sizes=sizes, batch=st.integers(1, 512), free=st.floats(0, 64), more=st.floats(0, 8))
def test_more_free_cores_or_more_work_never_mean_fewer_threads(sizes, batch, free, more):
    assert threads.choose(sizes, batch, free + more) >= threads.choose(sizes, batch, free)
    assert threads.choose([s * 2 for s in sizes], batch, free) >= threads.choose(sizes, batch, free)


def test_the_videos_network_gets_one_thread_on_any_machine():
    assert threads.choose([784, 16, 16, 10], 100, free=64) == 1  # the explorer and the demo
    assert threads.choose([784, 512, 512, 10], 128, free=1.0) == 1  # --recipe best, one core taken
    assert threads.choose([784, 512, 512, 10], 128, free=2.0) == 2  # --recipe best, both cores free


def test_another_programs_busy_core_is_seen_and_our_own_work_is_not():
    machine = threads.Machine()
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.2)
        machine.others()
        time.sleep(1.0)
        others = machine.others()
    finally:
        spinner.kill()
        spinner.wait()
    assert 0.7 <= others <= threads.cores() + 0.1
    machine.others()
    start, cpu = time.monotonic(), time.process_time()
    while time.process_time() < cpu + 0.5:  # busy ourselves: that is not another program
        pass
    others = machine.others()
    ours = (time.process_time() - cpu) / (time.monotonic() - start)
    assert others <= threads.cores() - ours + 0.1  # the machine's busy cores less ours (other engineers' included)


def test_a_users_own_setting_is_left_alone(monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    with threadpool_limits(2, user_api="blas"):
        assert threads.follow([784, 16, 16, 10], 100) is None
        assert blas_threads() == 2


def test_follow_sets_one_thread_for_small_layers(no_user_setting):
    assert threads.follow([784, 16, 16, 10], 100) == 1 and blas_threads() == 1


def test_follow_sets_more_for_wide_layers_on_a_free_machine(no_user_setting, monkeypatch):
    monkeypatch.setattr(threads._machine, "others", lambda: 0.0)
    monkeypatch.setattr(threads, "cores", lambda: 2)
    assert threads.follow([784, 512, 512, 10], 128) == 2 and blas_threads() == 2
    monkeypatch.setattr(threads._machine, "others", lambda: 1.0)  # then another program takes a core
    assert threads.follow([784, 512, 512, 10], 128) == 1 and blas_threads() == 1


def test_training_follows_the_machine_every_epoch(no_user_setting, monkeypatch):
    calls = []
    follow = threads.follow
    monkeypatch.setattr(threads, "follow", lambda *args: calls.append(args) or follow(*args))
    net = FastMLP(784, [16, 16, 10], "sigmoid", "sigmoid", seed=0)
    train(net, SGD(net.parameters(), lr=3.0), COSTS["squared"], bar_data(200, 50), epochs=2, batch_size=100)
    assert calls == [([784, 16, 16, 10], 100)] * 2 and blas_threads() == 1


def test_the_explorer_command_sets_its_threads(no_user_setting, monkeypatch):
    from nn.explore import __main__ as cli
    from nn.explore.server import ExplorerServer

    seen = []

    def serve_forever(server):
        seen.append(blas_threads())
        raise KeyboardInterrupt

    monkeypatch.setattr(ExplorerServer, "serve_forever", serve_forever)
    cli.main(["--port", "0", "--no-browser"], data=bar_data(100, 20))
    assert seen == [1]
