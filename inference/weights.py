"""Shipped model files: found by name through ``models/weights/manifest.json`` and checked by sha256.

``VIDEO_MOCAP_WEIGHTS`` names another folder of the same layout (a manifest and its files), so candidate
models can be benchmarked through the real capture path before they ship."""
from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

WEIGHTS_DIR = Path(os.environ.get("VIDEO_MOCAP_WEIGHTS") or Path(__file__).resolve().parent.parent / "models" / "weights")


class WeightsError(RuntimeError):
    """A model file is unknown, missing or damaged; the message says which and what to do."""


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def manifest(directory: Path = WEIGHTS_DIR) -> dict[str, dict]:
    path = directory / "manifest.json"
    if not path.is_file():
        raise WeightsError(f"no model manifest at {path}: the installation is incomplete; reinstall Video Mocap")
    return json.loads(path.read_text())


@lru_cache(maxsize=None)
def _verified(path: Path, size: int, mtime: float, expected: str) -> bool:
    return sha256(path) == expected


def weight_path(name: str, directory: Path = WEIGHTS_DIR) -> Path:
    """The verified path of model ``name`` (e.g. 'single', 'mpm')."""
    entries = manifest(directory)
    if name not in entries:
        raise WeightsError(f"unknown model {name!r}; shipped models: {', '.join(sorted(entries)) or 'none'}")
    entry = entries[name]
    path = directory / entry["file"]
    if not path.is_file():
        raise WeightsError(f"model file {path} is missing: reinstall Video Mocap, or rebuild it with "
                           f"`{entry.get('command', 'python -m video_mocap.models export')}`")
    stat = path.stat()
    if not _verified(path, stat.st_size, stat.st_mtime, entry["sha256"]):
        raise WeightsError(f"model file {path} is damaged (sha256 differs from the manifest): reinstall Video Mocap "
                           "or restore the file from the release")
    return path


def register(name: str, path: Path, card: dict, directory: Path = WEIGHTS_DIR) -> dict:
    """Record ``path`` (inside ``directory``) in the manifest with its hash and card fields."""
    mpath = directory / "manifest.json"
    entries = json.loads(mpath.read_text()) if mpath.is_file() else {}
    entries[name] = {"file": path.name, "sha256": sha256(path), **card}
    mpath.write_text(json.dumps(entries, indent=2, sort_keys=True) + "\n")
    return entries[name]
