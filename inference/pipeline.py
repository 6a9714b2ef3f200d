"""Capture: a video file in, a :class:`Motion` out. The Python API behind the CLI and the add-on.

Stages: track (BlazePose, streamed frame by frame), map the 33 landmarks to the canonical joints, fill
short gaps, lift to 3D (single-frame or MPM over windows; low-confidence joints masked and completed by
MPM), place the body in metres with the camera model (depth from 3D vs 2D size, x/y from the pelvis
pixel), turn the camera frame into a Z-up world (torso-up estimate, floor at the lowest foot contacts)
and smooth. ``progress(stage, done, total, fps)`` is called as it goes; ``cancel()`` returning True
stops it with :class:`Cancelled`.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..motion import Motion
from ..skeleton import load_map
from . import filters
from .detector import BlazePose, Tracker
from .lifters import FrameLifter, WindowLifter
from .video import VideoError, frames, open_video
from .weights import weight_path

LIFTERS = ("mpm", "single")
EXTRAS = {"l_toe": "l_ankle", "r_toe": "r_ankle", "l_heel": "l_ankle", "r_heel": "r_ankle",
          "l_handtip": "l_wrist", "r_handtip": "r_wrist"}


class CaptureError(VideoError):
    """The clip gave nothing usable (no person, ...); nothing was written."""


class Cancelled(Exception):
    """The user cancelled; nothing was written."""


@dataclass
class CaptureOptions:
    lifter: str = "single"  # the more accurate of the two shipped lifters today (see models/weights/*.md)
    device: str = "auto"
    complete: bool = True  # mask joints below ``threshold`` and let MPM fill them
    threshold: float = 0.3
    smooth: float = 0.5  # 0..1
    smooth_method: str = "butterworth"
    fov: float = 60.0  # horizontal field of view (degrees), used when no focal length is given
    focal_px: float | None = None
    sensor_mm: float | None = None  # with lens_mm: focal = lens / sensor * width
    lens_mm: float | None = None
    start: int = 0
    stop: int | None = None
    max_gap: float = 0.5  # seconds: shorter tracking gaps are interpolated, longer ones marked unseen


def focal_length(opts: CaptureOptions, width: int) -> float:
    if opts.focal_px:
        return float(opts.focal_px)
    if opts.sensor_mm and opts.lens_mm:
        return opts.lens_mm / opts.sensor_mm * width
    return width / 2 / np.tan(np.radians(opts.fov) / 2)


def fill_gaps(pixels: np.ndarray, conf: np.ndarray, seen: np.ndarray, max_frames: int) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """Interpolate 2D across tracking gaps up to ``max_frames`` long (at a reduced confidence); longer
    gaps stay unseen (confidence 0) and are returned as (start, stop) frame ranges."""
    pixels, conf = pixels.copy(), conf.copy()
    edges = np.diff(np.concatenate([[1], seen.astype(int), [1]]))
    long_gaps = []
    for a, b in zip(np.flatnonzero(edges == -1), np.flatnonzero(edges == 1)):
        if a == 0 or b == len(seen) or b - a > max_frames:
            long_gaps.append((int(a), int(b)))
            continue
        w = (np.arange(a, b) - (a - 1)) / (b - (a - 1))
        pixels[a:b] = pixels[a - 1] * (1 - w[:, None, None]) + pixels[b] * w[:, None, None]
        conf[a:b] = 0.5 * np.minimum(conf[a - 1], conf[b])
    return pixels, conf, long_gaps


def place_in_camera(rel: np.ndarray, pixels: np.ndarray, conf: np.ndarray, f: float, c: np.ndarray) -> np.ndarray:
    """Pelvis position (T, 3) in camera space: depth from 3D size over 2D size, x/y from the pelvis pixel."""
    ok = conf[:, :17] > 0.3
    d2 = np.where(ok[..., None], pixels[:, :17] - pixels[:, :1], np.nan)
    d3 = np.where(ok[..., None], rel[:, :17, :2], np.nan)
    with np.errstate(invalid="ignore"):
        s2 = np.sqrt(np.nanmean((d2**2).sum(-1), axis=1))
        s3 = np.sqrt(np.nanmean((d3**2).sum(-1), axis=1))
    z = f * s3 / s2
    good = np.isfinite(z) & (z > 0.3) & (z < 100)
    z = np.interp(np.arange(len(z)), np.flatnonzero(good), z[good]) if good.any() else np.full(len(z), 4.0)
    if len(z) > 8:  # depth from size is noisy frame to frame: a running median, then a gentle low-pass
        padded = np.pad(z, 4, mode="reflect")
        z = np.median(np.lib.stride_tricks.sliding_window_view(padded, 9), axis=1)
        z = filters.butterworth(z, 10.0, cutoff=1.0)
    uv = pixels[:, 0] - c
    return np.column_stack([uv[:, 0] * z / f, uv[:, 1] * z / f, z])


def camera_to_world(cam: np.ndarray) -> np.ndarray:
    """Rotation (3, 3) from camera axes to a Z-up world: the median torso direction is up (people
    mostly stand), the camera looks along +Y, so a person facing the camera faces -Y."""
    up = np.nanmedian(cam[:, 8] - cam[:, 0], axis=0)  # pelvis -> thorax
    up = up / np.linalg.norm(up)
    fwd = np.array([0.0, 0.0, 1.0]) - up[2] * up  # the optical axis, levelled
    fwd /= np.linalg.norm(fwd)
    right = np.cross(fwd, up)
    return np.stack([right, fwd, up])  # rows: world X, Y, Z in camera coordinates


@dataclass
class Capture:
    """What a capture gives: the motion, and the 2D keypoints (T, 23, 2 pixels) it was lifted from."""

    motion: Motion
    pixels: np.ndarray
    start: int
    camera: np.ndarray  # (T, 23, 3) pelvis-relative joints in camera axes (x right, y down, z forward), metres


def capture(video: str | Path, opts: CaptureOptions | None = None,
            progress: Callable[[str, int, int, float], None] | None = None,
            cancel: Callable[[], bool] | None = None) -> Capture:
    """Run the whole capture on ``video``; see the module docstring."""
    opts = opts or CaptureOptions()
    if opts.lifter not in LIFTERS:
        raise ValueError(f"unknown lifter {opts.lifter!r}; choose one of {', '.join(LIFTERS)}")
    progress = progress or (lambda *a: None)
    cap, info = open_video(video)
    cap.release()
    model = BlazePose(opts.device)
    tracker = Tracker(model)
    mapping = load_map("blazepose33", "h36m17_ext")
    total = (opts.stop or info.frames) - opts.start
    pixels, conf, times, seen = [], [], [], []
    t0 = time.perf_counter()
    for n, (i, t, rgb) in enumerate(frames(video, opts.start, opts.stop)):
        if cancel and cancel():
            raise Cancelled("capture cancelled")
        pose = tracker(rgb)
        times.append(t)
        seen.append(pose is not None)
        if pose is None:
            pixels.append(np.zeros((23, 2), np.float32))
            conf.append(np.zeros(23, np.float32))
        else:
            p, c = mapping.apply(pose.landmarks, pose.confidence)
            pixels.append(np.nan_to_num(p))
            conf.append(c)
        if n % 10 == 0:
            progress("tracking", n + 1, total, (n + 1) / max(time.perf_counter() - t0, 1e-9))
    if not times:
        raise CaptureError(f"{video}: no frames in the chosen range")
    seen = np.array(seen)
    if not seen.any():
        raise CaptureError(f"{video}: no person was found in any of the {len(seen)} frames")
    track_fps = len(times) / max(time.perf_counter() - t0, 1e-9)
    pixels, conf = np.array(pixels), np.array(conf)
    pixels, conf, long_gaps = fill_gaps(pixels, conf, seen, int(opts.max_gap * info.fps))
    # Lift (pelvis-relative, camera axes).
    progress("lifting", 0, 1, 0.0)
    t1 = time.perf_counter()
    lift_conf = conf[:, :17].copy()
    if opts.complete:
        lift_conf[lift_conf < opts.threshold] = 0.0
    if opts.lifter == "mpm":
        lifter = WindowLifter(weight_path("mpm"), opts.device)
    else:
        lifter = FrameLifter(weight_path("single"), opts.device)
    rel = lifter.lift(pixels[:, :17], lift_conf)
    lift_ms = (time.perf_counter() - t1) * 1000 / len(rel)
    f = focal_length(opts, info.width)
    centre = np.array([info.width / 2, info.height / 2])
    root = place_in_camera(rel, pixels, conf, f, centre)
    cam = np.concatenate([rel, np.zeros((len(rel), 6, 3), np.float32)], 1) + root[:, None]
    # Feet and hand points: the 2D keypoint at the depth of its parent joint.
    names = mapping.target.names
    for extra, parent in EXTRAS.items():
        k, p = names.index(extra), names.index(parent)
        z = cam[:, p, 2:3]
        cam[:, k] = np.concatenate([(pixels[:, k] - centre) * z / f, z], 1)
    # Camera -> Z-up world, floor at the lowest foot contacts.
    world = cam @ camera_to_world(cam).T
    feet = world[:, [3, 6, 17, 18, 19, 20], 2]
    world[..., 2] -= np.nanpercentile(np.nanmin(feet, axis=1), 5)
    if opts.smooth > 0:
        world = filters.smooth(world.reshape(len(world), -1), info.fps, opts.smooth_method, opts.smooth).reshape(world.shape)
    conf_out = conf.copy()
    conf_out[:, :17] = np.where(conf[:, :17] > 0, np.maximum(conf[:, :17], 0.05), 0.0)
    for a, b in long_gaps:
        conf_out[a:b] = 0.0
    root_w = world[:, 0].copy()
    # A motion at a constant rate: resample variable-frame-rate timestamps onto a uniform grid.
    times = np.array(times) - times[0]
    grid = np.arange(len(times)) / info.fps
    if len(times) > 1 and np.abs(times - grid).max() > 0.5 / info.fps:
        world = np.stack([np.interp(grid, times, world[:, j, d]) for j in range(23) for d in range(3)], 1).reshape(-1, 23, 3)
        root_w = world[:, 0].copy()
    joints = np.where(conf_out[..., None] > 0, world - root_w[:, None], np.nan)
    K = np.array([[f, 0, centre[0]], [0, f, centre[1]], [0, 0, 1]], np.float32)
    meta = {"source": str(video), "lifter": opts.lifter, "provider": model.provider, "options": asdict(opts),
            "tracking_fps": round(track_fps, 1), "lift_ms_per_frame": round(lift_ms, 3),
            "detector_runs": tracker.detections, "frames_without_person": int((~seen).sum()),
            "unseen_stretches": [[a, b] for a, b in long_gaps]}
    progress("done", 1, 1, track_fps)
    motion = Motion(joints=joints, confidence=conf_out, fps=info.fps, skeleton=mapping.target, frame="blender",
                    root=root_w, intrinsics=K, image_size=(info.width, info.height), meta=meta)
    return Capture(motion, pixels, opts.start, cam - root[:, None])
