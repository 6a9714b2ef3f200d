"""Checkpoint -> ONNX with fixed input/output names and dynamic batch, checked against torch.

| kind | inputs | outputs |
|---|---|---|
| single, mlp | keypoints (B, 17, 3) | pose3d (B, 17, 3) |
| tcn | keypoints (B, L, 17, 3), L >= 27 | pose3d (B, L - 26, 17, 3) |
| mpm | keypoints (B, 27, 17, 3), pose3d_in (B, 27, 17, 3), known3d (B, 27, 17), mode (B,) | pose3d (B, 27, 17, 3), keypoints2d (B, 27, 17, 2) |
| context | keypoints (B, 17, 3), crop (B, 17, 2) in [0, 1], level0..level3 (B, C, S, S) | pose3d (B, 17, 3) |

keypoints are :func:`video_mocap.inference.normalize.normalize_keypoints` output; pose3d is
pelvis-relative, camera axes (x right, y down, z forward), metres. The window of mpm is fixed (27).
The ONNX metadata carries ``kind`` and ``window`` so the runtime knows what it loaded.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch

from .train import load_checkpoint

J = 17


def example_inputs(kind: str, batch: int = 2, window: int = 27, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    if kind in ("single", "mlp"):
        return {"keypoints": torch.randn(batch, J, 3, generator=g)}
    if kind == "tcn":
        return {"keypoints": torch.randn(batch, window + 4, J, 3, generator=g)}
    if kind == "context":
        from .nets import LEVELS

        maps = {f"level{i}": torch.randn(batch, c, s, s, generator=g) for i, (c, s) in enumerate(LEVELS)}
        return {"keypoints": torch.randn(batch, J, 3, generator=g), "crop": torch.rand(batch, J, 2, generator=g), **maps}
    if kind == "fusion":  # whole clips of any length: the normalised 2D and the two lifts
        frames = window if window > 1 else 40
        return {k: torch.randn(batch, frames, J, 3, generator=g) * 0.3 for k in ("keypoints", "single", "mpm")}
    return {
        "keypoints": torch.randn(batch, window, J, 3, generator=g),
        "pose3d_in": torch.randn(batch, window, J, 3, generator=g) * 0.3,
        "known3d": (torch.rand(batch, window, J, generator=g) > 0.3).float(),
        "mode": torch.tensor([0.0, 1.0] * (batch // 2) + [0.0] * (batch % 2)),
    }


def export(checkpoint: str | Path, out: str | Path, tolerance: float = 1e-4) -> Path:
    """Export and verify: onnxruntime must match torch to ``tolerance`` (metres) on random inputs."""
    net, state = load_checkpoint(checkpoint)
    kind = state["config"]["model"]
    window = getattr(net, "window", 1)
    inputs = example_inputs(kind, window=window)
    outputs = ["pose3d", "keypoints2d"] if kind == "mpm" else ["pose3d"]
    dyn = {name: {0: "batch"} for name in list(inputs) + outputs}
    if kind == "tcn":
        dyn["keypoints"][1] = "frames"
        dyn["pose3d"][1] = "poses"
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(net, tuple(inputs.values()), str(out), input_names=list(inputs), output_names=outputs,
                      dynamic_axes=dyn, opset_version=17, dynamo=False)
    model = onnx.load(str(out))
    for key, value in {"kind": kind, "window": str(window), "skeleton": "h36m17",
                       "best_val_mpjpe_mm": f"{state.get('best_val_mm', float('nan')):.2f}"}.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(out))
    verify(net, out, check_inputs(kind, net), tolerance, outputs)
    return out


def check_inputs(kind: str, net: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The random inputs a lifter of ``kind`` is checked on after export or import (not those it was traced with)."""
    return example_inputs(kind, batch=3, window=getattr(net, "window", 1), seed=1)


def differences(net: torch.nn.Module, onnx_path: str | Path, inputs: dict[str, torch.Tensor]) -> list[float]:
    """Largest difference per output between ``net`` and the ONNX file run by onnxruntime, on ``inputs`` (named
    as the file's inputs, in ``net``'s argument order)."""
    import onnxruntime as ort

    with torch.no_grad():
        ref = net(*inputs.values())
    ref = ref if isinstance(ref, tuple) else (ref,)
    got = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]).run(None, {k: v.numpy() for k, v in inputs.items()})
    return [float(np.abs(r.numpy() - g).max()) for r, g in zip(ref, got)]


def verify(net: torch.nn.Module, onnx_path: str | Path, inputs: dict[str, torch.Tensor], tolerance: float,
           outputs: list[str] | None = None) -> None:
    """Raise when onnxruntime's run of ``onnx_path`` differs from ``net`` by more than ``tolerance`` on any output."""
    for i, err in enumerate(differences(net, onnx_path, inputs)):
        if err > tolerance:
            name = f" on {outputs[i]}" if outputs else ""
            raise RuntimeError(f"{onnx_path}: onnxruntime differs from torch by {err:.2e}{name}")


def store_half(onnx_path: str | Path) -> Path:
    """Keep the file's float weights as float16, each turned back to float32 by a Cast that onnxruntime folds when
    it loads the file: half the size, float32 arithmetic, the weights rounded to float16's 3 digits."""
    model = onnx.load(str(onnx_path))
    graph, casts = model.graph, []
    for init in list(graph.initializer):
        if init.data_type != onnx.TensorProto.FLOAT or int(np.prod(init.dims)) < 16:
            continue
        half = onnx.numpy_helper.from_array(onnx.numpy_helper.to_array(init).astype(np.float16), init.name + "_half")
        graph.initializer.remove(init)
        graph.initializer.append(half)
        casts.append(onnx.helper.make_node("Cast", [half.name], [init.name], to=onnx.TensorProto.FLOAT))
    nodes = casts + list(graph.node)  # the casts first, before every node that reads them
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(onnx_path))
    return Path(onnx_path)


def _module_path(node_name: str) -> str:
    """The module a node belongs to, from the exporter's node name ('/dec2d/dec2d.0/layers.0/linear1/MatMul'
    -> 'dec2d.0.layers.0.linear1')."""
    path: list[str] = []
    for part in node_name.strip("/").split("/")[:-1]:
        if path and part.startswith(path[-1] + "."):
            path[-1] = part
        else:
            path.append(part)
    return ".".join(path)


def import_onnx(path: str | Path, kind: str, arch: dict | None = None, tolerance: float = 1e-4) -> dict:
    """The weights of an exported lifter read back into torch (the inverse of :func:`export`), so training can
    continue from a shipped ONNX file (float16-stored too): named initialisers by name, the rest through the node
    that uses them (Linear weights sit transposed in MatMul nodes; equal tensors the exporter merged are found there). Checked
    like the export: onnxruntime and the rebuilt network must agree to ``tolerance`` on random inputs.
    Returns ``{name: tensor}`` for ``build(kind, **arch).load_state_dict``."""
    from onnx import numpy_helper

    from .nets import build

    model = onnx.load(str(path))
    values = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    values.update({n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in model.graph.node if n.op_type == "Constant"})
    # weights stored as float16 (store_half) reach the network through a Cast to float32: read them as that
    values.update({n.output[0]: values[n.input[0]].astype(np.float32) for n in model.graph.node
                   if n.op_type == "Cast" and n.input[0] in values})
    net = build(kind, **(arch or {}))
    state = net.state_dict()
    found = {k: values[k] for k in state if k in values and values[k].shape == tuple(state[k].shape)}
    for node in model.graph.node:
        module = _module_path(node.name)
        attention = module.endswith("self_attn")
        for i, name in enumerate(node.input):
            if name not in values or name in state:
                continue
            value = values[name]
            if node.op_type == "MatMul":
                key, value = module + (".in_proj_weight" if attention else ".weight"), value.T
            elif node.op_type == "LayerNormalization":
                key = module + (".weight" if i == 1 else ".bias")
            elif node.op_type == "Add":
                key = module + (".in_proj_bias" if attention else ".bias")
            else:
                continue
            if key in state and key not in found and tuple(state[key].shape) == value.shape:
                found[key] = value
    weights = {k: torch.from_numpy(np.array(found[k], np.float32)) if k in found else v for k, v in state.items()}
    net.load_state_dict(weights)
    net.eval()
    err = max(differences(net, path, check_inputs(kind, net)))
    if err > tolerance:
        raise ValueError(f"{path}: cannot read a {kind} network with arch {arch or {}} back from it "
                         f"(rebuilt differs from onnxruntime by {err:.2e})")
    return weights
