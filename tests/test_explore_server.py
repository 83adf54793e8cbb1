"""The explorer's server against hostile and careless clients: other sites, slow clients, floods, odd bytes.

Each test runs the real server on a free loopback port (explore_fixtures.running) and talks to it
over real sockets; loops are bounded by deadlines, and nothing leaves 127.0.0.1.
"""
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explore_fixtures import Client, bar_data, running, session_with
from nn.explore import server as server_module

REPO = Path(__file__).resolve().parent.parent
GOOD = {"pixels": [0.5] * 784, "target": 3}
ANSWERS = {200, 400, 403, 404, 408, 413, 415}  # a 500 would be a bug


def raw_request(server, data, read_timeout=30):
    """Send bytes as they are; the server's whole answer (it closes the connection or we read one answer)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=read_timeout) as connection:
        connection.sendall(data)
        response = http.client.HTTPResponse(connection)
        response.begin()
        return response.status, dict(response.getheaders()), response.read()


def post(server, path, body, headers):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request("POST", path, body, headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def steps(server):
    return Client(server.url).get("/api/state")[1]["training"]["steps"]


@pytest.fixture(scope="module")
def server():
    with running(session_with()) as server:
        yield server


# --- only its own page, at its own address ---


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1.evil.example:{port}",
                                  "localhost.evil.example:{port}", "127.0.0.1:{other}", "127.0.0.1",
                                  "127.0.0.1:{port}/x", "user@127.0.0.1:{port}", "127.0.0.1:abc", ""])
def test_a_request_for_another_host_is_refused(server, host):
    """DNS rebinding: a page of evil.example whose name now points at 127.0.0.1 sends Host: evil.example."""
    host = host.format(port=server.port, other=server.port + 1)
    for method, path, body in [("GET", "/api/state", None), ("GET", "/", None), ("POST", "/api/train", b'{"action": "start"}')]:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        connection.putrequest(method, path, skip_host=True)
        connection.putheader("Host", host)
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(len(body or b"")))
        connection.endheaders(body)
        response = connection.getresponse()
        raw = response.read()
        connection.close()
        assert response.status == 403, (host, method, path)
        assert b"w1" not in raw and "error" in json.loads(raw)
    assert steps(server) == 0 and not server.session.trainer.running


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}"])
def test_its_own_names_are_answered(server, host):
    status, _, raw = Client(server.url).request("GET", "/api/state", headers={"Host": host.format(port=server.port)})
    assert status == 200 and "w1" in json.loads(raw)


@pytest.mark.parametrize("origin", ["http://evil.example", "http://127.0.0.1:{other}", "https://127.0.0.1:{port}",
                                    "null", "http://localhost.evil.example:{port}", ""])
def test_a_post_from_another_page_is_refused(server, origin):
    origin = origin.format(port=server.port, other=server.port + 1)
    status, raw = post(server, "/api/train", b'{"action": "step"}', {"Content-Type": "application/json", "Origin": origin})
    assert status == 403 and "error" in json.loads(raw)
    assert steps(server) == 0


def test_a_post_from_its_own_page_is_answered(server):
    with running(session_with()) as fresh:
        status, raw = post(fresh, "/api/train", b'{"action": "step"}',
                           {"Content-Type": "application/json", "Origin": fresh.url.rstrip("/")})
        assert status == 200 and json.loads(raw)["training"]["steps"] == 1


@pytest.mark.parametrize("content_type", [None, "text/plain", "text/plain;charset=UTF-8",
                                          "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                          "application/jsonx", "text/json"])
def test_a_post_must_say_it_is_json(server, content_type):
    """What a page of another site can send without asking first (CORS's simple requests) is refused."""
    headers = {} if content_type is None else {"Content-Type": content_type}
    status, raw = post(server, "/api/train", b'{"action": "step"}', headers)
    assert status == 415 and "application/json" in json.loads(raw)["error"]
    assert steps(server) == 0
    assert post(server, "/api/example", json.dumps(GOOD).encode(),
                {"Content-Type": "application/json; charset=utf-8"})[0] == 200


# --- the files it serves: regular files inside static/, never through a link ---


def test_links_and_odd_files_in_static_are_not_served(tmp_path, monkeypatch):
    static, outside = tmp_path / "static", tmp_path / "secret.js"
    (static / "js").mkdir(parents=True)
    outside.write_text("secret outside")
    (static / "index.html").write_text("<p>page</p>")
    (static / "js" / "ok.js").write_text("export const ok = 1;")
    (static / "js" / "out.js").symlink_to(outside)  # a link out of static/
    (static / "js" / "in.js").symlink_to(static / "js" / "ok.js")  # a link inside: still a link
    (static / "linked").symlink_to(tmp_path, target_is_directory=True)  # a linked folder
    os.mkfifo(static / "js" / "fifo.js")  # would block a reader forever
    monkeypatch.setattr(server_module, "STATIC", static)
    with running(session_with()) as server:
        client = Client(server.url)
        assert client.request("GET", "/js/ok.js")[0] == 200
        assert client.request("GET", "/")[2] == b"<p>page</p>"
        for path in ("/js/out.js", "/js/in.js", "/linked/secret.js", "/js/fifo.js"):
            status, _, raw = client.request("GET", path)
            assert status == 404 and b"secret outside" not in raw, path
        # a file replaced by a link after the server started
        (static / "js" / "ok.js").unlink()
        (static / "js" / "ok.js").symlink_to(outside)
        status, _, raw = client.request("GET", "/js/ok.js")
        assert status == 404 and b"secret outside" not in raw


# --- slow, huge and many clients ---


@pytest.fixture
def quick_timeouts(monkeypatch):
    monkeypatch.setattr(server_module.Handler, "timeout", 1.0)
    monkeypatch.setattr(server_module, "TIMEOUT", 1.0)
    monkeypatch.setattr(server_module, "BODY_SECONDS", 3.0)


def test_a_half_sent_post_stops_neither_training_nor_other_requests(quick_timeouts):
    with running(session_with()) as server:
        assert Client(server.url).post("/api/train", {"action": "start"})[0] == 200
        body = json.dumps(GOOD).encode()
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as slow:
            slow.sendall(f"POST /api/example HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                         f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                         + body[:100])
            time.sleep(0.3)  # the server is reading the body now
            before = steps(server)
            time.sleep(0.5)
            assert steps(server) > before  # training goes on meanwhile
            assert Client(server.url).post("/api/example", GOOD)[0] == 200  # and so do other requests
            answer = slow.makefile("rb").read()  # the server gives up on the body: a 408, then it hangs up
        assert answer.startswith(b"HTTP/1.1 408") and b"too slowly" in answer
        Client(server.url).post("/api/train", {"action": "pause"})


def test_a_body_trickling_in_is_cut_off_at_the_deadline(quick_timeouts):
    with running(session_with()) as server:
        body = json.dumps(GOOD).encode()
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as slow:
            slow.sendall(f"POST /api/example HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                         f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode())
            start = time.monotonic()
            try:
                for i in range(40):  # a byte every half second: each read comes within the timeout
                    slow.sendall(body[i:i + 1])
                    time.sleep(0.5)
            except OSError:
                pass  # the server hung up
            answer = slow.makefile("rb").read()
        assert answer.startswith(b"HTTP/1.1 408") and time.monotonic() - start < 15


@pytest.mark.parametrize("length", [str(10**18), str(server_module.LARGEST_BODY + 1), "9" * 20])
def test_an_absurd_content_length_gets_413(server, length):
    status, _, raw = raw_request(server, f"POST /api/example HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                                         f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n".encode())
    assert status == 413 and "too large" in json.loads(raw)["error"]


def test_a_large_body_being_sent_reads_its_413(server):
    status, got = Client(server.url).post("/api/example", b"[" + b"0.5," * 400_000 + b"0.5]")
    assert status == 413 and "too large" in got["error"]


def test_two_hundred_requests_at_once_all_get_answers():
    with running(session_with()) as server:
        assert Client(server.url).post("/api/train", {"action": "start"})[0] == 200
        barrier = threading.Barrier(200, timeout=60)

        def one(i):
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
            barrier.wait()
            try:
                if i % 2:
                    connection.request("GET", "/api/state?since=0")
                else:
                    connection.request("POST", "/api/example", json.dumps(GOOD), {"Content-Type": "application/json"})
                return connection.getresponse().status
            except OSError as error:
                return repr(error)
            finally:
                connection.close()

        with ThreadPoolExecutor(200) as pool:
            statuses = list(pool.map(one, range(200)))
        Client(server.url).post("/api/train", {"action": "pause"})
    assert statuses == [200] * 200


def test_small_answers_are_sent_at_once(server, monkeypatch):
    """TCP_NODELAY on every connection: else a small answer waits 40 ms for the client's delayed ACK."""
    seen = []
    setup = server_module.Handler.setup

    def recording(handler):
        setup(handler)
        seen.append(handler.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    monkeypatch.setattr(server_module.Handler, "setup", recording)
    Client(server.url).get("/api/state")
    assert seen and all(seen)


# --- bad bytes: 4xx with a message, never a 500, and the server keeps serving ---


@pytest.mark.parametrize("since", ["²", "٣", "-1", "1e3", "9" * 40, "\0", " 1"])
def test_a_bad_since_is_400(server, since):
    status, got = Client(server.url).get(f"/api/state?since={quote(since)}")
    assert status == 400 and "since" in got["error"]


@pytest.mark.parametrize("depth", [9, 100, 5_000, 200_000])
def test_deeply_nested_json_is_400(server, depth):
    body = b'{"pixels": ' + b"[" * depth + b"]" * depth + b', "target": 3}'
    status, got = Client(server.url).post("/api/example", body)
    assert status == 400 and "deep" in got["error"]


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                           max_leaves=20)
FIELDS = ["pixels", "drawing", "target", "layer", "neuron", "set", "index", "label", "wrong", "start", "action", "size", "ink"]
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6).map(lambda v: json.dumps(v).encode()),
)
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(["/api/example", "/api/neuron", "/api/digit", "/api/train", "/api/state", "/api/nope", "/"]),
       body=bodies, content_type=st.sampled_from(["application/json", "text/plain", None]) | header_text,
       origin=st.sampled_from([None, "self", "http://evil.example"]) | header_text,
       host=st.sampled_from(["self", "localhost"]) | header_text,
       query=st.sampled_from(["", "since=0", "since=3"]) | st.text(max_size=12).map(lambda q: "since=" + quote(q)))
def test_fuzzed_requests_get_an_answer_never_a_500(server, path, body, content_type, origin, host, query):
    headers = {"Host": f"127.0.0.1:{server.port}" if host == "self" else
               f"localhost:{server.port}" if host == "localhost" else host}
    if origin is not None:
        headers["Origin"] = server.url.rstrip("/") if origin == "self" else origin
    if content_type is not None:
        headers["Content-Type"] = content_type
    if body.startswith(b'{"action"'):  # no training from here: the fixture's server is shared
        body = b"{}"
    method = "GET" if path == "/api/state" else "POST"
    status, answer_headers, raw = Client(server.url).request(method, path + "?" + query, body, headers)
    assert status in ANSWERS, (status, raw[:300])
    if status != 200:
        assert answer_headers["Content-Type"] == "application/json" and json.loads(raw)["error"]
    else:  # obeyed: then it was addressed to this server, by its own page or a program, as JSON
        assert host in ("self", "localhost") and origin in (None, "self")
        assert method == "GET" or content_type.split(";")[0].strip() == "application/json"
    assert Client(server.url).post("/api/example", GOOD)[0] == 200  # still serving


# --- training: refused when it cannot run, and never stopping without saying why ---


def test_an_empty_training_set_is_refused_with_a_message():
    train_images, train_labels, test_images, test_labels = bar_data()
    with running(session_with(data=(train_images[:0], train_labels[:0], test_images, test_labels))) as server:
        client = Client(server.url)
        for action in ("start", "step"):
            status, got = client.post("/api/train", {"action": action})
            assert status == 400 and "training set is empty" in got["error"]
        _, state = client.get("/api/state")
        assert state["training"]["running"] is False and state["training"]["steps"] == 0


def test_an_empty_test_set_still_answers_the_state():
    train_images, train_labels, test_images, test_labels = bar_data()
    with running(session_with(data=(train_images, train_labels, test_images[:0], test_labels[:0]))) as server:
        status, state = Client(server.url).get("/api/state")
        assert status == 200 and state["training"]["accuracy"] == [[0, None]]


def test_when_training_fails_the_page_learns_why():
    train_images, train_labels, test_images, test_labels = bar_data()
    labels = train_labels.copy()
    labels[500:] = 12  # no such digit: the cost cannot score batches holding one
    with running(session_with(data=(train_images, labels, test_images, test_labels))) as server:
        client = Client(server.url)
        assert client.post("/api/train", {"action": "start"})[0] == 200
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            _, state = client.get("/api/state")
            if not state["training"]["running"]:
                break
            time.sleep(0.05)
        training = state["training"]
        assert training["running"] is False
        assert training["error"].startswith("training stopped at epoch 1") and "12" in training["error"]
        assert client.post("/api/example", GOOD)[0] == 200  # the server goes on
        client.post("/api/train", {"action": "untrained"})
        assert client.get("/api/state")[1]["training"]["error"] is None


# --- listening: IPv6, and everywhere only with a warning ---


def start_command(tmp_path, *options):
    from mnist_fixtures import idx_files, write_files

    data = bar_data(60, 20)
    arrays = [data[0].reshape(-1, 28, 28), data[1], data[2].reshape(-1, 28, 28), data[3]]
    directory = write_files(tmp_path / "mnist", idx_files(arrays, gz=True))
    command = [sys.executable, "-m", "nn.explore", "--port", "0", "--no-browser", "--data-dir", str(directory), *options]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)


def stop(process):
    process.terminate()
    return process.communicate(timeout=30)


def test_listening_everywhere_warns_and_prints_true_urls(tmp_path):
    process = start_command(tmp_path, "--host", "0.0.0.0")
    try:
        process.stdout.readline()
        urls = [word for word in process.stdout.readline().split() if word.startswith("http://")]
        assert urls[0].startswith("http://127.0.0.1:")
        for url in urls:  # each printed URL answers
            assert Client(url).get("/api/state")[0] == 200, url
    finally:
        out, err = stop(process)
    assert "WARNING: listening on every network interface" in err and "anyone" in err


def can_listen_on_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not can_listen_on_ipv6_loopback(), reason="this machine has no IPv6 loopback")
def test_ipv6_loopback_is_served(tmp_path):
    process = start_command(tmp_path, "--host", "::1")
    try:
        process.stdout.readline()
        url = process.stdout.readline().split()[1]
        assert url.startswith("http://[::1]:")
        port = int(url.rsplit(":", 1)[1].strip("/"))
        connection = http.client.HTTPConnection("::1", port, timeout=30)
        connection.request("GET", "/api/state")
        response = connection.getresponse()
        assert response.status == 200 and "w1" in json.loads(response.read())
    finally:
        out, err = stop(process)
    assert "WARNING" not in err and "Traceback" not in err
