"""The zips' wheels against the OS versions they claim (build.py; no download)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import build  # noqa: E402


def test_the_macos_minimum_comes_from_the_newest_tag():
    wheels = ["onnxruntime-1.19.2-cp311-cp311-macosx_11_0_universal2.whl",
              "onnxruntime-1.22.1-cp313-cp313-macosx_13_0_universal2.whl",
              "opencv_python_headless-4.10.0.84-cp37-abi3-macosx_11_0_arm64.whl",
              "scipy-1.14.1-cp311-cp311-macosx_12_0_arm64.whl", "scipy-1.14.1-cp313-cp313-macosx_12_0_arm64.whl"]
    assert build.minimum_macos(wheels) == {"3.11": "12.0", "3.13": "13.0"}
    assert build.minimum_macos(wheels + ["onnxruntime-1.31.1-cp311-cp311-macosx_14_0_arm64.whl"])["3.11"] == "14.0"


def test_every_platform_has_an_onnxruntime_for_every_python():
    for variant, platforms in build.ONNXRUNTIME.items():
        for platform in platforms:
            for python in build.PYTHONS:
                assert build.onnxruntime_for(variant, platform, python).startswith("onnxruntime")
    assert "directml" in build.onnxruntime_for("cpu", "windows-x64", "3.11"), "Windows: DirectML, nothing to install"
    assert "macosx_14" not in " ".join(build.PLATFORMS["macos-arm64"]), "no wheel that needs macOS 14"
