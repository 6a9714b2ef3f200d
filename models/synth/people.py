"""Render two people crossing, with exact truth for both, to measure that a capture stays on the chosen person.

    python -m video_mocap.models.synth.people OUT_DIR [--scenarios cross_front cross_behind follow] [--seconds 4]

Two MakeHuman characters of different build and clothes walk held-out CMU walks, turned and placed so that
their paths cross in front of a static camera half way through the clip: ``cross_front`` (the other person
passes between the camera and the chosen one, hiding them), ``cross_behind`` (the other passes behind) and
``follow`` (both walk the same way, the other a step behind and to the side, overlapping all along). The
chosen person is always person A. Writes OUT_DIR/SCENARIO.mp4 and OUT_DIR/SCENARIO_gt.npz: both people's
canonical joints in the world and their 2D projections (``uv_a``, ``uv_b``), intrinsics, extrinsics, and
``pick``, a pixel on person A's pelvis on the first frame (what a user clicks).
"""
from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

import bpy
import numpy as np

from ...motion import Motion
from ...retarget import blender_io
from ..data import DEFAULT_DATA, require_data
from .character import Body, build
from .render import SK, add_camera, camera_matrices, load_clip, posed_truth, render_video, setup_scene

# scenario -> (A's clip, B's clip, B's direction (+1 same as A, -1 opposite), B's depth offset m, B's lag m)
SCENARIOS = {"cross_front": ("05_01", "07_05", -1, -1.2, 0.0), "cross_behind": ("07_05", "05_01", -1, 1.2, 0.0),
             "follow": ("05_01", "07_03", 1, 0.7, -0.9)}


def _walk_across(motion: Motion, direction: int, depth: float, lag: float, cross_frame: int) -> Motion:
    """The walk turned to travel along +X (``direction`` 1) or -X, its pelvis at (lag, depth) on ``cross_frame``."""
    m = motion.to_frame("blender")
    travel = m.root[-1, :2] - m.root[0, :2]
    heading = np.arctan2(travel[1], travel[0])
    turn = (0.0 if direction > 0 else np.pi) - heading
    c, s = np.cos(turn), np.sin(turn)
    rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    root = m.root @ rot.T
    root[:, :2] += np.array([lag, depth]) - root[cross_frame, :2]
    return Motion(joints=m.joints @ rot.T, confidence=m.confidence, fps=m.fps, skeleton=m.skeleton, frame="blender",
                  root=root, meta=m.meta)


def render_pair(out_dir: str | Path, scenario: str, data: str = DEFAULT_DATA, seconds: float = 4.0, fps: float = 25.0,
                size: tuple[int, int] = (640, 360), seed: int = 0, samples: int = 6) -> tuple[Path, Path]:
    """Render one two-person scenario; returns (video, ground-truth npz)."""
    clip_a, clip_b, direction, depth, lag = SCENARIOS[scenario]
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps = int(fps)
    body_a, body_b = Body.random(rng), Body.random(rng)
    body_a.height, body_b.height = 0.8, 0.25  # a tall and a short person
    body_a.gender, body_b.gender = 0.9, 0.1
    arms, worlds = [], []
    n = int(seconds * fps)
    for who, clip, body, d, ahead, sign in (("A", clip_a, body_a, 0.0, 0.0, 1), ("B", clip_b, body_b, depth, lag, direction)):
        motion = load_clip(data, clip, seconds, fps)
        motion = _walk_across(motion, sign, d, ahead, min(n, len(motion)) // 2)
        arm = build(who, body)
        blender_io.retarget_motion(motion, arm, name=f"{scenario} {who}", fix_feet=False)
        arms.append(arm)
        n = min(n, len(motion))
    scene.frame_start, scene.frame_end = 1, n
    worlds = [posed_truth(arm, n) for arm in arms]
    floor = float(np.nanmin(worlds[0][:, list(SK.group("feet")), 2])) - 0.06
    setup_scene(size, floor, rng, samples)
    cam = add_camera(np.array([0.0, 0.3 * depth, float(np.nanmedian(worlds[0][:, 0, 2]))]), size, rng, (5.5, 6.5))
    scene.frame_set(1)
    bpy.context.view_layer.update()
    K, R, t = camera_matrices(cam, size)
    uv = [(w @ R.T + t)[..., :2] / (w @ R.T + t)[..., 2:] @ K[:2, :2].T + K[:2, 2] for w in worlds]
    video = render_video(out_dir / f"{scenario}.mp4", n, fps, size)
    gt = out_dir / f"{scenario}_gt.npz"
    np.savez_compressed(gt, joints_a=worlds[0].astype(np.float32), joints_b=worlds[1].astype(np.float32),
                        uv_a=uv[0].astype(np.float32), uv_b=uv[1].astype(np.float32), K=K, R=R, t=t, fps=fps,
                        image_size=np.array(size), pick=uv[0][0, 0].astype(np.float32), scenario=scenario,
                        clips=np.array([clip_a, clip_b]), seed=seed,
                        bodies=json.dumps([asdict(body_a), asdict(body_b)]))
    return video, gt


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out_dir")
    p.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=list(SCENARIOS))
    p.add_argument("--data", default=DEFAULT_DATA, type=require_data, help="mocap npz in the shared data layout")
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--size", type=int, nargs=2, default=(640, 360))
    p.add_argument("--samples", type=int, default=6)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    for k, scenario in enumerate(a.scenarios):
        print(*render_pair(a.out_dir, scenario, a.data, a.seconds, size=tuple(a.size), seed=a.seed + k, samples=a.samples))


if __name__ == "__main__":
    main()
