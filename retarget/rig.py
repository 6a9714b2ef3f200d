"""A rig as data: bone names, parents and rest matrices in armature space, with forward kinematics.

Built from an armature (``blender_io.read_rig``) or from head/tail/roll data (rig files, tests).
Bones are kept in an order where every parent comes before its children.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..rotations import axis_angle, normalize


def bone_matrix(head: np.ndarray, tail: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """Blender's rest orientation of bones (..., 3, 3): Y along head -> tail, then ``roll`` about it."""
    y = normalize(np.asarray(tail, np.float64) - np.asarray(head, np.float64))
    x, yy, z = np.moveaxis(y, -1, 0)
    theta = 1 + yy
    safe = np.where(theta < 1e-9, 1.0, theta)
    m = np.stack([
        np.stack([1 - x * x / safe, x, -x * z / safe], -1),
        np.stack([-x, yy, -z], -1),
        np.stack([-x * z / safe, z, 1 - z * z / safe], -1),
    ], -2)  # the smallest rotation taking +Y to y
    flipped = np.broadcast_to(np.diag([-1.0, -1.0, 1.0]), m.shape)
    m = np.where((theta < 1e-9)[..., None, None], flipped, m)
    return axis_angle(y, np.asarray(roll, np.float64)) @ m


@dataclass
class Rig:
    names: list[str]
    parents: np.ndarray  # (B,) index of the parent bone, -1 for roots
    heads: np.ndarray  # (B, 3) armature space, rest
    tails: np.ndarray  # (B, 3)
    rest: np.ndarray  # (B, 3, 3) bone.matrix_local rotation

    def __post_init__(self) -> None:
        self.parents = np.asarray(self.parents, int)
        order = _parent_first(self.parents)
        if (order != np.arange(len(order))).any():
            inv = np.argsort(order)
            self.names = [self.names[i] for i in order]
            self.parents = np.array([inv[p] if p >= 0 else -1 for p in self.parents[order]])
            self.heads, self.tails, self.rest = self.heads[order], self.tails[order], self.rest[order]
        self._index = {n: i for i, n in enumerate(self.names)}

    @classmethod
    def from_bones(cls, bones: dict[str, dict]) -> "Rig":
        """From ``{name: {"head": xyz, "tail": xyz, "roll": radians, "parent": name or None}}``."""
        names = list(bones)
        heads = np.array([bones[n]["head"] for n in names], np.float64)
        tails = np.array([bones[n]["tail"] for n in names], np.float64)
        rolls = np.array([bones[n].get("roll", 0.0) for n in names], np.float64)
        parents = [names.index(bones[n]["parent"]) if bones[n].get("parent") else -1 for n in names]
        return cls(names, np.array(parents), heads, tails, bone_matrix(heads, tails, rolls))

    def __len__(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        return self._index[name]

    def __contains__(self, name: str) -> bool:
        return name in self._index

    @property
    def lengths(self) -> np.ndarray:
        return np.linalg.norm(self.tails - self.heads, axis=-1)

    def children(self, i: int) -> list[int]:
        return list(np.flatnonzero(self.parents == i))

    def fk(self, local: np.ndarray, loc: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pose the rig: ``local`` (T, B, 3, 3) rotations as in ``pose_bone.matrix_basis`` and optional
        ``loc`` (T, B, 3) pose locations. Returns world heads, tails (T, B, 3) and rotations (T, B, 3, 3)."""
        t, b = local.shape[:2]
        rot = np.empty((t, b, 3, 3))
        head = np.empty((t, b, 3))
        loc = np.zeros((t, b, 3)) if loc is None else loc
        for i in range(b):
            p = self.parents[i]
            basis_pos = self.rest[i] @ loc[:, i, :, None]  # pose location is in the bone's rest frame
            if p < 0:
                rot[:, i] = self.rest[i] @ local[:, i]
                head[:, i] = self.heads[i] + basis_pos[..., 0]
            else:
                rel_rot = self.rest[p].T @ self.rest[i]
                rel_pos = self.rest[p].T @ (self.heads[i] - self.heads[p])
                prot = rot[:, p] @ self.rest[p].T  # parent's world rotation relative to its rest
                rot[:, i] = rot[:, p] @ rel_rot @ local[:, i]
                head[:, i] = head[:, p] + (rot[:, p] @ rel_pos[:, None])[..., 0] + (prot @ basis_pos)[..., 0]
        tail = head + (rot @ np.array([0.0, 1.0, 0.0]))[..., :] * self.lengths[None, :, None]
        return head, tail, rot


def _parent_first(parents: np.ndarray) -> np.ndarray:
    order, placed = [], set()
    pending = list(range(len(parents)))
    while pending:
        progressed = False
        for i in list(pending):
            if parents[i] < 0 or parents[i] in placed:
                order.append(i)
                placed.add(i)
                pending.remove(i)
                progressed = True
        if not progressed:
            raise ValueError("bone parents form a cycle")
    return np.array(order)
