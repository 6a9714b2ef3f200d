"""Rendered hand benchmark: the MakeHuman body from the waist up, its hands before the chest, the wrists turning
and the fingers curling and spreading within joint limits; the exact truth of both hands.

    python -m video_mocap.models.synth.hands OUT_DIR [--clips 3] [--frames 48] [--cross]     render (needs bpy)
    python -m video_mocap.models.synth.hands OUT_DIR --score [--lifter single]      capture with hands and score

Scores, per clip and over all frames: the hand landmarks' median 2D error in % of the hand's size (the longer side
of its true box); frames on which a hand lies nearer the other hand's truth (a left/right swap); the median error
of the finger-joint angles (the bend at each knuckle and finger joint, degrees) after retargeting the capture onto
a different rig (Mixamo's, by the numpy solver) against the truth's; the frames each hand was found on. Where
NAME_holistic.npz sits beside a clip (``.cache/mediapipe-venv/bin/python models/synth/mediapipe_hands.py
NAME.mp4 NAME_holistic.npz``), MediaPipe Holistic's hands are scored in 2D on the same truth.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ...retarget.presets import detect
from ...rotations import angle_between, axis_angle, from_matrix, normalize, qmul, to_matrix
from ...retarget.solver import SKELETON, posed_joints, rest_joints, solve

FINGERS = ("thumb", "index", "middle", "ring", "pinky")


def _wobble(frames: int, rng: np.random.Generator, lo: float, hi: float) -> np.ndarray:
    """A smooth random curve between ``lo`` and ``hi`` over ``frames`` (two sines of random speed and phase)."""
    u = np.linspace(0, 1, frames)
    w = sum(np.sin(2 * np.pi * (u * rng.uniform(0.4, 1.6) + rng.uniform())) for _ in range(2)) / 2
    return lo + (hi - lo) * (w + 1) / 2


def hand_track(rig, mapping, frames: int, fps: float, rng: np.random.Generator, cross: bool = False):
    """A :class:`~video_mocap.retarget.solver.Track` for ``rig``: upper arms down, forearms forward so the hands
    sit before the chest, swaying (with ``cross``, sweeping past each other across the midline); the hands turning
    (pronation -80..60 deg, flexion -30..30) and each finger curling 0..80 deg (its three joints together,
    unevenly) and spreading +-8 deg, the thumb 0..45 deg."""
    rest = rest_joints(rig, mapping)
    joints = np.repeat(rest[None], frames, 0)
    joints[:, 23:] = np.nan
    conf = np.ones(joints.shape[:2])
    conf[:, 23:] = 0.0
    ix = SKELETON.index
    for side, x in (("l", 1.0), ("r", -1.0)):
        sh, el, wr, tip = (ix(f"{side}_{n}") for n in ("shoulder", "elbow", "wrist", "handtip"))
        length = lambda a, b: np.linalg.norm(rest[b] - rest[a])  # noqa: E731
        sweep = np.sin(np.linspace(0, 2 * np.pi, frames) + (0 if x > 0 else np.pi / 2))  # -1..1, the arms out of step
        out = 0.1 - 0.35 * (sweep + 1) if cross else _wobble(frames, rng, 0.1, 0.4)
        upper = normalize(np.stack([x * out, _wobble(frames, rng, -0.5, -0.2 if cross else 0.0), -np.ones(frames)], 1))
        inward = 0.8 + 1.2 * sweep if cross else _wobble(frames, rng, 0.1, 0.6)
        fore = normalize(np.stack([-x * inward, -np.ones(frames), _wobble(frames, rng, 0.1, 0.8)], 1))
        joints[:, el] = rest[sh] + length(sh, el) * upper
        joints[:, wr] = joints[:, el] + length(el, wr) * fore
        joints[:, tip] = joints[:, wr] + length(wr, tip) * fore
    track = solve(joints, conf, fps, rig, mapping, root_mode="none")
    q = track.quaternions.astype(np.float64)
    y = np.array([0.0, 1.0, 0.0])
    animated = set(track.animated)
    for side, S in (("l", "L"), ("r", "R")):
        hand = mapping.bones[f"hand.{S}"]
        turn = axis_angle(np.broadcast_to(y, (frames, 3)), np.radians(_wobble(frames, rng, -80, 60)))
        flex = axis_angle(np.broadcast_to([1.0, 0, 0], (frames, 3)), np.radians(_wobble(frames, rng, -30, 30)))
        q[:, hand] = qmul(q[:, hand], from_matrix(turn @ flex))
        knuckles = rest[ix(f"{side}_index_mcp")] - rest[ix(f"{side}_pinky_mcp")]
        palm = np.cross(rest[ix(f"{side}_index_mcp")] - rest[ix(f"{side}_wrist")], knuckles)
        for finger in FINGERS:
            curl = np.radians(_wobble(frames, rng, 0, 45 if finger == "thumb" else 80))
            spread = np.radians(_wobble(frames, rng, -8, 8))
            for k, share in enumerate((0.8, 1.1, 0.8) if finger != "thumb" else (0.5, 0.8, 1.0)):
                i = mapping.bones.get(f"{finger}.0{k + 1}.{S}")
                if i is None:
                    continue
                axis = (1 if S == "R" else -1) * rig.rest[i].T @ normalize(palm if finger == "thumb" else knuckles)
                axis = normalize(axis - axis[1] * y)  # square to the bone: a hinge
                local = axis_angle(np.broadcast_to(axis, (frames, 3)), share * curl)
                if k == 0 and finger != "thumb":  # the knuckle also spreads, about the palm's normal
                    side_axis = normalize(np.cross(axis, y))
                    local = local @ axis_angle(np.broadcast_to(side_axis, (frames, 3)), spread)
                q[:, i] = from_matrix(local)
                animated.add(i)
    track.quaternions = q.astype(np.float32)
    track.animated = sorted(animated)
    return track


def render(out_dir: str | Path, clips: int = 3, frames: int = 48, fps: float = 25.0, size: tuple[int, int] = (640, 480),
           samples: int = 8, seed: int = 0, cross: bool = False) -> list[Path]:
    """Render ``clips`` clips (NAME.mp4 and NAME_gt.npz: the 63 h36m17_hands joints in world, camera and pixels);
    with ``cross``, the hands sweep past each other (hands_cross_NN)."""
    import bpy

    from ...retarget import blender_io
    from .character import Body, build
    from .render import camera_matrices, posed_truth, render_video, setup_scene, _aim

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for c in range(clips):
        rng = np.random.default_rng(seed + c)
        bpy.ops.wm.read_homefile(use_empty=True)
        scene = bpy.context.scene
        scene.render.fps = int(fps)
        body = Body.random(rng)
        arm = build("Human", body)
        rig = blender_io.read_rig(arm)
        mapping, _ = detect(rig)
        blender_io.write_action(arm, hand_track(rig, mapping, frames, fps, rng, cross), "hands")
        scene.frame_start, scene.frame_end = 1, frames
        world = posed_truth(arm, frames, hands=True)
        setup_scene(size, float(np.nanmin(world[:, :23, 2])) - 0.06, rng, samples)
        chest = np.nanmedian(world[:, [SKELETON.index("l_wrist"), SKELETON.index("r_wrist")]], axis=(0, 1))
        cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
        scene.collection.objects.link(cam)
        scene.camera = cam
        az, d = np.radians(rng.uniform(-30, 30)), rng.uniform(1.1, 1.5)
        cam.location = (chest[0] + d * np.sin(az), chest[1] - d * np.cos(az), chest[2] + rng.uniform(-0.1, 0.25))
        cam.data.sensor_fit = "HORIZONTAL"
        cam.data.lens = float(rng.uniform(30, 38))
        _aim(cam, chest + [0, 0, 0.1])
        Rs, ts = np.zeros((frames, 3, 3)), np.zeros((frames, 3))
        for t in range(frames):
            scene.frame_set(t + 1)
            bpy.context.view_layer.update()
            K, Rs[t], ts[t] = camera_matrices(cam, size)
        cam_pts = np.einsum("tij,tkj->tki", Rs, world) + ts[:, None]
        uv = cam_pts[..., :2] / cam_pts[..., 2:] @ K[:2, :2].T + K[:2, 2]
        name = f"hands_{'cross_' if cross else ''}{c + 1:02d}"
        written.append(render_video(out_dir / f"{name}.mp4", frames, fps, size))
        np.savez_compressed(out_dir / f"{name}_gt.npz", joints_world=world.astype(np.float32), joints_cam=cam_pts.astype(np.float32),
                            uv=uv.astype(np.float32), K=K, R=Rs, t=ts, fps=fps, image_size=np.array(size),
                            joint_names=np.array(SKELETON.names), seed=seed + c, body=json.dumps(asdict(body)))
    return written


def _hand_points(side: str) -> list[int]:
    """h36m17_hands indices of one hand's 21 points in MediaPipe's order (the wrist first)."""
    return list(SKELETON.group(f"hand_{side}"))


def finger_bends(points: np.ndarray, side: str) -> np.ndarray:
    """(T, 14) bends (deg) of one hand from h36m17_hands points (T, 63, 3): each finger's knuckle (against the
    wrist -> knuckle line), middle and end joint; the thumb's two."""
    p = points[:, _hand_points(side)]  # (T, 21, 3) wrist, then 4 a finger
    out = []
    for f in range(5):
        chain = [p[:, 0]] + [p[:, 1 + 4 * f + k] for k in range(4)]
        for a, b, c in list(zip(chain, chain[1:], chain[2:]))[1 if f == 0 else 0:]:
            out.append(angle_between(b - a, c - b))
    return np.stack(out, 1)


def hand_sizes(truth: np.ndarray) -> np.ndarray:
    """(N,) each true hand's size in pixels (``truth`` (N, 21, 2)): the longer side of its box."""
    return np.max(truth.max(1) - truth.min(1), axis=-1)


def landmark_errors(points: np.ndarray, truth: np.ndarray, size: np.ndarray) -> np.ndarray:
    """(N,) each hand's median landmark distance (``points``, ``truth`` (N, 21, 2)) in hand sizes ``size`` (N,)."""
    return np.median(np.linalg.norm(points - truth, axis=-1), axis=1) / size


def _pixel_scores(uv: np.ndarray, found_px: dict[str, np.ndarray]) -> tuple[dict, np.ndarray]:
    """2D scores of hand landmarks ``found_px`` ({'l', 'r'}: (T, 21, 2), NaN where not found) against the truth's
    pixels ``uv`` (T, 63, 2): found fractions and swapped frames, and the per-hand-frame errors (of the hand's size)."""
    out, errs, swaps = {}, [], 0
    for side in "lr":
        truth, ours = uv[:, _hand_points(side)], found_px[side][: len(uv)]
        other = uv[:, _hand_points("r" if side == "l" else "l")]
        size = hand_sizes(truth)
        found = np.isfinite(ours).all((1, 2))
        e = landmark_errors(ours, truth, size)
        swaps += int((found & (landmark_errors(ours, other, size) < e)).sum())
        errs.append(e[found])
        out[f"found_{side}"] = float(found.mean())
    errs = np.concatenate(errs)
    return out | {"swapped_frames": swaps, "px_err_pct": float(np.median(errs) * 100) if len(errs) else float("nan")}, errs


def score_holistic(landmarks: str | Path, gt_path: str | Path) -> tuple[dict, np.ndarray]:
    """MediaPipe Holistic's hands (``mediapipe_hands.py``'s npz) scored in 2D on the same truth."""
    mp, gt = np.load(landmarks), np.load(gt_path)
    n = min(len(mp["left"]), len(gt["uv"]))
    row, errs = _pixel_scores(gt["uv"][:n], {"l": mp["left"][:n], "r": mp["right"][:n]})
    return {"clip": Path(gt_path).stem.removesuffix("_gt"), "method": "holistic", "frames": n} | row, errs


def score(video: str | Path, gt_path: str | Path | None = None, lifter: str = "single",
          device: str = "auto") -> tuple[dict, np.ndarray, np.ndarray]:
    """Capture ``video`` with hands and score it against its truth (see the module docstring): the row, and the
    per-hand-frame 2D errors (fractions of the hand's size) and angle errors behind its medians."""
    from ...inference.pipeline import CaptureOptions, capture
    from ...models.assets import load_rig

    video = Path(video)
    gt = np.load(gt_path or video.with_name(video.stem + "_gt.npz"))
    result = capture(video, CaptureOptions(lifter=lifter, device=device, hands=True))
    n = min(len(gt["uv"]), len(result.hand_pixels))
    uv, truth_world = gt["uv"][:n], gt["joints_world"][:n]
    m = result.motion
    target = load_rig("mixamo")
    mapping, _ = detect(target)
    pos = m.to_frame("blender").positions()[:n]
    track = solve(pos, m.confidence[:n], m.fps, target, mapping, root_mode="none")
    heads, tails, rots = target.fk(to_matrix(track.quaternions.astype(np.float64)), np.zeros((n, len(target), 3)))
    on_rig = posed_joints(target, mapping, heads, tails, rots)
    row, errs = _pixel_scores(uv, {"l": result.hand_pixels[:n, 0], "r": result.hand_pixels[:n, 1]})
    angles = []
    for k, side in enumerate("lr"):
        seen = np.isfinite(result.hand_pixels[:n, k]).all((1, 2)) & np.isfinite(on_rig[:, _hand_points(side)]).all((1, 2))
        angles.append(np.abs(finger_bends(on_rig[seen], side) - finger_bends(truth_world[seen], side)).ravel())
    angles = np.concatenate(angles)
    out = {"clip": video.stem, "method": f"ours ({lifter})", "frames": n} | row | {
        "angle_err_deg": float(np.median(angles)) if len(angles) else float("nan"), "tracking_fps": m.meta["tracking_fps"]}
    return out, errs, angles


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m video_mocap.models.synth.hands", description=__doc__.splitlines()[0])
    p.add_argument("out_dir")
    p.add_argument("--clips", type=int, default=3)
    p.add_argument("--frames", type=int, default=48)
    p.add_argument("--samples", type=int, default=8)
    p.add_argument("--cross", action="store_true", help="render clips whose hands sweep past each other")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--score", action="store_true", help="capture the rendered clips with hands and score them")
    p.add_argument("--lifter", default="single")
    a = p.parse_args(argv)
    if not a.score:
        print(*render(a.out_dir, a.clips, a.frames, samples=a.samples, seed=a.seed, cross=a.cross), sep="\n")
        return
    scored, holistic = [], []
    for video in sorted(Path(a.out_dir).glob("hands_*.mp4")):
        scored.append(score(video, lifter=a.lifter))
        landmarks = video.with_name(video.stem + "_holistic.npz")
        if landmarks.is_file():
            holistic.append(score_holistic(landmarks, video.with_name(video.stem + "_gt.npz")))
    rows = [r for r, _, _ in scored] + [r for r, _ in holistic]
    print("| clip | method | frames | 2D error (% of hand) | finger-joint angle error (deg) | swapped frames | found L/R | fps |\n"
          "|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['clip']} | {r['method']} | {r['frames']} | {r['px_err_pct']:.1f} | {r.get('angle_err_deg', float('nan')):.1f} | "
              f"{r['swapped_frames']} | {r['found_l']:.2f}/{r['found_r']:.2f} | {r.get('tracking_fps', float('nan')):.1f} |")
    errs, angles = np.concatenate([e for _, e, _ in scored]), np.concatenate([g for _, _, g in scored])
    print(f"| all | ours | {sum(r['frames'] for r, _, _ in scored)} | {np.median(errs) * 100:.1f} | {np.median(angles):.1f} | "
          f"{sum(r['swapped_frames'] for r, _, _ in scored)} | | |")
    if holistic:
        e = np.concatenate([e for _, e in holistic])
        print(f"| all | holistic | {sum(r['frames'] for r, _ in holistic)} | {np.median(e) * 100:.1f} | - | "
              f"{sum(r['swapped_frames'] for r, _ in holistic)} | | |")
    (Path(a.out_dir) / "hands_results.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
