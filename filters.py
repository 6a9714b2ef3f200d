"""Temporal filters for joint tracks (T, ...): zero-phase Butterworth and One Euro.

``smooth(x, fps, method, strength)`` maps one strength in [0, 1] to each filter's parameters, so a
user has one slider: 0 leaves the data alone, 0.5 is the default (Butterworth at ~7 Hz, the value
FreeMoCap and Pose2Sim use), 1 is heavy (2 Hz). One Euro adapts its cutoff to speed, so fast motion
is smeared less than slow drift.
"""
from __future__ import annotations

import numpy as np

METHODS = ("butterworth", "one_euro")


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True in a 1-D mask (contacts, tracked frames, gaps)."""
    edges = np.diff(np.concatenate([[0], np.asarray(mask).astype(int), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def bridge(x: np.ndarray, seen: np.ndarray, max_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """``x`` (T, ...) interpolated linearly across each gap in ``seen`` (T,) of at most ``max_frames`` frames
    between two seen ones (gaps at either end stay as they are); also the mask of the frames so bridged."""
    x, bridged = x.copy(), np.zeros(len(seen), bool)
    for a, b in runs(~np.asarray(seen, bool)):
        if a == 0 or b == len(seen) or b - a > max_frames:
            continue
        w = ((np.arange(a, b) - (a - 1)) / (b - (a - 1))).reshape(-1, *[1] * (x.ndim - 1))
        x[a:b] = x[a - 1] * (1 - w) + x[b] * w
        bridged[a:b] = True
    return x, bridged


def _biquads(cutoff: float, fps: float, order: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Second-order sections of a Butterworth low-pass (bilinear transform, pre-warped)."""
    k = np.tan(np.pi * min(cutoff, 0.45 * fps) / fps)
    sections = []
    for i in range(order // 2):
        q = 1.0 / (2 * np.sin(np.pi * (2 * i + 1) / (2 * order)))
        norm = 1.0 / (1 + k / q + k * k)
        b = np.array([k * k, 2 * k * k, k * k]) * norm
        a = np.array([1.0, 2 * (k * k - 1) * norm, (1 - k / q + k * k) * norm])
        sections.append((b, a))
    return sections


def _lfilter(x: np.ndarray, b: np.ndarray, a: np.ndarray) -> np.ndarray:
    y = np.empty_like(x)
    x1 = x2 = x[0]
    y1 = y2 = x[0]  # start at rest on the first value (unit DC gain)
    for n in range(len(x)):
        y[n] = b[0] * x[n] + b[1] * x1 + b[2] * x2 - a[1] * y1 - a[2] * y2
        x2, x1, y2, y1 = x1, x[n], y1, y[n]
    return y


def moving_average(x: np.ndarray, window: int) -> np.ndarray:
    """Centred box average of ``x`` (T, ...) over ``window`` frames (made odd), ends padded with the edge values."""
    k = max(1, int(window)) | 1
    padded = np.pad(x, ((k // 2, k // 2),) + ((0, 0),) * (x.ndim - 1), mode="edge").reshape(len(x) + k - 1, -1)
    out = np.stack([np.convolve(c, np.ones(k) / k, mode="valid") for c in padded.T], 1)
    return out.reshape(x.shape)


def butterworth(x: np.ndarray, fps: float, cutoff: float = 7.0, order: int = 4) -> np.ndarray:
    """Zero-phase (forward-backward) Butterworth low-pass along axis 0; NaNs are not allowed."""
    x = np.asarray(x, np.float64)
    if len(x) < 4:
        return x.copy()
    pad = min(len(x) - 1, int(3 * fps / cutoff))
    # Odd reflection at both ends keeps the ends from being pulled towards zero.
    ext = np.concatenate([2 * x[:1] - x[pad:0:-1], x, 2 * x[-1:] - x[-2:-pad - 2:-1]])
    for b, a in _biquads(cutoff, fps, order):
        ext = _lfilter(ext, b, a)
        ext = _lfilter(ext[::-1], b, a)[::-1]
    return ext[pad : pad + len(x)]


def one_euro(x: np.ndarray, fps: float, min_cutoff: float = 1.0, beta: float = 0.5, d_cutoff: float = 1.0) -> np.ndarray:
    """One Euro filter (Casiez et al. 2012) along axis 0; the cutoff rises with the speed of each value."""
    x = np.asarray(x, np.float64)
    y = np.empty_like(x)
    y[0] = x[0]
    dx = np.zeros_like(x[0])
    te = 1.0 / fps

    def alpha(cutoff):
        r = 2 * np.pi * cutoff * te
        return r / (r + 1)

    for n in range(1, len(x)):
        dx = dx + alpha(d_cutoff) * ((x[n] - y[n - 1]) / te - dx)
        a = alpha(min_cutoff + beta * np.abs(dx))
        y[n] = y[n - 1] + a * (x[n] - y[n - 1])
    return y


def smooth(x: np.ndarray, fps: float, method: str = "butterworth", strength: float = 0.5) -> np.ndarray:
    """Smooth a track (T, ...) with one strength knob in [0, 1] (0: unchanged)."""
    if method not in METHODS:
        raise ValueError(f"unknown smoothing {method!r}; choose one of {', '.join(METHODS)}")
    if not 0 <= strength <= 1:
        raise ValueError(f"smoothing strength must be within [0, 1], got {strength}")
    if strength == 0 or len(x) < 4:
        return np.asarray(x, np.float64).copy()
    if method == "butterworth":
        cutoff = 14.0 * 0.5 ** (2 * strength) if strength <= 0.5 else 7.0 * (2.0 / 7.0) ** (2 * strength - 1)
        return butterworth(x, fps, cutoff)  # 14 Hz .. 7 Hz (0.5) .. 2 Hz
    # One Euro in metres: a low cutoff when still, opening up with speed (m/s).
    return one_euro(x, fps, min_cutoff=4.0 * (0.05 / 4.0) ** strength, beta=2.0)
