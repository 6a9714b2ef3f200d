"""A turning camera made from a still one: each frame of a real clip as the same camera would see it turned
about its centre (pan, tilt and a little roll, as an operator following a performer), exact for a pure
rotation: the picture moves by the homography ``K' R K^-1``. The truth in frame t's camera is
``R[t] @ X`` of the still camera's. Used by the real-footage benchmark (``--pan``) and the tests."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from scipy.spatial.transform import Rotation


def operator_turns(frames: int, degrees: float = 5.0, cycles: float = 1.0) -> np.ndarray:
    """(frames, 3, 3) camera rotations: a pan of +-``degrees`` over ``cycles`` periods of the clip, a tilt
    of a third of it at twice the rate and a roll of a tenth."""
    phase = 2 * np.pi * cycles * np.arange(frames) / max(frames - 1, 1)
    a = np.radians(degrees)
    # Camera axes (x right, y down, z forward): pan turns about y, tilt about x, roll about z.
    vec = np.stack([a / 3 * np.sin(2 * phase), a * np.sin(phase), a / 10 * np.sin(phase + 1.0)], 1)
    return Rotation.from_rotvec(vec).as_matrix()


def zoom_for(K: np.ndarray, size: tuple[int, int], degrees: float) -> float:
    """The least zoom (focal-length factor) for which a camera turned by up to ``degrees`` still sees only
    the picture (no border), with a 5 % margin."""
    shift = K[0, 0] * np.tan(np.radians(degrees) * 1.05)  # pixels of the source, across the narrow side
    return float(1.0 / max(1.0 - 2.0 * shift / min(size), 0.2))


def pan_video(src: str | Path, dst: str | Path, K: np.ndarray, turns: np.ndarray, zoom: float,
              stop: int | None = None) -> np.ndarray:
    """Write ``src`` seen through turning camera ``turns`` (T, 3, 3; frame t = ``turns[t] @`` the still
    camera's axes) with its focal length times ``zoom`` to ``dst``; returns the new intrinsics."""
    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS)
    size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    K_out = K.copy()
    K_out[:2, :2] *= zoom
    out = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    K_inv = np.linalg.inv(K)
    for t, R in enumerate(turns[:stop]):
        ok, frame = cap.read()
        if not ok:
            break
        out.write(cv2.warpPerspective(frame, K_out @ R @ K_inv, size, flags=cv2.INTER_LINEAR))
    out.release()
    cap.release()
    return K_out
