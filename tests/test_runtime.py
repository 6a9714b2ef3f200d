"""Which onnxruntime provider runs: the best GPU provider when there is one, the CPU as the fallback."""
import pytest

from video_mocap.inference import runtime


@pytest.mark.parametrize("have, device, want", [
    (["CPUExecutionProvider"], "auto", ["CPUExecutionProvider"]),
    (["DmlExecutionProvider", "CPUExecutionProvider"], "auto", ["DmlExecutionProvider", "CPUExecutionProvider"]),
    (["CoreMLExecutionProvider", "CPUExecutionProvider"], "gpu", ["CoreMLExecutionProvider", "CPUExecutionProvider"]),
    (["DmlExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"], "auto",
     ["CUDAExecutionProvider", "CPUExecutionProvider"]),
    (["DmlExecutionProvider", "CPUExecutionProvider"], "cpu", ["CPUExecutionProvider"]),
])
def test_providers_for_each_device(monkeypatch, have, device, want):
    monkeypatch.setattr(runtime, "available_providers", lambda: have)
    assert runtime.providers_for(device) == want


def test_insisting_on_a_missing_gpu_says_what_there_is(monkeypatch):
    monkeypatch.setattr(runtime, "available_providers", lambda: ["CPUExecutionProvider"])
    with pytest.raises(RuntimeError, match="no GPU provider .available: CPUExecutionProvider"):
        runtime.providers_for("gpu")
    with pytest.raises(RuntimeError, match="no CUDA provider"):
        runtime.providers_for("cuda")
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        runtime.providers_for("tpu")


def test_a_gpu_provider_that_fails_falls_back_to_the_cpu(monkeypatch):
    import onnxruntime as ort

    from video_mocap.inference.weights import weight_path

    real = ort.InferenceSession

    def fake(path, opts, providers):
        if providers[0] != "CPUExecutionProvider":
            raise RuntimeError("D3D12 device lost")
        return real(path, opts, providers=providers)

    monkeypatch.setattr(runtime, "available_providers", lambda: ["DmlExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(ort, "InferenceSession", fake)
    sess = runtime.session(weight_path("single"), "auto")
    assert sess.get_providers()[0] == "CPUExecutionProvider"
    with pytest.raises(RuntimeError, match="device lost"):
        runtime.session(weight_path("single"), "gpu")
