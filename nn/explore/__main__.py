"""python -m nn.explore: start the explorer's server and open the page in a browser.

    python -m nn.explore                      # runs/mnist/model.npz if `make demo` made one, else untrained
    python -m nn.explore --model other.npz --port 8001 --no-browser
"""
import argparse
import errno
import os
import signal
import sys
import threading
import webbrowser
from pathlib import Path

from .. import data as mnist
from .. import threads
from .models import load_model as read_model
from .server import ExplorerServer
from .session import Session, check_model, own_history

DEFAULT_MODEL = Path("runs/mnist/model.npz")
MODELS = Path("runs")  # the page's model picker lists the models under it


def parse(argv):
    parser = argparse.ArgumentParser(prog="python -m nn.explore", description="Any MLP reading 28x28 images, live in the browser.")
    parser.add_argument("--model", type=Path, help=f"a .npz model (default: {DEFAULT_MODEL} if it exists, else untrained)")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free one (default: 8000)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="the address to listen on: 127.0.0.1 or ::1 (the default) this machine only; "
                             "0.0.0.0 or :: every network, so anyone who can reach this machine")
    parser.add_argument("--no-browser", action="store_true", help="print the URL without opening a browser")
    parser.add_argument("--data-dir", help="a directory of the four MNIST IDX files, or any set of 28x28 images "
                                           "with up to 10 classes in the same files, named by an optional classes.txt "
                                           "(default: MNIST, from the cache or downloaded)")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be 0 to 65535, got {args.port}")
    return args


def load_model(path, classes=10):
    """(the model to start from or None to start untrained, its Kind and Settings, how it came); a clear
    error naming a file that will not do."""
    if path is None:
        path = DEFAULT_MODEL if DEFAULT_MODEL.exists() else None
        if path is None:
            return None, None, None, "untrained (no runs/mnist/model.npz yet: train it in the page, or run `make demo`)"
    try:
        model, kind, settings = read_model(path)
        return check_model(model, str(path), classes), kind, settings, f"loaded from {path}"
    except FileNotFoundError:
        raise SystemExit(f"explore: {path}: no such model file") from None
    except ValueError as error:
        raise SystemExit(f"explore: {error}") from None


def start_server(session, host, port):
    try:
        return ExplorerServer(session, host, port)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise SystemExit(f"explore: port {port} is in use (another explorer?): choose another with "
                             f"--port {port + 1 if port else 8001}, or --port 0 for any free one") from None
        raise SystemExit(f"explore: cannot listen on {host} port {port}: {error.strerror or error}") from None


def warn_if_exposed(server):
    """Listening beyond this machine lets anyone who reaches it see the network and start or stop its training."""
    if server.exposed:
        where = "every network interface" if server.everywhere else f"the address {server.host}"
        print(f"explore: WARNING: listening on {where}, not only this machine: anyone who can reach it on "
              f"port {server.port} can use the explorer, see the network and start or stop its training. "
              "Leave out --host to keep it to this machine.", file=sys.stderr, flush=True)


def has_display():
    """Whether a graphical browser can open here. Without a display (over ssh, in a container),
    Python's webbrowser would start a text browser in this very terminal, on top of the server."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def main(argv=None, data=None):
    """data: the four MNIST arrays, for tests; by default nn.data.load_mnist."""
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        classes = mnist.class_names(args.data_dir)
        if data is None:
            data = mnist.load_mnist(args.data_dir)
    except (mnist.MnistError, OSError) as error:
        raise SystemExit(f"explore: cannot load {'the images in ' + args.data_dir if args.data_dir else 'MNIST'}: "
                         f"{error}") from None
    model, kind, settings, how = load_model(args.model, len(classes))
    try:
        path = args.model or DEFAULT_MODEL
        name = path.parent.name if path.parent.parent == MODELS else str(path)  # runs/recipe/model.npz: "recipe"
        history = own_history(path, model) if model is not None else None
        session = Session(data, model, history, kind, settings, classes, models=MODELS if MODELS.is_dir() else None,
                          name=name)
    except ValueError as error:
        raise SystemExit(f"explore: {error}") from None
    threads.follow(session.net.sizes, session.settings.batch_size)  # numpy's BLAS threads, as training will use them
    server = start_server(session, args.host, args.port)
    warn_if_exposed(server)
    if len(session.data["train"][1]) == 0:
        print("explore: the training set is empty: the page can show digits, but not train", file=sys.stderr)
    print(f"The explorer: {'-'.join(map(str, session.net.sizes))} network, {how}.")
    print(f"Open {' or '.join(server.urls())} (Ctrl-C stops it)", flush=True)
    if not args.no_browser and has_display():
        threading.Thread(target=webbrowser.open, args=(server.url,), daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C while stopping: no traceback
        print("\nstopped", file=sys.stderr)
    finally:
        session.trainer.pause()
        server.server_close()


if __name__ == "__main__":
    main()
