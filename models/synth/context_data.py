"""Training images for the context-aware lifter: MakeHuman characters in mocap poses of the training
subjects (never the held-out ones), each pose from its own random camera, seen by BlazePose exactly as the
capture path sees a frame.

    python -m video_mocap.models.synth.context_data OUT_DIR [--chunks 0:40] [--frames 200] [--size 256] [--split test]

Chunk k is drawn from seed k (character, clothes, scene, light, poses, cameras), so the set is
deterministic; chunks already on disk are skipped, so an interrupted run resumes. Each chunk is
OUT_DIR/chunk_KKKK.npz with, per image: the 17 joints in image pixels and their confidences (BlazePose
33 landmarks mapped as in the capture path), the joints in crop pixels, the landmark model's four feature
maps of that crop (float16), whether a person was found, and the truth (17 joints, camera axes, metres,
pelvis-relative; and their projection). ``--split test`` draws the poses from the held-out test subjects
instead (other seeds too): an evaluation set for the same-frames ablation, never trained on.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import bpy
import cv2
import numpy as np

from ...inference.context import LEVELS, crop_coords
from ...inference.detector import BlazePose, roi_from_points
from ...inference.person import main_person
from ...motion import Motion
from ...retarget import blender_io
from ...skeleton import load_map, load_skeleton
from ..data import DEFAULT_DATA, HELD_OUT, require_data
from .character import Body, build
from .render import _aim, camera_matrices, posed_truth, setup_scene

SK = load_skeleton("h36m17_ext")


def training_poses(data: str, n: int, rng: np.random.Generator, split: str = "train") -> Motion:
    """``n`` random frames of the training subjects' clips (all tiers; ``split="test"``: the held-out test
    subjects'), as a 23-joint motion standing at the origin (one independent pose per frame)."""
    held = {s for v in HELD_OUT.values() for s in v}
    with np.load(data) as d:
        start, subj = d["clip_start"], d["clip_subject"]
        if split == "test":
            clips = [c for c in range(len(start) - 1) if str(subj[c]) in HELD_OUT["test"]]
        else:
            clips = [c for c in range(len(start) - 1) if str(subj[c]) not in held and str(subj[c]) not in ("", "unknown")]
        c = rng.choice(clips, n)
        idx = (start[c] + rng.random(n) * (start[c + 1] - start[c])).astype(int)
        j = np.full((n, 23, 3), np.nan, np.float32)
        j[:, :17] = d["joints_rel"][idx]
        j[:, [SK.index("l_toe"), SK.index("r_toe"), SK.index("l_handtip"), SK.index("r_handtip")]] = d["extra_rel"][idx]
        root = d["root"][idx] - np.stack([np.zeros(n), d["clip_floor_y"][c], np.zeros(n)], 1)
    root[:, [0, 2]] = 0.0
    conf = np.isfinite(j).all(-1).astype(np.float32)
    return Motion(joints=j, confidence=conf, fps=25.0, skeleton=SK, frame="y_up", root=root, meta={"source": "training poses"})


def place_camera(cam: bpy.types.Object, joints: np.ndarray, rng: np.random.Generator) -> None:
    """All-round azimuth, elevation -5..35 deg, lens 24-60 mm, at the distance where the body fills
    45-90 % of the (square) frame, aimed near its centre."""
    lo, hi = np.nanmin(joints, 0), np.nanmax(joints, 0)
    centre, extent = (lo + hi) / 2, float(np.max(hi - lo)) + 0.35
    cam.data.lens = float(rng.uniform(24, 60))
    dist = extent * cam.data.lens / (cam.data.sensor_width * rng.uniform(0.45, 0.9))
    az, el = rng.uniform(0, 2 * np.pi), np.radians(rng.uniform(-5, 35))
    cam.location = tuple(centre + dist * np.array([np.cos(el) * np.sin(az), -np.cos(el) * np.cos(az), np.sin(el)]))
    target = centre + rng.uniform(-0.08, 0.08, 3) * extent
    _aim(cam, target)


def see(model: BlazePose, rgb: np.ndarray, mapping):
    """BlazePose on one image as the capture path runs it: detect, read landmarks, then read them again
    from the crop those landmarks give (the crop a tracked frame gets). None when nobody is found."""
    det = main_person(model.detect(rgb), (rgb.shape[1], rgb.shape[0]))
    if det is None:
        return None
    pose = model.landmarks(rgb, roi_from_points(det.keypoints[0], det.keypoints[1]))
    pose = model.landmarks(rgb, pose.roi)
    px, conf = mapping.apply(pose.landmarks, pose.confidence)
    px = np.nan_to_num(px[:17])
    return px, conf[:17], crop_coords(px, pose.roi), pose.features


def make_chunk(k: int, out: Path, data: str, frames: int = 200, size: int = 256, samples: int = 4, model: BlazePose | None = None,
               split: str = "train") -> Path:
    """Render and see chunk ``k``; returns its path."""
    path = out / f"chunk_{k:04d}.npz"
    rng = np.random.default_rng(1_000_003 * (k + 1) + (7_777 if split == "test" else 0))
    model = model or BlazePose("cpu", features=True)
    mapping = load_map("blazepose33", "h36m17_ext")
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    arm = build("Human", Body.random(rng))
    motion = training_poses(data, frames, rng, split)
    blender_io.retarget_motion(motion, arm, name=f"chunk{k}", fix_feet=False)
    world = posed_truth(arm, frames)
    setup_scene((size, size), float(np.nanmin(world[:, list(SK.group("feet")), 2])) - 0.06, rng, samples)
    cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(cam)
    scene.camera = cam
    cam.data.sensor_fit = "HORIZONTAL"
    rows = {key: [] for key in ("pixels", "conf", "crop", "found", "joints_cam", "uv", "K")}
    feats = [[] for _ in range(4)]
    with tempfile.TemporaryDirectory() as tmp:
        for t in range(frames):
            scene.frame_set(t + 1)
            place_camera(cam, world[t], rng)
            bpy.context.view_layer.update()
            K, R, tr = camera_matrices(cam, (size, size))
            scene.render.filepath = os.path.join(tmp, "f.png")
            bpy.ops.render.render(write_still=True)
            rgb = cv2.cvtColor(cv2.imread(os.path.join(tmp, "f.png")), cv2.COLOR_BGR2RGB)
            seen = see(model, rgb, mapping)
            cam_pts = world[t, :17] @ R.T + tr
            rows["joints_cam"].append(cam_pts - cam_pts[:1])
            rows["uv"].append(cam_pts[:, :2] / cam_pts[:, 2:] @ K[:2, :2].T + K[:2, 2])
            rows["K"].append(K)
            rows["found"].append(seen is not None)
            if seen is None:
                seen = (np.zeros((17, 2)), np.zeros(17), np.zeros((17, 2)), [np.zeros((c, s, s)) for c, s in LEVELS])
            for key, value in zip(("pixels", "conf", "crop"), seen[:3]):
                rows[key].append(value)
            for level, f in zip(feats, seen[3]):
                level.append(f.astype(np.float16))
    arrays = {key: np.array(v, np.float32 if key != "found" else bool) for key, v in rows.items()}
    arrays |= {f"level{i}": np.array(f) for i, f in enumerate(feats)}
    tmp_path = path.with_suffix(".tmp.npz")
    np.savez(tmp_path, **arrays, seed=k, size=size)
    tmp_path.replace(path)  # a chunk is on disk whole or not at all
    return path


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--chunks", default="0:40", help="chunk range A:B")
    p.add_argument("--frames", type=int, default=200, help="images per chunk")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--samples", type=int, default=4)
    p.add_argument("--data", default=DEFAULT_DATA, type=require_data, help="mocap npz in the shared data layout")
    p.add_argument("--split", default="train", choices=["train", "test"], help="whose poses: training or held-out test subjects")
    a = p.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    lo, hi = (int(x) for x in a.chunks.split(":"))
    model = BlazePose("cpu", features=True)
    for k in range(lo, hi):
        if (out / f"chunk_{k:04d}.npz").is_file():
            continue
        t0 = time.perf_counter()
        path = make_chunk(k, out, a.data, a.frames, a.size, a.samples, model, a.split)
        with np.load(path) as d:
            print(f"{path.name}: {d['found'].mean() * 100:.0f} % found, {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
