"""Rotation helpers in numpy, vectorised over leading axes. Quaternions are (w, x, y, z), as in Blender."""
from __future__ import annotations

import numpy as np


def normalize(v: np.ndarray, eps: float = 1e-9) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), eps)


def axis_angle(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) about unit ``axis`` (..., 3) by ``angle`` (...) radians (Rodrigues)."""
    x, y, z = np.moveaxis(axis, -1, 0)
    c, s = np.cos(angle), np.sin(angle)
    k = 1 - c
    return np.stack([
        np.stack([c + x * x * k, x * y * k - z * s, x * z * k + y * s], -1),
        np.stack([y * x * k + z * s, c + y * y * k, y * z * k - x * s], -1),
        np.stack([z * x * k - y * s, z * y * k + x * s, c + z * z * k], -1),
    ], -2)


def swing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotation taking direction ``a`` to ``b`` (..., 3) -> (..., 3, 3)."""
    a, b = normalize(a), normalize(b)
    axis = np.cross(a, b)
    s = np.linalg.norm(axis, axis=-1)
    c = np.clip((a * b).sum(-1), -1, 1)
    # Opposite vectors: turn half way round any axis perpendicular to a.
    perp = np.cross(a, np.where(np.abs(a[..., :1]) < 0.9, [1.0, 0, 0], [0, 1.0, 0]))
    axis = np.where((s < 1e-9)[..., None], perp, axis)
    return axis_angle(normalize(axis), np.arctan2(s, c))


def from_matrix(m: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) -> unit quaternions (..., 4), w >= 0 not enforced (see :func:`continuous`)."""
    m = np.asarray(m, np.float64)
    tr = m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    cands = np.stack([
        np.stack([1 + tr, m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]], -1),
        np.stack([m[..., 2, 1] - m[..., 1, 2], 1 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2], m[..., 0, 1] + m[..., 1, 0], m[..., 0, 2] + m[..., 2, 0]], -1),
        np.stack([m[..., 0, 2] - m[..., 2, 0], m[..., 0, 1] + m[..., 1, 0], 1 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2], m[..., 1, 2] + m[..., 2, 1]], -1),
        np.stack([m[..., 1, 0] - m[..., 0, 1], m[..., 0, 2] + m[..., 2, 0], m[..., 1, 2] + m[..., 2, 1], 1 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2]], -1),
    ], -2)  # each row is 4 q_i * q (up to scale); take the best-conditioned one
    best = np.argmax(np.stack([1 + tr, 1 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2],
                               1 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2], 1 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2]], -1), -1)
    q = np.take_along_axis(cands, best[..., None, None], -2)[..., 0, :]
    return normalize(q)


def to_matrix(q: np.ndarray) -> np.ndarray:
    """Quaternions (..., 4) -> rotation matrices (..., 3, 3)."""
    w, x, y, z = np.moveaxis(normalize(q), -1, 0)
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
    ], -2)


def continuous(q: np.ndarray) -> np.ndarray:
    """Flip signs along axis 0 (time) so consecutive quaternions are on the same hemisphere."""
    if len(q) < 2:
        return q.copy()
    step = np.where((q[1:] * q[:-1]).sum(-1) < 0, -1.0, 1.0)
    sign = np.concatenate([np.ones((1,) + step.shape[1:]), np.cumprod(step, axis=0)])
    return q * sign[..., None]


def log(q: np.ndarray) -> np.ndarray:
    """Unit quaternions (..., 4) -> rotation vectors / 2 (..., 3)."""
    v = q[..., 1:]
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v * (np.arctan2(n, q[..., :1]) / np.maximum(n, 1e-12))


def exp(r: np.ndarray) -> np.ndarray:
    """Inverse of :func:`log`."""
    n = np.linalg.norm(r, axis=-1, keepdims=True)
    return np.concatenate([np.cos(n), r * (np.sin(n) / np.maximum(n, 1e-12))], -1)


def slerp_matrix(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Rotation ``t`` of the way from ``a`` to ``b`` (matrices (..., 3, 3))."""
    rel = from_matrix(np.swapaxes(a, -1, -2) @ b)
    rel = np.where(rel[..., :1] < 0, -rel, rel)
    return a @ to_matrix(exp(log(rel) * t))


def angle_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle in degrees between direction vectors (..., 3)."""
    c = (normalize(a) * normalize(b)).sum(-1)
    return np.degrees(np.arccos(np.clip(c, -1, 1)))


def qmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product of quaternions (..., 4)."""
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack([aw * bw - ax * bx - ay * by - az * bz, aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx, aw * bz + ax * by - ay * bx + az * bw], -1)


def qconj(q: np.ndarray) -> np.ndarray:
    return q * np.array([1.0, -1.0, -1.0, -1.0])


EULER_AXES = {"XYZ": (0, 1, 2), "XZY": (0, 2, 1), "YXZ": (1, 0, 2), "YZX": (1, 2, 0), "ZXY": (2, 0, 1), "ZYX": (2, 1, 0)}


def to_euler(m: np.ndarray, order: str = "XYZ") -> np.ndarray:
    """Rotation matrices (T, ..., 3, 3) -> Blender Euler angles (T, ..., 3) for ``order`` (the first axis
    is applied first: XYZ means R = Rz Ry Rx), unwrapped over time so curves do not jump by 2 pi."""
    i, j, k = EULER_AXES[order]
    sign = 1.0 if (j - i) % 3 == 1 else -1.0  # an even permutation of XYZ or an odd one
    # R = R_k R_j R_i: the middle angle from R[k, i], the others from the row k and column i.
    mid = np.arcsin(np.clip(-sign * m[..., k, i], -1, 1))
    first = np.arctan2(sign * m[..., k, j], m[..., k, k])
    last = np.arctan2(sign * m[..., j, i], m[..., i, i])
    out = np.empty(m.shape[:-2] + (3,))
    out[..., i], out[..., j], out[..., k] = first, mid, last
    return np.unwrap(out, axis=0)
