"""seebackprop's commands: `seebackprop train | explore | step`, or `python -m seebackprop ...`.

    seebackprop train     train a network on MNIST (nn/cli.py; --help for its options)
    seebackprop explore   the network, live in the browser (nn/explore)
    seebackprop step      a backward pass, one node at a time (autodiff/walkthrough.py)

This package imports nothing but the standard library until it knows the command: the engines
take a second to import (numpy, matplotlib), and a Ctrl-C in that second must end the program
with one line and exit code 130, not a traceback from inside numpy.
"""
import os
import signal
import sys

COMMANDS = {  # name -> (module, what it does)
    "train": ("nn.cli", "train a network on MNIST, or on IDX files of your own (--data-dir)"),
    "explore": ("nn.explore.__main__", "the network, live in the browser: draw a digit, see what it wants"),
    "step": ("autodiff.walkthrough", "step through a backward pass, one node at a time"),
}


def interrupted_while_starting(signum, frame):
    """Exit at once: raised inside an import, an exception would come out as numpy's ImportError."""
    print("\ninterrupted while starting: nothing was written", file=sys.stderr, flush=True)
    os._exit(130)  # nothing is open for writing yet


def run(name, argv, prog):
    """Import the command `name` with Ctrl-C answered in one line, then run it; its exit code."""
    previous = signal.signal(signal.SIGINT, interrupted_while_starting)
    module = __import__(COMMANDS[name][0], fromlist=["main"])
    signal.signal(signal.SIGINT, previous)  # each command answers Ctrl-C in its own words from here on
    try:
        if name == "train":
            module.main(argv, prog=prog)
        else:
            module.main(argv)
    except KeyboardInterrupt:  # stepping and serving stop with Ctrl-C: that is no error
        return 130
    except BrokenPipeError:  # `seebackprop step --all | head` has seen enough
        sys.stdout = None
    finally:  # the command is over, however it ended: a Ctrl-C while Python shuts down has nothing to stop
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    return 0


def main(argv=None):
    """The console script `seebackprop`."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] not in COMMANDS:
        usage = "\n".join(f"  seebackprop {name:8} {what}" for name, (_, what) in COMMANDS.items())
        print(f"usage: seebackprop {{{','.join(COMMANDS)}}} [options]\n\n{usage}\n\n"
              "`seebackprop COMMAND --help` lists a command's options.", file=sys.stderr if argv else sys.stdout)
        return 0 if not argv or argv[0] in ("-h", "--help") else 2
    return run(argv[0], argv[1:], f"seebackprop {argv[0]}")
