"""Peak memory of a long capture: a 10-minute 1080p clip (a real camera of the pose2sim demo, 1080x1920 at
30 fps, played forwards and backwards), captured by `python -m video_mocap capture` in a child process.

    python benchmarks/memory.py [--minutes 10] [--lifter single]

Prints wall time, fps, CPU time and the child's peak resident memory. Not a test (it takes minutes).
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from capture_speed import make_clip  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--lifter", default="single")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        clip = make_clip(Path(tmp) / "long.mp4", int(a.minutes * 60 * 30), size=None)
        info = cv2.VideoCapture(str(clip))
        frames, w, h = int(info.get(cv2.CAP_PROP_FRAME_COUNT)), int(info.get(cv2.CAP_PROP_FRAME_WIDTH)), int(info.get(cv2.CAP_PROP_FRAME_HEIGHT))
        print(f"clip: {frames} frames of {w}x{h} ({clip.stat().st_size / 1e6:.0f} MB), made in {time.perf_counter() - t0:.0f} s")
        env = dict(os.environ, PYTHONPATH=str(ROOT.parent) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", ROOT.name, "capture", str(clip), "-o", f"{tmp}/long.npz", "--lifter",
                        a.lifter, "--device", "cpu", "-q"], check=True, env=env)
        wall = time.perf_counter() - t0
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        print(f"capture --lifter {a.lifter}: wall {wall:.0f} s ({frames / wall:.1f} fps), CPU {r.ru_utime + r.ru_stime:.0f} s, "
              f"peak memory {r.ru_maxrss / 1e6:.2f} GB")


if __name__ == "__main__":
    main()
