"""Our tflite -> ONNX converter against the TFLite interpreter, and the shipped files against it."""
import numpy as np
import onnxruntime as ort
import pytest

pytest.importorskip("tflite")
pytest.importorskip("ai_edge_litert")

from video_mocap.inference.weights import weight_path  # noqa: E402
from video_mocap.models.assets import blazepose_tflite  # noqa: E402
from video_mocap.models.card import FEATURES, parity  # noqa: E402
from video_mocap.models.tflite_onnx import convert  # noqa: E402

# Per output, against its scale: detector boxes (~140 px) and score logits (~300); landmarks in crop
# pixels (~200), presence, segmentation logits (~1400), heatmap logits (~80), world landmarks (m).
TOLERANCE = {"detector": {"Identity": 0.01, "Identity_1": 0.01},
             "landmark_full": {"Identity": 0.02, "Identity_1": 1e-4, "Identity_2": 1.0, "Identity_3": 2e-3, "Identity_4": 1e-4}}


@pytest.mark.parametrize("name, expose", [("detector", ()), ("landmark_full", FEATURES)])
def test_conversion_matches_tflite(name, expose, tmp_path):
    src = blazepose_tflite(name)
    dst = convert(src, tmp_path / f"{name}.onnx", expose)
    for seed in (0, 1):
        for out, diff in parity(src, dst, seed).items():
            assert diff < TOLERANCE[name][out], (name, out, diff)
    # The shipped file is exactly what the converter makes.
    shipped = ort.InferenceSession(str(weight_path(f"blazepose_{name}")), providers=["CPUExecutionProvider"])
    fresh = ort.InferenceSession(str(dst), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(3).uniform(0, 1, shipped.get_inputs()[0].shape).astype(np.float32)
    for a, b in zip(shipped.run(None, {"input_1": x}), fresh.run(None, {"input_1": x})):
        np.testing.assert_array_equal(a, b)


def test_feature_maps_are_exposed():
    sess = ort.InferenceSession(str(weight_path("blazepose_landmark_full")), providers=["CPUExecutionProvider"])
    shapes = {o.name: o.shape for o in sess.get_outputs()}
    assert shapes["model_1_model_add_11_add"] == [1, 48, 64, 64]
    assert shapes["model_1_model_add_10_add"] == [1, 48, 32, 32]
    assert shapes["model_1_model_add_9_add"] == [1, 48, 16, 16]
    assert shapes["model_1_model_add_8_add"] == [1, 144, 8, 8]
