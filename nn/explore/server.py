"""The explorer's web server: the standard library's ThreadingHTTPServer, a few JSON endpoints, the page's files.

It serves only the files listed when it starts (the page in static/, the two graph-drawing
scripts of autodiff/web and its stepper view), looked up by exact path, and only as regular files
inside their folder (never through a symlink): a request for anything else, ../ or encoded variants included, is a 404.
It answers only requests addressed to itself: a Host header naming another site (DNS rebinding) or
an Origin of another page gets a 403, and a POST must say that it carries JSON, which a page of
another site cannot send without asking first (a cross-site form or no-cors fetch can send only
text/plain and form types). Each POST body is size-limited, read with a deadline before the
session's lock is asked for, parsed and checked (checks.py); a bad one gets a 4xx with a JSON
message, and an unexpected error a 500, both without a traceback to the page, and the server
keeps serving.

The API calls under /api/ are api.py's (state, example, digit, neuron, train, average, model, batch,
models), which the notebook widget calls too.
"""
import contextlib
import ipaddress
import json
import os
import re
import socket
import stat
import sys
import time
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import autodiff

from . import api
from .api import NoSuchCall
from .checks import BadRequest

LARGEST_BODY = 1_000_000  # bytes: a 280x280 drawing as JSON is about 400 kB
DISCARDED_AT_MOST = 16_000_000  # bytes of a too large body read (and dropped) after answering 413
DEEPEST = 8  # levels of nesting in a request's JSON: the explorer's own need 3
TIMEOUT = 10  # seconds: a connection silent this long while the server waits on it is closed
BODY_SECONDS = 30  # to send a whole body, however slowly
STATIC = Path(__file__).parent / "static"
WEB = Path(autodiff.__file__).parent / "web"  # the vendored Graphviz and its drawing script
TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".js": "text/javascript; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml"}


def page_files():
    """{URL path: (file, the folder it must stay in)} for every file the server may send: nothing else is ever read."""
    files = {"/" + path.relative_to(STATIC).as_posix(): (path, STATIC)
             for path in sorted(STATIC.rglob("*")) if path.suffix in TYPES and regular_inside(path, STATIC)}
    files["/"] = (STATIC / "index.html", STATIC)
    files["/vendor/viz-global.js"] = (WEB / "vendor" / "viz-global.js", WEB)
    files["/vendor/draw_dot.js"] = (WEB / "draw_dot.js", WEB)
    files["/vendor/gifenc.esm.js"] = (WEB / "vendor" / "gifenc.esm.js", WEB)  # the stepper's Save walk (GIF)
    for name in ("stepper.js", "slides.js", "stepper.css"):  # the stepper view, the same module as the stepper page's
        files[f"/stepper/{name}"] = (WEB / "stepper" / name, WEB)
    return files


def regular_inside(path, folder):
    """Whether path is a regular file, not a symlink, and inside folder once every link is resolved."""
    return (not path.is_symlink() and stat.S_ISREG(path.lstat().st_mode)
            and path.resolve().is_relative_to(folder.resolve()))


def read_regular(path, folder):
    """The bytes of a regular file inside folder, or None: never through a symlink, never a FIFO or device."""
    try:
        if not regular_inside(path, folder):
            return None
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as file:
        return file.read() if stat.S_ISREG(os.fstat(file.fileno()).st_mode) else None


def nesting(value, deepest=DEEPEST):
    """How deep lists and objects nest in a parsed JSON value, counting no further than deepest + 1."""
    if deepest < 0 or not isinstance(value, (list, dict)):
        return 0
    inside = value.values() if isinstance(value, dict) else value
    return 1 + max((nesting(v, deepest - 1) for v in inside if isinstance(v, (list, dict))), default=0)


class Refused(Exception):
    """A request the server will not take, with its HTTP status and a message for the page."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class Handler(BaseHTTPRequestHandler):
    server_version = "seebackprop-explorer"
    protocol_version = "HTTP/1.1"  # keep-alive: the page polls several times a second
    timeout = TIMEOUT  # on each read and write of the connection: a client gone quiet frees its thread

    def setup(self):
        super().setup()
        # Send each answer at once: with Nagle's algorithm the body waited for the ACK of the headers,
        # which the client delays by 40 ms: small answers took 44 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):  # quiet: the terminal shows the URL and errors only
        pass

    def parse_request(self):
        """The request line and headers, then: is the request addressed to this server, from its own page?"""
        if not super().parse_request():
            return False
        problem = self.server.foreign(self.headers.get("Host"), self.headers.get("Origin"))
        if problem:
            self.close_connection = True
            self.reply_error(HTTPStatus.FORBIDDEN, problem)
            return False
        return True

    # --- replies ---

    def reply(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def reply_json(self, value, status=HTTPStatus.OK):
        self.reply(status, json.dumps(value, allow_nan=False, separators=(",", ":")).encode(), "application/json")

    def reply_error(self, status, message):
        self.reply_json({"error": message}, status)

    # --- requests ---

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path.startswith("/api/"):
            self.answer(url.path, lambda: self.get_api(url))
            return
        path, folder = self.server.files.get(url.path, (None, None))
        content = read_regular(path, folder) if path is not None else None
        if content is None:
            self.reply_error(HTTPStatus.NOT_FOUND, f"no such file: {url.path[:100]}")
            return
        self.reply(HTTPStatus.OK, content, TYPES[path.suffix])

    do_HEAD = do_GET

    def do_POST(self):
        path = urlsplit(self.path).path
        try:
            body = self.read_body()  # before the lock: a slow client keeps only its own thread waiting
        except Refused as error:
            self.close_connection = True
            self.reply_error(error.status, str(error))
            if error.status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
                self.discard()  # so that the client, still sending, reads the answer rather than a reset
            return
        self.answer(path, lambda: self.post_api(path, body))

    def answer(self, path, compute):
        """Run an API call: its JSON, or a 400 for a bad request, or a 500 (logged) for a bug."""
        with self.server.session.lock.serving():  # training gives way meanwhile
            status, value = self.computed(path, compute)
            body = json.dumps(value, allow_nan=False, separators=(",", ":")).encode()
        self.reply(status, body, "application/json")  # a client slow to read it holds up no one else

    def computed(self, path, compute):
        try:
            return HTTPStatus.OK, compute()
        except BadRequest as error:
            return HTTPStatus.BAD_REQUEST, {"error": str(error)}
        except NoSuchCall:
            return HTTPStatus.NOT_FOUND, {"error": f"no such API call: {self.command} {path[:100]}"}
        except Exception as error:  # a bug: the page gets a message, the terminal the traceback
            traceback.print_exc(file=sys.stderr)
            return HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"the explorer failed: {type(error).__name__}: {error}"}

    def read_body(self):
        """The POST's JSON object, read whole within BODY_SECONDS; Refused names what is wrong with it."""
        length = self.headers.get("Content-Length", "")
        if not re.fullmatch(r"[0-9]{1,20}", length):
            raise Refused(HTTPStatus.BAD_REQUEST, "a POST needs a Content-Length: the size of its body in bytes")
        if int(length) > LARGEST_BODY:
            raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                          f"request body too large: {length} bytes, at most {LARGEST_BODY:,}")
        raw = self.read_within(int(length), BODY_SECONDS)
        if self.headers.get_content_type() != "application/json":
            raise Refused(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "a POST must carry JSON, with Content-Type: "
                          f"application/json (got {self.headers.get('Content-Type', 'none')[:60]!r})")
        too_deep = Refused(HTTPStatus.BAD_REQUEST, f"the body nests lists or objects more than {DEEPEST} deep")
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as error:
            raise Refused(HTTPStatus.BAD_REQUEST, f"the body is not JSON: {error}") from None
        except RecursionError:  # too deep even for the parser
            raise too_deep from None
        if nesting(body) > DEEPEST:
            raise too_deep
        if not isinstance(body, dict):
            raise Refused(HTTPStatus.BAD_REQUEST, "the body must be a JSON object")
        return body

    def read_within(self, length, seconds):
        """length bytes of the body, or Refused (408) if they do not all come within `seconds`."""
        deadline, chunks = time.monotonic() + seconds, []
        while length > 0:
            try:
                chunk = self.rfile.read1(min(length, 1 << 16))
            except TimeoutError:
                chunk = None
            if chunk == b"":
                raise Refused(HTTPStatus.BAD_REQUEST, f"the body ended {length:,} bytes short of its Content-Length")
            if chunk is None or time.monotonic() > deadline:
                raise Refused(HTTPStatus.REQUEST_TIMEOUT, f"the body came too slowly: {length:,} bytes were "
                              f"still missing after {TIMEOUT if chunk is None else seconds} s")
            chunks.append(chunk)
            length -= len(chunk)
        return b"".join(chunks)

    def discard(self, seconds=2):
        """Read and drop what a too large body sends for a moment, up to DISCARDED_AT_MOST bytes; then hang up."""
        length = min(int(self.headers["Content-Length"]), DISCARDED_AT_MOST)
        deadline = time.monotonic() + seconds
        self.connection.settimeout(seconds)
        try:
            while length > 0 and time.monotonic() < deadline:
                got = self.rfile.read1(min(length, 1 << 16))
                if not got:
                    break
                length -= len(got)
        except OSError:
            pass

    def get_api(self, url):
        return api.answer(self.server.session, "GET", url.path.removeprefix("/api/"), url.query)

    def post_api(self, path, body):
        return api.answer(self.server.session, "POST", path.removeprefix("/api/"), body=body)


def address_family(host, port):
    """The address family (IPv4 or IPv6) of the address host names, as the system resolves it."""
    try:
        return socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
    except socket.gaierror as error:
        raise OSError(f"cannot resolve {host!r}: {error.strerror}") from None


def literal(host):
    """host as an IP address, or None if it is a name."""
    try:
        return ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return None


class ExplorerServer(ThreadingHTTPServer):
    daemon_threads = True  # a tab left open does not keep Ctrl-C waiting
    request_queue_size = 256  # connections waiting to be accepted: 200 at once get answers, not resets

    def __init__(self, session, host="127.0.0.1", port=0):
        self.session, self.files, self._urls = session, page_files(), None
        self.address_family = address_family(host, port)
        super().__init__((host, port), Handler)

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):  # a client that left: no news
            super().handle_error(request, client_address)

    def server_bind(self):
        if self.address_family == socket.AF_INET6 and self.everywhere:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # "::" takes IPv4 too
        super().server_bind()

    def server_activate(self):
        super().server_activate()
        self.host, self.port = self.server_address[0], self.server_address[1]

    @property
    def everywhere(self):
        """Whether it listens on every interface (0.0.0.0 or ::), not one address."""
        address = literal(self.server_address[0])
        return address is not None and address.is_unspecified

    @property
    def exposed(self):
        """Whether other machines can reach it: any address but this machine's loopback."""
        address = literal(self.server_address[0])
        return address is None or not address.is_loopback

    def names(self):
        """The host names under which this server is itself (not another site renamed to its address)."""
        own = {str(literal(self.host) or self.host).lower()}
        if not self.exposed:
            own.add("localhost")
        if self.everywhere:
            own |= {"localhost", socket.gethostname().lower(), socket.getfqdn().lower()}
        return own

    def foreign(self, host, origin):
        """What is wrong with a request's Host and Origin headers, or None if it is addressed to this
        server from its own page (or from a program, which sends no Origin)."""
        if not host:
            return "a request needs a Host header"
        if not self.ours(f"http://{host}"):
            return (f"this explorer answers requests addressed to it ({self.url}), not to {host[:100]!r}: "
                    "another site's name pointing at this machine (DNS rebinding) is refused")
        if origin is not None and not self.ours(origin):
            return f"this explorer answers its own page only ({self.url}), not a page from {origin[:100]!r}"
        return None

    def ours(self, url):
        try:
            parts = urlsplit(url)
            port = 80 if parts.port is None else parts.port
        except ValueError:  # a port that is not a number
            return False
        if (parts.scheme, port) != ("http", self.port) or parts.hostname is None or parts.username is not None \
                or parts.path or parts.query or parts.fragment:
            return False
        name = parts.hostname
        if self.everywhere and literal(name) is not None:
            return True  # an address of this machine: a request sent to an address needs no DNS
        return str(literal(name) or name) in self.names()

    def urls(self):
        """Every URL that reaches this server: this machine's first, then others' if it listens everywhere."""
        if self._urls is None:
            self._urls = self._find_urls()
        return self._urls

    def _find_urls(self):
        if not self.everywhere:
            return [url_of(self.host, self.port)]
        families = [socket.AF_INET] if self.address_family == socket.AF_INET else [socket.AF_INET6, socket.AF_INET]
        hosts = ["127.0.0.1"] if self.address_family == socket.AF_INET else ["::1", "127.0.0.1"]
        for family in families:
            for host in addresses(family):
                if host not in hosts and not (literal(host).is_loopback or literal(host).is_link_local):
                    hosts.append(host)
        return [url_of(host, self.port) for host in hosts]

    @property
    def url(self):
        return self.urls()[0]


def addresses(family):
    """This machine's addresses of a family: its host name's, and the one it reaches other networks from."""
    found = set()
    with contextlib.suppress(OSError):
        found |= {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, family, socket.SOCK_STREAM)}
    with contextlib.suppress(OSError), socket.socket(family, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1" if family == socket.AF_INET else "2001:db8::1", 9))  # sends nothing: a route lookup
        found.add(probe.getsockname()[0])
    return sorted(found)


def url_of(host, port):
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"
