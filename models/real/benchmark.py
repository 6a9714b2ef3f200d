"""The real-footage benchmark: the pose2sim demo's four synchronised real cameras (BSD-3-Clause, fetched from
PyPI once), multi-view triangulated truth, and each view scored as a monocular clip: every lifter of ours
through the real capture path (the default field of view a user gets, and the true focal length) and
MediaPipe's own world landmarks (``mediapipe==0.10.14``, in its own environment). One command:

    python -m video_mocap.models.real.benchmark [OUT_DIR] [--lifters single mpm context] [--no-mediapipe] [--pan DEG]

With ``--pan DEG`` every view is first turned as an operator following the performer would turn the camera
(:mod:`.pan`: pan +-DEG, a third of it in tilt, exact homographies of the real frames), and scored against the
truth in each frame's turned camera: the moving-camera case on real people.

Truth: our BlazePose on all four views; left/right swaps undone per view and frame; confidence-weighted
DLT on undistorted points with the worst view dropped while it reprojects more than 30 px off (at least two
views); one small rotation per camera refined against the triangulated points; a light 10 Hz low-pass. It
is built from the same detector's landmarks, so errors all views share (a landmark model's bias on where
a hip or shoulder is) are invisible to it.

Pitch error: the capture's camera pitch against the calibrated camera's (the lab's floor is Z = 0). Foot
skating counts only the frames where a true ankle is planted (within 6 cm of its lowest, slower than 0.25
m/s): in these 100 frames that is 5 ankle-frames, so the figure says little.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from ... import filters
from ...inference.camera import pitch
from ...inference.camera_motion import from_reference
from ...inference.detector import BlazePose
from ...inference.person import Tracker
from ...inference.pipeline import CaptureOptions, capture
from ...inference.swaps import LIMBS
from ...inference.video import frames
from ...skeleton import load_map, load_skeleton
from ..assets import pose2sim_demo
from ..evaluate import pose_errors
from ..synth import score as S
from ..synth.benchmark import mediapipe_landmarks
from ..synth.benchmark import print_tables as tables
from .calibration import Camera, read_qca
from .pan import operator_turns, pan_video, zoom_for
from .triangulate import bone_cv, refine_rotations, reprojection_px, triangulate, undo_swaps

BLAZEPOSE = load_skeleton("blazepose33")
TO_OURS = load_map("blazepose33", "h36m17_ext")
BONES = TO_OURS.target.bones[:16]  # the 17-joint body
METRICS = ("pa_common", "n_common", "accel_common", "mpjpe", "pa_mpjpe", "root_m", "pitch_err_deg", "bone_cv", "skate_cm_s", "float_cm",
           "below_pct", "found")


def track(video: Path, model: BlazePose, stop: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """BlazePose's 33 landmarks (T, 33, 2 pixels; NaN without a person) and confidences (T, 33) on a video."""
    tracker, px, conf = Tracker(model), [], []
    for _, _, rgb in frames(video, 0, stop):
        pose = tracker(rgb)
        px.append(np.full((33, 2), np.nan) if pose is None else pose.landmarks[:, :2])
        conf.append(np.zeros(33) if pose is None else pose.confidence)
    return np.array(px, np.float64), np.array(conf, np.float64)


def _fill(x: np.ndarray) -> np.ndarray:
    """Interpolate NaN frames of a track (T, ...) per coordinate (edges held)."""
    flat = x.reshape(len(x), -1).copy()
    t = np.arange(len(x))
    for k in range(flat.shape[1]):
        ok = np.isfinite(flat[:, k])
        if ok.any() and not ok.all():
            flat[:, k] = np.interp(t, t[ok], flat[ok, k])
    return flat.reshape(x.shape)


def build_truth(demo: Path, out: Path, stop: int | None = None) -> dict:
    """Triangulated truth (cached in ``out/truth.npz``): world landmarks (T, 33, 3; Z up, m), the refined
    cameras, swap flags and the truth's own quality figures."""
    path = out / "truth.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as z:
            t = {k: z[k] for k in z.files}
        if stop is None or len(t["world"]) == stop:
            return t
    cams = read_qca(demo / "calibration" / "Calib.qca.txt")
    model = BlazePose("cpu")
    tracks = [track(demo / "videos" / f"{c.name}.mp4", model, stop) for c in cams]
    n = min(len(p) for p, _ in tracks)
    px, conf = np.stack([p[:n] for p, _ in tracks]), np.stack([c[:n] for _, c in tracks])
    px, conf, swaps = undo_swaps(px, conf, cams, BLAZEPOSE.mirror_permutation, list(LIMBS))
    X, _ = triangulate(px, conf, cams)
    for _ in range(2):
        cams = refine_rotations(px, conf, cams, X)
        X, used = triangulate(px, conf, cams)
    err = reprojection_px(X, px, cams)
    ok = used & np.isfinite(err)
    fps = 60.0
    world = filters.butterworth(_fill(X).reshape(len(X), -1), fps, 10.0).reshape(X.shape)
    body, _ = TO_OURS.apply(world, np.ones(world.shape[:2]))
    t = {"world": world.astype(np.float32), "fps": np.float64(fps), "names": np.array([c.name for c in cams]),
         "K": np.stack([c.K for c in cams]), "dist": np.stack([c.dist for c in cams]), "R": np.stack([c.R for c in cams]),
         "t": np.stack([c.t for c in cams]), "size": np.array([c.size for c in cams]), "swaps": swaps,
         "reprojection_px": np.float64(err[ok].mean()), "views_per_point": np.float64(used.sum(0)[used.any(0)].mean()),
         "bone_cv": np.float64(bone_cv(body[:, :17], BONES)), "raw_bone_cv": np.float64(bone_cv(TO_OURS.apply(_fill(X), np.ones(X.shape[:2]))[0][:, :17], BONES))}
    out.mkdir(parents=True, exist_ok=True)
    np.savez(path, **t)
    return t


def cameras(t: dict) -> list[Camera]:
    return [Camera(str(n), K, d, R, tt, tuple(s)) for n, K, d, R, tt, s in zip(t["names"], t["K"], t["dist"], t["R"], t["t"], t["size"])]


def score_ours(video: Path, cam: Camera, truth_world: np.ndarray, fps: float, lifter: str, true_focal: bool,
               stop: int | None, detector: str = "full", turns: np.ndarray | None = None, **options) -> dict:
    """One view as a monocular clip through the capture path, against the truth (canonical joints, world) in
    that camera (turned by ``turns`` (T, 3, 3) in each frame, if given)."""
    opts = CaptureOptions(lifter=lifter, device="cpu", stop=stop, focal_px=cam.focal if true_focal else None,
                          detector=detector, **options)
    r = capture(video, opts)
    truth = cam.to_camera(truth_world)
    n = min(len(truth), len(r.camera))
    if turns is not None:
        truth = from_reference(truth[:n], turns[:n])
    rel = (truth[:n, :17] - truth[:n, :1]).astype(np.float64)
    err = pose_errors(r.camera[:n, :17].astype(np.float64), rel)
    m = r.motion
    out_world = m.joints[:n] + m.root[:n, None]
    skate, planted = S.foot_skate(out_world, truth_world[:n], fps)
    return {"clip": cam.name, "method": lifter + ("" if detector == "full" else f" {detector}") + (" +f" if true_focal else ""),
            "frames": n, "skate_n": planted,
            "mpjpe": float(err["mpjpe"].mean()), "pa_mpjpe": float(err["pa_mpjpe"].mean()),
            "root_m": float(np.linalg.norm(r.root[:n] - truth[:n, 0], axis=-1).mean()),
            "pitch_err_deg": abs(m.meta["camera_pitch_deg"] - pitch(cam.R)),
            "bone_cv": bone_cv(out_world[:, :17], BONES), "skate_cm_s": skate,
            } | S.grounding(out_world, truth_world[:n], fps) | S.common_metrics(r.camera[:n, S.OURS], truth[:n, S.OURS])


def score_mediapipe(video: Path, cam: Camera, truth_world: np.ndarray, out: Path) -> dict:
    mp = np.load(mediapipe_landmarks(video, out / f"{cam.name}_mediapipe.npz"))
    truth = cam.to_camera(truth_world)
    n = min(len(truth), len(mp["world"]))
    return {"clip": cam.name, "method": "mediapipe", "frames": n} | S.common_metrics(mp["world"][:n, S.MEDIAPIPE], truth[:n, S.OURS])


def run(out: str | Path, lifters=("single", "mpm", "context"), mediapipe: bool = True, stop: int | None = None,
        views: tuple[str, ...] | None = None, detector: str = "full", pan: float = 0.0,
        options: dict | None = None) -> tuple[dict, list[dict]]:
    """Build (or load) the truth and score every view; returns the truth and one row per view and method."""
    out = Path(out)
    demo = pose2sim_demo()
    t0 = time.perf_counter()
    truth = build_truth(demo, out, stop)
    print(f"truth: {len(truth['world'])} frames, reprojection {float(truth['reprojection_px']):.1f} px, "
          f"{float(truth['views_per_point']):.2f} views a point, bone-length CV {float(truth['bone_cv']) * 100:.2f} % "
          f"({float(truth['raw_bone_cv']) * 100:.2f} % before the low-pass), swapped frames per view "
          f"{dict(zip(truth['names'].tolist(), truth['swaps'].sum(1).tolist()))} ({time.perf_counter() - t0:.0f} s)", flush=True)
    truth_world, _ = TO_OURS.apply(truth["world"], np.ones(truth["world"].shape[:2]))
    rows = []
    for cam in cameras(truth):
        if views and cam.name not in views:
            continue
        video, turns = demo / "videos" / f"{cam.name}.mp4", None
        if pan:  # the view through a turning camera
            turns = operator_turns(len(truth_world), pan)
            (out / "panned").mkdir(exist_ok=True)
            K = pan_video(video, out / "panned" / video.name, cam.K, turns, zoom_for(cam.K, cam.size, pan), stop)
            video, cam = out / "panned" / video.name, replace(cam, K=K)
        for lifter in lifters:
            for true_focal in (False, True):
                rows.append(score_ours(video, cam, truth_world, float(truth["fps"]), lifter, true_focal, stop, detector,
                                       turns, **(options or {})))
        if mediapipe:
            rows.append(score_mediapipe(video, cam, truth_world, out))
        print(f"{cam.name} scored ({time.perf_counter() - t0:.0f} s)", flush=True)
    (out / "results.json").write_text(json.dumps(rows, indent=1))
    return truth, rows


COLUMNS = (("PA-MPJPE 12j", "pa_common", ".1f"), ("N-MPJPE 12j", "n_common", ".1f"), ("accel 12j", "accel_common", ".2f"),
           ("MPJPE 17j", "mpjpe", ".1f"), ("PA-MPJPE 17j", "pa_mpjpe", ".1f"), ("root m", "root_m", ".2f"),
           ("pitch err deg", "pitch_err_deg", ".1f"), ("bone CV %", "bone_cv", ".2%"), ("skate cm/s", "skate_cm_s", ".1f"), ("float cm", "float_cm", ".1f"),
           ("below %", "below_pct", ".0f"))


def print_tables(rows: list[dict]) -> None:
    tables(rows, COLUMNS, METRICS, "view")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", nargs="?", default="out/real", help="folder for the truth, MediaPipe's output and results.json")
    p.add_argument("--lifters", nargs="+", default=["single", "mpm", "context"], help="our lifters to score")
    p.add_argument("--no-mediapipe", action="store_true", help="skip MediaPipe (its environment is made on first use)")
    p.add_argument("--frames", type=int, help="only the first N frames (quick runs)")
    p.add_argument("--views", nargs="+", help="only these views (cam01 .. cam04)")
    p.add_argument("--detector", choices=["full", "heavy"], default="full", help="our landmark model (rows 'LIFTER heavy')")
    p.add_argument("--pan", type=float, default=0.0, metavar="DEG", help="turn each view as a following camera would (+-DEG)")
    p.add_argument("--fixed-camera", action="store_true", help="capture as if the camera did not turn (the 'before' rows)")
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    _, rows = run(a.out, tuple(a.lifters), not a.no_mediapipe, a.frames, tuple(a.views) if a.views else None, a.detector,
                  a.pan, {"moving_camera": False} if a.fixed_camera else None)
    print(f"\nscored in {(time.perf_counter() - t0) / 60:.1f} min: "
          f"`python -m video_mocap.models.real.benchmark {' '.join(argv if argv is not None else sys.argv[1:])}`\n")
    print_tables(rows)


if __name__ == "__main__":
    main()
