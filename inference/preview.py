"""Preview video: each frame with its 2D keypoints, beside the 3D skeleton over a floor grid seen from a 3/4
view and from the side (at right angles to the camera, so depth shows as left and right), both following the
person over the floor (root motion shows as the grid moving under a lagging view); planted feet are marked."""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from .contacts import FOOT, planted_feet
from ..filters import moving_average
from .pipeline import Capture
from .video import frames

LEFT, RIGHT, MID = (255, 120, 40), (40, 60, 230), (200, 200, 200)  # BGR
PLANTED, GRID = (40, 220, 250), (70, 70, 70)
#: The 3D views: name, azimuth and elevation in degrees (azimuth 0 looks along the camera's view, 90 from its right).
VIEWS = (("3/4", 35.0, 12.0), ("side", 90.0, 0.0))


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


def _view(azimuth: float, elevation: float) -> np.ndarray:
    """Rows: the screen's right and up in the Z-up world, for an orthographic view."""
    az, el = np.radians(azimuth), np.radians(elevation)
    return np.array([[np.cos(az), np.sin(az), 0], [-np.sin(az) * np.sin(el), np.cos(az) * np.sin(el), np.cos(el)]])


def _panel(world: np.ndarray, centre: np.ndarray, view: np.ndarray, size: int, ok: np.ndarray, planted: np.ndarray,
           names, bones, label: str) -> np.ndarray:
    """One 3D view of one frame: a 0.5 m floor grid around the person, the skeleton, planted feet ringed."""
    panel = np.full((size, size, 3), 30, np.uint8)
    scale, base = size / 2.4, size * 0.85

    def screen(points):
        p = (points - [*centre, 0.0]) @ view.T
        return np.column_stack([size / 2 + p[:, 0] * scale, base - p[:, 1] * scale])

    ticks = np.arange(-3.0, 3.01, 0.5)
    for a in ticks:
        for line in (np.array([[a + centre[0], centre[1] - 3, 0], [a + centre[0], centre[1] + 3, 0]]),
                     np.array([[centre[0] - 3, a + centre[1], 0], [centre[0] + 3, a + centre[1], 0]])):
            (x0, y0), (x1, y1) = screen(line)
            cv2.line(panel, (int(x0), int(y0)), (int(x1), int(y1)), GRID, 1, cv2.LINE_AA)
    px = screen(np.nan_to_num(world))
    _skeleton(panel, px, ok, names, bones)
    for k, points in enumerate(FOOT.values()):
        if planted[k] and ok[points[0]]:
            cv2.circle(panel, tuple(map(int, px[points[0]])), 7, PLANTED, 2, cv2.LINE_AA)
    cv2.putText(panel, label, (8, size - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (200, 200, 200), 1, cv2.LINE_AA)
    return panel


def write_preview(video: str | Path, result: Capture, out: str | Path, overwrite: bool = False) -> Path:
    """Write the preview (the frame, then one square panel per 3D view) as MP4, atomically: a failed run
    leaves no file."""
    out = Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; pass --force to replace it")
    m = result.motion
    sk = m.skeleton
    world = m.positions()
    seen = m.confidence > 0
    centre = _follow(world[:, 0, :2], int(m.fps))
    planted = m.contacts if m.contacts is not None else planted_feet(world, m.fps)  # the solve's contacts
    views = [(name, _view(az, el)) for name, az, el in VIEWS]
    pixels = result.pixels
    if result.hand_pixels is not None:  # the hands' points (without their wrists) after the body's, as the skeleton has them
        pixels = np.concatenate([pixels, result.hand_pixels[:, :, 1:].reshape(len(pixels), -1, 2)], 1)
    tmp = out.with_name(out.stem + ".part" + out.suffix)
    writer = None
    try:
        for t, (_, _, rgb) in enumerate(frames(video, result.start, result.start + len(m))):
            h, w = rgb.shape[:2]
            if writer is None:
                writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), m.fps, (w + h * len(views), h))
                if not writer.isOpened():
                    raise OSError(f"cannot write a video to {tmp}")
            left = np.ascontiguousarray(rgb[:, :, ::-1])
            _skeleton(left, np.nan_to_num(pixels[t]), seen[t] & (m.confidence[t] > 0.3), sk.names, sk.bones)
            ok = seen[t] & np.isfinite(world[t]).all(1)
            panels = [_panel(world[t], centre[t], view, h, ok, planted[t], sk.names, sk.bones, name) for name, view in views]
            cv2.putText(panels[0], f"{t / m.fps:5.2f} s  {m.meta.get('lifter', '')}", (8, 20), cv2.FONT_HERSHEY_SIMPLEX,
                        0.5, (220, 220, 220), 1, cv2.LINE_AA)
            writer.write(np.concatenate([left, *panels], 1))
        writer.release()
        os.replace(tmp, out)
    except BaseException:
        if writer is not None:
            writer.release()
        tmp.unlink(missing_ok=True)
        raise
    return out
