"""Our tflite -> ONNX converter against the TFLite interpreter, and the shipped files against it."""
import shutil
from pathlib import Path

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


@pytest.mark.skipif(shutil.which("npm") is None, reason="the heavy model comes from the npm registry")
def test_heavy_model_builds_to_the_manifest_hash_and_captures(tmp_path):
    """The heavy landmark model (npm @mediapipe/pose): converted within the full model's tolerances of the
    TFLite interpreter, exactly the file the manifest's hash names, and usable by the capture."""
    from video_mocap.inference.pipeline import CaptureOptions, capture
    from video_mocap.inference.weights import manifest, sha256
    from video_mocap.models.assets import blazepose_heavy_tflite
    from video_mocap.models.card import ship_heavy

    src = blazepose_heavy_tflite()
    for out, diff in parity(src, convert(src, tmp_path / "heavy.onnx")).items():
        assert diff < TOLERANCE["landmark_full"][out], (out, diff)
    expected = manifest()["blazepose_landmark_heavy"]["sha256"]
    assert sha256(ship_heavy()) == expected, "the build is deterministic"
    assert manifest()["blazepose_landmark_heavy"]["sha256"] == expected
    clip = Path(__file__).parent / "data" / "cross_behind.mp4"
    result = capture(clip, CaptureOptions(lifter="single", device="cpu", detector="heavy", stop=10))
    assert len(result.motion) == 10 and result.motion.meta["options"]["detector"] == "heavy"
    with pytest.raises(ValueError, match="full landmark model's feature maps"):
        capture(clip, CaptureOptions(lifter="context", device="cpu", detector="heavy", stop=3))


@pytest.mark.parametrize("relpath, tolerance", [
    ("hand_landmark/hand_landmark_full.tflite", {"Identity": 2e-3, "Identity_1": 1e-5, "Identity_2": 1e-4, "Identity_3": 1e-5}),
    ("holistic_landmark/hand_recrop.tflite", {"output_crop": 1e-3}),
])
def test_hand_models_convert(relpath, tolerance, tmp_path):
    """MediaPipe's hand landmark and holistic hand re-crop models (MEAN, FULLY_CONNECTED, PRELU, STRIDED_SLICE):
    within 1e-5 of the crop size of the TFLite interpreter (hand landmarks in 224-px crop pixels), also with the
    weights stored as fp16 where the TFLite file's are; the shipped files are exactly what the converter makes."""
    from video_mocap.inference.weights import manifest, sha256
    from video_mocap.models.assets import mediapipe_tflite
    from video_mocap.models.card import HAND_MODELS

    src = mediapipe_tflite(relpath)
    name = next(n for n, (path, _) in HAND_MODELS.items() if path == relpath)
    for half in {False, HAND_MODELS[name][1]}:
        dst = convert(src, tmp_path / f"hand{half}.onnx", half=half)
        for seed in (0, 1):
            for out, diff in parity(src, dst, seed).items():
                assert diff < tolerance[out], (relpath, half, out, diff)
    shipped = convert(src, tmp_path / f"{name}.onnx", half=HAND_MODELS[name][1])
    assert sha256(shipped) == manifest()[name]["sha256"] == sha256(weight_path(name))
