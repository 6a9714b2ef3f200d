"""Skeletons and joint maps, loaded from the JSON files in ``skeletons/``.

A skeleton is a named list of joints with parents (parents always come first). A joint map turns
one skeleton's points into another's as affine combinations of source joints, so the same map
works on 2D keypoints and 3D positions; a target joint's confidence is the lowest confidence of
the source joints it uses, and joints the source cannot provide get confidence 0.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "skeletons"


@dataclass(frozen=True)
class Skeleton:
    """A named joint layout: ``names[i]`` has parent ``parents[i]`` (-1 for the root)."""

    name: str
    names: tuple[str, ...]
    parents: tuple[int, ...]
    mirror: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, hash=False)  # e.g. each foot's points

    def __post_init__(self) -> None:
        if len(self.names) != len(self.parents):
            raise ValueError(f"skeleton {self.name!r}: {len(self.names)} names but {len(self.parents)} parents")
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"skeleton {self.name!r}: duplicate joint names")
        for i, p in enumerate(self.parents):
            if not -1 <= p < i:
                raise ValueError(f"skeleton {self.name!r}: joint {self.names[i]!r} has parent {p}; parents must come first")

    def __len__(self) -> int:
        return len(self.names)

    def index(self, joint: str) -> int:
        try:
            return self.names.index(joint)
        except ValueError:
            raise KeyError(f"skeleton {self.name!r} has no joint {joint!r}") from None

    def indices(self, joints: list[str] | tuple[str, ...]) -> list[int]:
        return [self.index(j) for j in joints]

    def group(self, name: str) -> tuple[int, ...]:
        """Indices of a named group of joints (``groups`` in the skeleton's JSON), in the order listed there."""
        if name not in self.groups:
            raise KeyError(f"skeleton {self.name!r} has no joint group {name!r}; it has: {', '.join(self.groups) or 'none'}")
        return tuple(self.index(j) for j in self.groups[name])

    @property
    def bones(self) -> list[tuple[int, int]]:
        """(parent, child) index pairs."""
        return [(p, i) for i, p in enumerate(self.parents) if p >= 0]

    @property
    def mirror_permutation(self) -> np.ndarray:
        """Index permutation that swaps left and right joints (for mirroring data)."""
        pairs = {**self.mirror, **{v: k for k, v in self.mirror.items()}}
        return np.array([self.index(pairs.get(n, n)) for n in self.names])


@dataclass(frozen=True)
class JointMap:
    """Affine map from ``source`` joints to ``target`` joints: ``target = weights @ source``."""

    source: Skeleton
    target: Skeleton
    weights: np.ndarray  # (J_target, J_source); an all-zero row means "not provided"

    @property
    def provided(self) -> np.ndarray:
        """Boolean (J_target,): which target joints the source can provide."""
        return np.any(self.weights != 0, axis=1)

    def apply(self, points: np.ndarray, confidence: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Map ``points`` (..., J_source, D) and confidences (..., J_source) to the target skeleton.

        Joints the source cannot provide come back as NaN with confidence 0.
        """
        points = np.asarray(points, dtype=np.float32)
        if points.shape[-2] != len(self.source):
            raise ValueError(f"expected {len(self.source)} {self.source.name} joints, got {points.shape[-2]}")
        if confidence is None:
            confidence = np.ones(points.shape[:-1], np.float32)
        out = np.einsum("ts,...sd->...td", self.weights, np.nan_to_num(points)).astype(np.float32)
        used = self.weights != 0
        conf = np.where(used, confidence[..., None, :], np.inf).min(axis=-1)
        conf = np.where(self.provided, conf, 0.0).astype(np.float32)
        out[..., ~self.provided, :] = np.nan
        return out, conf


@lru_cache(maxsize=None)
def load_skeleton(name: str) -> Skeleton:
    """Load a skeleton by name from ``skeletons/NAME.json``."""
    path = DATA_DIR / f"{name}.json"
    if not path.is_file():
        raise KeyError(f"unknown skeleton {name!r}; known: {', '.join(known_skeletons())}")
    data = json.loads(path.read_text())
    names = tuple(j for j, _ in data["joints"])
    parents = tuple(-1 if p is None else names.index(p) for _, p in data["joints"])
    groups = {k: tuple(v) for k, v in data.get("groups", {}).items()}
    return Skeleton(data["name"], names, parents, dict(data.get("mirror", {})), groups)


def known_skeletons() -> list[str]:
    return sorted(p.stem for p in DATA_DIR.glob("*.json"))


@lru_cache(maxsize=None)
def load_map(source: str, target: str) -> JointMap:
    """Load the joint map from skeleton ``source`` to ``target`` (``skeletons/maps/SOURCE-TARGET.json``)."""
    path = DATA_DIR / "maps" / f"{source}-{target}.json"
    if not path.is_file():
        known = sorted(p.stem for p in (DATA_DIR / "maps").glob("*.json"))
        raise KeyError(f"no joint map from {source!r} to {target!r}; known: {', '.join(known)}")
    data = json.loads(path.read_text())
    src, tgt = load_skeleton(data["source"]), load_skeleton(data["target"])
    weights = np.zeros((len(tgt), len(src)), np.float32)
    for joint, combo in data["joints"].items():
        row = tgt.index(joint)
        for s, w in combo.items():
            weights[row, src.index(s)] = w
        if not np.isclose(weights[row].sum(), 1.0):
            raise ValueError(f"{path.name}: weights of {joint!r} sum to {weights[row].sum()}, not 1")
    return JointMap(src, tgt, weights)
