"""Training data: mocap clips seen through random virtual cameras with detector-like 2D.

Everything is vectorised over a batch of windows (B x T frames) in numpy, so the 2-core CPU keeps
up with training. Conventions: mocap is Y up (metres); cameras are OpenCV (x right, y down,
z forward); the 3D target is the pose in camera axes relative to the pelvis; the 2D input is
normalised by :func:`video_mocap.inference.normalize.normalize_keypoints`, as in the capture path.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..inference.normalize import normalize_keypoints, person_scale
from ..rotations import axis_angle
from ..skeleton import load_skeleton

#: The shared training data folder beside the checkout (``../shared/data`` next to the repository root).
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT_DATA = str(SHARED_DATA / "cmu_positions.npz")
SKELETON = load_skeleton("h36m17")
J = len(SKELETON)
#: Whole subjects kept out of training (CMU subject ids). Test: reported metrics; val: model selection.
HELD_OUT = {"test": ("05", "16", "49"), "val": ("07", "13")}
#: Fidelity tiers used by default: original CMU skeletons (0 ASF/AMC, 1 BVH/FBX, 2 expmap); tiers
#: 3-6 are retargeted onto other characters (see models/README.md for the measurement).
DEFAULT_TIERS = (0, 1, 2)
IMAGE_SIZES = ((1920, 1080), (1280, 720), (1080, 1920), (720, 1280), (640, 480), (1080, 1080), (854, 480))
#: Validation renders of *training* subjects, as (clip, seed): the clips with the most turning in their first 5 s
#: (salsa 61, acrobatics 88 / 90, dances 55 / 85, karate 135; ``benchmarks/swaps.py --render-turns``). Networks that
#: train on every tier (the contact network) leave these clips out, so the renders stay unseen by them.
TURN_CLIPS = (("61_12", 301), ("61_06", 302), ("61_07", 303), ("88_06", 304), ("61_01", 305), ("61_04", 306), ("55_01", 307),
              ("90_05", 308), ("85_02", 309), ("61_13", 310), ("88_09", 311), ("135_01", 312))
LIMBS = {  # joint groups used for tube masks (occluded limbs)
    "r_leg": (1, 2, 3), "l_leg": (4, 5, 6), "l_arm": (11, 12, 13), "r_arm": (14, 15, 16), "head": (9, 10),
}


@dataclass
class Clips:
    """Mocap clips: absolute joints (T x 17 x 3, metres, Y up) with names and subjects."""

    joints: list[np.ndarray]
    names: list[str]
    subjects: list[str]

    def __len__(self) -> int:
        return len(self.joints)

    @property
    def frames(self) -> int:
        return sum(len(j) for j in self.joints)


def subject_of(subject: str, repo: str, path: str) -> str:
    """CMU subject id; clips of unknown subject count their source folder as one subject."""
    return subject if subject not in ("", "unknown") else f"{repo}:{os.path.dirname(path)}"


def load_clips(path: str, split: str = "train", tiers: tuple[int, ...] | None = DEFAULT_TIERS,
               actor_size: bool = False) -> Clips:
    """Clips of one split ('train', 'val', 'test' or 'all') from a file in the shared data layout.

    ``tiers`` filters by ``clip_tier`` where the file has it (None keeps every tier), in every split,
    so held-out metrics are measured on original (not retargeted) skeletons. Held-out
    subjects are defined by :data:`HELD_OUT`; a file without them (someone else's data) is all 'test'.
    ``actor_size``: each retargeted clip (``clip_retargeted``) scaled about the origin to the mean size (summed bone
    lengths) of the training subjects' own skeletons: the characters' poses, the people's size.
    """
    with np.load(path, allow_pickle=False) as d:
        start, rel, root = d["clip_start"], d["joints_rel"], d["root"]
        n = len(start) - 1
        subj = d["clip_subject"] if "clip_subject" in d else np.array([""] * n)
        repo = d["clip_source_repo"] if "clip_source_repo" in d else np.array([""] * n)
        src = d["clip_source_path"] if "clip_source_path" in d else np.array([""] * n)
        names = d["clip_name"] if "clip_name" in d else np.array([f"clip{i}" for i in range(n)])
        tier = d["clip_tier"] if "clip_tier" in d else np.zeros(n, int)
        retargeted = d["clip_retargeted"] if "clip_retargeted" in d else np.zeros(n, bool)
        subjects = [subject_of(str(s), str(r), str(p)) for s, r, p in zip(subj, repo, src)]
        held = {s for v in HELD_OUT.values() for s in v}
        known_held = held & set(subjects)
        out, kept = Clips([], [], []), []
        for c in range(n):
            s = subjects[c]
            if split == "train" and s in held:
                continue
            if split in ("val", "test") and known_held and s not in HELD_OUT[split]:
                continue
            if split == "val" and not known_held:
                continue
            if tiers is not None and int(tier[c]) not in tiers:
                continue
            a, b = start[c], start[c + 1]
            out.joints.append(rel[a:b].astype(np.float32) + root[a:b, None])
            out.names.append(str(names[c]))
            out.subjects.append(s)
            kept.append(c)
        if actor_size and retargeted.any():
            size = float(np.mean([_size(rel[start[c]:start[c + 1]]) for c in range(n)
                                  if not retargeted[c] and subjects[c] not in held]))
            out.joints = [j * (size / _size(rel[start[c]:start[c + 1]]) if retargeted[c] else 1.0)
                          for j, c in zip(out.joints, kept)]
    return out


def _size(rel: np.ndarray) -> float:
    """A clip's size: the median over (every 10th of) its frames of the summed bone lengths (m)."""
    j = rel[::10].astype(np.float32)
    return float(np.median(np.linalg.norm(j[:, 1:] - j[:, SKELETON.parents[1:]], axis=-1).sum(1)))


def without(clips: Clips, names) -> Clips:
    """``clips`` less those named in ``names``."""
    names = set(names)
    keep = [i for i, n in enumerate(clips.names) if n not in names]
    return Clips([clips.joints[i] for i in keep], [clips.names[i] for i in keep], [clips.subjects[i] for i in keep])


def require_data(path: str) -> str:
    """``path`` if it is a file, else a one-line error (SystemExit) that says what is missing and how to get it."""
    if not Path(path).is_file():
        raise SystemExit(f"error: no mocap file at {path}: pass --data FILE (an npz in the shared data layout, "
                         f"see shared/data/README.md), or put the shared data folder beside the checkout")
    return path


# -- geometry ---------------------------------------------------------------------------------
def scale_bones(joints: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Rebuild (..., T, J, 3) poses with each bone's length multiplied by ``factors`` (..., J)
    (factor of joint j scales the bone parent(j) -> j); the pelvis trajectory is kept."""
    out = joints.copy()
    for j in range(1, J):
        p = SKELETON.parents[j]
        out[..., j, :] = out[..., p, :] + (joints[..., j, :] - joints[..., p, :]) * factors[..., j, None]
    return out


def random_bone_factors(b: int, rng: np.random.Generator, spread: float = 0.08) -> np.ndarray:
    """Per-window bone-length factors: a global size and symmetric per-bone proportions (each bone's factor
    drawn with sd ``spread``, kept within 2.5 sd, then averaged with its mirror bone's)."""
    glob = rng.uniform(0.88, 1.12, (b, 1))
    per = rng.normal(1.0, spread, (b, J)).clip(1 - 2.5 * spread, 1 + 2.5 * spread)
    perm = SKELETON.mirror_permutation
    per = 0.5 * (per + per[:, perm])  # left and right stay alike
    return (glob * per).astype(np.float32)


def _horizontal_turn(rng: np.random.Generator, max_deg: float) -> np.ndarray:
    """A rotation (3, 3) about a random horizontal axis (Y-up) by a random angle within +-``max_deg``."""
    az = rng.uniform(0, 2 * np.pi)
    return axis_angle(np.array([np.cos(az), 0.0, np.sin(az)]), np.radians(rng.uniform(-max_deg, max_deg))).astype(np.float32)


def tumble(joints: np.ndarray, rng: np.random.Generator, p: float) -> np.ndarray:
    """Windows (B, T, J, 3) turned, with probability ``p`` each, about a random horizontal axis through their
    mean pelvis by a random angle (-180..180 deg): bodies lying, leaning, upside down, cartwheeling, seen
    from any side. The cameras are placed after this, so the camera never follows the turn."""
    out = joints.copy()
    for i in np.flatnonzero(rng.random(len(joints)) < p):
        centre = joints[i, :, 0].mean(0)
        out[i] = (joints[i] - centre) @ _horizontal_turn(rng, 180.0).T + centre
    return out


#: The joints a lean turns: everything above the hips (spine, head, arms).
UPPER = tuple(j for j, n in enumerate(SKELETON.names)
              if n not in ("pelvis", "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle"))


def lean_upper(joints: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """Poses (..., J, 3) with the upper body (:data:`UPPER`) turned by ``rotation`` (3, 3) about the pelvis."""
    out = joints.copy()
    pelvis = joints[..., :1, :]
    out[..., UPPER, :] = (joints[..., UPPER, :] - pelvis) @ rotation.T.astype(joints.dtype) + pelvis
    return out


def lean(joints: np.ndarray, rng: np.random.Generator, p: float, max_deg: float = 40.0) -> np.ndarray:
    """Windows (B, T, J, 3) whose upper body is turned, with probability ``p`` each, about the pelvis by a random
    angle (up to ``max_deg``) about a random horizontal axis, the legs left as they are: bending forward, leaning
    back or to a side, held through the window (lunges, bows, reaching down: poses the mocap has few of)."""
    out = joints.copy()
    for i in np.flatnonzero(rng.random(len(joints)) < p):
        out[i] = lean_upper(joints[i], _horizontal_turn(rng, max_deg))
    return out


#: Limbs :func:`mix_limbs` exchanges: (limb root, middle, end) joints.
CHAINS = tuple(LIMBS[k] for k in ("r_leg", "l_leg", "l_arm", "r_arm"))
#: What one mix exchanges: a leg, an arm, both legs or both arms (indices into :data:`CHAINS`).
MIXES = ((0,), (1,), (2,), (3,), (0, 1), (2, 3))


def body_frame(joints: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rows: the body's own axes of poses (..., J, 3): left (right hip to left hip), up (pelvis to
    thorax, made square to left) and forward."""
    names = SKELETON.names
    left = joints[..., names.index("l_hip"), :] - joints[..., names.index("r_hip"), :]
    up = joints[..., names.index("thorax"), :] - joints[..., 0, :]
    left = left / (np.linalg.norm(left, axis=-1, keepdims=True) + 1e-9)
    fwd = np.cross(left, up)
    fwd = fwd / (np.linalg.norm(fwd, axis=-1, keepdims=True) + 1e-9)
    return np.stack([left, np.cross(fwd, left), fwd], -2)


def mix_limbs(joints: np.ndarray, rng: np.random.Generator, p: float) -> np.ndarray:
    """Windows (B, T, J, 3) where, with probability ``p`` each, a leg, an arm, both legs or both arms move as
    another window's do: each bone of the limb takes the other body's direction relative to that body's own axes
    (:func:`body_frame`), frame by frame, at this body's bone length. Poses and combinations the mocap does not
    hold (a kick while reaching, one leg raised under a turning torso), every one within the limbs' own range."""
    out = joints.copy()
    chosen = np.flatnonzero(rng.random(len(joints)) < p) if p > 0 else []
    for i in chosen:
        donor = joints[rng.integers(len(joints))]
        own, theirs = body_frame(out[i]), body_frame(donor)
        for c in MIXES[rng.integers(len(MIXES))]:
            chain = CHAINS[c]
            for a, b in zip(chain[:-1], chain[1:]):
                bone = donor[:, b] - donor[:, a]
                local = np.einsum("tij,tj->ti", theirs, bone / (np.linalg.norm(bone, axis=-1, keepdims=True) + 1e-9))
                length = np.linalg.norm(joints[i, :, b] - joints[i, :, a], axis=-1, keepdims=True)
                out[i, :, b] = out[i, :, a] + np.einsum("tji,tj->ti", own, local) * length
    return out


def mirror(joints: np.ndarray) -> np.ndarray:
    """Left/right mirror image of Y-up poses (..., J, 3): negate x and swap sides."""
    out = joints[..., SKELETON.mirror_permutation, :].copy()
    out[..., 0] *= -1
    return out


@dataclass
class Cameras:
    rot: np.ndarray  # (B, 3, 3) world -> camera rows (x right, y down, z forward)
    pos: np.ndarray  # (B, 3) camera centre in world
    focal: np.ndarray  # (B,) pixels
    centre: np.ndarray  # (B, 2) principal point
    size: np.ndarray  # (B, 2) width, height


def random_cameras(target: np.ndarray, rng: np.random.Generator) -> Cameras:
    """Cameras around ``target`` points (B, 3) (Y up): all-round azimuth, elevation -10..40 deg,
    distance 2.5-8 m, focal 0.6-2x image width, common video sizes, small roll, and a look-at point
    jittered so the person is not always centred."""
    b = len(target)
    az = rng.uniform(0, 2 * np.pi, b)
    el = np.radians(rng.uniform(-10, 40, b))
    dist = rng.uniform(2.5, 8.0, b)
    size = np.array(IMAGE_SIZES, np.float32)[rng.integers(0, len(IMAGE_SIZES), b)]
    focal = rng.uniform(0.6, 2.0, b) * size[:, 0]
    offset = np.stack([np.cos(el) * np.sin(az), np.sin(el), np.cos(el) * np.cos(az)], 1) * dist[:, None]
    pos = target + offset
    pos[:, 1] = np.maximum(pos[:, 1], 0.2)  # never below the floor
    half_view = 0.5 * size.min(1) / focal * dist  # metres visible from the centre at the person
    look = target + rng.uniform(-0.35, 0.35, (b, 3)) * half_view[:, None] * [1, 0.5, 1]
    z = look - pos
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    x = np.cross(z, [0.0, 1.0, 0.0])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = np.cross(z, x)
    roll = np.radians(rng.normal(0, 3, b))
    c, s = np.cos(roll)[:, None], np.sin(roll)[:, None]
    x, y = c * x + s * y, -s * x + c * y
    rot = np.stack([x, y, z], 1).astype(np.float32)
    return Cameras(rot, pos.astype(np.float32), focal.astype(np.float32), size / 2, size)


def to_camera(joints: np.ndarray, cams: Cameras) -> np.ndarray:
    """World (B, T, J, 3) -> camera (B, T, J, 3)."""
    return np.einsum("bij,btkj->btki", cams.rot, joints - cams.pos[:, None, None])


def project(cam: np.ndarray, cams: Cameras) -> np.ndarray:
    """Camera-space points (B, T, J, 3) -> pixels (B, T, J, 2)."""
    z = np.maximum(cam[..., 2:], 1e-3)
    return cam[..., :2] / z * cams.focal[:, None, None, None] + cams.centre[:, None, None]


# -- detector-like 2D ---------------------------------------------------------------------------
def detector_offsets(joints: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Systematic, per-window 3D differences between mocap joint centres and where a detector puts
    its keypoints: hips wider (detector hips sit on the surface), a few cm per joint otherwise."""
    b = len(joints)
    out = joints.copy()
    widen = rng.uniform(0.1, 0.7, (b, 1, 1))
    for hip in (1, 4):
        out[..., hip, :] += (joints[..., hip, :] - joints[..., 0, :]) * widen
    out += rng.normal(0, 0.015, (b, 1, J, 3)).astype(np.float32)
    out[..., 10, :] += rng.normal(0, 0.03, (b, 1, 3)).astype(np.float32)  # head top is extrapolated
    return out


def _ar1(shape: tuple[int, ...], rho: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance AR(1) noise along axis 1 of (B, T, ...) with per-window correlation ``rho`` (B,)."""
    e = rng.standard_normal(shape).astype(np.float32)
    out = np.empty_like(e)
    r = rho.reshape((-1,) + (1,) * (len(shape) - 2)).astype(np.float32)
    out[:, 0] = e[:, 0]
    k = np.sqrt(1 - r**2)
    for t in range(1, shape[1]):
        out[:, t] = r * out[:, t - 1] + k * e[:, t]
    return out


def detector_noise(uv: np.ndarray, rng: np.random.Generator, drop: float = 0.03) -> tuple[np.ndarray, np.ndarray]:
    """Make projected joints look like a detector's: noise that scales with the person's size and
    drifts over time, a few sticky outliers, dropped joints. Returns pixels and confidences."""
    b, t = uv.shape[:2]
    size = person_scale(uv, np.ones(uv.shape[:-1]))[..., None, None]  # (B, T, 1, 1)
    extremity = np.ones(J, np.float32)
    extremity[[3, 6, 13, 16, 10]] = 1.6
    drift = _ar1((b, t, J, 2), rng.uniform(0.6, 0.98, b), rng) * rng.uniform(0.004, 0.02, (b, 1, 1, 1))
    white = rng.standard_normal((b, t, J, 2)) * rng.uniform(0.001, 0.008, (b, 1, 1, 1))
    err = (drift + white) * extremity[:, None]
    # Sticky outliers: a joint jumps away for a few frames.
    outlier = rng.random((b, t, J)) < 0.004
    for k in range(1, min(4, t)):
        outlier[:, k:] |= outlier[:, :-k] & (rng.random((b, t - k, J)) < 0.6)
    jump = rng.standard_normal((b, t, J, 2))
    jump *= rng.uniform(0.05, 0.3, (b, t, J, 1)) / np.linalg.norm(jump, axis=-1, keepdims=True)
    err = np.where(outlier[..., None], jump, err)
    noisy = uv + err * size
    mag = np.linalg.norm(err, axis=-1)
    conf = np.clip(1.0 - mag / 0.08 + rng.normal(0, 0.05, mag.shape), 0.05, 1.0)
    dropped = rng.random((b, t, J)) < rng.uniform(0, drop, (b, 1, 1))
    conf = np.where(dropped, 0.0, conf)
    return noisy.astype(np.float32), conf.astype(np.float32)


def detector_2d(world: np.ndarray, cams: Cameras, rng: np.random.Generator, drop: float = 0.03
                ) -> tuple[np.ndarray, np.ndarray]:
    """What a detector would give for world poses (..., T, J, 3) seen by ``cams``: the keypoints' offsets from the
    joint centres (:func:`detector_offsets`), projected, with :func:`detector_noise`. Returns pixels and confidences."""
    return detector_noise(project(to_camera(detector_offsets(world, rng), cams), cams), rng, drop)


def tube_mask(b: int, t: int, rng: np.random.Generator, p: float = 1.0, whole: float = 0.0) -> np.ndarray:
    """(B, T, J) True where hidden: with probability ``p`` a window loses one limb (or both legs,
    or both arms) over a stretch of frames, the way occlusions look in video; a share ``whole`` of those
    over all its frames, as a limb missing from a mocap file is."""
    mask = np.zeros((b, t, J), bool)
    groups = list(LIMBS.values()) + [LIMBS["r_leg"] + LIMBS["l_leg"], LIMBS["l_arm"] + LIMBS["r_arm"]]
    for i in np.flatnonzero(rng.random(b) < p):
        g = groups[rng.integers(len(groups))]
        length = t if whole and rng.random() < whole else rng.integers(max(1, t // 3), t + 1)
        s = rng.integers(0, t - length + 1)
        mask[i, s : s + length, list(g)] = True
    return mask


def spatiotemporal_mask(b: int, t: int, rng: np.random.Generator, joints: int = 5, frames: float = 0.6) -> np.ndarray:
    """MPM's stage-I mask: in ``frames`` of the frames, ``joints`` random joints each (B, T, J)."""
    mask = np.zeros((b, t, J), bool)
    pick = rng.random((b, t)) < frames
    order = np.argsort(rng.random((b, t, J)), axis=-1)[..., :joints]
    np.put_along_axis(mask, order, True, axis=-1)
    return mask & pick[..., None]


# -- the sampler ---------------------------------------------------------------------------------
class WindowSampler:
    """Random training windows: ``batch(n, t)`` gives 2D inputs and 3D targets for n windows of t frames.

    Windows are drawn with probability proportional to clip length; ``speed`` resamples time
    (source frames per output frame; 50 fps mocap at 0.8-2.1 covers 24-60 fps video).
    """

    def __init__(self, clips: Clips, speed: tuple[float, float] = (0.8, 2.1), bones: bool = True, mirror: bool = True,
                 tumble: float = 0.0, lean: float = 0.0, mix: float = 0.0, proportions: float = 0.08):
        self.clips, self.proportions = clips, proportions
        self.lengths = np.array([len(j) for j in clips.joints])
        self.speed, self.bones, self.mirror, self.tumble, self.lean, self.mix = speed, bones, mirror, tumble, lean, mix

    def windows(self, n: int, t: int, rng: np.random.Generator, steps: bool = False):
        """(n, t, J, 3) world poses, time-resampled by a random speed; with ``steps`` also the (n,) source
        frames per output frame (the window's frame rate is the data's over it)."""
        out = np.empty((n, t, J, 3), np.float32)
        clip = rng.choice(len(self.lengths), n, p=self.lengths / self.lengths.sum())
        step = rng.uniform(*self.speed, n) if t > 1 else np.ones(n)
        for i, (c, s) in enumerate(zip(clip, step)):
            joints = self.clips.joints[c]
            span = min((t - 1) * s, len(joints) - 1)
            s = step[i] = span / max(t - 1, 1)
            t0 = rng.uniform(0, len(joints) - 1 - span)
            pos = t0 + s * np.arange(t)
            lo = np.floor(pos).astype(int)
            hi = np.minimum(lo + 1, len(joints) - 1)
            w = (pos - lo)[:, None, None].astype(np.float32)
            out[i] = joints[lo] * (1 - w) + joints[hi] * w
        return (out, step) if steps else out

    def batch(self, n: int, t: int, rng: np.random.Generator, drop: float = 0.03) -> dict[str, np.ndarray]:
        """Inputs and targets: ``kp`` (n, t, J, 3) normalised 2D + confidence, ``pose3d`` (n, t, J, 3)
        pelvis-relative camera-space metres, ``pixels``/``conf`` the raw detector-like 2D."""
        world = self.windows(n, t, rng)
        if self.mirror:
            flip = rng.random(n) < 0.5
            world[flip] = mirror(world[flip])
        if self.mix:
            world = mix_limbs(world, rng, self.mix)
        if self.bones:
            world = scale_bones(world, random_bone_factors(n, rng, self.proportions)[:, None])
        if self.lean:
            world = lean(world, rng, self.lean)
        if self.tumble:
            world = tumble(world, rng, self.tumble)
        cams = random_cameras(world[:, t // 2, 0], rng)
        cam = to_camera(world, cams)
        pixels, conf = detector_2d(world, cams, rng, drop)
        return dict(kp=normalize_keypoints(pixels, conf), pose3d=cam - cam[..., :1, :], pixels=pixels, conf=conf)
