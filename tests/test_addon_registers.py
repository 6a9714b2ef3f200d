"""The package registers in headless Blender (bpy wheel) and its preferences report the runtime."""
import pytest

bpy = pytest.importorskip("bpy")
pytestmark = pytest.mark.bpy


def test_register_unregister_cycle():
    import video_mocap
    from video_mocap.addon import preferences

    video_mocap.register()
    try:
        assert preferences.VideoMocapPreferences.is_registered
        assert preferences.VideoMocapPreferences.bl_idname == "video_mocap"
        status = preferences.runtime_status()
        assert status["numpy"] and status["cv2"] and status["onnxruntime"]
    finally:
        video_mocap.unregister()
    assert not preferences.VideoMocapPreferences.is_registered


def test_manifest_has_required_keys():
    import tomllib
    from pathlib import Path

    import video_mocap

    manifest = tomllib.loads((Path(video_mocap.__file__).parent / "blender_manifest.toml").read_text())
    for key in ("schema_version", "id", "version", "name", "tagline", "maintainer", "type", "blender_version_min", "license"):
        assert key in manifest, key
    assert manifest["id"] == "video_mocap" and manifest["blender_version_min"] == "4.2.0"
    assert len(manifest["tagline"]) <= 64 and "files" in manifest["permissions"]
