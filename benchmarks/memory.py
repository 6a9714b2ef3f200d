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


def long_clip(path: Path, minutes: float, fps: int = 30) -> Path:
    from video_mocap.models.assets import pose2sim_demo

    cap = cv2.VideoCapture(str(pose2sim_demo() / "videos" / "cam03.mp4"))
    src = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        src.append(img)
    loop = src + src[-2:0:-1]
    h, w = src[0].shape[:2]
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for t in range(int(minutes * 60 * fps)):
        vw.write(loop[t % len(loop)])
    vw.release()
    return path


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--lifter", default="single")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        clip = long_clip(Path(tmp) / "long.mp4", a.minutes)
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
