"""Capture speed on this machine: per-stage and end-to-end fps for a 720p single-person clip (a real camera
of the pose2sim demo at 720x1280, played forwards and backwards to the length asked), ms per frame for
lifting and completion, hand tracking (both hands, ``--hands``' cost), peak memory. Prints figures; not a test.

    python benchmarks/capture_speed.py [--frames 300] [--device auto]
"""
import argparse
import resource
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

def make_clip(path: Path, frames: int, size: tuple[int, int] | None = (720, 1280), fps: int = 30) -> Path:
    """A real camera of the pose2sim demo (cam03, 1080x1920) resized to ``size`` (None: as it is), played
    forwards and backwards to ``frames`` frames."""
    from video_mocap.models.assets import pose2sim_demo

    cap = cv2.VideoCapture(str(pose2sim_demo() / "videos" / "cam03.mp4"))
    src = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        src.append(cv2.resize(img, size, interpolation=cv2.INTER_AREA) if size else img)
    loop = src + src[-2:0:-1]  # forwards, then backwards: no jump at the seam
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (src[0].shape[1], src[0].shape[0]))
    for t in range(frames):
        vw.write(loop[t % len(loop)])
    vw.release()
    return path


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--device", default="auto")
    a = p.parse_args()
    from video_mocap.inference.detector import BlazePose
    from video_mocap.inference.person import Tracker
    from video_mocap.inference.lifters import FrameLifter, FusedLifter
    from video_mocap.inference.pipeline import CaptureOptions, capture
    from video_mocap.inference.video import frames
    from video_mocap.inference.weights import weight_path

    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(Path(tmp) / "clip720.mp4", a.frames)
        t0 = time.perf_counter()
        decoded = sum(1 for _ in frames(clip))
        decode_fps = decoded / (time.perf_counter() - t0)
        model = BlazePose(a.device)
        imgs = [rgb for _, _, rgb in frames(clip, 0, 60)]
        t0 = time.perf_counter()
        for img in imgs[:20]:
            model.detect(img)
        det_ms = (time.perf_counter() - t0) / 20 * 1000
        tracker = Tracker(model)
        tracker(imgs[0])
        t0 = time.perf_counter()
        for img in imgs[1:]:
            tracker(img)
        track_ms = (time.perf_counter() - t0) / (len(imgs) - 1) * 1000
        from video_mocap.inference.hands import HandTracker

        hands, poses = HandTracker(a.device), [tracker(img) for img in imgs]
        hands(imgs[0], poses[0])
        t0 = time.perf_counter()
        for img, pose in zip(imgs[1:], poses[1:]):
            hands(img, pose)
        hands_ms = (time.perf_counter() - t0) / (len(imgs) - 1) * 1000
        rng = np.random.default_rng(0)
        px, conf = rng.uniform(300, 700, (3000, 17, 2)).astype(np.float32), np.ones((3000, 17), np.float32)
        lift = {}
        for name, lifter in (("single", FrameLifter(weight_path("single"), a.device)), ("mpm", FusedLifter(weight_path("fusion"), weight_path("single"), weight_path("mpm"), a.device))):
            lifter.lift(px[:100], conf[:100])
            t0 = time.perf_counter()
            out = lifter.lift(px, conf)
            lift[name] = (time.perf_counter() - t0) / len(px) * 1000
        from video_mocap.inference.context import LEVELS, ContextLifter

        ctx = ContextLifter(weight_path("context"), a.device)
        maps = [rng.standard_normal((1, c, s, s)).astype(np.float32) for c, s in LEVELS]
        crop = rng.uniform(0, 256, (1, 17, 2)).astype(np.float32)
        for i in range(5):
            ctx.lift(px[i : i + 1], conf[i : i + 1], crop, maps)
        t0 = time.perf_counter()
        for i in range(300):  # one call per tracked frame, as in the capture loop
            ctx.lift(px[i : i + 1], conf[i : i + 1], crop, maps)
        lift["context"] = (time.perf_counter() - t0) / 300 * 1000
        known = np.ones((3000, 17), bool)
        known[:, 11:14] = False
        t0 = time.perf_counter()
        lifter.complete(out, known)
        complete_ms = (time.perf_counter() - t0) / len(px) * 1000
        t0 = time.perf_counter()
        result = capture(clip, CaptureOptions(lifter="mpm", device=a.device))
        total = time.perf_counter() - t0
        t0 = time.perf_counter()
        capture(clip, CaptureOptions(lifter="context", device=a.device))
        total_ctx = time.perf_counter() - t0
        t0 = time.perf_counter()
        capture(clip, CaptureOptions(lifter="single", device=a.device))
        total_single = time.perf_counter() - t0
        t0 = time.perf_counter()
        capture(clip, CaptureOptions(lifter="single", device=a.device, hands=True))
        total_hands = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"720p clip (720x1280), {a.frames} frames, provider {model.provider}")
    print(f"  decode {decode_fps:.0f} fps; detector {det_ms:.1f} ms; tracking (landmarks + crop) {track_ms:.1f} ms "
          f"= {1000 / track_ms:.1f} fps; hands (both: re-crop + landmarks) {hands_ms:.1f} ms")
    print(f"  lifting: single {lift['single']:.3f} ms/frame, mpm {lift['mpm']:.3f} ms/frame (MPM windows 9 apart, the single lifter and the fusion); "
          f"mpm 3D completion {complete_ms:.3f} ms/frame; context {lift['context']:.3f} ms/frame (one frame a call)")
    print(f"  end to end (capture API, mpm): {a.frames / total:.1f} fps ({total:.1f} s); peak RSS {peak:.0f} MB; "
          f"detector runs {result.motion.meta['detector_runs']}")
    print(f"  end to end (capture API, context: feature maps out of the landmark model + context lifting): "
          f"{a.frames / total_ctx:.1f} fps")
    print(f"  end to end (capture API, single): {a.frames / total_single:.1f} fps; with --hands {a.frames / total_hands:.1f} fps")


if __name__ == "__main__":
    main()
