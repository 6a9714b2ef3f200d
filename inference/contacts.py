"""Foot contacts of a captured motion, and feet that stay where they are planted.

Contacts come from evidence: :class:`ContactModel`, a small temporal network trained on mocap with true
contacts (``python -m video_mocap.models contacts``), reads the lifted 3D, the 2D keypoints and their
speeds (:func:`contact_features`) and gives each foot's contact probability per frame. The clip-level
solve (:mod:`.solve`) holds contact feet still on the floor. For a motion without them (a BVH, an old
file), :func:`planted_feet` finds planted feet from the output itself: its lowest point near the floor and
barely moving along the ground. :func:`pin_planted` moves the whole body along the ground against planted
feet's sliding (as WHAM corrects its root)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..filters import runs
from ..skeleton import load_skeleton
from . import runtime
from .camera import floor_height
from .normalize import normalize_frames, person_scale


#: Each foot's points in the h36m17_ext skeleton: ankle, toe, heel (skeleton data: its "groups").
_SK = load_skeleton("h36m17_ext")
FOOT = {"l": _SK.group("foot_l"), "r": _SK.group("foot_r")}
FOOT_POINTS = _SK.group("feet")


def planted_feet(world: np.ndarray, fps: float, height: float = 0.15, max_speed: float = 0.6) -> np.ndarray:
    """(T, 2) True where the left / right foot (h36m17_ext joints, Z-up world, floor at 0) is planted: its
    lowest point within ``height`` of the floor and slower than ``max_speed`` m/s along the ground."""
    out = np.zeros((len(world), 2), bool)
    for k, points in enumerate(FOOT.values()):
        foot = world[:, list(points)]
        low = np.nanmin(foot[..., 2], axis=1)
        centre = np.nanmean(foot[..., :2], axis=1)
        speed = np.linalg.norm(np.gradient(centre, axis=0), axis=-1) * fps if len(world) > 1 else np.zeros(len(world))
        out[:, k] = (low < height) & (speed < max_speed)
    return out


def pin_planted(world: np.ndarray, planted: np.ndarray) -> np.ndarray:
    """``world`` (T, J, 3) moved along the ground so that feet planted in two consecutive frames do not slide
    between them (the mean of their sliding is taken off every joint from then on)."""
    centres = np.stack([np.nanmean(world[:, list(points), :2], axis=1) for points in FOOT.values()], 1)  # (T, 2, 2)
    step = np.diff(centres, axis=0)  # (T-1, 2 feet, 2)
    both = planted[1:] & planted[:-1]
    n = both.sum(1, keepdims=True)
    slide = np.where(n > 0, np.nansum(np.where(both[..., None], step, 0.0), axis=1) / np.maximum(n, 1), 0.0)
    offset = np.concatenate([np.zeros((1, 2)), -np.cumsum(slide, axis=0)])
    out = world.copy()
    out[..., :2] += offset[:, None]
    return out


def onto_floor(world: np.ndarray, points: list[int], camera: np.ndarray) -> np.ndarray:
    """``world`` (T, J, 3, Z up, the floor at Z = 0) with each of ``points`` that lies under the floor moved along
    its ray from the ``camera`` centre (3,) to where the ray meets the floor: the same pixel, on the floor instead
    of through it (a toe or heel placed at its ankle's depth sinks when the foot points along the view). Nothing
    moves when the camera is not above the floor."""
    out = world.copy()
    if not camera[2] > 0:
        return out
    p = out[:, points]
    under = p[..., 2] < 0
    s = camera[2] / np.where(under, camera[2] - p[..., 2], 1.0)  # in (0, 1) where under: nearer the camera
    out[:, points] = np.where(under[..., None], camera + s[..., None] * (p - camera), p)
    return out


#: Ankles (h36m17) in :data:`FOOT` order: the joints the contact model and the solve hold still.
ANKLES = tuple(points[0] for points in FOOT.values())
#: A contact starts where a foot's probability reaches CONTACT and lasts while it stays at or above
#: CONTACT_HOLD (hysteresis: on the validation subjects, recall 0.895 -> 0.947 for precision 0.902 -> 0.872).
CONTACT, CONTACT_HOLD = 0.5, 0.2


def in_contact(prob: np.ndarray, on: float = CONTACT, hold: float = CONTACT_HOLD) -> np.ndarray:
    """(..., T, 2) bool from contact probabilities (..., T, 2): each run of frames at or above ``hold`` that
    reaches ``on`` somewhere."""
    prob = np.asarray(prob)
    flat = np.moveaxis(prob, -2, -1).reshape(-1, prob.shape[-2])  # (..., feet) rows of T frames
    out = np.zeros(flat.shape, bool)
    for row, p in enumerate(flat):
        for a, b in runs(p >= hold):
            out[row, a:b] = (p[a:b] >= on).any()
    return np.moveaxis(out.reshape(prob.shape[:-2] + (prob.shape[-1], prob.shape[-2])), -1, -2)


def contact_features(rel: np.ndarray, pixels: np.ndarray, conf: np.ndarray, fps: float) -> np.ndarray:
    """Per-frame inputs of the contact model (T, 187): the normalised 2D (17 x 3), the lifted pelvis-relative
    3D in camera axes (17 x 3, m), the 2D speed of every joint in person heights per second (17 x 2) and the
    3D speed relative to the pelvis (17 x 3, m/s). Unseen joints (confidence 0) give zeros."""
    rel = np.nan_to_num(np.asarray(rel, np.float32)[..., :17, :])
    pixels, conf = np.asarray(pixels, np.float32)[..., :17, :], np.asarray(conf, np.float32)[..., :17]
    kp = normalize_frames(pixels, conf)
    scale = person_scale(pixels, conf)
    fill = np.nanmedian(scale, axis=-1, keepdims=True) if np.isfinite(scale).any() else np.ones_like(scale[..., :1])
    scale = np.where(np.isfinite(scale) & (scale > 1), scale, np.nan_to_num(fill, nan=1.0))
    seen = conf > 0
    if rel.shape[-3] > 1:
        v2 = np.gradient(pixels, axis=-3) * fps / scale[..., None, None]
        v2 = np.where((seen & np.roll(seen, 1, -2) & np.roll(seen, -1, -2))[..., None], v2, 0.0)
        v3 = np.gradient(rel, axis=-3) * fps
    else:
        v2, v3 = np.zeros_like(pixels), np.zeros_like(rel)
    parts = [kp, rel, np.clip(v2, -10, 10), np.clip(v3, -10, 10)]
    return np.concatenate([p.reshape(p.shape[:-2] + (-1,)) for p in parts], -1).astype(np.float32)


class ContactModel:
    """The shipped contact network on onnxruntime: :meth:`predict` gives (T, 2) contact probabilities, left
    and right foot, for a whole clip at once (the network is convolutional over time)."""

    def __init__(self, path: str | Path, device: str = "auto"):
        self.session = runtime.session(path, device)

    def predict(self, rel: np.ndarray, pixels: np.ndarray, conf: np.ndarray, fps: float) -> np.ndarray:
        """(T, 2) from the lifted 3D (T, 17, 3), the 2D (T, 17, 2), confidences (T, 17) and the frame rate."""
        return self.predict_features(contact_features(rel, pixels, conf, fps))

    def predict_features(self, features: np.ndarray) -> np.ndarray:
        """(T, 2) from :func:`contact_features` (T, F)."""
        return self.session.run(["contact"], {"features": features[None].astype(np.float32)})[0][0]


def contact_floor(world: np.ndarray, contact: np.ndarray | None, fps: float) -> float:
    """Height of the floor (world Z) under ``world`` (T, J, 3, h36m17_ext): the lower quartile of the lowest point of the
    feet in contact (``contact`` (T, 2)); without enough contact frames, :func:`.camera.floor_height`."""
    lows = [] if contact is None else [np.nanmin(world[contact[:, k]][:, list(points), 2], axis=1)
                                       for k, points in enumerate(FOOT.values()) if contact[:, k].any()]
    lows = np.concatenate(lows) if lows else np.zeros(0)
    lows = lows[np.isfinite(lows)]
    if len(lows) >= 3:
        return float(np.quantile(lows, 0.25))
    return floor_height(world[:, list(FOOT_POINTS)], fps)
