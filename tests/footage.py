"""Real footage for the tests: one camera of the pose2sim demo (a real person in a lab, 60 fps, BSD-3-Clause),
fetched from PyPI once by ``models.assets`` and cached under ``.cache/``."""
from pathlib import Path

import cv2
import numpy as np

from video_mocap.models.assets import pose2sim_demo


def write_clip(path, frames: int = 30, blank=(), size=(360, 640), camera: str = "cam03", start: int = 0) -> Path:
    """``frames`` frames of a real camera from ``start``, resized to ``size`` (w, h), with black frames at the
    indices in ``blank`` (where the person disappears)."""
    src = pose2sim_demo() / "videos" / f"{camera}.mp4"
    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.set(cv2.CAP_PROP_POS_FRAMES, start)
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for t in range(frames):
        ok, frame = cap.read()
        assert ok, f"{src} has fewer than {start + frames} frames"
        frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        vw.write(np.zeros_like(frame) if t in blank else frame)
    vw.release()
    return Path(path)
