"""Preview video: each frame with its 2D keypoints, beside the 3D skeleton seen from a 3/4 view that follows
the person over the floor (so root motion shows as the floor moving under a lagging view)."""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from .filters import moving_average
from .pipeline import Capture
from .video import frames

LEFT, RIGHT, MID = (255, 120, 40), (40, 60, 230), (200, 200, 200)  # BGR


def _colour(name: str) -> tuple[int, int, int]:
    return LEFT if name.startswith("l_") else RIGHT if name.startswith("r_") else MID


def _skeleton(canvas: np.ndarray, pts: np.ndarray, ok: np.ndarray, names, bones) -> None:
    for p, c in bones:
        if ok[p] and ok[c]:
            cv2.line(canvas, tuple(map(int, pts[p])), tuple(map(int, pts[c])), _colour(names[c]), 2, cv2.LINE_AA)
    for q, good in zip(pts, ok):
        if good:
            cv2.circle(canvas, tuple(map(int, q)), 3, (255, 255, 255), -1, cv2.LINE_AA)


def _follow(xy: np.ndarray, window: int) -> np.ndarray:
    """Where the 3D view looks, per frame: the root over the floor, averaged over about a second."""
    xy = np.where(np.isfinite(xy), xy, np.nan)
    fill = np.nanmedian(xy, axis=0) if np.isfinite(xy).any() else np.zeros(2)
    xy = np.where(np.isfinite(xy), xy, fill)
    return moving_average(xy, window)


def write_preview(video: str | Path, result: Capture, out: str | Path, overwrite: bool = False) -> Path:
    """Write the side-by-side preview as MP4 (atomically: a failed run leaves no file)."""
    out = Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; pass --force to replace it")
    m = result.motion
    sk = m.skeleton
    world = m.positions()
    seen = m.confidence > 0
    centre = _follow(world[:, 0, :2], int(m.fps))
    az, el = np.radians(35), np.radians(12)
    view = np.array([[np.cos(az), np.sin(az), 0], [-np.sin(az) * np.sin(el), np.cos(az) * np.sin(el), np.cos(el)]])
    tmp = out.with_name(out.stem + ".part" + out.suffix)
    writer = None
    try:
        for t, (_, _, rgb) in enumerate(frames(video, result.start, result.start + len(m))):
            h, w = rgb.shape[:2]
            if writer is None:
                writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), m.fps, (w + h, h))
                if not writer.isOpened():
                    raise OSError(f"cannot write a video to {tmp}")
            left = np.ascontiguousarray(rgb[:, :, ::-1])
            _skeleton(left, result.pixels[t], seen[t] & (m.confidence[t] > 0.3), sk.names, sk.bones)
            right = np.full((h, h, 3), 30, np.uint8)
            p = (world[t] - [*centre[t], 0]) @ view.T  # metres, x right, y up
            px = np.column_stack([h / 2 + p[:, 0] * h / 2.4, h * 0.92 - p[:, 1] * h / 2.4])
            cv2.line(right, (0, int(h * 0.92)), (h, int(h * 0.92)), (80, 80, 80), 1)
            _skeleton(right, np.nan_to_num(px), seen[t] & np.isfinite(px).all(1), sk.names, sk.bones)
            cv2.putText(right, f"{t / m.fps:5.2f} s  {m.meta.get('lifter', '')}", (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                        (220, 220, 220), 1, cv2.LINE_AA)
            writer.write(np.concatenate([left, right], 1))
        writer.release()
        os.replace(tmp, out)
    except BaseException:
        if writer is not None:
            writer.release()
        tmp.unlink(missing_ok=True)
        raise
    return out
