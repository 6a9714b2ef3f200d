"""Convert MediaPipe's .tflite models (BlazePose full and heavy, hand landmarks, holistic hand re-crop) to ONNX
without TensorFlow.

Reads the flatbuffer with the ``tflite`` schema package, folds the constant DEQUANTIZE (fp16 -> fp32)
and DENSIFY (sparse -> dense) ops, and maps the rest (CONV_2D, DEPTHWISE_CONV_2D, ADD, PAD,
MAX_POOL_2D, RESIZE_BILINEAR, DEPTH_TO_SPACE, RESHAPE, CONCATENATION, LOGISTIC, PRELU, MEAN, FULLY_CONNECTED,
STRIDED_SLICE) onto ONNX ops. TFLite is NHWC; the graph interior is NCHW, with transposes only at the inputs,
before reshapes, flattening and NHWC-order slicing, and at 4-D outputs. Named interior tensors can be exposed as extra (NCHW) outputs: the landmark model's
backbone feature maps for the context-aware lifter.

    python -m video_mocap.models.tflite_onnx MODEL.tflite OUT.onnx [--expose TENSOR ...]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

NCHW, NHWC = [0, 3, 1, 2], [0, 2, 3, 1]
_DTYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 9: np.int8}


def _ops():
    from tflite.BuiltinOperator import BuiltinOperator

    return {v: k for k, v in BuiltinOperator.__dict__.items() if not k.startswith("_")}


def _options(op, cls_name: str):
    import importlib

    cls = getattr(importlib.import_module(f"tflite.{cls_name}"), cls_name)
    table = op.BuiltinOptions()
    opts = cls()
    opts.Init(table.Bytes, table.Pos)
    return opts


def _densify(t, data: np.ndarray) -> np.ndarray:
    """Dense values of a sparse tflite tensor (TACO-style CSR/dense dimension metadata)."""
    from tflite.DimensionType import DimensionType

    sp = t.Sparsity()
    order = list(sp.TraversalOrderAsNumpy())
    block_map = list(sp.BlockMapAsNumpy()) if sp.BlockMapLength() else []
    shape = list(t.ShapeAsNumpy())
    dims = []
    for i in range(sp.DimMetadataLength()):
        dm = sp.DimMetadata(i)
        if dm.Format() == DimensionType.DENSE:
            dims.append(("dense", dm.DenseSize(), None, None))
        else:
            seg_type, idx_type = dm.ArraySegmentsType(), dm.ArrayIndicesType()
            segs = _typed_vector(dm.ArraySegments(), seg_type)
            idxs = _typed_vector(dm.ArrayIndices(), idx_type)
            dims.append(("csr", None, segs, idxs))
    # Expanded (possibly blocked) dense shape in traversal order.
    blocked_shape = shape + [0] * len(block_map)
    if block_map:
        for k, b in enumerate(block_map):
            size = dims[len(shape) + k][1]
            blocked_shape[len(shape) + k] = size
            blocked_shape[b] = shape[b] // size
    out = np.zeros([blocked_shape[d] for d in range(len(blocked_shape))], data.dtype)
    counter = [0]

    def walk(level: int, index: list[int], prev: int):
        kind, size, segs, idxs = dims[level]
        if kind == "dense":
            coords = range(size)
            positions = [prev * size + c for c in coords]
        else:
            start, end = segs[prev], segs[prev + 1]
            coords = idxs[start:end]
            positions = range(start, end)
        for c, pos in zip(coords, positions):
            index[order[level]] = c
            if level + 1 == len(dims):
                out[tuple(index)] = data[counter[0]]
                counter[0] += 1
            else:
                walk(level + 1, index, pos)

    walk(0, [0] * len(dims), 0)
    if block_map:  # fold the block dimensions back into their original axes
        n = len(shape)
        perm = []
        for d in range(n):
            perm.append(d)
            if d in block_map:
                perm.append(n + block_map.index(d))
        out = out.transpose(perm).reshape(shape)
    return out


def _typed_vector(table, kind: int) -> np.ndarray:
    from tflite.Int32Vector import Int32Vector
    from tflite.Uint8Vector import Uint8Vector
    from tflite.Uint16Vector import Uint16Vector
    from tflite.SparseIndexVector import SparseIndexVector

    cls = {SparseIndexVector.Int32Vector: Int32Vector, SparseIndexVector.Uint16Vector: Uint16Vector,
           SparseIndexVector.Uint8Vector: Uint8Vector}[kind]
    v = cls()
    v.Init(table.Bytes, table.Pos)
    return v.ValuesAsNumpy()


def convert(src: str | Path, dst: str | Path, expose: tuple[str, ...] = (), name: str | None = None,
            half: bool = False) -> Path:
    """Convert the TFLite model ``src`` to ONNX ``dst``; ``expose`` names interior tensors to output too (NCHW).
    With ``half``, weights are stored as fp16 and cast to fp32 in the graph (half the file; onnxruntime folds
    the casts at load, so it computes in fp32 as before; exact for models whose TFLite weights are fp16)."""
    import tflite

    buf = Path(src).read_bytes()
    model = tflite.Model.GetRootAsModel(buf, 0)
    g = model.Subgraphs(0)
    opnames = _ops()
    tensors = [g.Tensors(i) for i in range(g.TensorsLength())]
    tname = [t.Name().decode() for t in tensors]
    consts: dict[int, np.ndarray] = {}
    for i, t in enumerate(tensors):
        b = model.Buffers(t.Buffer())
        if b is not None and b.DataLength() > 0:
            raw = b.DataAsNumpy().tobytes()
            arr = np.frombuffer(raw, _DTYPES[t.Type()])
            if t.Sparsity() is None:
                arr = arr.reshape(t.ShapeAsNumpy()) if t.ShapeLength() else arr
            consts[i] = arr
    nodes, inits = [], []
    layout: dict[int, str] = {}  # activation tensor -> "nchw" (4-D interior) or "plain"
    names: dict[int, str] = {}

    def const(arr: np.ndarray, hint: str) -> str:
        n = f"{hint}_{len(inits)}"
        arr = np.ascontiguousarray(arr)
        if half and arr.dtype == np.float32 and arr.size >= 256:
            inits.append(numpy_helper.from_array(arr.astype(np.float16), n + "_fp16"))
            nodes.append(helper.make_node("Cast", [n + "_fp16"], [n], to=TensorProto.FLOAT))
        else:
            inits.append(numpy_helper.from_array(arr, n))
        return n

    def act(name_in: str, fused: int, out: str) -> None:
        if fused == 0:
            nodes.append(helper.make_node("Identity", [name_in], [out]))
        elif fused == 1:
            nodes.append(helper.make_node("Relu", [name_in], [out]))
        elif fused == 3:
            nodes.append(helper.make_node("Clip", [name_in, const(np.float32(0), "lo"), const(np.float32(6), "hi")], [out]))
        else:
            raise ValueError(f"fused activation {fused} not supported")

    def pads(in_hw, k_hw, stride, dil, same: bool):
        if not same:
            return [0, 0, 0, 0]
        out = []
        for n_in, k, s, d in zip(in_hw, k_hw, stride, dil):
            eff = (k - 1) * d + 1
            total = max((-(-n_in // s) - 1) * s + eff - n_in, 0)
            out.append((total // 2, total - total // 2))
        return [out[0][0], out[1][0], out[0][1], out[1][1]]

    graph_inputs = []
    for k in range(g.InputsLength()):
        i = g.Inputs(k)
        shape = [int(v) for v in tensors[i].ShapeAsNumpy()]
        graph_inputs.append(helper.make_tensor_value_info(tname[i], TensorProto.FLOAT, shape))
        names[i] = f"{tname[i]}_nchw"
        nodes.append(helper.make_node("Transpose", [tname[i]], [names[i]], perm=NCHW))
        layout[i] = "nchw"

    for k in range(g.OperatorsLength()):
        op = g.Operators(k)
        code = model.OperatorCodes(op.OpcodeIndex())
        kind = opnames[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
        ins, outs = list(op.InputsAsNumpy()), list(op.OutputsAsNumpy())
        o = outs[0]
        oname = f"t{o}"
        if kind == "DENSIFY":
            consts[o] = _densify(tensors[ins[0]], consts[ins[0]])
            continue
        if kind == "DEQUANTIZE":
            consts[o] = consts[ins[0]].astype(np.float32).reshape(tensors[o].ShapeAsNumpy())
            continue
        x = names.get(ins[0])
        if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            w = consts[ins[1]].astype(np.float32)
            bias = consts[ins[2]].astype(np.float32) if len(ins) > 2 and ins[2] >= 0 else None
            in_shape = tensors[ins[0]].ShapeAsNumpy()
            if kind == "CONV_2D":
                opts = _options(op, "Conv2DOptions")
                weight, group = w.transpose(0, 3, 1, 2), 1
            else:
                opts = _options(op, "DepthwiseConv2DOptions")
                weight, group = w.transpose(3, 0, 1, 2), int(in_shape[3])
            stride = [opts.StrideH(), opts.StrideW()]
            dil = [opts.DilationHFactor(), opts.DilationWFactor()]
            p = pads(in_shape[1:3], weight.shape[2:], stride, dil, opts.Padding() == 0)
            args = [x, const(weight, "w")] + ([const(bias, "b")] if bias is not None else [])
            nodes.append(helper.make_node("Conv", args, [oname + "_pre"], strides=stride, dilations=dil, pads=p, group=group,
                                          kernel_shape=list(weight.shape[2:])))
            act(oname + "_pre", opts.FusedActivationFunction(), oname)
            layout[o] = "nchw"
        elif kind == "ADD":
            opts = _options(op, "AddOptions")
            args = []
            for i in ins:
                if i in consts:
                    c = consts[i].astype(np.float32)
                    args.append(const(c.transpose(NCHW) if c.ndim == 4 else (c.reshape(-1, 1, 1) if c.ndim == 1 and layout.get(ins[0]) == "nchw" else c), "c"))
                else:
                    args.append(names[i])
            nodes.append(helper.make_node("Add", args, [oname + "_pre"]))
            act(oname + "_pre", opts.FusedActivationFunction(), oname)
            layout[o] = layout.get(ins[0], layout.get(ins[1], "plain"))
        elif kind == "PAD":
            pd = consts[ins[1]].astype(np.int64)  # NHWC [[before, after], ...]
            order = NCHW if layout.get(ins[0]) == "nchw" else list(range(len(pd)))
            pd = pd[order]
            nodes.append(helper.make_node("Pad", [x, const(np.concatenate([pd[:, 0], pd[:, 1]]), "pads")], [oname]))
            layout[o] = layout.get(ins[0], "plain")
        elif kind == "MAX_POOL_2D":
            opts = _options(op, "Pool2DOptions")
            in_shape = tensors[ins[0]].ShapeAsNumpy()
            kk, stride = [opts.FilterHeight(), opts.FilterWidth()], [opts.StrideH(), opts.StrideW()]
            p = pads(in_shape[1:3], kk, stride, [1, 1], opts.Padding() == 0)
            nodes.append(helper.make_node("MaxPool", [x], [oname + "_pre"], kernel_shape=kk, strides=stride, pads=p))
            act(oname + "_pre", opts.FusedActivationFunction(), oname)
            layout[o] = "nchw"
        elif kind == "RESIZE_BILINEAR":
            opts = _options(op, "ResizeBilinearOptions")
            hw = consts[ins[1]].astype(np.int64)
            n, c = tensors[ins[0]].ShapeAsNumpy()[[0, 3]]
            mode = "align_corners" if opts.AlignCorners() else "half_pixel" if opts.HalfPixelCenters() else "asymmetric"
            nodes.append(helper.make_node("Resize", [x, "", "", const(np.array([n, c, hw[0], hw[1]], np.int64), "size")], [oname],
                                          mode="linear", coordinate_transformation_mode=mode))
            layout[o] = "nchw"
        elif kind == "DEPTH_TO_SPACE":
            opts = _options(op, "DepthToSpaceOptions")
            nodes.append(helper.make_node("DepthToSpace", [x], [oname], blocksize=opts.BlockSize(), mode="DCR"))
            layout[o] = "nchw"
        elif kind == "RESHAPE":
            src_name = x
            if layout.get(ins[0]) == "nchw":
                src_name = oname + "_nhwc"
                nodes.append(helper.make_node("Transpose", [x], [src_name], perm=NHWC))
            shape = np.array(tensors[o].ShapeAsNumpy(), np.int64)
            nodes.append(helper.make_node("Reshape", [src_name, const(shape, "shape")], [oname]))
            layout[o] = "plain"
        elif kind == "CONCATENATION":
            opts = _options(op, "ConcatenationOptions")
            axis = opts.Axis()
            if layout.get(ins[0]) == "nchw":
                axis = NCHW.index(axis % 4)
            nodes.append(helper.make_node("Concat", [names[i] for i in ins], [oname + "_pre"], axis=axis))
            act(oname + "_pre", opts.FusedActivationFunction(), oname)
            layout[o] = layout.get(ins[0], "plain")
        elif kind == "LOGISTIC":
            nodes.append(helper.make_node("Sigmoid", [x], [oname]))
            layout[o] = layout.get(ins[0], "plain")
        elif kind == "PRELU":
            alpha = consts[ins[1]].astype(np.float32)
            if layout.get(ins[0]) == "nchw":  # NHWC-broadcast slopes -> NCHW
                alpha = alpha.reshape((1,) * (3 - alpha.ndim) + alpha.shape).transpose(2, 0, 1)
            nodes.append(helper.make_node("PRelu", [x, const(alpha, "alpha")], [oname]))
            layout[o] = layout.get(ins[0], "plain")
        elif kind == "MEAN":
            opts = _options(op, "ReducerOptions")
            axes = [int(a) % 4 for a in np.atleast_1d(consts[ins[1]])]
            nchw = layout.get(ins[0]) == "nchw"
            keep = bool(opts.KeepDims())
            nodes.append(helper.make_node("ReduceMean", [x], [oname], axes=[NCHW.index(a) for a in axes] if nchw else axes,
                                          keepdims=int(keep)))
            layout[o] = "nchw" if nchw and keep else "plain"  # N, C stay in order when H, W go
        elif kind == "FULLY_CONNECTED":
            opts = _options(op, "FullyConnectedOptions")
            w = consts[ins[1]].astype(np.float32)  # (out, in)
            src_name = x
            if layout.get(ins[0]) == "nchw":  # TFLite flattens NHWC
                src_name = oname + "_nhwc"
                nodes.append(helper.make_node("Transpose", [x], [src_name], perm=NHWC))
            flat = oname + "_flat"
            nodes.append(helper.make_node("Reshape", [src_name, const(np.array([-1, w.shape[1]], np.int64), "shape")], [flat]))
            args = [flat, const(w, "w")] + ([const(consts[ins[2]].astype(np.float32), "b")] if len(ins) > 2 and ins[2] >= 0 else [])
            nodes.append(helper.make_node("Gemm", args, [oname + "_pre"], transB=1))
            act(oname + "_pre", opts.FusedActivationFunction(), oname)
            layout[o] = "plain"
        elif kind == "STRIDED_SLICE":
            opts = _options(op, "StridedSliceOptions")
            if opts.EllipsisMask() or opts.NewAxisMask():
                raise ValueError(f"{src}: STRIDED_SLICE with ellipsis or new axes is not supported")
            begin, end, step = (consts[i].astype(np.int64).copy() for i in ins[1:4])
            big = np.iinfo(np.int64).max
            for a in range(len(begin)):
                if opts.BeginMask() >> a & 1:
                    begin[a] = 0 if step[a] > 0 else big
                if opts.EndMask() >> a & 1:
                    end[a] = big if step[a] > 0 else -big
                if opts.ShrinkAxisMask() >> a & 1:
                    end[a], step[a] = begin[a] + 1, 1
            src_name, keep_nchw = x, layout.get(ins[0]) == "nchw" and not opts.ShrinkAxisMask()
            if keep_nchw:  # slice the NCHW tensor with the bounds moved to its axes
                begin, end, step = begin[NCHW], end[NCHW], step[NCHW]
            elif layout.get(ins[0]) == "nchw":  # slice in TFLite's own (NHWC) order
                src_name = oname + "_nhwc"
                nodes.append(helper.make_node("Transpose", [x], [src_name], perm=NHWC))
            sliced = oname + "_full" if opts.ShrinkAxisMask() else oname
            nodes.append(helper.make_node("Slice", [src_name, const(begin, "begin"), const(end, "end"),
                                                    const(np.arange(len(begin), dtype=np.int64), "axes"), const(step, "steps")], [sliced]))
            if opts.ShrinkAxisMask():
                shrink = [a for a in range(len(begin)) if opts.ShrinkAxisMask() >> a & 1]
                nodes.append(helper.make_node("Squeeze", [sliced, const(np.array(shrink, np.int64), "axes")], [oname]))
            layout[o] = "nchw" if keep_nchw else "plain"
        else:
            raise ValueError(f"{src}: operator {kind} is not supported by this converter")
        names[o] = oname

    outputs = []
    for k in range(g.OutputsLength()):
        i = g.Outputs(k)
        shape = [int(v) for v in tensors[i].ShapeAsNumpy()]
        if layout.get(i) == "nchw":
            nodes.append(helper.make_node("Transpose", [names[i]], [tname[i]], perm=NHWC))
        else:
            nodes.append(helper.make_node("Identity", [names[i]], [tname[i]]))
        outputs.append(helper.make_tensor_value_info(tname[i], TensorProto.FLOAT, shape))
    for feature in expose:
        i = tname.index(feature)
        out_name = feature.replace("/", "_")
        nodes.append(helper.make_node("Identity", [names[i]], [out_name]))
        s = [int(v) for v in tensors[i].ShapeAsNumpy()]
        outputs.append(helper.make_tensor_value_info(out_name, TensorProto.FLOAT, [s[0], s[3], s[1], s[2]]))
    graph = helper.make_graph(nodes, name or Path(src).stem, graph_inputs, outputs, inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="video_mocap.tflite_onnx")
    m.ir_version = 8
    onnx.checker.check_model(m)
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    onnx.save(m, str(dst))
    return Path(dst)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--expose", nargs="*", default=[])
    p.add_argument("--half", action="store_true", help="store the weights as fp16")
    a = p.parse_args(argv)
    print(convert(a.src, a.dst, tuple(a.expose), half=a.half))


if __name__ == "__main__":
    main()
