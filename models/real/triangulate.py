"""Multi-view truth from 2D keypoints: confidence-weighted DLT with outlier views dropped, left/right swaps
undone per view and frame, and a small rotation per camera refined against the triangulated points."""
from __future__ import annotations

import itertools

import numpy as np

from .calibration import Camera


def dlt(rays: np.ndarray, weights: np.ndarray, cams: list[Camera]) -> np.ndarray:
    """Points (N, 3) from normalised image coordinates ``rays`` (V, N, 2) weighted by ``weights`` (V, N)
    (0 leaves a view out); NaN where fewer than two views have weight."""
    P = np.stack([np.hstack([c.R, c.t[:, None]]) for c in cams])  # (V, 3, 4)
    rows_x = rays[..., 0:1] * P[:, None, 2] - P[:, None, 0]  # (V, N, 4)
    rows_y = rays[..., 1:2] * P[:, None, 2] - P[:, None, 1]
    A = np.concatenate([rows_x, rows_y], 0) * np.concatenate([weights, weights], 0)[..., None]  # (2V, N, 4)
    A = np.nan_to_num(A.transpose(1, 0, 2))
    h = np.linalg.svd(A)[2][:, -1]
    X = h[:, :3] / np.where(np.abs(h[:, 3:]) > 1e-12, h[:, 3:], np.nan)
    X[(weights > 0).sum(0) < 2] = np.nan
    return X


def reprojection_px(X: np.ndarray, px: np.ndarray, cams: list[Camera]) -> np.ndarray:
    """Pixel distance (V, ...) between each camera's projection of ``X`` (..., 3) and its keypoints ``px`` (V, ..., 2)."""
    return np.stack([np.linalg.norm(c.project(X) - p, axis=-1) for c, p in zip(cams, px)])


def triangulate(px: np.ndarray, conf: np.ndarray, cams: list[Camera], min_conf: float = 0.5,
                max_px: float = 30.0) -> tuple[np.ndarray, np.ndarray]:
    """Points (..., 3) from keypoints ``px`` (V, ..., 2) and confidences (V, ...): views below ``min_conf``
    are left out, then the view that reprojects worst is dropped while it is off by more than ``max_px``
    and at least three views remain. Returns the points and the views used (V, ...)."""
    shape = px.shape[1:-1]
    V = len(cams)
    flat_px = px.reshape(V, -1, 2)
    rays = np.stack([c.normalise(p) for c, p in zip(cams, flat_px)])
    w = np.where(conf.reshape(V, -1) >= min_conf, conf.reshape(V, -1), 0.0)
    for _ in range(V - 2):
        X = dlt(rays, w, cams)
        err = np.where(w > 0, reprojection_px(X, flat_px, cams), -1.0)
        worst = err.argmax(0)
        drop = (err.max(0) > max_px) & ((w > 0).sum(0) >= 3)
        if not drop.any():
            break
        w[worst[drop], np.flatnonzero(drop)] = 0.0
    X = dlt(rays, w, cams)
    return X.reshape(shape + (3,)), (w > 0).reshape((V,) + shape)


def undo_swaps(px: np.ndarray, conf: np.ndarray, cams: list[Camera], mirror: np.ndarray, joints: list[int],
               min_conf: float = 0.5, cap_px: float = 60.0, switch_px: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Relabel views whose detector swapped the body's left and right (V, T, J, 2 keypoints; ``mirror`` the
    left/right permutation of the joints). Per frame every combination of swapped views is triangulated on
    ``joints`` from all confident views, and the one with the lowest mean reprojection error (each error
    capped at ``cap_px``) is kept; a change from the frame before must gain ``switch_px``. Swapping every
    view is just as consistent, so of a combination and its complement the one that swaps fewer views is
    used. Returns the relabelled keypoints and confidences and the swap flags (V, T)."""
    V, T = px.shape[:2]
    combos = np.array(list(itertools.product([False, True], repeat=V)))
    combos = combos[combos.sum(1) * 2 <= V]  # one of each complementary pair (ties are both kept)
    flags = np.zeros((V, T), bool)
    previous = np.zeros(V, bool)
    for t in range(T):
        costs = []
        for swap in combos:
            p = np.stack([px[v, t][mirror] if s else px[v, t] for v, s in enumerate(swap)])[:, joints]
            c = np.stack([conf[v, t][mirror] if s else conf[v, t] for v, s in enumerate(swap)])[:, joints]
            X, used = triangulate(p, c, cams, min_conf, max_px=np.inf)
            err = np.minimum(np.nan_to_num(reprojection_px(X, p, cams), nan=cap_px), cap_px)
            cost = err[used].mean() if used.sum() >= 4 else np.inf
            costs.append(cost + (switch_px if (swap != previous).any() else 0.0))
        if np.isfinite(costs).any():
            previous = combos[int(np.argmin(costs))]
        flags[:, t] = previous
    out_px, out_conf = px.copy(), conf.copy()
    for v, t in zip(*np.nonzero(flags)):
        out_px[v, t], out_conf[v, t] = px[v, t][mirror], conf[v, t][mirror]
    return out_px, out_conf, flags


def refine_rotations(px: np.ndarray, conf: np.ndarray, cams: list[Camera], X: np.ndarray, min_conf: float = 0.7,
                     max_px: float = 25.0) -> list[Camera]:
    """Each camera turned by the small rotation about its centre that best reprojects the triangulated
    points ``X`` (..., 3) onto its confident keypoints (robust soft-L1 loss, a few degrees at most)."""
    from scipy.optimize import least_squares

    out = []
    for c, p, w in zip(cams, px, conf):
        ok = (w >= min_conf) & np.isfinite(X).all(-1)
        ok &= np.linalg.norm(c.project(np.nan_to_num(X)) - p, axis=-1) < max_px
        pts, obs = X[ok], p[ok]

        def residual(omega, c=c, pts=pts, obs=obs):
            return (c.rotated(omega).project(pts) - obs).ravel()

        fit = least_squares(residual, np.zeros(3), loss="soft_l1", f_scale=5.0, bounds=(-0.1, 0.1))
        out.append(c.rotated(fit.x))
    return out


def bone_cv(joints: np.ndarray, bones: list[tuple[int, int]]) -> float:
    """Mean coefficient of variation (std / mean) of the bone lengths over a clip (T, J, 3)."""
    lengths = np.stack([np.linalg.norm(joints[:, c] - joints[:, p], axis=-1) for p, c in bones], 1)
    return float(np.nanmean(np.nanstd(lengths, 0) / np.nanmean(lengths, 0)))
