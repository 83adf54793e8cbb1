"""python -m seebackprop train | explore | step: the console script `seebackprop`, where it is not on PATH."""
import sys

from . import main

sys.exit(main())
