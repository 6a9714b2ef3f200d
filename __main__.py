"""``python -m video_mocap ...``: the command line (see ``inference/cli.py``)."""
import sys

from .inference.cli import main

sys.exit(main())
