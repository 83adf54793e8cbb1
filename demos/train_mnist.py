"""Train the MNIST network from a checkout: `seebackprop train` (nn/cli.py), under its old name.

    python demos/train_mnist.py --help      # every option; the same as `seebackprop train --help`
"""
import os
import signal


def interrupted_while_starting(signum, frame):  # Ctrl-C from the first line on: one line, exit code 130
    os.write(2, b"\ninterrupted while starting: nothing was written\n")
    os._exit(130)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, interrupted_while_starting)
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
    from seebackprop import run
    sys.exit(run("train", sys.argv[1:], f"{Path(sys.executable).name} {Path(__file__).as_posix()}"))
