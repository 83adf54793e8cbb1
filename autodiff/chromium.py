"""The system's Chromium, headless, for the project's browser tests, pictures and benchmarks.

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
