"""One skeleton per clip: bone lengths estimated once over the clip (left = right), and every frame rebuilt
with them, so no bone stretches or shrinks from frame to frame (each frame is lifted on its own, at its own
scale). Directions are kept; only lengths change, from the root outwards."""
from __future__ import annotations

import numpy as np

from ..skeleton import Skeleton


def clip_bone_lengths(joints: np.ndarray, conf: np.ndarray, skeleton: Skeleton, threshold: float = 0.3) -> np.ndarray:
    """Length (J,) of the bone ending at each joint (0 for the root): the median over the frames where both
    ends were seen (all frames where none was), the two sides of the body averaged."""
    lengths = np.zeros(len(skeleton))
    for j, p in enumerate(skeleton.parents):
        if p < 0:
            continue
        d = np.linalg.norm(joints[:, j] - joints[:, p], axis=-1)
        seen = (conf[:, j] >= threshold) & (conf[:, p] >= threshold) & np.isfinite(d)
        use = d[seen] if seen.sum() >= max(3, 0.1 * len(d)) else d[np.isfinite(d)]
        lengths[j] = np.median(use) if len(use) else 0.0
    return 0.5 * (lengths + lengths[skeleton.mirror_permutation])


def with_bone_lengths(joints: np.ndarray, lengths: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """Poses (T, J, 3) rebuilt from the root outwards with ``lengths`` (J,), each bone keeping its direction
    (a bone of zero length keeps its parent's position). Parents must come before their children."""
    out = joints.copy()
    for j, p in enumerate(skeleton.parents):
        if p < 0:
            continue
        d = joints[:, j] - joints[:, p]
        n = np.linalg.norm(d, axis=-1, keepdims=True)
        out[:, j] = out[:, p] + np.where(n > 1e-9, d / np.maximum(n, 1e-9), 0.0) * lengths[j]
    return out

