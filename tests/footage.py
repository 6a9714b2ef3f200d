"""Real footage for the capture tests: a photo from Debian's opencv-doc, panned into a clip."""
from pathlib import Path

import cv2
import numpy as np
import pytest

PHOTO = Path("/usr/share/doc/opencv-doc/examples/data/messi5.jpg")


def write_clip(path, frames=30, blank=(), size=None):
    """A clip of a real photo with a slow pan (and black frames where the person disappears)."""
    if not PHOTO.exists():
        pytest.fail("Debian's opencv-doc is not installed (.ci/run installs it)")
    img = cv2.imread(str(PHOTO))
    if size:
        img = cv2.resize(img, size)
    h, w = img.shape[:2]
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (w, h))
    for t in range(frames):
        m = np.float32([[1, 0, 12 * np.sin(t / 8)], [0, 1, 4 * np.cos(t / 9)]])
        frame = cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT)
        vw.write(np.zeros_like(frame) if t in blank else frame)
    vw.release()
    return path
