"""onnxruntime sessions on the best available device, with the choice visible and forceable."""
from __future__ import annotations

from pathlib import Path

DEVICES = ("auto", "cpu", "cuda")
# onnxruntime threads per session when a caller does not say. One: our networks run one frame at a time, and
# measured on 400 frames of 720p on 2 cores, one thread each is faster than onnxruntime's default (all cores:
# 12.9 -> 10.8 s wall) at half the CPU (25.5 -> 14.1 s), the other core decoding and solving meanwhile.
_threads = 1


def set_threads(n: int) -> None:
    """Threads for every session made from now on in this process (0: onnxruntime's default, all cores)."""
    global _threads
    _threads = max(0, int(n))


def available_providers() -> list[str]:
    import onnxruntime as ort

    return ort.get_available_providers()


def providers_for(device: str = "auto") -> list[str]:
    """Execution providers for ``device``: 'cuda' insists on CUDA, 'auto' takes it when present."""
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    have = available_providers()
    if device == "cuda" and "CUDAExecutionProvider" not in have:
        raise RuntimeError("device 'cuda' asked for, but this onnxruntime has no CUDA provider "
                           f"(available: {', '.join(have)}); install onnxruntime-gpu or use device 'cpu'")
    if device != "cpu" and "CUDAExecutionProvider" in have:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def session(path: str | Path, device: str = "auto", threads: int = 0):
    """An InferenceSession for ``path``; ``session.get_providers()[0]`` says where it really runs."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads or _threads:
        opts.intra_op_num_threads = threads or _threads
        opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=providers_for(device))


def metadata(sess) -> dict[str, str]:
    return dict(sess.get_modelmeta().custom_metadata_map)
