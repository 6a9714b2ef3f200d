"""Capture: a video file in, a :class:`Motion` out. The Python API behind the CLI and the add-on.

Stages: track (BlazePose, streamed frame by frame; with ``hands``, both hands on crops the body places,
:mod:`.hands`), undo the detector's left/right swaps over the clip (:mod:`.swaps`; the hands' handedness is
evidence there), map the 33 landmarks to the canonical joints, fill short gaps, lift to 3D (single-frame;
MPM over windows; or context-aware, which reads the landmark model's feature maps frame by frame inside the
tracking loop, so they are never all held at once; low-confidence joints are masked and the lifters fill
them), one skeleton for the clip (:mod:`.bones`), a first placement in metres (:mod:`.camera`: depth from
3D vs 2D size, up from the torso and floor; a camera that pans or tilts is followed from the background,
:mod:`.camera_motion`, and everything after works in one reference view; over a plain background, from the planted
feet after a first solve), foot contacts (:mod:`.contacts`), then the clip-level solve
(:mod:`.solve`: joints, floor and camera tilt against the 2D, the lifter, the bones and the contacts) and
the Z-up world with the floor at Z = 0 under the contact feet; with ``hands``, each hand's points on its
wrist. Without the solve (``solve=False``) the first placement is smoothed and planted feet pinned instead.
``progress(stage, done, total, fps)`` is called as it goes; ``cancel()`` returning True stops it with
:class:`Cancelled`.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..motion import Motion
from ..skeleton import load_map, load_skeleton
from .. import filters
from .bones import check_height, clip_bone_lengths, height_scale, performer_height, with_bone_lengths
from .camera import CAMERA_UP, TYPICAL_HEIGHT, camera_to_world, focal_length, pitch, place_in_camera, roll, world_rotation
from .camera_motion import (BackgroundFlow, camera_rotations, from_reference, largest_turn, person_box, reference_pixels,
                            to_reference, turn_from_feet)
from .contacts import ANKLES, CONTACT, FOOT_POINTS, ContactModel, contact_floor, onto_floor, pin_planted, planted_feet
from .detector import BlazePose
from .hands import HandTracker, at_joint_centres, hand_points
from .context import ContextLifter
from .lifters import FrameLifter, FusedLifter
from .person import PersonChoice, Tracker
from .solve import SolveOptions, solve
from .swaps import find_swaps, handedness_prior, unswap
from .video import VideoError, frames, open_video
from .weights import weight_path

LIFTERS = ("mpm", "single", "context")
EXTRAS = {"l_toe": "l_ankle", "r_toe": "r_ankle", "l_heel": "l_ankle", "r_heel": "r_ankle",
          "l_handtip": "l_wrist", "r_handtip": "r_wrist"}


class CaptureError(VideoError):
    """The clip gave nothing usable (no person, ...); nothing was written."""


class Cancelled(Exception):
    """The user cancelled; nothing was written."""


@dataclass
class CaptureOptions:
    lifter: str = "mpm"  # best on the rendered and real-footage benchmarks, and the smoothest (README, Lifters)
    device: str = "auto"
    complete: bool = True  # mask joints below ``threshold`` and let MPM fill them
    threshold: float = 0.3
    smooth: float = 0.5  # 0..1
    smooth_method: str = "butterworth"
    fov: float = 60.0  # field of view across the long side of the frame (degrees), when no focal length is given
    focal_px: float | None = None
    sensor_mm: float | None = None  # with lens_mm: focal = lens / sensor * width
    lens_mm: float | None = None
    start: int = 0
    stop: int | None = None
    max_gap: float = 0.5  # seconds: shorter tracking gaps are interpolated, longer ones marked unseen
    fix_swaps: bool = True  # undo the detector's left/right swaps by temporal consistency
    constant_bones: bool = True  # one set of bone lengths for the whole clip (left = right); the solve always keeps one
    pin_feet: bool = True  # without the solve: planted feet do not slide (the body moves against their sliding)
    solve: bool = True  # the clip-level solve: 2D, lifter, bones, contacts, floor and camera together
    person: str = "auto"  # whom to capture: "auto", an index on the start frame, "x,y" or "x0,y0,x1,y1" (see .person)
    detector: str = "full"  # the landmark model: "full" (shipped) or "heavy" (built from npm; better 2D, slower)
    hands: bool = False  # 21 points a hand from MediaPipe's hand models (the motion's skeleton becomes h36m17_hands)
    moving_camera: bool = True  # follow a camera that pans, tilts or rolls (from the background); off: a fixed camera
    camera_height: float = TYPICAL_HEIGHT  # m above the floor the camera filmed from (the solve's pitch prior; a guess)
    performer_height: float | None = None  # m, floor to the top of the head: sets the body's size, so its distance (None: the lifter's)


def fill_gaps(pixels: np.ndarray, conf: np.ndarray, seen: np.ndarray, max_frames: int) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """Interpolate 2D across tracking gaps up to ``max_frames`` long (at a reduced confidence); longer
    gaps stay unseen (confidence 0) and are returned as (start, stop) frame ranges."""
    seen = np.asarray(seen, bool)
    pixels, bridged = filters.bridge(pixels, seen, max_frames)
    conf = conf.copy()
    for a, b in filters.runs(bridged):
        conf[a:b] = 0.5 * np.minimum(conf[a - 1], conf[b])
    return pixels, conf, [(int(a), int(b)) for a, b in filters.runs(~seen & ~bridged)]


def out_of_frame(pixels: np.ndarray, conf: np.ndarray, width: int, height: int, margin: float = 0.02,
                 cap: float = 0.1) -> np.ndarray:
    """Joints the landmark model placed outside the picture (beyond ``margin`` of its size) were not seen,
    whatever their visibility says: their confidence is capped at ``cap`` (below the lifting threshold)."""
    mx, my = margin * width, margin * height
    outside = (pixels[..., 0] < -mx) | (pixels[..., 0] > width + mx) | (pixels[..., 1] < -my) | (pixels[..., 1] > height + my)
    return np.where(outside, np.minimum(conf, cap), conf)


def never_seen(conf: np.ndarray, seen: np.ndarray, names, threshold: float, fraction: float = 0.05) -> list[str]:
    """Joints at or above ``threshold`` in fewer than ``fraction`` of the frames with a person: the
    lifter guessed them all along (legs out of frame, ...)."""
    if not seen.any():
        return []
    ok = (conf[seen] >= threshold).mean(0)
    return [names[j] for j in np.flatnonzero(ok < fraction)]


def _solve_options(opts: CaptureOptions) -> SolveOptions:
    """The solve's settings from the capture's: the smoothing strength (0..1) sets how much joint
    acceleration the solve allows (60 m/s^2 for one sigma at 0, 15 at 0.5, 4 at 1); the camera's height sets its
    pitch prior."""
    return SolveOptions(accel=60.0 * 0.0625 ** float(np.clip(opts.smooth, 0, 1)), camera_height=opts.camera_height)


def _masked(conf: np.ndarray, opts: CaptureOptions) -> np.ndarray:
    """Confidences the lifters see: below the threshold a joint is masked (0) and the lifter fills it."""
    conf = conf.copy()
    if opts.complete:
        conf[conf < opts.threshold] = 0.0
    return conf


@dataclass
class Capture:
    """What a capture gives: the motion, and the 2D keypoints (T, 23, 2 pixels) it was lifted from."""

    motion: Motion
    pixels: np.ndarray
    start: int
    camera: np.ndarray  # (T, J, 3) the output pose (smoothed, resampled) pelvis-relative in camera axes (x right, y down, z forward), m
    root: np.ndarray  # (T, 3) the pelvis in camera space, metres
    swapped: dict[str, np.ndarray] | None = None  # frames (T,) relabelled left/right, per landmark group (arms, legs)
    hand_pixels: np.ndarray | None = None  # (T, 2, 21, 2) left/right hand joint centres in pixels (hands on), NaN unseen
    turn: np.ndarray | None = None  # (T, 3, 3) a turning camera's axes in each frame from the reference view's; None: still


def capture(video: str | Path, opts: CaptureOptions | None = None,
            progress: Callable[[str, int, int, float], None] | None = None,
            cancel: Callable[[], bool] | None = None) -> Capture:
    """Run the whole capture on ``video``; see the module docstring."""
    opts = opts or CaptureOptions()
    if opts.lifter not in LIFTERS:
        raise ValueError(f"unknown lifter {opts.lifter!r}; choose one of {', '.join(LIFTERS)}")
    if not opts.camera_height > 0:
        raise ValueError(f"camera_height {opts.camera_height!r}: give the camera's height above the floor in metres")
    if opts.performer_height is not None:
        check_height(opts.performer_height)
    progress = progress or (lambda *a: None)
    choice = PersonChoice.parse(opts.person)  # a malformed choice fails before any work
    cap, info = open_video(video)
    cap.release()
    context = ContextLifter(weight_path("context"), opts.device) if opts.lifter == "context" else None
    model = BlazePose(opts.device, features=context is not None, landmark=opts.detector)
    tracker = Tracker(model, choice, start_frame=opts.start)
    flow = BackgroundFlow() if opts.moving_camera else None  # the background's motion, tracked while decoding
    hand_tracker = HandTracker(opts.device) if opts.hands else None
    hand_px, hand_world, hand_presence, handedness = [], [], [], []  # per frame (2, 21, 2) px, (2, 21, 3) m (NaN: unseen), (2,), (2,)
    context_rel: dict[int, np.ndarray] = {}
    context_s = 0.0
    mapping = load_map("blazepose33", "h36m17_ext")
    total = (opts.stop or info.frames) - opts.start
    pixels, conf, times, seen, raw = [], [], [], [], []
    t0 = time.perf_counter()
    for n, (i, t, rgb) in enumerate(frames(video, opts.start, opts.stop, on_frame=flow)):
        if cancel and cancel():
            raise Cancelled("capture cancelled")
        pose = tracker(rgb)
        if hand_tracker is not None:
            hands = hand_tracker(rgb, pose)
            hand_px.append(np.stack([h.pixels if h else np.full((21, 2), np.nan) for h in hands.values()]))
            hand_world.append(np.stack([h.world if h else np.full((21, 3), np.nan) for h in hands.values()]))
            hand_presence.append([h.presence if h else 0.0 for h in hands.values()])
            handedness.append([h.handedness if h else np.nan for h in hands.values()])
        times.append(t)
        seen.append(pose is not None)
        if pose is None:
            pixels.append(np.zeros((23, 2), np.float32))
            conf.append(np.zeros(23, np.float32))
            raw.append((np.zeros((33, 2), np.float32), np.zeros(33, np.float32)))
        else:
            raw.append((pose.landmarks[:, :2], pose.confidence))
            p, c = mapping.apply(pose.landmarks, pose.confidence)
            pixels.append(np.nan_to_num(p))
            conf.append(c)
            if flow is not None:
                flow.person = person_box(pixels[-1], c)
            if context is not None:
                tc = time.perf_counter()
                context_rel[n] = context.lift_pose(pixels[-1][:17], _masked(c[:17], opts), pose)
                context_s += time.perf_counter() - tc
        if n % 10 == 0:
            progress("tracking", n + 1, total, (n + 1) / max(time.perf_counter() - t0, 1e-9))
    if not times:
        raise CaptureError(f"{video}: no frames in the chosen range")
    seen = np.array(seen)
    if not seen.any():
        raise CaptureError(f"{video}: no person was found in any of the {len(seen)} frames")
    track_fps = len(times) / max(time.perf_counter() - t0, 1e-9)
    pixels, conf = np.array(pixels), np.array(conf)
    swapped = None
    if opts.fix_swaps:
        mirror = load_skeleton("blazepose33").mirror_permutation
        raw_px, raw_conf = np.array([r[0] for r in raw]), np.array([r[1] for r in raw])
        prior = {"arms": handedness_prior(np.array(handedness))} if hand_tracker is not None else None
        swapped = find_swaps(raw_px, raw_conf, seen, mirror, info.fps, prior=prior, masked=opts.threshold)
        changed = np.flatnonzero(np.any(list(swapped.values()), axis=0))
        if len(changed):
            fixed_px, fixed_conf = unswap(raw_px[changed], raw_conf[changed], {g: f[changed] for g, f in swapped.items()}, mirror)
            pixels[changed], conf[changed] = mapping.apply(fixed_px, fixed_conf)
            pixels[changed] = np.nan_to_num(pixels[changed])
            for n in changed:  # lifted from mislabelled 2D: the single lifter lifts these frames again
                context_rel.pop(int(n), None)
    if hand_tracker is not None:  # each hand was cropped at the wrist the detector named: follow its arms' swaps
        hand_px, hand_world, hand_presence = np.array(hand_px), np.array(hand_world), np.array(hand_presence, np.float32)
        if swapped is not None:
            flip = swapped["arms"]
            for a in (hand_px, hand_world, hand_presence):
                a[flip] = a[flip][:, ::-1]
    conf = out_of_frame(pixels, conf, info.width, info.height)
    pixels, conf, long_gaps = fill_gaps(pixels, conf, seen, int(opts.max_gap * info.fps))
    # Lift (pelvis-relative, camera axes).
    progress("lifting", 0, 1, 0.0)
    t1 = time.perf_counter()
    lift_conf = _masked(conf[:, :17], opts)
    if opts.lifter == "mpm":  # MPM's lifts and the single lifter's, fused over time
        lifter = FusedLifter(weight_path("fusion"), weight_path("single"), weight_path("mpm"), opts.device)
    else:  # the context lifter's frames replace these; frames bridged across gaps keep the single lifter's
        lifter = FrameLifter(weight_path("single"), opts.device)
    rel = lifter.lift(pixels[:, :17], lift_conf)
    for n, r in context_rel.items():
        rel[n] = r
    lift_ms = (time.perf_counter() - t1 + context_s) * 1000 / len(rel)
    body = load_skeleton("h36m17")

    def bones_of(joints):  # the clip's bone lengths, from its upright frames (see .bones)
        return clip_bone_lengths(joints, lift_conf, body, up=CAMERA_UP)

    lengths = bones_of(rel) if opts.constant_bones else None
    if lengths is not None:
        rel = with_bone_lengths(rel, lengths, body).astype(np.float32)
    if opts.performer_height is not None:  # the size one view cannot tell (see .bones): the body, and so its distance
        scale = height_scale(lengths if lengths is not None else bones_of(rel), body,
                             opts.performer_height)
        rel = (rel * scale).astype(np.float32)
        lengths = None if lengths is None else lengths * scale
    f = focal_length(opts, info.width, info.height)
    centre = np.array([info.width / 2, info.height / 2])
    root = place_in_camera(rel, pixels, conf, f, centre)
    cam = np.concatenate([rel, np.zeros((len(rel), 6, 3), np.float32)], 1) + root[:, None]
    # None: a still camera; judged False: too little background to tell (the planted feet may, after the solve)
    turn, judged = camera_rotations(flow, pixels, conf, f, centre) if flow is not None else (None, True)
    turn_from = "background" if turn is not None else None
    rotation = camera_to_world(to_reference(cam, turn), info.fps)  # a first "up": torso, refined by the floor
    contact, solved, solve_ms = None, None, 0.0
    feet_seen = bool((lift_conf[:, list(ANKLES)] > 0).mean() >= 0.2)

    def solved_in(turn, placed, earlier=None):  # contacts and the solve in the reference view (feet stand still)
        rel_view, contact = to_reference(rel, turn), None
        if feet_seen and len(rel) >= 5:
            contact = ContactModel(weight_path("contacts"), opts.device).predict(
                rel_view, *reference_pixels(pixels[:, :17], lift_conf, turn, f, centre), info.fps)
        bones = lengths if lengths is not None else bones_of(rel)
        return contact, solve(rel_view, to_reference(placed, turn), bones, body, pixels[:, :17], lift_conf, f, centre,
                              info.fps, contact, rotation[2], _solve_options(opts), turn, earlier)

    if opts.solve:  # the clip-level solve: joints, floor and camera tilt together (see .solve)
        progress("solving", 0, 1, 0.0)
        t2 = time.perf_counter()
        contact, solved = solved_in(turn, root)
        if not judged and (pan := turn_from_feet(pixels[:, list(ANKLES)], lift_conf[:, list(ANKLES)], solved.contact,
                                                 np.median(solved.up, axis=0), f, centre, info.fps)) is not None:
            # A pan over a plain background: solved again, turning with it, from the first solution (its second
            # pass only; up from the torso as before: the first solve's was fitted to a camera taken as still).
            earlier = to_reference(from_reference(solved.joints, turn), pan).astype(np.float64)
            turn, turn_from = pan, "feet"
            contact, solved = solved_in(turn, earlier[:, 0], earlier)
        cam[:, :17] = from_reference(solved.joints, turn)
        root = cam[:, 0].astype(np.float64)
        rotation = world_rotation(np.median(solved.up, axis=0))
        solve_ms = (time.perf_counter() - t2) * 1000 / len(rel)
    # Feet and hand points: the 2D keypoint at the depth of its parent joint.
    names = mapping.target.names
    for extra, parent in EXTRAS.items():
        k, p = names.index(extra), names.index(parent)
        z = cam[:, p, 2:3]
        cam[:, k] = np.concatenate([(pixels[:, k] - centre) * z / f, z], 1)
    # Camera -> Z-up world; the floor under the contact (or planted) feet.
    world = to_reference(cam, turn) @ rotation.T
    if solved is not None and opts.smooth > 0:  # the solve smoothed the body; the extra points follow their 2D
        extras = [names.index(e) for e in EXTRAS]
        world[:, extras] = filters.smooth(world[:, extras].reshape(len(world), -1), info.fps, opts.smooth_method,
                                          opts.smooth).reshape(len(world), len(extras), 3)
    firm = None  # the floor: under firmly planted feet (not a contact's fading ends); without contacts, planted feet
    if solved is not None:
        firm = solved.contact & (contact >= CONTACT) if contact is not None else solved.contact
    floor = contact_floor(world, firm, info.fps)
    world[..., 2] -= floor
    if solved is None:
        if opts.smooth > 0:
            world = filters.smooth(world.reshape(len(world), -1), info.fps, opts.smooth_method, opts.smooth).reshape(world.shape)
        if opts.pin_feet:
            world = pin_planted(world, planted_feet(world, info.fps))
    conf_out = conf.copy()
    conf_out[:, :17] = np.where(conf[:, :17] > 0, np.maximum(conf[:, :17], 0.05), 0.0)
    for a, b in long_gaps:
        conf_out[a:b] = 0.0
    root_w = world[:, 0].copy()
    views = np.broadcast_to(rotation, (len(world), 3, 3)) if turn is None else np.einsum("ij,tkj->tik", rotation, turn)
    # A motion at a constant rate: resample variable-frame-rate timestamps onto a uniform grid.
    times = np.array(times) - times[0]
    grid = np.arange(len(times)) / info.fps
    if len(times) > 1 and np.abs(times - grid).max() > 0.5 / info.fps:
        J = world.shape[1]
        world = np.stack([np.interp(grid, times, world[:, j, d]) for j in range(J) for d in range(3)], 1).reshape(-1, J, 3)
        root_w = world[:, 0].copy()
        nearest = np.clip(np.searchsorted(times, grid), 0, len(times) - 1)
        views = views[nearest]
        if solved is not None:
            solved.contact = solved.contact[nearest]
        if hand_tracker is not None:
            hand_world, hand_presence = hand_world[nearest], hand_presence[nearest]
    if lengths is not None:  # smoothing and resampling bend lengths a little: the clip's skeleton again, extras carried along
        rebuilt = with_bone_lengths(world[:, :17], lengths, body)
        moved, world[:, :17] = rebuilt - world[:, :17], rebuilt
        for extra, parent in EXTRAS.items():
            world[:, names.index(extra)] += moved[:, names.index(parent)]
    # No toe or heel under the floor: along its camera ray onto it (the camera's centre is the world's origin, lowered with the floor;
    # without the solve, pin_planted has slid the body a few cm along the ground, which these rays leave out).
    world = onto_floor(world, [k for k in FOOT_POINTS if k not in ANKLES], np.array([0.0, 0.0, -floor]))
    skeleton = mapping.target
    if hand_tracker is not None:  # each hand's points on its wrist, one set of finger bones for the clip
        skeleton = load_skeleton("h36m17_hands")
        wrists = [names.index("l_wrist"), names.index("r_wrist")]
        forearm = float(np.nanmedian(np.linalg.norm(world[:, wrists] - world[:, [names.index("l_elbow"), names.index("r_elbow")]], axis=-1)))
        local = hand_points(to_reference(hand_world, turn), forearm, info.fps, opts.smooth, opts.smooth_method,
                            int(opts.max_gap * info.fps)) @ rotation.T  # (T, 2, 21, 3) world axes, short gaps bridged
        hand_seen = np.isfinite(local).all((2, 3)) & (conf_out[:, wrists] > 0)
        world = np.concatenate([world, (world[:, wrists, None] + local)[:, :, 1:].reshape(len(world), 40, 3)], 1)
        hand_conf = np.where(hand_seen, np.clip(hand_presence, 0.05, 1.0), 0.0)
        conf_out = np.concatenate([conf_out, np.repeat(hand_conf, 20, axis=1)], 1)
    joints = np.where(conf_out[..., None] > 0, world - root_w[:, None], np.nan)
    K = np.array([[f, 0, centre[0]], [0, f, centre[1]], [0, 0, 1]], np.float32)
    meta = {"source": str(video), "lifter": opts.lifter, "provider": model.provider, "options": asdict(opts),
            "tracking_fps": round(track_fps, 1), "camera_pitch_deg": round(pitch(rotation), 1), "lift_ms_per_frame": round(lift_ms, 3),
            "detector_runs": tracker.detections, "frames_without_person": int((~seen).sum()), "person": tracker.summary(),
            "swapped_frames": {g: int(f.sum()) for g, f in swapped.items()} if swapped else {},
            "bone_lengths_m": {n: round(float(v), 4) for n, v in zip(body.names, lengths)} if lengths is not None else {},
            "performer_height_m": round(performer_height(lengths if lengths is not None else bones_of(
                cam[:, :17] - cam[:, :1]), body), 3),  # as given, or the lifter's guess
            "unseen_stretches": [[a, b] for a, b in long_gaps],
            "joints_never_seen": never_seen(conf[:, :17], seen, mapping.target.names, opts.threshold),
            "camera": {"pitch_deg": round(pitch(rotation), 2), "roll_deg": round(roll(rotation), 2),
                       "up": [round(float(v), 5) for v in rotation[2]],  # world Z in camera axes (x right, y down, z forward)
                       "height_m": round(-floor, 3), "focal_px": round(float(f), 1),
                       "turn_deg": round(largest_turn(turn), 2),  # how far the camera turned (pan, tilt, roll) ...
                       "turn_from": turn_from},  # ... read from the background or the planted feet (None: still)
            "solved": solved is not None, "solve_ms_per_frame": round(solve_ms, 2)}
    if solved is not None:
        meta["contact_frames"] = {"left": int(solved.contact[:, 0].sum()), "right": int(solved.contact[:, 1].sum())}
        if contact is None:
            meta["contacts_note"] = ("the feet were not seen in enough frames: solved without foot contacts" if not feet_seen
                                     else "the clip is too short for foot contacts: solved without them")
    if hand_tracker is not None:
        found = np.isfinite(hand_world).all((2, 3)) & hand_seen  # bridged frames are not counted as seen
        meta["hand_frames"] = {"left": int(found[:, 0].sum()), "right": int(found[:, 1].sum())}
    progress("done", 1, 1, track_fps)
    motion = Motion(joints=joints, confidence=conf_out, fps=info.fps, skeleton=skeleton, frame="blender",
                    root=root_w, intrinsics=K, image_size=(info.width, info.height), meta=meta,
                    contacts=None if solved is None else solved.contact, camera_rotation=views)
    return Capture(motion, pixels, opts.start, from_reference((world - root_w[:, None]) @ rotation, turn), root, swapped,
                   hand_pixels=at_joint_centres(hand_px, hand_world) if hand_tracker is not None else None, turn=turn)
