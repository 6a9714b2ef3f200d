"""Score captures of rendered clips against their exact ground truth, and MediaPipe's on the same frames.

    python -m video_mocap.models.synth.score VIDEO.mp4 [VIDEO_gt.npz] [--lifter mpm single]

Our lifters, on the 17 canonical joints, pelvis-relative in camera axes: MPJPE, PA-MPJPE; the root
trajectory error (pelvis in camera space, m, with the default field of view a user gets); the camera pitch
error and the whole tilt error (degrees; the world's up, pitch and roll); foot skating
(cm/s of the output's feet while the true foot is planted); the detector's 2D error (px, median over the common joints). Both ours and
MediaPipe, on the 12 joints both have (shoulders, elbows, wrists, hips, knees, ankles), mid-hip-centred:
PA-MPJPE and acceleration error (mm/frame^2).

Every method's per-frame errors (pose, root, 2D) count on the same kind of frames: where the person is in the
picture (:func:`in_picture`) and the method found them (``found``: the share of those frames). A frame with the
body out of the picture says nothing about a method's accuracy: MediaPipe gives nothing there, and our capture
fills it from its neighbours. Foot skating and the floor are scored on every frame (they are what the motion
file holds).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ...inference.camera import pitch
from ...inference.contacts import FOOT_POINTS
from ...inference.pipeline import CaptureOptions, capture
from ..evaluate import pose_errors

#: The joints ours and MediaPipe both have: (our h36m17 index, BlazePose landmark index).
COMMON = ((11, 11), (14, 12), (12, 13), (15, 14), (13, 15), (16, 16), (4, 23), (1, 24), (5, 25), (2, 26), (6, 27), (3, 28))
OURS, MEDIAPIPE = [a for a, _ in COMMON], [b for _, b in COMMON]
FEET = (3, 6)  # ankles


def _hip_centred(x: np.ndarray) -> np.ndarray:
    """(T, 12, 3) common joints minus their mid-hip (indices 6, 7)."""
    return x - x[:, 6:8].mean(1, keepdims=True)


def in_picture(gt) -> np.ndarray:
    """(T,) frames of a rendered clip where at least half of the 12 common joints project inside the picture."""
    uv, (w, h) = gt["uv"][:, OURS], gt["image_size"]
    inside = (uv[..., 0] >= 0) & (uv[..., 0] < w) & (uv[..., 1] >= 0) & (uv[..., 1] < h)
    return inside.mean(1) >= 0.5


def scored_on(pred: np.ndarray, truth: np.ndarray, seen: np.ndarray, visible: np.ndarray) -> dict[str, float]:
    """:func:`common_metrics` of ``pred`` on the ``seen`` frames only, and ``found``: their share of the
    ``visible`` ones (the frames with the person in the picture)."""
    return common_metrics(np.where(seen[:, None, None], pred, np.nan), truth) | {
        "found": float(seen.sum() / max(visible.sum(), 1))}


def common_metrics(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """PA-MPJPE, MPJPE and N-MPJPE (scale-only alignment; both mid-hip-centred) and acceleration error on
    the common joints; frames where
    ``pred`` is NaN (no person found) are left out of the pose errors and of the accelerations they touch."""
    pred, truth = _hip_centred(pred.astype(np.float64)), _hip_centred(truth.astype(np.float64))
    ok = np.isfinite(pred).all((1, 2))
    err = pose_errors(pred[ok], truth[ok])
    acc = np.linalg.norm(np.diff(pred, 2, axis=0) - np.diff(truth, 2, axis=0), axis=-1) * 1000
    return {"pa_common": float(err["pa_mpjpe"].mean()), "mpjpe_common": float(err["mpjpe"].mean()),
            "n_common": float(err["n_mpjpe"].mean()), "accel_common": float(np.nanmean(acc)), "found": float(ok.mean())}


def foot_skate(pred_world: np.ndarray, truth_world: np.ndarray, fps: float) -> tuple[float, int]:
    """Mean horizontal speed (cm/s) of the output's ankles over the frames where the true ankle is planted
    (within 6 cm of its lowest height and slower than 0.25 m/s), and how many such ankle-frames it averages
    (frames without an output, no person found, are left out)."""
    speeds = []
    for j in FEET:
        tz = truth_world[:, j, 2]
        tv = np.linalg.norm(np.diff(truth_world[:, j, :2], axis=0), axis=-1) * fps
        planted = (tz[1:] < np.nanmin(tz) + 0.06) & (tv < 0.25)
        pv = np.linalg.norm(np.diff(pred_world[:, j, :2], axis=0), axis=-1) * fps
        speeds.append(pv[planted])
    speeds = np.concatenate(speeds)
    speeds = speeds[np.isfinite(speeds)]
    return (float(speeds.mean() * 100), len(speeds)) if len(speeds) else (float("nan"), 0)


def grounding(pred_world: np.ndarray, truth_world: np.ndarray, fps: float) -> dict[str, float]:
    """Float: median height (cm) of the output's lowest foot point above the truth's lowest one, over the
    frames where a true ankle is planted (the floor is Z = 0 in both worlds); below: % of frames whose lowest
    output foot point is more than 2 cm under the floor."""
    low_pred = np.nanmin(pred_world[:, list(FOOT_POINTS), 2], axis=1)
    low_true = np.nanmin(truth_world[:, list(FOOT_POINTS), 2], axis=1)
    planted = np.zeros(len(truth_world), bool)
    for j in FEET:
        tz = truth_world[:, j, 2]
        tv = np.linalg.norm(np.gradient(truth_world[:, j, :2], axis=0), axis=-1) * fps
        planted |= (tz < np.nanmin(tz) + 0.06) & (tv < 0.25)
    ok = planted & np.isfinite(low_pred)
    return {"float_cm": float(np.median(low_pred[ok] - low_true[ok]) * 100) if ok.any() else float("nan"),
            "below_pct": float((low_pred[np.isfinite(low_pred)] < -0.02).mean() * 100)}


def true_pitch(gt) -> float:
    """The rendered camera's mean pitch (degrees, negative looking down): its optical axis against the floor."""
    return float(np.mean([pitch(R) for R in gt["R"].reshape(-1, 3, 3)]))  # world -> camera rotations


def up_error(gt, up: list[float] | None) -> float:
    """Angle (degrees) between the capture's up (world Z in camera axes) and the rendered camera's: the tilt of
    the captured world, pitch and roll together (NaN for a capture that does not record it)."""
    if up is None:
        return float("nan")
    R = gt["R"].reshape(-1, 3, 3)  # world -> camera; column 2 is world Z in camera axes
    cos = np.clip(R[:, :, 2] @ np.asarray(up, float) / np.linalg.norm(up), -1, 1)
    return float(np.degrees(np.arccos(cos)).mean())


def score(video: str | Path, gt_path: str | Path | None = None, lifter: str = "mpm", device: str = "auto",
          detector: str = "full", **options) -> dict:
    """Run the capture with ``lifter``, ``detector`` and any other capture ``options`` (defaults otherwise) on
    ``video`` and score it."""
    video = Path(video)
    gt = np.load(gt_path or video.with_name(video.stem + "_gt.npz"))
    result = capture(video, CaptureOptions(lifter=lifter, device=device, detector=detector, **options))
    truth_cam = gt["joints_cam"].astype(np.float64)
    m = result.motion
    n = min(len(truth_cam), len(result.camera))
    visible = in_picture(gt)[:n]
    seen = visible & (m.confidence[:n, :17].max(1) > 0)  # scored: in the picture and found
    truth = truth_cam[:n, :17] - truth_cam[:n, :1]
    pred = result.camera[:n, :17].astype(np.float64)
    err = pose_errors(pred[seen], truth[seen])
    px = np.linalg.norm(result.pixels[:n, OURS] - gt["uv"][:n, OURS], axis=-1)[seen]  # the joints MediaPipe is scored on
    world = m.joints[:n] + m.root[:n, None]
    out = {"clip": video.stem, "method": lifter if detector == "full" else f"{lifter} {detector}", "frames": int(seen.sum()),
           "mpjpe": float(err["mpjpe"].mean()), "pa_mpjpe": float(err["pa_mpjpe"].mean()),
           "root_m": float(np.linalg.norm(result.root[:n] - truth_cam[:n, 0], axis=-1)[seen].mean()),
           "px_2d": float(np.median(px)),
           "pitch_err_deg": abs(m.meta["camera_pitch_deg"] - true_pitch(gt)),
           "up_err_deg": up_error(gt, m.meta.get("camera", {}).get("up")),
           "fps": m.meta["tracking_fps"]} | grounding(world, gt["joints_world"][:n], float(gt["fps"]))
    out["skate_cm_s"], out["skate_n"] = foot_skate(world, gt["joints_world"][:n], float(gt["fps"]))
    return out | scored_on(result.camera[:n, OURS], truth_cam[:n, OURS], seen, visible)


def score_mediapipe(landmarks: str | Path, gt_path: str | Path) -> dict:
    """Score the npz written by ``mediapipe_pose.py`` against the ground truth."""
    mp, gt = np.load(landmarks), np.load(gt_path)
    n = min(len(mp["world"]), len(gt["joints_cam"]))
    visible = in_picture(gt)[:n]
    seen = visible & np.isfinite(mp["world"][:n, MEDIAPIPE]).all((1, 2))
    px = np.linalg.norm(mp["image"][:n, MEDIAPIPE] - gt["uv"][:n, OURS], axis=-1)[seen]
    out = {"clip": Path(gt_path).stem.removesuffix("_gt"), "method": "mediapipe", "frames": int(seen.sum()),
           "px_2d": float(np.median(px)), "fps": n / float(mp["seconds"])}
    return out | scored_on(mp["world"][:n, MEDIAPIPE], gt["joints_cam"][:n, OURS], seen, visible)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("video")
    p.add_argument("gt", nargs="?")
    p.add_argument("--lifter", nargs="+", default=["mpm", "single"])
    a = p.parse_args(argv)
    print(f"{'clip':10s} {'lifter':7s} {'frames':>6s} {'MPJPE':>7s} {'PA-MPJPE':>9s} {'PA-12':>6s} {'accel-12':>8s} {'root m':>7s} {'2D px':>6s}")
    for lifter in a.lifter:
        r = score(a.video, a.gt, lifter)
        print(f"{r['clip']:10s} {lifter:7s} {r['frames']:6d} {r['mpjpe']:7.1f} {r['pa_mpjpe']:9.1f} {r['pa_common']:6.1f} "
              f"{r['accel_common']:8.2f} {r['root_m']:7.2f} {r['px_2d']:6.1f}")


if __name__ == "__main__":
    main()
