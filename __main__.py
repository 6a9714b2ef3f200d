"""``python -m video_mocap ...``: the command line (see ``inference/cli.py``)."""
import os
import sys

# The clip solve's small matrices gain nothing from BLAS threads, which spin and burn a core (measured: 0.7 s of
# CPU less for 400 frames, no slower); before numpy loads, and only if the user has not chosen.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from .inference.cli import main

sys.exit(main())
