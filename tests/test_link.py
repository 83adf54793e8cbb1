"""A link that holds the view (nn/explore/static/js/link.js), run in Chromium: what encode() writes,
parse() reads back; whatever a hand-edited link holds, parse() answers with a view and sentences,
never an exception; and the model is named by a hash of its weights."""
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from explore_fixtures import Client, bar_data, lively_network, running, session_with

LIMITS = {"sizes": [784, 16, 16, 10], "counts": {"test": 100, "train": 300}}


@pytest.fixture(scope="module")
def page(browser):
    with running(session_with(lively_network(), bar_data(300, 100))) as server:
        page = browser.new_page(viewport={"width": 1024, "height": 768})
        page.goto(server.url)
        page.wait_for_selector("body[data-ready=true]", timeout=30_000)
        page.evaluate("async () => { window.link = await import('/js/link.js'); }")
        page.client = Client(server.url)
        yield page
        page.close()


def parse(page, text):
    return page.evaluate("([text, limits]) => window.link.parse(text, limits)", [text, LIMITS])


views = st.fixed_dictionaries({}, optional={
    "digit": st.one_of(st.builds(lambda s, i: {"set": s, "index": i}, st.sampled_from(["test", "train"]), st.integers(0, 99))),
    "target": st.integers(0, 9),
    "neuron": st.one_of(st.tuples(st.just(1), st.integers(0, 15)), st.tuples(st.just(3), st.integers(0, 9))).map(list),
    "step": st.integers(1, 60),
    "wishes": st.integers(0, 5),
    "model": st.text("0123456789abcdef", min_size=12, max_size=12),
    "presenter": st.just(True),
    "lock": st.just(True),
})


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(views)
def test_what_encode_writes_parse_reads_back(page, view):
    text = page.evaluate("view => window.link.encode(view)", view)
    assert parse(page, text) == {"view": view, "problems": []}


def test_a_drawing_travels_compressed_and_comes_back_byte_for_byte(page):
    rng = np.random.default_rng(0)
    ink = np.zeros((112, 112), np.uint8)
    ink[30:80, 50:62] = rng.integers(100, 256, (50, 12))  # a stroke with grey edges
    import base64
    text = base64.b64encode(ink.tobytes()).decode()
    link = page.evaluate("ink => window.link.encode({digit: {ink}})", text)
    assert len(link) < 3000  # a link a teacher can paste
    assert parse(page, link) == {"view": {"digit": {"ink": text}}, "problems": []}


@pytest.mark.parametrize("text,words", [
    ("d=test.100", "0 to 99"), ("d=ink.AAAA", "not a drawing"), ("d=ink." + "A" * 50000, "not a drawing"),
    ("t=10", "0 to 9"), ("n=4.1", "layer 1 to 3"), ("n=1.16", "layer 1 to 3"), ("m=XYZ", "hash"),
    ("w=-1", "0 to 5"), ("w=6", "0 to 5"), ("presenter=yes", "1 or 0"), ("zzz=1", "does not know"), ("s=1e9", "whole number"),
])
def test_a_bad_field_is_named_and_dropped_the_rest_applies(page, text, words):
    answer = parse(page, text + "&t=4")
    assert answer["view"] == {"target": 4}
    assert len(answer["problems"]) == 1 and words in answer["problems"][0]


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(st.one_of(st.text(max_size=80),
                 st.lists(st.tuples(st.sampled_from(["d", "t", "n", "s", "w", "m", "presenter", "lock", "x"]),
                                    st.text(max_size=30)), max_size=6)
                 .map(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs))))
def test_any_link_gives_a_view_and_sentences_never_an_exception(page, text):
    answer = parse(page, text)
    assert set(answer) == {"view", "problems"}
    assert all(isinstance(p, str) and p for p in answer["problems"])
    view = answer["view"]
    assert set(view) <= {"digit", "target", "neuron", "step", "wishes", "model", "presenter", "lock"}
    if "target" in view:
        assert 0 <= view["target"] <= 9


def test_the_model_hash_follows_the_weights(page):
    status, first = page.client.get("/api/model")
    assert status == 200 and len(first["hash"]) == 12
    assert page.client.get("/api/model")[1]["hash"] == first["hash"]  # the same weights, the same name
    page.client.post("/api/train", {"action": "step"})
    assert page.client.get("/api/model")[1]["hash"] != first["hash"]
