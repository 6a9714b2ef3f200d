"""onnxruntime sessions on the best available device, with the choice visible and forceable."""
from __future__ import annotations

from pathlib import Path

DEVICES = ("auto", "cpu", "gpu", "cuda")
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


# GPU providers, best first, and what the device menu calls them. CUDA comes with onnxruntime-gpu (Linux, Windows:
# needs CUDA and cuDNN installed); DirectML with onnxruntime-directml (Windows, any DirectX 12 GPU, nothing to
# install: the Windows zip ships it); CoreML with the standard macOS wheel (Apple GPU and Neural Engine).
ACCELERATORS = {"CUDAExecutionProvider": "CUDA", "DmlExecutionProvider": "DirectML", "CoreMLExecutionProvider": "CoreML"}


def accelerator(have: list[str] | None = None) -> str | None:
    """The best GPU provider this onnxruntime has, or None."""
    have = available_providers() if have is None else have
    return next((p for p in ACCELERATORS if p in have), None)


def providers_for(device: str = "auto") -> list[str]:
    """Execution providers for ``device``: 'auto' takes the best GPU provider when there is one, 'gpu' insists
    on one, 'cuda' on CUDA, 'cpu' never uses a GPU. The CPU provider is always the fallback."""
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    have = available_providers()
    if device == "cuda" and "CUDAExecutionProvider" not in have:
        raise RuntimeError("device 'cuda' asked for, but this onnxruntime has no CUDA provider "
                           f"(available: {', '.join(have)}); install onnxruntime-gpu or use device 'auto' or 'cpu'")
    if device == "gpu" and accelerator(have) is None:
        raise RuntimeError(f"device 'gpu' asked for, but this onnxruntime has no GPU provider (available: "
                           f"{', '.join(have)}); use device 'auto' or 'cpu'")
    best = "CUDAExecutionProvider" if device == "cuda" else accelerator(have) if device != "cpu" else None
    return [best, "CPUExecutionProvider"] if best else ["CPUExecutionProvider"]


def session(path: str | Path, device: str = "auto", threads: int = 0):
    """An InferenceSession for ``path``; ``session.get_providers()[0]`` says where it really runs. A GPU provider
    that fails to start (driver, unsupported graph) falls back to the CPU unless the device was insisted on."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads or _threads:
        opts.intra_op_num_threads = threads or _threads
        opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    providers = providers_for(device)
    try:
        return ort.InferenceSession(str(path), opts, providers=providers)
    except Exception:  # noqa: BLE001 - a GPU provider's own failure
        if len(providers) == 1 or device in ("cuda", "gpu"):
            raise
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def metadata(sess) -> dict[str, str]:
    return dict(sess.get_modelmeta().custom_metadata_map)
