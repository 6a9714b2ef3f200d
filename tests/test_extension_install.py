"""Build the linux zip, install it into headless Blender with the extension installer, enable it and
capture a clip onto a Rigify rig and a Mixamo-named rig (in a fresh Blender process)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("bpy")
pytestmark = pytest.mark.bpy

from footage import write_clip  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def built_zip(tmp_path_factory):
    sys.path.insert(0, str(ROOT))
    import build

    return build.build("linux-x64", tmp_path_factory.mktemp("dist"))


def test_zip_contents(built_zip):
    import zipfile

    names = zipfile.ZipFile(built_zip).namelist()
    assert "blender_manifest.toml" in names and "models/weights/mpm.onnx" in names
    assert any(n.startswith("wheels/onnxruntime-") and "cp311" in n for n in names)
    assert any(n.startswith("wheels/opencv_python_headless-") for n in names)
    assert not [n for n in names if n.startswith(("tests/", "docs/", "benchmarks/")) or n in ("build.py", "models/train.py")]


def test_install_enable_and_capture(built_zip, tmp_path):
    from video_mocap.models.assets import load_rig

    rig = load_rig("mixamo")
    bones = {n: {"head": rig.heads[i].tolist(), "tail": rig.tails[i].tolist(), "parent": rig.names[rig.parents[i]] if rig.parents[i] >= 0 else None}
             for i, n in enumerate(rig.names)}
    rig_json = tmp_path / "mixamo.json"
    rig_json.write_text(json.dumps(bones))
    clip = write_clip(tmp_path / "kick.mp4", frames=20)
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "blender"), XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    done = subprocess.run([sys.executable, str(ROOT / "tests/scripts/install_and_capture.py"), str(built_zip), str(clip),
                           str(rig_json)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900)
    lines = [l for l in done.stdout.splitlines() if l.startswith("RESULT ")]
    assert done.returncode == 0 and len(lines) == 2, done.stdout[-3000:] + done.stderr[-3000:]
    assert "extensions/user_default/video_mocap/__init__.py" in lines[0], "installed as an extension, not the dev package"
    result = json.loads(lines[1][len("RESULT "):])
    for name, r in result.items():
        assert r["ret"] == ["FINISHED"] and r["action"].startswith("kick"), (name, r)
        assert all(v > 0.03 for v in r["moved"].values()), (name, r["moved"])
    assert result["rig"]["detected"].startswith("rigify") and result["Mixamo"]["detected"].startswith("mixamo")
