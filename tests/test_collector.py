"""Graphs of Values are built with Python's cyclic garbage collector paused (autodiff.value.collector_paused):
safe because a graph of Values holds no cycles, so reference counting alone frees it."""
import gc
import sys
import threading

import pytest

import nn
from autodiff import Value
from autodiff.value import collector_paused


@pytest.fixture
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    gc.enable() if was else gc.disable()


def test_the_collector_is_paused_inside_and_resumed_after_even_on_an_error(collector_on):
    with pytest.raises(ZeroDivisionError):
        with collector_paused():
            assert not gc.isenabled()
            with collector_paused():  # nested: the outer block still holds it
                pass
            assert not gc.isenabled()
            1 / 0
    assert gc.isenabled()


def test_a_collector_the_user_disabled_stays_disabled(collector_on):
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_threads_that_overlap_resume_the_collector_only_when_the_last_one_ends(collector_on):
    inside, release = threading.Event(), threading.Event()

    def hold():
        with collector_paused():
            inside.set()
            release.wait(10)
    thread = threading.Thread(target=hold)
    thread.start()
    inside.wait(10)
    with collector_paused():
        pass
    assert not gc.isenabled()  # the other thread is still building
    release.set()
    thread.join()
    assert gc.isenabled()


def test_an_mlp_builds_its_graph_with_the_collector_paused(collector_on, monkeypatch):
    seen = []
    real = nn.Layer.__call__
    monkeypatch.setattr(nn.Layer, "__call__", lambda self, x: (seen.append(gc.isenabled()), real(self, x))[1])
    nn.MLP(3, [4, 2])([1.0, 2.0, 3.0])
    assert seen == [False, False] and gc.isenabled()


def test_a_graph_of_values_is_freed_without_the_collector(collector_on):
    """The premise: no cycles, so the last reference going frees every node at once."""
    net = nn.MLP(4, [3, 2])
    weight = net.layers[0].neurons[0].w[0]
    net([0.0, 0.0, 0.0, 0.0])  # a first pass: nn remembers which weights of a list are leaves (value.py)
    alone = sys.getrefcount(weight)
    loss = sum(net([0.5, -1.0, 2.0, 0.25]))
    loss.backward()
    assert sys.getrefcount(weight) > alone  # the graph holds it
    gc.disable()
    try:
        del loss
        assert sys.getrefcount(weight) == alone  # the graph is gone, with no collection
    finally:
        gc.enable()


def test_the_explorers_zoom_builds_and_walks_a_neurons_graph_without_the_collector(collector_on):
    """A first-layer neuron's graph is 1,569 Values, and its walk makes thousands of Edges: the
    collector, run every few hundred new objects, sometimes walked every object of the server
    meanwhile (the zoom's slowest answers). Nothing there needs it, and nothing is left for it."""
    import numpy as np

    from nn.explore import neuron as zoom

    rng = np.random.default_rng(0)
    collections, this_thread = [], threading.get_ident()

    def callback(phase, info):  # collections made by this thread: another test's threads may still be about
        if phase == "start" and threading.get_ident() == this_thread:
            collections.append(info["generation"])

    threshold = gc.get_threshold()
    gc.collect()
    gc.set_threshold(50)  # a collection every 50 new objects, had it run
    gc.callbacks.append(callback)
    try:
        frames, numbers = zoom.steps(1, 3, rng.uniform(0, 1, 784), rng.normal(0, 1, 784), 0.5, upstream=0.2)
    finally:
        gc.callbacks.remove(callback)
        gc.set_threshold(*threshold)
    assert frames and len(numbers["dw"]) == 784
    # none meanwhile: at most the young generation's, once the objects made meanwhile are counted after
    assert collections in ([], [0]) and gc.isenabled(), collections
    del frames, numbers
    assert gc.collect() == 0  # no cycles left behind for it to find
