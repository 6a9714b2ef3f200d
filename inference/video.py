"""Video input: frames streamed one at a time (memory stays bounded), phone rotation applied, clear errors."""
from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np


class VideoError(ValueError):
    """The video cannot be used; the message says why and what to do."""


@dataclass
class VideoInfo:
    path: Path
    fps: float
    frames: int  # as the container reports it (may be approximate for variable frame rate)
    width: int  # after rotation
    height: int


def open_video(path: str | Path) -> tuple[cv2.VideoCapture, VideoInfo]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no video at {path}")
    if path.is_dir():
        raise VideoError(f"{path} is a folder, not a video file")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise VideoError(f"{path}: OpenCV cannot open this file (not a video, or a codec it lacks); "
                         "convert it to H.264 MP4, e.g. `ffmpeg -i IN -c:v libx264 OUT.mp4`")
    cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)  # phone videos: apply the rotation metadata
    ok, frame = cap.read()
    if not ok or frame is None:
        cap.release()
        raise VideoError(f"{path}: no frame could be decoded (empty file or unsupported codec)")
    fps = cap.get(cv2.CAP_PROP_FPS)
    fps = fps if np.isfinite(fps) and 1 <= fps <= 1000 else 30.0
    frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
    return cap, VideoInfo(path, float(fps), max(frames, 1), frame.shape[1], frame.shape[0])


def frames(path: str | Path, start: int = 0, stop: int | None = None, prefetch: int = 4,
           on_frame: Callable[[np.ndarray], None] | None = None) -> Iterator[tuple[int, float, np.ndarray]]:
    """(index, time in seconds, RGB frame) for frames ``start:stop``; the time comes from the container,
    so variable-frame-rate footage keeps its real timing. Decoding and the colour conversion run in their
    own thread, ``prefetch`` frames ahead, while the caller works on the current frame; ``on_frame`` (if
    given) is called there too with every decoded frame (BGR), in order."""
    cap, info = open_video(path)
    items: queue.Queue = queue.Queue(maxsize=max(1, prefetch))
    halt = threading.Event()

    def put(item) -> None:
        while not halt.is_set():
            try:
                items.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def read() -> None:
        try:
            if start:
                cap.set(cv2.CAP_PROP_POS_FRAMES, start)
            i = start
            while (stop is None or i < stop) and not halt.is_set():
                ok, frame = cap.read()
                if not ok:
                    break
                t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                if on_frame is not None:
                    on_frame(frame)
                put((i, t if t > 0 or i == 0 else i / info.fps, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)))
                i += 1
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            put(e)
        finally:
            put(None)

    reader = threading.Thread(target=read, name="video-decode", daemon=True)
    reader.start()
    try:
        while (item := items.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        halt.set()
        reader.join()
        cap.release()
