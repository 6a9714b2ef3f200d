"""2D keypoint normalisation shared by training and the capture path (they must agree exactly).

Keypoints are centred on the pelvis (mid-hips) of each frame and divided by the person's size: the
longer side of the box around the visible keypoints, taken as the median over the window (a single
frame for the single-frame lifter). So the lifters see the pose's shape, not where the person stands
in the picture or how far away they are. Unseen joints (confidence 0) become (0, 0, 0).
"""
from __future__ import annotations

import warnings

import numpy as np

PELVIS, R_HIP, L_HIP = 0, 1, 4  # h36m17 indices


def person_scale(kp: np.ndarray, conf: np.ndarray) -> np.ndarray:
    """Longer box side of the visible keypoints, per frame: (..., J, 2) -> (...). NaN with < 2 visible joints."""
    vis = conf > 0
    big = np.where(vis[..., None], kp, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames with nothing seen give NaN
        span = np.nanmax(big, axis=-2) - np.nanmin(big, axis=-2)
    side = np.max(span, axis=-1)
    return np.where(vis.sum(-1) >= 2, side, np.nan)


def normalize_keypoints(kp: np.ndarray, conf: np.ndarray) -> np.ndarray:
    """(..., T, J, 2) pixels + (..., T, J) confidences -> (..., T, J, 3) lifter input [x, y, conf].

    The pelvis is taken from the hips when both are seen, else from the centre of the visible box.
    """
    kp = np.asarray(kp, np.float32)
    conf = np.asarray(conf, np.float32)
    vis = conf > 0
    hips_seen = vis[..., R_HIP] & vis[..., L_HIP]
    mid_hips = 0.5 * (kp[..., R_HIP, :] + kp[..., L_HIP, :])
    big = np.where(vis[..., None], kp, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        box_mid = 0.5 * (np.nanmax(big, axis=-2) + np.nanmin(big, axis=-2))
        centre = np.where(hips_seen[..., None], mid_hips, box_mid)
        scale = np.nanmedian(person_scale(kp, conf), axis=-1)
    scale = np.where(np.isfinite(scale) & (scale > 1e-6), scale, 1.0)
    centre = np.nan_to_num(centre)
    x = (kp - centre[..., None, :]) / scale[..., None, None, None]
    x = np.where(vis[..., None], x, 0.0)
    return np.concatenate([x, conf[..., None]], axis=-1).astype(np.float32)


def normalize_frames(kp: np.ndarray, conf: np.ndarray) -> np.ndarray:
    """(..., J, 2) pixels + (..., J) confidences -> (..., J, 3): every frame normalised on its own (its own size),
    as the single-frame lifter sees it."""
    return normalize_keypoints(kp[..., None, :, :], conf[..., None, :])[..., 0, :, :]
