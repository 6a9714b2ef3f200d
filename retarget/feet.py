"""Foot contacts, root drift removal, two-bone IK pinning and the foot-skating figure.

All on canonical joints (T, 23, 3) in Blender's frame (Z up, metres), before the solver turns them
into rotations, so every rig gets the same clean feet.
"""
from __future__ import annotations

import numpy as np

from ..filters import runs
from ..skeleton import load_skeleton

SK = load_skeleton("h36m17_ext")
FEET = {"l": ("l_hip", "l_knee", "l_ankle", "l_toe", "l_heel"), "r": ("r_hip", "r_knee", "r_ankle", "r_toe", "r_heel")}


def _foot_points(joints: np.ndarray, side: str) -> np.ndarray:
    """(T, k, 3) the foot's points that the data has (ankle, toe, heel)."""
    idx = [SK.index(n) for n in FEET[side][2:]]
    pts = joints[:, idx]
    return pts[:, np.isfinite(pts).all(axis=(0, 2))]


def contacts(joints: np.ndarray, fps: float, height: float = 0.05, speed: float = 0.3, min_time: float = 0.1) -> np.ndarray:
    """(T, 2) contact flags for the left and right foot: the foot's lowest point near the floor and
    its horizontal speed low, held for at least ``min_time`` seconds (short blips are dropped)."""
    t = len(joints)
    out = np.zeros((t, 2), bool)
    for k, side in enumerate("lr"):
        pts = _foot_points(joints, side)
        low = pts[..., 2].min(axis=1)
        floor = np.nanpercentile(low, 5)
        centre = pts.mean(axis=1)
        vel = np.zeros(t)
        vel[1:] = np.linalg.norm(np.diff(centre[:, :2], axis=0), axis=1) * fps
        vel = np.convolve(vel, np.ones(3) / 3, mode="same")  # a 3-frame window against single-frame noise
        mask = (low - floor < height) & (vel < speed)
        for a, b in runs(mask):
            if b - a < max(2, int(min_time * fps)):
                mask[a:b] = False
        out[:, k] = mask
    return out


def skating(joints: np.ndarray, contact: np.ndarray, fps: float) -> float:
    """Mean horizontal speed (m/s) of feet while in contact: 0 is perfectly planted."""
    speeds = []
    for k, side in enumerate("lr"):
        centre = _foot_points(joints, side).mean(axis=1)
        v = np.linalg.norm(np.diff(centre[:, :2], axis=0), axis=1) * fps
        both = contact[1:, k] & contact[:-1, k]
        speeds.append(v[both])
    v = np.concatenate(speeds)
    return float(v.mean()) if len(v) else 0.0


def remove_drift(joints: np.ndarray, contact: np.ndarray) -> np.ndarray:
    """Move the whole body so feet in contact do not slide: each frame, subtract the mean horizontal
    step of the planted feet from the body (root) trajectory, accumulated over time."""
    out = joints.copy()
    shift = np.zeros(2)
    centres = [_foot_points(joints, s).mean(axis=1) for s in "lr"]
    for n in range(1, len(joints)):
        planted = [c[n, :2] - c[n - 1, :2] for k, c in enumerate(centres) if contact[n, k] and contact[n - 1, k]]
        if planted:
            shift -= np.mean(planted, axis=0)
        out[n, :, :2] += shift
    return out


def two_bone(hip, knee, ankle, target):
    """Move ``ankle`` to ``target`` keeping thigh and shin lengths and the knee's bend plane."""
    a = np.linalg.norm(knee - hip, axis=-1)
    b = np.linalg.norm(ankle - knee, axis=-1)
    reach = target - hip
    d = np.clip(np.linalg.norm(reach, axis=-1), np.abs(a - b) + 1e-6, a + b - 1e-6)
    axis = reach / np.maximum(np.linalg.norm(reach, axis=-1, keepdims=True), 1e-9)
    pole = knee - hip
    pole = pole - (pole * axis).sum(-1, keepdims=True) * axis  # the knee's direction off the hip-ankle line
    pole = pole / np.maximum(np.linalg.norm(pole, axis=-1, keepdims=True), 1e-9)
    along = (a**2 - b**2 + d**2) / (2 * d)
    off = np.sqrt(np.maximum(a**2 - along**2, 0))
    new_knee = hip + axis * along[..., None] + pole * off[..., None]
    new_ankle = hip + axis * d[..., None]
    return new_knee, new_ankle


def rest_on_floor(joints: np.ndarray, contact: np.ndarray, ankle_height: float) -> np.ndarray:
    """``joints`` (T, 23, 3) moved up or down so that the ankles in contact sit, on the median contact frame, at
    ``ankle_height`` (the rig's own ankle height at rest, in the motion's size): the rig's soles then touch
    the floor whatever the capture's foot points said. Unchanged without contacts."""
    ankles = [joints[contact[:, k], SK.index(FEET[side][2]), 2] for k, side in enumerate("lr")]
    heights = np.concatenate(ankles)
    heights = heights[np.isfinite(heights)]
    if len(heights) < 3:
        return joints
    return joints - [0.0, 0.0, float(np.median(heights)) - ankle_height]


def pin_weights(contact: np.ndarray, positions: np.ndarray, blend: int = 3, dims: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """For one foot's contact flags (T,) and a point on it (T, 3): the pinning weight (T,), 1 on every contact
    frame and easing out over ``blend`` frames on either side, and the point's slide away from where its
    contact began (T, 3; along the first ``dims`` axes: 2 horizontally, 3 in height too, against the
    contact's median height)."""
    t = len(contact)
    weight, slide = np.zeros(t), np.zeros((t, 3))
    for a, b in runs(contact):
        lo, hi = max(0, a - blend), min(t, b + blend)
        ease = np.ones(hi - lo)
        ease[: a - lo] = np.arange(1, a - lo + 1) / (blend + 1)
        if hi > b:
            ease[b - lo :] = np.arange(hi - b, 0, -1) / (blend + 1)
        take = ease > weight[lo:hi]
        weight[lo:hi] = np.where(take, ease, weight[lo:hi])
        anchor = positions[a].copy()
        anchor[2] = np.median(positions[a:b, 2])  # the height the foot typically has in this contact
        slide[lo:hi, :dims] = np.where(take[:, None], positions[lo:hi, :dims] - anchor[:dims], slide[lo:hi, :dims])
    return weight, slide


def pin_feet(joints: np.ndarray, contact: np.ndarray, blend: int = 3) -> np.ndarray:
    """Two-bone IK: during each contact the foot stays where the contact began (horizontally; its
    height and roll are kept); ``blend`` frames ease in and out so nothing pops."""
    out = joints.copy()
    for k, side in enumerate("lr"):
        hip, knee, ankle, toe, heel = (SK.index(n) for n in FEET[side])
        weight, slide = pin_weights(contact[:, k], _foot_points(joints, side).mean(axis=1), blend)
        on = weight > 0
        if not on.any():
            continue
        goal = joints[on, ankle] - weight[on, None] * slide[on]
        new_knee, new_ankle = two_bone(out[on, hip], out[on, knee], out[on, ankle], goal)
        moved = new_ankle - out[on, ankle]
        out[on, knee] = new_knee
        out[on, ankle] = new_ankle
        for extra in (toe, heel):
            out[on, extra] += moved
    return out
