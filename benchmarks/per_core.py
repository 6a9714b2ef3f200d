"""Whole-process wall and CPU time against MediaPipe, on the same footage, and where our time goes.

    python benchmarks/per_core.py [--frames 400] [--lifter single] [--skip-mediapipe] [--fixed-camera]

The clip: a real camera of the pose2sim demo at 720x1280, played forwards and backwards (as the speed issue
measured it). MediaPipe 0.10.14's own graph (model_complexity=1, video mode) runs in its own environment
(`.cache/mediapipe-venv`, see models/synth/mediapipe_pose.py); ours is `python -m video_mocap capture`. Both
as child processes: wall time, and CPU time (user + system) from the OS. Then our capture in-process, stage by
stage (CPU time of this process per stage). Prints figures; not a test.
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))


def child(cmd: list[str], env: dict | None = None) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak memory (GB) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss / 1e6


def stages(clip: Path, lifter: str, moving_camera: bool = True) -> dict[str, float]:
    """CPU ms a frame of each stage of our capture, in this process."""
    import numpy as np

    from video_mocap.inference.camera_motion import BackgroundFlow
    from video_mocap.inference.detector import BlazePose
    from video_mocap.inference.person import Tracker
    from video_mocap.inference.pipeline import CaptureOptions, capture
    from video_mocap.inference.video import frames

    cpu = time.process_time
    t = cpu()
    n = sum(1 for _ in frames(clip))
    out = {"decode + colour (own thread)": (cpu() - t) * 1000 / n}
    t = cpu()
    sum(1 for _ in frames(clip, on_frame=BackgroundFlow()))
    out["camera turning: background tracks (own thread)"] = (cpu() - t) * 1000 / n - out["decode + colour (own thread)"]
    model = BlazePose("cpu")
    imgs = [rgb for _, _, rgb in frames(clip, 0, 100)]
    tracker = Tracker(model)
    tracker(imgs[0])
    t = cpu()
    for img in imgs[1:]:
        tracker(img)
    out["tracking (crop, landmarks, refinement, identity checks)"] = (cpu() - t) * 1000 / (len(imgs) - 1)
    t = cpu()
    for img in imgs[:20]:
        model.detect(img)
    out["detector (first frame, losses, checks)"] = (cpu() - t) * 1000 / 20
    t = cpu()
    result = capture(clip, CaptureOptions(lifter=lifter, device="cpu", moving_camera=moving_camera))
    total = (cpu() - t) * 1000 / len(result.motion)
    out["capture end to end, in-process"] = total
    meta = result.motion.meta
    out["lifting"] = meta["lift_ms_per_frame"]
    out["clip solve"] = meta["solve_ms_per_frame"]
    out["detector runs in the capture"] = float(meta["detector_runs"])
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--frames", type=int, default=400)
    p.add_argument("--lifter", default="single")
    p.add_argument("--skip-mediapipe", action="store_true")
    p.add_argument("--fixed-camera", action="store_true", help="our capture without following the camera's turning")
    a = p.parse_args()
    from capture_speed import make_clip

    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(Path(tmp) / "clip.mp4", a.frames)
        rows = []
        mp_python = ROOT / ".cache" / "mediapipe-venv" / "bin" / "python"
        if not a.skip_mediapipe and mp_python.exists():
            rows.append(("MediaPipe 0.10.14 (model_complexity=1)",
                         child([str(mp_python), str(ROOT / "models" / "synth" / "mediapipe_pose.py"), str(clip), f"{tmp}/mp.npz"])))
        env = dict(os.environ, PYTHONPATH=str(ROOT.parent) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        ours = [sys.executable, "-m", f"{ROOT.name}", "capture", str(clip), "-o", f"{tmp}/ours.npz", "--lifter", a.lifter,
                "--device", "cpu", "--force", "-q"] + (["--fixed-camera"] if a.fixed_camera else [])
        rows.append((f"video_mocap capture --lifter {a.lifter}", child(ours, env)))
        print(f"{a.frames} frames of 720x1280 footage, {os.cpu_count()} cores\n")
        print("| process | wall s | CPU s | CPU / wall | fps | peak GB |\n|---|---|---|---|---|---|")
        for name, (wall, cpu, mem) in rows:
            print(f"| {name} | {wall:.1f} | {cpu:.1f} | {cpu / wall:.2f} | {a.frames / wall:.1f} | {mem:.2f} |")
        if len(rows) == 2:
            (mw, mc, _), (ow, oc, _) = rows[0][1], rows[1][1]
            print(f"\nours / MediaPipe: wall {ow / mw:.2f}x, CPU {oc / mc:.2f}x (targets: wall <= 0.6x, CPU <= 1.0x)")
        print("\n| our stage | CPU ms a frame |\n|---|---|")
        for name, ms in stages(clip, a.lifter, not a.fixed_camera).items():
            print(f"| {name} | {ms:.2f} |")


if __name__ == "__main__":
    main()
