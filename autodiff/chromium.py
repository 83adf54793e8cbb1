"""The system's Chromium, headless, for the project's browser tests, pictures and benchmarks, and
for drawing slides' frames with the pages' own Graphviz where Graphviz's `dot` is not installed (draw).

playwright drives it, but never downloads a browser of its own (`playwright install` cannot run
where only package registries are reachable): this is Debian's `chromium` (apt-get install
chromium). The flags keep it from reaching for the network at start (updates, sync, QUIC) and let
it run as root in a container.
"""
import shutil

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class ChromiumNotFound(RuntimeError):
    pass


def executable():
    """The path of the system's chromium, or an error saying how to install it."""
    path = shutil.which("chromium")
    if path is None:
        raise ChromiumNotFound("needs the system program `chromium` (apt-get install chromium)")
    return path


def launch(playwright, path=None):
    """A headless browser: playwright.chromium.launch on the system's chromium."""
    return playwright.chromium.launch(executable_path=path or executable(), args=ARGS)


class NoRenderer(RuntimeError):
    """Neither Graphviz's `dot` nor Chromium with playwright: nothing here can lay out a graph."""

    def __init__(self, why=""):
        super().__init__(
            "drawing the frames needs Graphviz's `dot` (apt-get install graphviz) or, without it, Chromium "
            "and playwright to run the pages' own Graphviz (apt-get install chromium; pip install playwright)"
            + (f"; {why}" if why else ""))


def draw(dots, format="svg"):
    """Lay out and draw each DOT text in headless Chromium, with the Graphviz the pages use (vendored
    in autodiff/web/vendor, and web/draw_frames.js): for a machine without `dot`. Returns the
    drawings' bytes, as `dot -T` would: SVG, or PNG (at the graph's own dpi). Raises NoRenderer,
    saying what to install, when Chromium or playwright is missing or the browser does not start."""
    import base64
    import tempfile
    import threading
    from pathlib import Path

    from .render import renderer_script

    try:
        path = executable()
        from playwright.sync_api import Error, sync_playwright
    except (ChromiumNotFound, ImportError) as error:
        raise NoRenderer("this machine has neither") from error
    result = {}

    def run():  # in a thread of its own: playwright's sync API refuses a thread with an asyncio loop (Jupyter's)
        try:
            with sync_playwright() as p:
                browser = launch(p, path)
                try:
                    page = browser.new_page()
                    with tempfile.TemporaryDirectory() as folder:  # a page at a file: address, as the stepper page is
                        html = Path(folder) / "draw.html"
                        script = (Path(__file__).parent / "web" / "draw_frames.js").read_text(encoding="utf-8")
                        html.write_text(f"<!DOCTYPE html><meta charset='utf-8'><script>{renderer_script()}\n{script}</script>",
                                        encoding="utf-8")
                        page.goto(html.as_uri())
                        result["drawn"] = page.evaluate("([dots, format]) => seebackprop.drawFrames(dots, format)",
                                                        [list(dots), format])
                finally:
                    browser.close()
        except (Error, OSError) as error:  # the browser would not start, or crashed, or a frame failed
            result["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in result:
        first = str(result["error"]).strip().splitlines()[0] if str(result["error"]).strip() else "no reason given"
        raise NoRenderer(f"Chromium failed: {first}")
    if format == "svg":
        return [svg.encode("utf-8") for svg in result["drawn"]]
    return [base64.b64decode(png) for png in result["drawn"]]
