"""Other web pages against the explorer, in a real browser (Debian's chromium, driven by playwright).

A page on another origin (a second loopback port, served here) tries what any site a learner
visits could: a no-cors fetch with a text/plain body, and a form post, at POST /api/train. And
DNS rebinding: a page of evil.example, whose name then points at 127.0.0.1, reads /api/state and
posts JSON to /api/train from what the browser takes for its own origin. The server must obey none
of them: training never starts, and no weights reach the page.
"""
import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from explore_fixtures import running, session_with

ATTACK = """<!doctype html><meta charset="utf-8"><title>a page of another site</title>
<iframe name="sink"></iframe>
<form id="form" method="POST" enctype="text/plain" target="sink" action="TARGET/api/train">
  <input name='{"action": "start", "padding": "' value='"}'>
</form>
<script>
window.attack = async () => {
  const outcomes = [];
  for (const type of ["text/plain", "application/x-www-form-urlencoded"]) {
    try {
      await fetch("TARGET/api/train", {method: "POST", mode: "no-cors", headers: {"Content-Type": type},
                                       body: '{"action": "start"}'});
      outcomes.push("sent");
    } catch (error) { outcomes.push(String(error)); }
  }
  document.getElementById("form").submit();
  return outcomes;
};
</script>"""

REBOUND = """<!doctype html><meta charset="utf-8"><title>evil.example</title>
<script>
window.attack = async () => {
  const state = await fetch("/api/state");
  const train = await fetch("/api/train", {method: "POST", headers: {"Content-Type": "application/json"},
                                           body: '{"action": "start"}'});
  return {state: state.status, body: await state.text(), train: train.status};
};
</script>"""


@contextlib.contextmanager
def another_site(html):
    """A page served from a second port of 127.0.0.1: another origin than the explorer's."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    site = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{site.server_address[1]}/"
    finally:
        site.shutdown()
        site.server_close()


def test_a_page_of_another_site_cannot_start_training(browser):
    with running(session_with()) as server:
        target = server.url.rstrip("/")
        with another_site(ATTACK.replace("TARGET", target)) as url:
            page = browser.new_page()
            answers = []  # what the explorer answered, as the browser saw it (opaque to the page)
            page.on("response", lambda response: answers.append(response.status)
                    if response.url.startswith(target) else None)
            page.goto(url)
            with page.expect_response(lambda response: response.url == f"{target}/api/train"
                                      and response.request.post_data.startswith('{"action": "start", "padding"')):
                assert page.evaluate("window.attack()") == ["sent", "sent"]  # the browser sent both
            page.wait_for_timeout(500)  # had it obeyed, training would be running by now
            page.close()
        assert len(answers) == 3 and all(status in (403, 415) for status in answers), answers
        assert not server.session.trainer.running and server.session.trainer.costs == []


def test_dns_rebinding_gets_neither_the_weights_nor_training(browser):
    from autodiff import chromium

    with running(session_with()) as server:
        port = server.port
        # evil.example resolves to 127.0.0.1, as its DNS would answer once the page has loaded from it
        rebound = browser.browser_type.launch(
            executable_path=chromium.executable(),
            args=[*chromium.ARGS, "--host-resolver-rules=MAP evil.example 127.0.0.1",
                  # Chromium's own guard for local addresses is off: Firefox and Safari have none, and
                  # it is the server's refusal that is tested here
                  "--disable-features=BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights,"
                  "PrivateNetworkAccessRespectPreflightResults,LocalNetworkAccessChecks"])
        try:
            page = rebound.new_page()
            origin = f"http://evil.example:{port}"
            # the page itself came from the attacker's server, before the name pointed here
            page.route(f"{origin}/", lambda route: route.fulfill(status=200, content_type="text/html", body=REBOUND))
            page.goto(f"{origin}/")
            got = page.evaluate("window.attack()")
        finally:
            rebound.close()
    assert got["state"] == 403 and got["train"] == 403, got
    assert '"w1"' not in got["body"] and "evil.example" in got["body"]  # the refusal names the host
    assert not server.session.trainer.running and server.session.trainer.costs == []
