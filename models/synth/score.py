"""Score the capture pipeline on rendered clips against their exact ground truth.

    python -m video_mocap.models.synth.score VIDEO.mp4 [VIDEO_gt.npz] [--lifter mpm single]

Metrics on the 17 canonical joints, pelvis-relative in camera axes: MPJPE, PA-MPJPE, acceleration
error (jitter, mm/frame^2), and the detector's 2D error in pixels (mapped keypoints vs projected truth).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ...inference.pipeline import CaptureOptions, capture
from ..evaluate import pose_errors


def score(video: str | Path, gt_path: str | Path | None = None, lifter: str = "mpm", device: str = "auto") -> dict:
    video = Path(video)
    gt = np.load(gt_path or video.with_name(video.stem + "_gt.npz"))
    result = capture(video, CaptureOptions(lifter=lifter, device=device, smooth=0.0))
    truth = gt["joints_cam"][:, :17] - gt["joints_cam"][:, :1]
    pred = result.camera[:, :17]
    n = min(len(truth), len(pred))
    truth, pred = truth[:n].astype(np.float64), pred[:n].astype(np.float64)
    err = pose_errors(pred, truth)
    acc = np.linalg.norm(np.diff(pred, 2, axis=0) - np.diff(truth, 2, axis=0), axis=-1) * 1000
    px = np.linalg.norm(result.pixels[:n, :17] - gt["uv"][:n, :17], axis=-1)
    return {"clip": video.stem, "lifter": lifter, "frames": n, "mpjpe": float(err["mpjpe"].mean()),
            "pa_mpjpe": float(err["pa_mpjpe"].mean()), "accel": float(acc.mean()), "px_2d": float(np.median(px))}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("video")
    p.add_argument("gt", nargs="?")
    p.add_argument("--lifter", nargs="+", default=["mpm", "single"])
    a = p.parse_args(argv)
    print(f"{'clip':10s} {'lifter':7s} {'frames':>6s} {'MPJPE':>7s} {'PA-MPJPE':>9s} {'accel':>7s} {'2D px':>6s}")
    for lifter in a.lifter:
        r = score(a.video, a.gt, lifter)
        print(f"{r['clip']:10s} {lifter:7s} {r['frames']:6d} {r['mpjpe']:7.1f} {r['pa_mpjpe']:9.1f} {r['accel']:7.2f} {r['px_2d']:6.1f}")


if __name__ == "__main__":
    main()
