"""The context-aware lifter at run time (Context-Aware PoseFormer): one frame's 2D joints plus the BlazePose
landmark model's backbone feature maps of the crop they were read from, on onnxruntime.

The network samples each feature level at every joint (and at learned offsets around it), so it needs the
joints in crop pixels: :func:`crop_coords` turns image pixels into the 256-px rotated crop's frame.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import runtime
from .detector import LM_SIZE, Roi
from .normalize import normalize_frames

#: Feature levels fed to the network: (channels, side) of the landmark model's strides 4, 8, 16, 32.
LEVELS = ((48, 64), (48, 32), (48, 16), (144, 8))


def crop_coords(pixels: np.ndarray, roi: Roi) -> np.ndarray:
    """Image pixels (..., 2) -> pixels of ``roi``'s 256 x 256 crop (the frame the feature maps live in)."""
    m = roi.matrix()
    return ((np.asarray(pixels, np.float64) - m[:, 2]) @ np.linalg.inv(m[:, :2]).T).astype(np.float32)


class ContextLifter:
    """Lift frames from 2D joints + confidences + crop coordinates + the four feature maps."""

    def __init__(self, path: str | Path, device: str = "auto"):
        self.session = runtime.session(path, device)

    @property
    def provider(self) -> str:
        return self.session.get_providers()[0]

    def lift(self, pixels: np.ndarray, conf: np.ndarray, crop: np.ndarray, features: list[np.ndarray]) -> np.ndarray:
        """(T, 17, 2) pixels, (T, 17) confidences, (T, 17, 2) crop pixels, four maps (T, C, S, S) -> (T, 17, 3) m."""
        kp = normalize_frames(pixels, conf)
        feeds = {"keypoints": kp, "crop": (np.asarray(crop, np.float32) / LM_SIZE)}
        feeds |= {f"level{i}": np.asarray(f, np.float32) for i, f in enumerate(features)}
        return self.session.run(None, feeds)[0]

    def lift_pose(self, pixels: np.ndarray, conf: np.ndarray, pose) -> np.ndarray:
        """One tracked frame: (17, 2) mapped pixels and confidences of a :class:`~.detector.Pose` read with
        ``features=True`` -> (17, 3) m."""
        crop = crop_coords(pixels, pose.roi)
        return self.lift(pixels[None], conf[None], crop[None], [f[None] for f in pose.features])[0]
