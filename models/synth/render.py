"""Render a clip of the MakeHuman character performing mocap, with exact ground truth.

    python -m video_mocap.models.synth.render OUT_DIR [--clip 16_01] [--seconds 4] [--size 640 360] [--pan]

Writes OUT_DIR/NAME.mp4 and OUT_DIR/NAME_gt.npz: canonical joints (h36m17_ext) of the rendered rig in
world (Blender frame, metres) and camera (OpenCV axes) space, their 2D projections, intrinsics,
per-frame extrinsics and fps. Everything random (body, clothes, backdrop, light, camera) comes from the
seed. The motion goes onto the character with the project's own retarget module; the
ground truth is read back from the posed rig, so it is exact for what is on screen.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path

import bpy
import cv2
import numpy as np

from ...filters import moving_average
from ...motion import Motion
from ...retarget import blender_io
from ...retarget.presets import detect
from ...retarget.solver import posed_joints
from ...skeleton import load_skeleton
from ..data import DEFAULT_DATA, HELD_OUT, require_data
from .character import Body, build

SK = load_skeleton("h36m17_ext")


def load_clip(data: str, name: str, seconds: float, fps: float, training: bool = False) -> Motion:
    """A clip of the shared mocap file as a motion at ``fps``: held-out subjects only, unless ``training`` (renders
    for a stage that reads only the detector's 2D, such as the swap fixing: the detector never saw our mocap)."""
    with np.load(data) as d:
        names = list(d["clip_name"])
        if name not in names:
            raise KeyError(f"no clip {name!r} in {data}")
        c = names.index(name)
        if not training and str(d["clip_subject"][c]) not in HELD_OUT["test"] + HELD_OUT["val"]:
            raise ValueError(f"{name} is from a training subject; render held-out subjects only")
        a, b = d["clip_start"][c], d["clip_start"][c + 1]
        step = d["fps"] / fps
        idx = np.arange(a, b, step).astype(int)[: int(seconds * fps)]
        j = np.full((len(idx), 23, 3), np.nan, np.float32)
        j[:, :17] = d["joints_rel"][idx]
        e = d["extra_rel"][idx].astype(np.float32)
        j[:, [SK.index("l_toe"), SK.index("r_toe"), SK.index("l_handtip"), SK.index("r_handtip")]] = e
        root = d["root"][idx] - [0, d["clip_floor_y"][c], 0]
    conf = np.isfinite(j).all(-1).astype(np.float32)
    return Motion(joints=j, confidence=conf, fps=fps, skeleton=SK, frame="y_up", root=root, meta={"source": name})


def _surface(name: str, rng: np.random.Generator) -> bpy.types.Material:
    """Two colours mixed by a random procedural pattern (plain, noise, checker or bricks)."""
    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    bsdf = nodes["Principled BSDF"]
    bsdf.inputs["Roughness"].default_value = float(rng.uniform(0.5, 0.95))
    a, b = (*rng.uniform(0.05, 0.7, 3), 1), (*rng.uniform(0.05, 0.7, 3), 1)
    kind = rng.choice(["plain", "noise", "checker", "brick"])
    if kind == "plain":
        bsdf.inputs["Base Color"].default_value = a
        return mat
    tex = nodes.new({"noise": "ShaderNodeTexNoise", "checker": "ShaderNodeTexChecker", "brick": "ShaderNodeTexBrick"}[kind])
    tex.inputs["Scale"].default_value = float(rng.uniform(2, 12) if kind != "noise" else rng.uniform(1, 6))
    if kind == "noise":
        mix = nodes.new("ShaderNodeMix")
        mix.data_type = "RGBA"
        links.new(tex.outputs["Fac"], mix.inputs["Factor"])
        mix.inputs["A"].default_value, mix.inputs["B"].default_value = a, b
        links.new(mix.outputs["Result"], bsdf.inputs["Base Color"])
    else:
        tex.inputs["Color1"].default_value, tex.inputs["Color2"].default_value = a, b
        links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
    return mat


def cycles_device() -> str:
    """Render Cycles on a GPU when Blender finds one (OptiX, CUDA, HIP, Metal, oneAPI), else the CPU."""
    try:
        prefs = bpy.context.preferences.addons["cycles"].preferences
        for kind in ("OPTIX", "CUDA", "HIP", "METAL", "ONEAPI"):
            try:
                prefs.compute_device_type = kind
            except TypeError:  # not built into this Blender
                continue
            prefs.get_devices()
            gpus = [d for d in prefs.devices if d.type == kind]
            if gpus:
                for d in prefs.devices:
                    d.use = d.type == kind
                return "GPU"
    except (KeyError, AttributeError, RuntimeError):
        pass
    return "CPU"


def setup_scene(size: tuple[int, int], floor_z: float, rng: np.random.Generator, samples: int = 6) -> None:
    """Cycles (GPU when there is one), a textured floor and backdrop, a sun and a sky of random colour and strength."""
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.device = cycles_device()
    scene.cycles.samples = samples
    scene.cycles.use_denoising = False
    scene.render.resolution_x, scene.render.resolution_y = size
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"
    scene.render.use_persistent_data = True
    world = bpy.data.worlds.new("World")
    world.use_nodes = True
    world.node_tree.nodes["Background"].inputs["Color"].default_value = (*rng.uniform(0.2, 0.7, 3), 1)
    world.node_tree.nodes["Background"].inputs["Strength"].default_value = float(rng.uniform(0.3, 0.9))
    scene.world = world
    for name, loc, scale in (("Floor", (0, 0, floor_z), (30, 30, 1)), ("Backdrop", (0, float(rng.uniform(5, 10)), floor_z + 5), (30, 1, 10))):
        bpy.ops.mesh.primitive_plane_add(size=1, location=loc)
        obj = bpy.context.object
        obj.name = name
        obj.scale = scale
        if name == "Backdrop":
            obj.rotation_euler = (np.pi / 2, 0, 0)
        obj.data.materials.append(_surface(name, rng))
    sun = bpy.data.objects.new("Sun", bpy.data.lights.new("Sun", "SUN"))
    sun.data.energy = float(rng.uniform(1.5, 4.5))
    sun.data.color = tuple(rng.uniform(0.85, 1.0, 3))
    sun.rotation_euler = (np.radians(rng.uniform(20, 60)), 0, np.radians(rng.uniform(-90, 90)))
    scene.collection.objects.link(sun)


def _aim(cam: bpy.types.Object, point: np.ndarray) -> None:
    """Turn the camera (no roll) to look at ``point``."""
    look = np.asarray(point) - np.array(cam.location)
    pitch = np.arctan2(look[2], np.hypot(look[0], look[1]))
    yaw = np.arctan2(look[1], look[0])
    cam.rotation_euler = (np.pi / 2 + pitch, 0, yaw - np.pi / 2)


def add_camera(target: np.ndarray, size: tuple[int, int], rng: np.random.Generator, distance=(3.2, 4.5),
               path: np.ndarray | None = None) -> bpy.types.Object:
    """A camera in front of the performer at a random height, distance, azimuth and lens (longer for 9:16
    frames, so the vertical field of view stays that of a phone). With ``path`` (T, 3) it pans: the
    aim follows the path, keyed on every frame."""
    cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    bpy.context.scene.collection.objects.link(cam)
    bpy.context.scene.camera = cam
    az = np.radians(rng.uniform(-35, 35))
    d = rng.uniform(*distance)
    height = rng.uniform(0.8, 1.9)
    cam.location = (target[0] + d * np.sin(az), target[1] - d * np.cos(az), height)
    cam.data.sensor_fit = "HORIZONTAL"
    cam.data.lens = float(rng.uniform(28, 40)) * (16 / 9 / (size[0] / size[1])) ** 0.5
    _aim(cam, target * [1, 1, 0.9])
    if path is not None:
        for t, p in enumerate(path):
            _aim(cam, p * [1, 1, 0.9])
            cam.keyframe_insert("rotation_euler", frame=t + 1)
    return cam


def camera_matrices(cam: bpy.types.Object, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Intrinsics K and world -> OpenCV-camera rotation R and translation t."""
    w, h = size
    f = cam.data.lens / cam.data.sensor_width * w
    K = np.array([[f, 0, w / 2], [0, f, h / 2], [0, 0, 1]])
    m = np.array(cam.matrix_world)
    r_bl = m[:3, :3].T  # world -> Blender camera (x right, y up, looking down -z)
    R = np.diag([1, -1, -1]) @ r_bl  # -> OpenCV (y down, z forward)
    t = -R @ m[:3, 3]
    return K, R, t


def posed_truth(arm: bpy.types.Object, frames: int, hands: bool = False) -> np.ndarray:
    """Canonical joints (frames, 23, 3; world, metres) of the posed rig on scene frames 1..frames: the ground truth
    (with ``hands``, all 63 of h36m17_hands)."""
    scene = bpy.context.scene
    rig = blender_io.read_rig(arm)
    mapping, _ = detect(rig)
    heads, tails, rots = (np.zeros((frames, len(rig), 3)), np.zeros((frames, len(rig), 3)), np.zeros((frames, len(rig), 3, 3)))
    mw = np.array(arm.matrix_world)
    for t in range(frames):
        scene.frame_set(t + 1)
        for i, bone in enumerate(rig.names):
            pb = arm.pose.bones[bone]
            heads[t, i] = mw[:3, :3] @ np.array(pb.head) + mw[:3, 3]
            tails[t, i] = mw[:3, :3] @ np.array(pb.tail) + mw[:3, 3]
            rots[t, i] = mw[:3, :3] @ np.array(pb.matrix.to_3x3())
    joints = posed_joints(rig, mapping, heads, tails, rots)
    return joints if hands else joints[:, : len(SK)]


def render_video(path: Path, frames: int, fps: float, size: tuple[int, int]) -> Path:
    """Render scene frames 1..``frames`` with the scene's camera into an MP4 at ``path``."""
    scene = bpy.context.scene
    with tempfile.TemporaryDirectory() as tmp:
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
        for t in range(frames):
            scene.frame_set(t + 1)
            scene.render.filepath = os.path.join(tmp, "f.png")
            bpy.ops.render.render(write_still=True)
            writer.write(cv2.imread(os.path.join(tmp, "f.png")))
        writer.release()
    return path


def _pan_path(pelvis: np.ndarray, fps: float) -> np.ndarray:
    """Where a camera operator aims: the pelvis, low-passed over about 1.5 s (a slow, lagging pan)."""
    return moving_average(pelvis, int(1.5 * fps))


def render(out_dir: str | Path, clip: str = "16_01", data: str = DEFAULT_DATA, seconds: float = 4.0,
           fps: float = 25.0, size: tuple[int, int] = (640, 360), seed: int = 0, samples: int = 6, pan: bool = False,
           name: str | None = None, body: Body | None = None, training: bool = False) -> tuple[Path, Path]:
    """Render ``clip`` on a random character in a random scene; returns (video, ground-truth npz). ``training``:
    a training subject's clip is allowed (see :func:`load_clip`)."""
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = name or clip
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps = int(fps)
    body = body or Body.random(rng)
    arm = build("Human", body)
    motion = load_clip(data, clip, seconds, fps, training)
    report = blender_io.retarget_motion(motion, arm, name=clip, fix_feet=False)
    n = len(motion)
    scene.frame_start, scene.frame_end = 1, n
    world = posed_truth(arm, n)
    floor = float(np.nanmin(world[:, list(SK.group("feet")), 2])) - 0.06
    setup_scene(size, floor, rng, samples)
    portrait = size[1] > size[0]
    cam = add_camera(np.nanmedian(world[:, 0], axis=0), size, rng, (2.8, 3.8) if portrait else (3.2, 4.5),
                     _pan_path(world[:, 0], fps) if pan else None)
    Rs, ts = np.zeros((n, 3, 3)), np.zeros((n, 3))
    for t in range(n):
        scene.frame_set(t + 1)
        bpy.context.view_layer.update()  # matrix_world is stale until the depsgraph runs
        K, Rs[t], ts[t] = camera_matrices(cam, size)
    cam_pts = np.einsum("tij,tkj->tki", Rs, world) + ts[:, None]
    uv = cam_pts[..., :2] / cam_pts[..., 2:] @ K[:2, :2].T + K[:2, 2]
    video = render_video(out_dir / f"{name}.mp4", n, fps, size)
    gt = out_dir / f"{name}_gt.npz"
    np.savez_compressed(gt, joints_world=world.astype(np.float32), joints_cam=cam_pts.astype(np.float32),
                        uv=uv.astype(np.float32), K=K, R=Rs, t=ts, fps=fps, image_size=np.array(size),
                        joint_names=np.array(SK.names), frame="blender", clip=clip, seed=seed, pan=pan,
                        body=json.dumps(asdict(body)), retarget=str(report))
    return video, gt


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out_dir")
    p.add_argument("--clip", default="16_01")
    p.add_argument("--data", default=DEFAULT_DATA, type=require_data, help="mocap npz in the shared data layout")
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--fps", type=float, default=25.0)
    p.add_argument("--size", type=int, nargs=2, default=(640, 360))
    p.add_argument("--samples", type=int, default=6)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--pan", action="store_true", help="the camera follows the performer")
    a = p.parse_args(argv)
    print(*render(a.out_dir, a.clip, a.data, a.seconds, a.fps, tuple(a.size), a.seed, a.samples, a.pan))


if __name__ == "__main__":
    main()
