"""3D lifters on onnxruntime: detector pixels + confidences in, pelvis-relative 3D (camera axes) out.

- :class:`FrameLifter` runs a single-frame model (``single``; also the ``mlp`` baseline) on each frame.
- :class:`WindowLifter` runs MPM over sliding windows with overlap, padded at the ends, and blends
  the overlapping windows with tapered weights; it also completes partial 3D with the same model.
- :class:`FusedLifter` runs both and fuses their lifts over time with the fusion network (``fusion``): per
  joint and frame it weighs the two and corrects them from a 35-frame neighbourhood and the 2D.

Both lift the mirror image too (left and right swapped, x negated) and average it, mirrored back, with the
direct result (``flip``; CMU held-out test, P1 / P2 mm: single 78.0 / 55.0 -> 76.4 / 52.9, MPM 84.7 / 56.0 ->
82.5 / 54.5): a lifter's errors on a pose and on its mirror image are partly independent.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..skeleton import load_skeleton
from . import runtime
from .normalize import normalize_frames, normalize_keypoints

J = 17
MIRROR = load_skeleton("h36m17").mirror_permutation


def mirror_average(run, points: np.ndarray, per_joint: np.ndarray) -> np.ndarray:
    """``run(points, per_joint)`` (points (T, J, 2 or 3), a per-joint array (T, J); 3D out) averaged with its
    result on the mirror image (left and right joints swapped, x negated: for pixels the keypoints'
    normalisation makes the picture's own offset irrelevant), mirrored back."""
    direct = run(points, per_joint)
    mirrored = points[:, MIRROR].copy()
    mirrored[..., 0] *= -1
    back = run(mirrored, per_joint[:, MIRROR])[:, MIRROR]
    back[..., 0] *= -1
    return (direct + back) / 2


def window_starts(frames: int, window: int, stride: int) -> list[int]:
    """Start frames of windows covering ``frames`` (the last window ends at the last frame)."""
    if frames <= window:
        return [0]
    starts = list(range(0, frames - window + 1, stride))
    if starts[-1] != frames - window:
        starts.append(frames - window)
    return starts


def _taper(window: int) -> np.ndarray:
    """Blending weights: highest in the middle of a window, small but non-zero at its ends."""
    return (np.hanning(window + 2)[1:-1] + 1e-3).astype(np.float32)


def stitch(windows: np.ndarray, starts: list[int], frames: int) -> np.ndarray:
    """Blend per-window outputs (N, W, ...) back into one sequence (frames, ...)."""
    w = windows.shape[1]
    out = np.zeros((max(frames, w),) + windows.shape[2:], np.float64)
    weight = np.zeros(max(frames, w))
    taper = _taper(w)
    for s, win in zip(starts, windows):
        out[s : s + w] += win * taper.reshape((-1,) + (1,) * (win.ndim - 1))
        weight[s : s + w] += taper
    return (out / weight.reshape((-1,) + (1,) * (out.ndim - 1)))[:frames].astype(np.float32)


def _pad(x: np.ndarray, length: int) -> np.ndarray:
    """Repeat the last frame so a short clip fills one window."""
    if len(x) >= length:
        return x
    return np.concatenate([x, np.repeat(x[-1:], length - len(x), axis=0)])


class FrameLifter:
    """A single-frame ONNX lifter: each frame is lifted on its own, ``batch`` frames a run (512: as fast as 4096,
    and onnxruntime holds 8x less memory for it: 170 MB less on a 1-minute clip)."""

    def __init__(self, path: str | Path, device: str = "auto", batch: int = 512, flip: bool = True):
        self.session = runtime.session(path, device)
        self.batch, self.flip = batch, flip

    @property
    def provider(self) -> str:
        return self.session.get_providers()[0]

    def lift(self, pixels: np.ndarray, conf: np.ndarray) -> np.ndarray:
        """(T, J, 2) pixels, (T, J) confidences -> (T, J, 3) metres."""
        return mirror_average(self._lift, pixels, conf) if self.flip else self._lift(pixels, conf)

    def _lift(self, pixels: np.ndarray, conf: np.ndarray) -> np.ndarray:
        kp = normalize_frames(pixels, conf)
        return np.concatenate([self.session.run(None, {"keypoints": kp[i : i + self.batch]})[0]
                               for i in range(0, len(kp), self.batch)])


class WindowLifter:
    """MPM over sliding windows (``stride`` frames apart), blended where they overlap."""

    def __init__(self, path: str | Path, device: str = "auto", stride: int | None = None, batch: int = 256,
                 flip: bool = True):
        self.session = runtime.session(path, device)
        self.flip = flip
        self.window = int(runtime.metadata(self.session).get("window", 27))
        self.stride = stride or max(1, self.window // 3)
        self.batch = batch

    @property
    def provider(self) -> str:
        return self.session.get_providers()[0]

    def _infer(self, keypoints: np.ndarray, pose3d: np.ndarray, known: np.ndarray, mode: float) -> np.ndarray:
        """Run stacked windows (N, W, ...) through the model in batches -> (N, W, J, 3)."""
        outs = []
        for i in range(0, len(keypoints), self.batch):
            sl = slice(i, i + self.batch)
            outs.append(self.session.run(["pose3d"], {
                "keypoints": keypoints[sl], "pose3d_in": pose3d[sl].astype(np.float32),
                "known3d": known[sl].astype(np.float32), "mode": np.full(len(keypoints[sl]), mode, np.float32)})[0])
        return np.concatenate(outs)

    def _cut(self, x: np.ndarray, starts: list[int]) -> np.ndarray:
        x = _pad(x, self.window)
        return np.stack([x[s : s + self.window] for s in starts])

    def lift(self, pixels: np.ndarray, conf: np.ndarray) -> np.ndarray:
        """(T, J, 2) pixels, (T, J) confidences -> (T, J, 3); joints with confidence 0 are masked and
        filled from the others and from neighbouring frames. Each window is normalised on its own."""
        return mirror_average(self._lift, pixels, conf) if self.flip else self._lift(pixels, conf)

    def _lift(self, pixels: np.ndarray, conf: np.ndarray) -> np.ndarray:
        return self._lift_clips(pixels[None], conf[None])[0]

    def lift_clips(self, pixels: np.ndarray, conf: np.ndarray) -> np.ndarray:
        """Equal-length clips lifted together, as :meth:`lift` lifts each: (N, T, J, 2), (N, T, J) -> (N, T, J, 3)."""
        n, t = conf.shape[:2]

        def run(points: np.ndarray, per_joint: np.ndarray) -> np.ndarray:  # frames of all clips in a row: (N*T, J, ...)
            return self._lift_clips(points.reshape(n, t, J, -1), per_joint.reshape(n, t, J)).reshape(n * t, J, 3)

        flat = pixels.reshape(n * t, J, 2), conf.reshape(n * t, J)
        return (mirror_average(run, *flat) if self.flip else run(*flat)).reshape(n, t, J, 3)

    def _lift_clips(self, pixels: np.ndarray, conf: np.ndarray) -> np.ndarray:
        n, t = conf.shape[:2]
        starts = window_starts(t, self.window, self.stride)
        kp = normalize_keypoints(np.concatenate([self._cut(p, starts) for p in pixels]),
                                 np.concatenate([self._cut(c, starts) for c in conf]))
        zeros = np.zeros(kp.shape, np.float32)
        out = self._infer(kp, zeros, zeros[..., 0], 0.0).reshape(n, len(starts), *kp.shape[1:])
        return np.stack([stitch(o, starts, t) for o in out])

    def complete(self, pose3d: np.ndarray, known: np.ndarray) -> np.ndarray:
        """Fill unknown joints of a pelvis-relative 3D sequence (T, J, 3) in camera-like axes
        (y down); ``known`` (T, J) is True where a joint is given. Known joints come back as given (with
        ``flip``, the mirror image completed too and averaged: one hidden limb 147.4 -> 143.6 mm)."""
        known = np.asarray(known, bool)
        return mirror_average(self._complete, pose3d, known) if self.flip else self._complete(pose3d, known)

    def _complete(self, pose3d: np.ndarray, known: np.ndarray) -> np.ndarray:
        pose3d = np.where(known[..., None], pose3d, 0.0).astype(np.float32)
        starts = window_starts(len(pose3d), self.window, self.stride)
        p, k = self._cut(pose3d, starts), self._cut(known, starts)
        out = stitch(self._infer(np.zeros(p.shape, np.float32), p, k, 1.0), starts, len(pose3d))
        return np.where(known[..., None], pose3d, out)


class FusedLifter:
    """The single-frame and MPM lifts fused over time by the fusion network (the whole clip in one run: a
    temporal convolution, so any length: 10 minutes at 25 fps fuse in 0.6 s and add 50 MB at peak). Completion is MPM's."""

    def __init__(self, path: str | Path, single: str | Path, mpm: str | Path, device: str = "auto", flip: bool = True):
        self.session = runtime.session(path, device)
        self.single = FrameLifter(single, device, flip=flip)
        self.mpm = WindowLifter(mpm, device, flip=flip)

    @property
    def provider(self) -> str:
        return self.session.get_providers()[0]

    def lift(self, pixels: np.ndarray, conf: np.ndarray) -> np.ndarray:
        """(T, J, 2) pixels, (T, J) confidences -> (T, J, 3) metres; joints with confidence 0 are filled."""
        return self.fuse(pixels, conf, self.single.lift(pixels, conf), self.mpm.lift(pixels, conf))

    def fuse(self, pixels: np.ndarray, conf: np.ndarray, single: np.ndarray, mpm: np.ndarray) -> np.ndarray:
        """The network on given lifts (T, J, 3) of the clip whose 2D is ``pixels``, ``conf``."""
        kp = normalize_frames(pixels, conf)
        feeds = {"keypoints": kp, "single": single, "mpm": mpm}
        return self.session.run(["pose3d"], {k: v[None].astype(np.float32) for k, v in feeds.items()})[0][0]

    def complete(self, pose3d: np.ndarray, known: np.ndarray) -> np.ndarray:
        return self.mpm.complete(pose3d, known)
