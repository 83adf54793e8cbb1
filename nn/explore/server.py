"""The explorer's web server: the standard library's ThreadingHTTPServer, a few JSON endpoints, the page's files.

It serves only the files listed when it starts (the page in static/ and the two graph-drawing
scripts of autodiff/web), looked up by exact path: a request for anything else, ../ or encoded
variants included, is a 404 and never touches the file system. Each POST body is size-limited,
parsed and checked (checks.py) before the session computes; a bad one gets a 400 with a JSON
message, and an unexpected error a 500, both without a traceback to the page, and the server
keeps serving.

The API calls under /api/ are api.py's (state, example, digit, neuron, train, batch, models,
model), which the notebook widget calls too.
"""
import json
import sys
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import autodiff

from . import api
from .checks import BadRequest

LARGEST_BODY = 1_000_000  # bytes: a 280x280 drawing as JSON is about 400 kB
DISCARDED_AT_MOST = 16_000_000  # bytes of a too large body read (and dropped) before answering
STATIC = Path(__file__).parent / "static"
WEB = Path(autodiff.__file__).parent / "web"  # the vendored Graphviz and its drawing script
TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".js": "text/javascript; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml"}


def page_files():
    """{URL path: file} for every file the server may send: nothing else is ever read."""
    files = {"/" + path.relative_to(STATIC).as_posix(): path
             for path in sorted(STATIC.rglob("*")) if path.is_file() and path.suffix in TYPES}
    files["/"] = STATIC / "index.html"
    files["/vendor/viz-global.js"] = WEB / "vendor" / "viz-global.js"
    files["/vendor/draw_dot.js"] = WEB / "draw_dot.js"
    return files


class Handler(BaseHTTPRequestHandler):
    server_version = "seebackprop-explorer"
    protocol_version = "HTTP/1.1"  # keep-alive: the page polls several times a second

    def log_message(self, format, *args):  # quiet: the terminal shows the URL and errors only
        pass

    # --- replies ---

    def reply(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
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
        path = self.server.files.get(url.path)
        if path is None:
            self.reply_error(HTTPStatus.NOT_FOUND, f"no such file: {url.path[:100]}")
            return
        self.reply(HTTPStatus.OK, path.read_bytes(), TYPES[path.suffix])

    do_HEAD = do_GET

    def do_POST(self):
        url = urlsplit(self.path)
        self.answer(url.path, lambda: self.post_api(url.path, self.read_body()))

    def answer(self, path, compute):
        """Run an API call: its JSON, or a 400 for a bad request, or a 500 (logged) for a bug."""
        with self.server.session.lock.serving():  # training gives way meanwhile
            self._answer(path, compute)

    def _answer(self, path, compute):
        try:
            self.reply_json(compute())
        except BadRequest as error:
            self.reply_error(HTTPStatus.BAD_REQUEST, str(error))
        except LookupError:
            self.reply_error(HTTPStatus.NOT_FOUND, f"no such API call: {self.command} {path[:100]}")
        except Exception as error:  # a bug: the page gets a message, the terminal the traceback
            traceback.print_exc(file=sys.stderr)
            self.reply_error(HTTPStatus.INTERNAL_SERVER_ERROR, f"the explorer failed: {type(error).__name__}: {error}")

    def read_body(self):
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.close_connection = True
            raise BadRequest("a POST needs a Content-Length")
        if int(length) > LARGEST_BODY:
            self.close_connection = True
            self.discard(int(length))  # so that the client, still sending, reads the answer rather than a reset
            raise BadRequest(f"request body too large: {length} bytes, at most {LARGEST_BODY}")
        raw = self.rfile.read(int(length))
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as error:
            raise BadRequest(f"the body is not JSON: {error}") from None
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object")
        return body

    def discard(self, length, chunk=1 << 16):
        """Read and drop a body too large to use, up to DISCARDED_AT_MOST bytes; past that, hang up."""
        length = min(length, DISCARDED_AT_MOST)
        while length > 0:
            got = self.rfile.read(min(chunk, length))
            if not got:
                break
            length -= len(got)

    def get_api(self, url):
        return api.answer(self.server.session, "GET", url.path.removeprefix("/api/"), url.query)

    def post_api(self, path, body):
        return api.answer(self.server.session, "POST", path.removeprefix("/api/"), body=body)


class ExplorerServer(ThreadingHTTPServer):
    daemon_threads = True  # a tab left open does not keep Ctrl-C waiting

    def __init__(self, session, host="127.0.0.1", port=0):
        self.session, self.files = session, page_files()
        super().__init__((host, port), Handler)

    @property
    def url(self):
        host, port = self.server_address[:2]
        host = "127.0.0.1" if host == "0.0.0.0" else host
        return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"
