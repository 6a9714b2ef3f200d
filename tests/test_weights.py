"""The model loader finds files by name, checks their hash and says what is wrong."""
import json

import pytest

from video_mocap.inference import weights as W


@pytest.fixture
def store(tmp_path):
    f = tmp_path / "lifter.onnx"
    f.write_bytes(b"model bytes")
    W.register("lifter", f, {"command": "python -m video_mocap.models export x.pt lifter.onnx"}, tmp_path)
    return tmp_path


def test_finds_a_good_file(store):
    assert W.weight_path("lifter", store) == store / "lifter.onnx"
    entry = json.loads((store / "manifest.json").read_text())["lifter"]
    assert entry["sha256"] == W.sha256(store / "lifter.onnx") and len(entry["sha256"]) == 64


def test_unknown_name(store):
    with pytest.raises(W.WeightsError, match="unknown model 'other'.*lifter"):
        W.weight_path("other", store)


def test_missing_file(store):
    (store / "lifter.onnx").unlink()
    with pytest.raises(W.WeightsError, match="missing.*models export"):
        W.weight_path("lifter", store)


def test_damaged_file(store):
    (store / "lifter.onnx").write_bytes(b"model bytez")
    with pytest.raises(W.WeightsError, match="damaged"):
        W.weight_path("lifter", store)


def test_no_manifest(tmp_path):
    with pytest.raises(W.WeightsError, match="no model manifest"):
        W.weight_path("lifter", tmp_path)



def test_shipped_weights_are_intact():
    """Every model the package ships matches its recorded hash and has a model card (a model built locally,
    not committed, only where it has been built)."""
    entries = W.manifest()
    assert {"single", "mpm"} <= set(entries)
    for name, entry in entries.items():
        if entry.get("built") and not (W.WEIGHTS_DIR / entry["file"]).is_file():
            assert (W.WEIGHTS_DIR / (name + ".md")).is_file(), f"{name} has no model card"
            continue
        path = W.weight_path(name)
        assert (path.parent / (path.stem + ".md")).is_file(), f"{name} has no model card"
