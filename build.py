"""Build the installable extension zips, one per platform, with the runtime wheels bundled.

    python build.py [--platform linux-x64 windows-x64 macos-arm64] [--gpu] [--out dist]

Stages the runtime part of the tree (no tests, training code, docs or benchmarks), downloads the
runtime wheels for Blender's Python (3.11 for 4.2-5.0, 3.13 for 5.1+; numpy is Blender's own),
writes them into the staged manifest, then builds and validates each zip with Blender's own
extension tooling (``bl_pkg`` from the bpy wheel, the same code as ``blender --command extension``).
The standard zips run on the GPU where that needs no install (DirectML on Windows, CoreML on macOS) and on the
CPU otherwise; ``--gpu`` builds the CUDA variant with onnxruntime-gpu (Linux and Windows).
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
PLATFORMS = {  # Blender's platform name -> pip platform tags
    "linux-x64": ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64"],
    "windows-x64": ["win_amd64"],
    "macos-arm64": ["macosx_11_0_arm64", "macosx_11_0_universal2", "macosx_12_0_arm64", "macosx_13_0_arm64",
                    "macosx_13_0_universal2"],
}
PYTHONS = ("3.11", "3.13")
# scipy: the clip-level solve (inference/solve.py, least_squares); 1.14.1 has wheels for Python 3.11 and 3.13 on
# every platform and works with the numpy of Blender 4.2-5.0 (>= 1.23.5).
RUNTIME = ["opencv-python-headless==4.11.0.86", "scipy==1.14.1"]
# Where a platform needs older wheels: opencv 4.11's macOS wheels need macOS 13, 4.10's macOS 11.
RUNTIME_FOR = {"macos-arm64": ["opencv-python-headless==4.10.0.84", "scipy==1.14.1"]}
# onnxruntime per variant, platform and (where the newest wheels need a newer OS) Python. The standard zips carry
# the accelerated provider that needs nothing installed: DirectML on Windows (any DirectX 12 GPU), CoreML on
# macOS (in the standard wheel); the CPU is the fallback everywhere. macOS: onnxruntime >= 1.23 wheels are tagged
# macOS 14+, 1.22 macOS 13+, 1.19 macOS 11+; scipy 1.14 needs macOS 12, so the Python 3.11 wheels (Blender 4.2-5.0)
# run on macOS 12+ and the Python 3.13 ones (Blender 5.1+) on macOS 13+ (checked by test_build_wheels.py). The
# "gpu" variant: CUDA (onnxruntime-gpu; CUDA and cuDNN must be installed).
ONNXRUNTIME = {
    "cpu": {"linux-x64": "onnxruntime==1.31.1", "windows-x64": "onnxruntime-directml==1.24.4",
            "macos-arm64": {"3.11": "onnxruntime==1.19.2", "3.13": "onnxruntime==1.22.1"}},
    "gpu": {"linux-x64": "onnxruntime-gpu==1.31.1", "windows-x64": "onnxruntime-gpu==1.31.1"},
}


def minimum_macos(wheels: list[str]) -> dict[str, str]:
    """The oldest macOS each Python's bundled wheels all run on: ``{"3.11": "12.0", ...}`` from the wheel
    tags (abi3 wheels count for every Python)."""
    found: dict[str, tuple[int, int]] = {}
    for name in wheels:
        m = re.search(r"-(cp\d+|cp37-abi3|py3)-.*macosx_(\d+)_(\d+)_", name)
        tag = re.search(r"-(cp(\d)(\d+))-(cp\d+|abi3|none)", name)
        if not m:
            continue
        version = (int(m.group(2)), int(m.group(3)))
        pythons = PYTHONS if "abi3" in name or not tag else [f"{tag.group(2)}.{tag.group(3)}"]
        for py in pythons:
            found[py] = max(found.get(py, (0, 0)), version)
    return {py: f"{v[0]}.{v[1]}" for py, v in sorted(found.items())}


def onnxruntime_for(variant: str, platform: str, python: str) -> str:
    req = ONNXRUNTIME[variant][platform]
    return req[python] if isinstance(req, dict) else req
# What the extension ships: the runtime packages and the model files; not training code or tests.
KEEP = ["__init__.py", "__main__.py", "blender_manifest.toml", "LICENSE", "motion.py", "skeleton.py", "filters.py",
        "rotations.py", "skeletons", "addon", "inference", "retarget", "models/__init__.py", "models/weights"]


def stage(dst: Path, heavy: bool = False) -> None:
    """Copy what the extension ships; the heavy landmark model (55 MB, built locally) only when asked."""
    skip = ("__pycache__", "*.eval.json") + (() if heavy else ("blazepose_landmark_heavy.onnx",))
    if heavy and not (ROOT / "models/weights/blazepose_landmark_heavy.onnx").is_file():
        raise FileNotFoundError("--heavy: build the model first: python -m video_mocap.models convert-detector --heavy")
    for item in KEEP:
        src = ROOT / item
        if src.is_dir():
            shutil.copytree(src, dst / item, ignore=shutil.ignore_patterns(*skip))
        else:
            (dst / item).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / item)


def download_wheels(platform: str, variant: str, dest: Path) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    for python in PYTHONS:
        for req in RUNTIME_FOR.get(platform, RUNTIME) + [onnxruntime_for(variant, platform, python)]:
            cmd = [sys.executable, "-m", "pip", "download", req, "--no-deps", "--only-binary=:all:", "--dest", str(dest),
                   "--python-version", python, "--implementation", "cp", "-q"]
            for tag in PLATFORMS[platform]:
                cmd += ["--platform", tag]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode:
                raise RuntimeError(f"no {req} wheel for {platform} / Python {python}: {done.stderr.strip()[-300:]}")
    return sorted(dest.glob("*.whl"))


def write_manifest(staged: Path, platform: str, wheels: list[Path], variant: str) -> None:
    path = staged / "blender_manifest.toml"
    text = path.read_text()
    lines = ",\n  ".join(f'"./wheels/{w.name}"' for w in wheels)
    extra = f'\nplatforms = ["{platform}"]\nwheels = [\n  {lines},\n]\n'
    if variant == "gpu":
        text = re.sub(r'^name = "(.*)"$', r'name = "\1 (CUDA)"', text, flags=re.M)
    text = text.replace("\n[permissions]", extra + "\n[permissions]", 1)
    path.write_text(text)


def blender_extension(args: list[str]) -> None:
    """Run Blender's extension command line (build / validate) from the bpy wheel."""
    code = ("import bpy, sys, bl_pkg\n"
            f"sys.exit(bl_pkg.cli_extension({args!r}) or 0)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    out = (done.stdout + done.stderr).strip()
    if done.returncode or "error" in out.lower():
        raise RuntimeError(f"blender extension {args[0]} failed:\n{out}")


def build(platform: str, out: Path, variant: str = "cpu", heavy: bool = False) -> Path:
    if variant == "gpu" and platform == "macos-arm64":
        raise ValueError("there is no CUDA on macOS: build the CPU variant for macos-arm64")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / "video_mocap"
        stage(staged, heavy)
        wheels = download_wheels(platform, variant, staged / "wheels")
        write_manifest(staged, platform, wheels, variant)
        before = set(out.glob("*.zip"))
        blender_extension(["build", "--source-dir", str(staged), "--output-dir", str(out)])
        made = sorted(set(out.glob("*.zip")) - before) or sorted(out.glob(f"*{platform.replace('-', '_')}*.zip"))
        if not made:
            raise RuntimeError(f"no zip was built for {platform}")
        zip_path = made[-1]
        final = out / f"video_mocap-{variant}-{platform}.zip"
        zip_path.replace(final)
        blender_extension(["validate", str(final)])
        if platform.startswith("macos"):
            print(f"{final.name}: macOS minimum per Python: {minimum_macos([w.name for w in wheels])}")
    return final


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--platform", nargs="+", default=list(PLATFORMS), choices=list(PLATFORMS))
    p.add_argument("--gpu", action="store_true", help="the CUDA variant (onnxruntime-gpu)")
    p.add_argument("--heavy", action="store_true", help="also ship the heavy landmark model (+55 MB; build it first)")
    p.add_argument("--out", default="dist")
    a = p.parse_args(argv)
    for platform in a.platform:
        print(build(platform, Path(a.out), "gpu" if a.gpu else "cpu", a.heavy))
    return 0


if __name__ == "__main__":
    sys.exit(main())
