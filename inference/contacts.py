"""Foot contacts of a captured motion, and feet that stay where they are planted.

A foot is planted where its lowest point is near the floor and it barely moves along the ground. Pinning
moves the whole body along the ground, frame by frame, against the planted feet's own sliding (as WHAM
corrects its root), so a standing foot stays put and the body travels by what the pose does."""
from __future__ import annotations

import numpy as np


#: Each foot's points in the h36m17_ext skeleton: ankle, toe, heel.
FOOT = {"l": (6, 17, 19), "r": (3, 18, 20)}
FOOT_POINTS = tuple(sorted(p for points in FOOT.values() for p in points))


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
