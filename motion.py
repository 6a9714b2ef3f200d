"""The motion type that flows from inference to retarget, with versioned npz save/load.

A :class:`Motion` holds joint positions (T x J x 3, float32, metres) relative to an optional root
trajectory, per-joint confidences (T x J in [0, 1]), the frame rate, the skeleton and the coordinate
frame the numbers are in. Positions may be NaN only where the confidence is 0 (a joint nobody saw).
World positions are ``joints + root[:, None]`` (just ``joints`` when there is no root trajectory).
A capture also records ``contacts`` (T x 2, left/right foot on the floor; the floor is Z = 0) so the
retargeter holds the same feet still instead of guessing again; ``meta['camera']`` has the solved camera and
``camera_rotation`` (T x 3 x 3) its axes in every frame (they change when the camera turned).
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .skeleton import Skeleton, load_skeleton

FORMAT = "video_mocap.motion"
VERSION = 1

#: Rotation from each named frame into Blender's (right-handed, Z up, -Y forward, +X to the
#: character's left when it faces forward).
FRAMES: dict[str, np.ndarray] = {
    # Blender world: Z up, a character faces -Y.
    "blender": np.eye(3, dtype=np.float32),
    # Y-up mocap (BVH, ../shared/data, glTF): (x, y, z) -> (x, -z, y).
    "y_up": np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]], np.float32),
    # OpenCV camera (x right, y down, z forward): the camera sits at the origin looking along +Y,
    # so a person facing the camera faces Blender's -Y.
    "opencv_camera": np.array([[1, 0, 0], [0, 0, 1], [0, -1, 0]], np.float32),
}


class MotionError(ValueError):
    """A motion (or a motion file) is malformed; the message says what is wrong and where."""


@dataclass
class Motion:
    joints: np.ndarray
    confidence: np.ndarray
    fps: float
    skeleton: Skeleton
    frame: str = "blender"
    root: np.ndarray | None = None
    intrinsics: np.ndarray | None = None
    image_size: tuple[int, int] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    contacts: np.ndarray | None = None  # (T, 2) bool: left / right foot in contact with the floor
    #: (T, 3, 3) the filming camera's axes in each frame (columns: x right, y down, z forward, as OpenCV's) in
    #: this motion's frame; the camera stands at meta['camera']['height_m'] over the origin
    camera_rotation: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.joints = np.asarray(self.joints, np.float32)
        self.confidence = np.asarray(self.confidence, np.float32)
        self.fps = float(self.fps)
        if self.root is not None:
            self.root = np.asarray(self.root, np.float32)
        if self.intrinsics is not None:
            self.intrinsics = np.asarray(self.intrinsics, np.float32)
        if self.image_size is not None:
            self.image_size = (int(self.image_size[0]), int(self.image_size[1]))
        if self.contacts is not None:
            self.contacts = np.asarray(self.contacts, bool)
        if self.camera_rotation is not None:
            self.camera_rotation = np.asarray(self.camera_rotation, np.float32)
        self.validate()

    @property
    def solved_camera(self) -> dict[str, Any]:
        """A capture's solved camera (``meta["camera"]``: pitch, roll, up, height_m, focal_px, turn_deg, turn_from), or {}."""
        camera = self.meta.get("camera")
        return camera if isinstance(camera, dict) else {}

    # -- checks -----------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise :class:`MotionError` unless every field is well formed."""
        j, c, n = self.joints, self.confidence, len(self.skeleton)
        if j.ndim != 3 or j.shape[1:] != (n, 3):
            raise MotionError(f"joints must be T x {n} x 3 for skeleton {self.skeleton.name!r}, got {j.shape}")
        if len(j) == 0:
            raise MotionError(f"no frames")
        if c.shape != j.shape[:2]:
            raise MotionError(f"confidence must be {j.shape[:2]} (T x J), got {c.shape}")
        if not np.all(np.isfinite(c)) or c.min() < 0 or c.max() > 1:
            raise MotionError(f"confidences must be finite and within [0, 1]")
        bad = ~np.isfinite(j).all(axis=2) & (c > 0)
        if bad.any():
            t, k = np.argwhere(bad)[0]
            raise MotionError(
                f"{bad.sum()} joint positions are NaN/inf but have confidence > 0 "
                f"(first: frame {t}, joint {self.skeleton.names[k]!r}); give such joints confidence 0"
            )
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise MotionError(f"fps must be a positive number, got {self.fps}")
        if self.frame not in FRAMES:
            raise MotionError(f"unknown coordinate frame {self.frame!r}; known: {', '.join(FRAMES)}")
        if self.root is not None:
            if self.root.shape != (len(j), 3):
                raise MotionError(f"root must be {len(j)} x 3, got {self.root.shape}")
            if not np.isfinite(self.root).all():
                raise MotionError(f"root trajectory contains NaN/inf")
        if self.intrinsics is not None and (self.intrinsics.shape != (3, 3) or not np.isfinite(self.intrinsics).all()):
            raise MotionError(f"intrinsics must be a finite 3 x 3 matrix, got shape {self.intrinsics.shape}")
        if self.contacts is not None and self.contacts.shape != (len(j), 2):
            raise MotionError(f"contacts must be {len(j)} x 2 (left, right foot), got {self.contacts.shape}")
        cr = self.camera_rotation
        if cr is not None and (cr.shape != (len(j), 3, 3) or not np.isfinite(cr).all()):
            raise MotionError(f"camera_rotation must be a finite {len(j)} x 3 x 3 array, got shape {cr.shape}")
        if self.image_size is not None and min(self.image_size) <= 0:
            raise MotionError(f"image_size must be positive (width, height), got {self.image_size}")

    # -- views ------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.joints)

    @property
    def duration(self) -> float:
        return len(self) / self.fps

    def positions(self) -> np.ndarray:
        """World positions T x J x 3 (``joints`` plus the root trajectory when there is one)."""
        return self.joints if self.root is None else self.joints + self.root[:, None]

    def to_frame(self, frame: str) -> "Motion":
        """The same motion expressed in another coordinate frame (see :data:`FRAMES`)."""
        if frame not in FRAMES:
            raise MotionError(f"unknown coordinate frame {frame!r}; known: {', '.join(FRAMES)}")
        rot = FRAMES[frame].T @ FRAMES[self.frame]
        root = None if self.root is None else self.root @ rot.T
        camera = None if self.camera_rotation is None else rot @ self.camera_rotation
        return replace(self, joints=self.joints @ rot.T, root=root, frame=frame, camera_rotation=camera)

    def slice(self, start: int, stop: int) -> "Motion":
        """Frames ``start:stop``."""
        root = None if self.root is None else self.root[start:stop]
        contacts = None if self.contacts is None else self.contacts[start:stop]
        camera = None if self.camera_rotation is None else self.camera_rotation[start:stop]
        return replace(self, joints=self.joints[start:stop], confidence=self.confidence[start:stop], root=root,
                       contacts=contacts, camera_rotation=camera)

    # -- files ------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write a compressed npz atomically; refuse to replace an existing file unless ``overwrite``."""
        path = Path(path)
        if path.suffix != ".npz":
            raise MotionError(f"{path}: motion files end in .npz")
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; pass overwrite=True (--force on the command line) to replace it")
        arrays: dict[str, Any] = dict(
            format=np.array(FORMAT), version=np.array(VERSION), joints=self.joints, confidence=self.confidence,
            fps=np.array(self.fps), skeleton=np.array(self.skeleton.name),
            joint_names=np.array(self.skeleton.names), parents=np.array(self.skeleton.parents),
            frame=np.array(self.frame), meta=np.array(json.dumps(self.meta)),
        )
        if self.root is not None:
            arrays["root"] = self.root
        if self.intrinsics is not None:
            arrays["intrinsics"] = self.intrinsics
        if self.image_size is not None:
            arrays["image_size"] = np.array(self.image_size)
        if self.contacts is not None:
            arrays["contacts"] = self.contacts
        if self.camera_rotation is not None:
            arrays["camera_rotation"] = self.camera_rotation
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".npz", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez_compressed(f, **arrays)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes owner-only files; a user's file should not be
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
        return path

    @classmethod
    def from_positions(cls, positions: np.ndarray, fps: float, skeleton: Skeleton, meta: dict | None = None,
                       frame: str = "blender", root_joint: str = "pelvis") -> "Motion":
        """A motion from world positions (T x J x 3, NaN where a joint is unknown): confidence 1 where known,
        the root on ``root_joint``."""
        positions = np.asarray(positions)
        conf = np.isfinite(positions).all(-1).astype(np.float32)
        root = positions[:, skeleton.index(root_joint)].copy()
        return cls(joints=np.where(conf[..., None] > 0, positions - root[:, None], np.nan), confidence=conf, fps=fps,
                   skeleton=skeleton, frame=frame, root=root, meta=dict(meta or {}))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Motion":
        """Read and validate a motion npz; :class:`MotionError` says what is wrong with a bad file."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no motion file at {path}")
        try:
            with np.load(path, allow_pickle=False) as f:
                data = {k: f[k] for k in f.files}
        except Exception as e:  # zip/npy errors come in many types
            raise MotionError(f"{path}: not a readable npz file ({e})") from None
        if str(data.get("format", "")) != FORMAT:
            raise MotionError(f"{path}: not a Video Mocap motion file (no format={FORMAT!r} entry)")
        version = int(data.get("version", -1))
        if version != VERSION:
            raise MotionError(f"{path}: motion format version {version}; this Video Mocap reads version {VERSION}")
        missing = [k for k in ("joints", "confidence", "fps", "skeleton", "joint_names", "parents", "frame") if k not in data]
        if missing:
            raise MotionError(f"{path}: missing entries {', '.join(missing)}")
        try:
            skeleton = load_skeleton(str(data["skeleton"]))
        except KeyError as e:
            raise MotionError(f"{path}: {e.args[0]}") from None
        if tuple(data["joint_names"].tolist()) != skeleton.names or tuple(data["parents"].tolist()) != skeleton.parents:
            raise MotionError(f"{path}: joint names/parents do not match skeleton {skeleton.name!r}")
        try:
            meta = json.loads(str(data.get("meta", "{}")))
        except json.JSONDecodeError as e:
            raise MotionError(f"{path}: metadata is not valid JSON ({e})") from None
        image_size = data.get("image_size")
        try:
            return cls(
                joints=data["joints"], confidence=data["confidence"], fps=float(data["fps"]), skeleton=skeleton,
                frame=str(data["frame"]), root=data.get("root"), intrinsics=data.get("intrinsics"),
                image_size=None if image_size is None else tuple(image_size.tolist()), meta=meta,
                contacts=data.get("contacts"), camera_rotation=data.get("camera_rotation"),
            )
        except MotionError as e:
            raise MotionError(f"{path}: {e}") from None
