"""Ship a trained lifter: export it into ``models/weights/``, score it on the held-out subjects,
record its hash in the manifest and write its model card (NAME.md) from what was measured."""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import torch

from ..inference.weights import WEIGHTS_DIR, manifest, register
from . import data as D
from .evaluate import evaluate
from .export import export, store_half
from .train import Config

PAPER = {
    "single": "PoseFormer-family single-frame lifters report about 50-55 mm P1 on Human3.6M with CPN 2D "
              "(in-studio, same cameras in training and test, 2D from a detector trained on that studio).",
    "mpm": "MPM reports 46.7 mm P1 (27 frames, CPN 2D) and 42.3 mm (243 frames) on Human3.6M, with pre-training "
           "on Human3.6M + AMASS-scale 3D data (13-18 M samples) on 4 GPUs.",
    "mlp": "Martinez et al. report 62.9 mm P1 / 47.7 mm P2 on Human3.6M (detected 2D).",
    "tcn": "VideoPose3D reports 48.8 mm P1 with 27 frames on Human3.6M (CPN 2D).",
}
DESCRIPTION = {
    "single": "Single-frame, context-agnostic lifter: joint tokens (2D + confidence + learned joint embedding) "
              "through a 4-layer spatial transformer (d=128); 2D + confidence in, pelvis-relative 3D out.",
    "mpm": "MPM (masked pose modelling), 27-frame window: light 2D and 3D encoders into a shared 256-d space, a shared "
           "spatial MLP and 4-layer temporal transformer, a 1-block 2D decoder and a 2-block 3D decoder. Stage I: "
           "masked 2D and masked 3D modelling (5 of 17 joints in 60% of frames); stage II: lifting (sequence + middle "
           "frame losses) through detector drops and limb occlusions, and 3D completion with limb tube masks.",
    "mlp": "Baseline: Martinez et al. residual MLP (2 blocks of 1024).",
    "tcn": "Baseline: VideoPose3D-style dilated temporal convolution, 27-frame receptive field.",
}


def _fmt(plain: dict, flipped: dict) -> str:
    """The metrics table: the network alone, and mirror-averaged as the capture runs it."""
    rows = [("P1 MPJPE (mm)", "mpjpe"), ("P2 PA-MPJPE (mm)", "pa_mpjpe"), ("N-MPJPE (mm)", "n_mpjpe"),
            ("PCK@150 mm (%)", "pck150"), ("AUC 0-150 mm (%)", "auc"), ("MPJVE (mm/frame, 50 fps)", "mpjve"),
            ("acceleration error (mm/frame^2)", "accel"), ("both legs hidden in 2D, legs (mm)", "legs_hidden_2d_mpjpe"),
            ("3D completion, one limb hidden, that limb (mm)", "limb_completion_3d_mpjpe")]
    return "| metric (test subjects) | network alone | mirror-averaged (as the capture runs it) |\n|---|---|---|\n" + "\n".join(
        f"| {label} | {plain[key]:.1f} | {flipped[key]:.1f} |" for label, key in rows if key in plain)


def _tiers_text(cfg: dict) -> str:
    """The training tiers, said: the original skeletons, and retargeted characters (at people's size) if any."""
    tiers = tuple(cfg["tiers"]) if cfg["tiers"] else tuple(range(7))
    text = f"{tiers} ("
    text += "original CMU skeletons" if max(tiers) <= 2 else "original CMU skeletons and characters retargeted from them"
    return text + (", each retargeted clip scaled to the training subjects' mean size)" if cfg.get("actor_size") else ")")


def ship(checkpoint: str | Path, name: str, data: str, train_command: str, directory: Path = WEIGHTS_DIR,
         trained_on: str = "a 2-core CPU", note: str = "") -> Path:
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    cfg, hist = state["config"], state["history"]
    kind = cfg["model"]
    onnx_path = export(checkpoint, directory / f"{name}.onnx")
    # held-out figures on the original skeletons (D.DEFAULT_TIERS) whatever tiers it trained on, as `evaluate` reports them
    result = evaluate(onnx_path, data, "test", D.DEFAULT_TIERS, 2024)
    plain = evaluate(onnx_path, data, "test", D.DEFAULT_TIERS, 2024, flip=False)
    for row in result["per_clip"]:
        row.pop("subject", None)
    (directory / f"{name}.eval.json").write_text(json.dumps(result, indent=2))
    entry = register(name, onnx_path, {
        "kind": kind, "window": 27 if kind in ("mpm", "tcn") else 1,
        "command": train_command, "licence": "CMU mocap: free for all uses", "test_mpjpe_mm": round(result["overall"]["mpjpe"], 1),
    }, directory)
    minutes = hist[-1]["minutes"] if hist else float("nan")
    log = "\n".join(f"| {h['epoch']} | {h['step']} | {h['loss'] * 1000:.1f} | {h['val_mpjpe_mm']:.1f} |" for h in hist)
    description = DESCRIPTION[kind]
    if kind == "mpm" and not cfg.get("stage1", 0.3):
        description = description.split(" Stage I:")[0] + (" No stage I (masked pre-training) in this run; training is "
                                                            "stage II alone: lifting (sequence + middle frame losses) through "
                                                            "detector drops and limb occlusions, and 3D completion with limb tube masks.")
    augment = "".join(f", {k} {cfg[k]}" for k in ("tumble", "lean", "mix") if cfg.get(k))
    completion = (cfg.get("completion", Config.completion), cfg.get("whole_limb", Config.whole_limb))
    if kind == "mpm" and completion != (Config.completion, Config.whole_limb):
        augment += (f", {completion[0]:g} of the steps on 3D completion, {completion[1]:g} of those with the limb "
                    "hidden over the whole window")
    if cfg.get("proportions", Config.proportions) != Config.proportions:
        augment += f", proportions {cfg['proportions']}"
    init = (f"\n  Continued from the weights of `{Path(cfg['init']).name}` (an earlier run, see the note below) on a "
            f"new schedule.") if cfg.get("init") else ""
    card = f"""# {name}.onnx: model card

{description}

- **File**: `models/weights/{name}.onnx`, sha256 `{entry['sha256']}`, {onnx_path.stat().st_size / 1e6:.1f} MB,
  ONNX opset 17, metadata `kind={kind}`. Inputs/outputs: see `models/export.py`.
- **Data and licence**: `cmu_positions.npz` only (CMU Graphics Lab Motion Capture Database: free for all uses,
  may ship in commercial products; "The data used in this project was obtained from mocap.cs.cmu.edu. The
  database was created with funding from NSF EIA-0196217."). No Bandai-Namco (CC BY-NC) data.
  Fidelity tiers {_tiers_text(cfg)} (see models/README.md); held-out figures on the original skeletons (0-2).
- **Splits (by subject)**: test subjects {', '.join(D.HELD_OUT['test'])},
  validation subjects {', '.join(D.HELD_OUT['val'])}; all other subjects train.
- **2D inputs**: virtual perspective cameras (azimuth all round, elevation -10..40 deg, 2.5-8 m, focal
  0.6-2x width, 16:9, 9:16, 4:3 and square frames, roll ~3 deg), detector-like noise (size-scaled, AR(1)-correlated
  drift, sticky outliers, hip/keypoint offsets, dropped joints with confidence 0); normalised by the
  person's box around the hips (`inference/normalize.py`).
- **Training**: `{train_command}` ({cfg['steps']} steps, batch {cfg['batch']} frames, AdamW lr {cfg['lr']},
  cosine schedule, seed {cfg['seed']}{augment}); {minutes:.0f} min on {trained_on}. Best validation epoch kept.{init}
- **Evaluation**: `python -m video_mocap.models evaluate models/weights/{name}.onnx` (held-out test subjects, one fixed
  camera per clip, camera/noise seed 2024, {result['frames']} frames at 50 fps; full per-clip table in
  `{name}.eval.json`).

{_fmt(plain['overall'], result['overall'])}

**Paper numbers, for context**: {PAPER[kind]} Our setting differs: a 0.5-hour mocap set instead of
Human3.6M's 3.6 M frames, unseen subjects *and* unseen random cameras (Human3.6M tests on its training
cameras), synthetic detector noise instead of a detector trained in the test studio, and training
for minutes instead of GPU days. The numbers are not directly comparable.
{chr(10) + note + chr(10) if note else ""}
Training log (loss = mean training loss in mm-equivalent; val = middle-frame MPJPE on the validation subjects):

| epoch | step | loss | val MPJPE (mm) |
|---|---|---|---|
{log}

Generated {time.strftime('%Y-%m-%d')} by `python -m video_mocap.models ship`.
"""
    (directory / f"{name}.md").write_text(card)
    return directory / f"{name}.md"


def ship_half(name: str, data: str, directory: Path = WEIGHTS_DIR, limit_mm: float = 0.1) -> Path:
    """Keep a shipped lifter's weights as float16 (:func:`export.store_half`: half the file, float32 arithmetic). Its
    held-out MPJPE and PA-MPJPE must move less than ``limit_mm`` (else the file is put back and this raises); the
    manifest's hash and the card's file line follow, and the card says so."""
    path, card = directory / f"{name}.onnx", directory / f"{name}.md"
    entry, kept = manifest(directory)[name], path.read_bytes()
    before = evaluate(path, data)["overall"]
    store_half(path)
    after = evaluate(path, data)["overall"]
    moved = max(abs(after[k] - before[k]) for k in ("mpjpe", "pa_mpjpe"))
    if moved > limit_mm:
        path.write_bytes(kept)
        raise RuntimeError(f"{name}: float16 weights move the held-out figures {moved:.3f} mm (limit {limit_mm}); kept float32")
    new = register(name, path, {k: v for k, v in entry.items() if k not in ("file", "sha256")}, directory)
    size = f"{path.stat().st_size / 1e6:.1f} MB"
    text = re.sub(r"(sha256 `)" + entry["sha256"] + r"(`, )[0-9.]+ MB", rf"\g<1>{new['sha256']}\g<2>{size}", card.read_text(), count=1)
    text += (f"\n**Weights stored as float16** ({time.strftime('%Y-%m-%d')}, `python -m video_mocap.models half {name}`): "
             f"{len(kept) / 1e6:.1f} -> {size}, cast to float32 when onnxruntime loads the file; held-out P1 / P2 "
             f"{before['mpjpe']:.3f} / {before['pa_mpjpe']:.3f} -> {after['mpjpe']:.3f} / {after['pa_mpjpe']:.3f} mm (the "
             f"float32 file's sha256 was `{entry['sha256'][:8]}...`).\n")
    card.write_text(text)
    return path


def ship_context(checkpoint: str | Path, train_command: str, benchmark: str | Path | None = None, ablation: str = "",
                 note: str = "", directory: Path = WEIGHTS_DIR) -> Path:
    """Ship the context-aware lifter: export, hash, card (validation on rendered images; the same-frames
    ablation table ``ablation`` (markdown) if given; the rendered benchmark's table when ``benchmark`` (its
    results.json) is given; a free ``note`` on the data)."""
    from .synth.benchmark import summary

    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    cfg, hist = state["config"], state["history"]
    onnx_path = export(checkpoint, directory / "context.onnx")
    entry = register("context", onnx_path, {
        "kind": "context", "window": 1, "command": train_command,
        "licence": "CMU mocap poses (free for all uses) on CC0 MakeHuman characters; BlazePose features (Apache-2.0)",
        "val_mpjpe_mm": round(state["best_val_mm"], 1)}, directory)
    table = ""
    if benchmark:
        rows = summary(json.loads(Path(benchmark).read_text()))
        table = ("\n**Rendered benchmark** (`python -m video_mocap.models.synth.benchmark`: 12 held-out clips, "
                 "see the README):\n\n| method | PA-MPJPE 12 joints | accel 12 joints | MPJPE 17 | PA-MPJPE 17 |\n|---|---|---|---|---|\n"
                 + "\n".join(f"| {m} | {r['pa_common']:.1f} | {r['accel_common']:.2f} | "
                             + " | ".join(f"{r[k]:.1f}" if k in r else "-" for k in ("mpjpe", "pa_mpjpe")) + " |"
                             for m, r in rows.items()) + "\n")
    log = "\n".join(f"| {h['step']} | {h['loss_mm']:.1f} | {h['val_mpjpe_mm']:.1f} |" for h in hist)
    card = f"""# context.onnx: model card

Context-aware single-frame lifter (Context-Aware PoseFormer, Zhao et al. 2023): the shipped single-frame lifter
(`single.onnx`'s network, frozen) refined by the BlazePose landmark model's backbone features. Each joint token
samples the four feature levels (strides 4-32 of the 256-px crop) bilinearly at the joint and at {cfg['arch'].get('points', 4)}
learned offsets per level with learned softmax weights (deformable sampling); a transformer across levels per joint,
then across joints, and a zero-initialised head adding a residual to the base's 3D. The detector is not fine-tuned.

- **File**: `models/weights/context.onnx`, sha256 `{entry['sha256']}`, {onnx_path.stat().st_size / 1e6:.1f} MB, ONNX opset 17.
  Inputs: keypoints (B, 17, 3), crop (B, 17, 2) in [0, 1], level0..level3 (the landmark model's extra outputs);
  output pose3d (B, 17, 3). See `models/export.py` and `inference/context.py`.
- **Data and licence**: images rendered by `python -m video_mocap.models.synth.context_data` (CC0 MakeHuman
  bodies of random sex, height, weight, muscle, skin tone and clothes; random floors, backdrops, light; one
  random camera per image, all round) in poses of the **training subjects** of `cmu_positions.npz` (CMU
  mocap, free for all uses); held-out subjects never rendered. Each image goes through our BlazePose ONNX
  as the capture path runs it. Validation: every tenth chunk (other characters and scenes, training-subject poses).
- **Training**: `{train_command}` ({cfg['steps']} steps, batch {cfg['batch']} images, AdamW lr {cfg['lr']},
  cosine schedule, seed {cfg['seed']}); {hist[-1]['minutes'] if hist else float('nan'):.0f} min on a 2-core CPU.
- **Validation MPJPE** (rendered images, pelvis-relative, camera axes): {state['best_val_mm']:.1f} mm; the frozen
  context-agnostic base alone on the same images: {state['base_val_mm']:.1f} mm.

{note}

{ablation}
{table}
Training log (val = MPJPE on the validation chunks, mm):

| step | train loss (mm) | val MPJPE (mm) |
|---|---|---|
{log}

Generated {time.strftime('%Y-%m-%d')} by `python -m video_mocap.models ship-context`.
"""
    (directory / "context.md").write_text(card)
    return directory / "context.md"


FEATURES = ("model_1/model/add_11/add", "model_1/model/add_10/add", "model_1/model/add_9/add", "model_1/model/add_8/add")


def ship_detector(directory: Path = WEIGHTS_DIR) -> list[Path]:
    """Convert the BlazePose detector and full landmark model to ONNX into ``weights/``, check them
    against the TFLite interpreter, record their hashes and write their card."""
    from .assets import MEDIAPIPE, blazepose_tflite
    from .tflite_onnx import convert

    out, rows = [], []
    for name, expose in (("detector", ()), ("landmark_full", FEATURES)):
        src = blazepose_tflite(name)
        dst = convert(src, directory / f"blazepose_{name}.onnx", expose)
        diffs = parity(src, dst)
        rows.append(f"| `blazepose_{name}.onnx` | `{src.relative_to(src.parents[1])}` | "
                    + ", ".join(f"{k} {v:.1e}" for k, v in diffs.items()) + " |")
        register(f"blazepose_{name}", dst, {"kind": "detector", "source": f"{MEDIAPIPE} mediapipe/modules/{src.relative_to(src.parents[1])}",
                                            "licence": "Apache-2.0 (Google)", "command": "python -m video_mocap.models convert-detector"},
                 directory)
        out.append(dst)
    entries = manifest(directory)
    card = f"""# BlazePose detector and landmark model (ONNX): model card

- **What**: Google's BlazePose person detector (224x224, 2254 SSD anchors) and full landmark model
  (256x256 crop: 33 landmarks + 6 auxiliary, visibility/presence, world landmarks, 64x64x39 heatmap,
  segmentation), converted from the TFLite files in the PyPI wheel `{MEDIAPIPE}` by our own converter
  (`models/tflite_onnx.py`, no TensorFlow). Inputs stay NHWC as in TFLite (`input_1`: 1x224x224x3 in
  [-1, 1] for the detector, 1x256x256x3 in [0, 1] for the landmark model); 4-D outputs are NHWC too.
- **Extra outputs** of the landmark model, for the context-aware lifter (NCHW):
  `model_1_model_add_11_add` 1x48x64x64 (stride 4), `..._add_10_add` 1x48x32x32 (stride 8),
  `..._add_9_add` 1x48x16x16 (stride 16), `..._add_8_add` 1x144x8x8 (stride 32).
- **Licence**: Apache License 2.0, (c) Google LLC; see `LICENSE-blazepose.txt`. Unchanged weights
  (fp16 weights are stored as fp32; sparse weights are densified).
- **Command**: `python -m video_mocap.models convert-detector` (fetches the wheel with pip, converts,
  checks against the TFLite interpreter from `ai-edge-litert`, records the hashes).
- **Parity** (max abs difference to TFLite on a random input; ranges: landmarks ~200 px, heatmap ~80):

| file | source | max abs difference per output |
|---|---|---|
{chr(10).join(rows)}

| file | sha256 |
|---|---|
""" + "\n".join(f"| `{e['file']}` | `{e['sha256']}` |" for k, e in sorted(entries.items()) if k.startswith("blazepose")) + "\n"
    for dst in out:
        (directory / (dst.stem + ".md")).write_text(card)
    return out


def ship_heavy(directory: Path = WEIGHTS_DIR) -> Path:
    """Build the heavy BlazePose landmark model (npm ``@mediapipe/pose``) into ``weights/``: converted, checked
    against the TFLite interpreter, hashed into the manifest, with its card. The ONNX file (55 MB) is built, not
    committed: the conversion is deterministic, so the manifest's hash checks every build."""
    from .assets import MEDIAPIPE_NPM, blazepose_heavy_tflite
    from .tflite_onnx import convert

    src = blazepose_heavy_tflite()
    dst = convert(src, directory / "blazepose_landmark_heavy.onnx")
    diffs = parity(src, dst)
    entry = register("blazepose_landmark_heavy", dst, {
        "kind": "detector", "source": f"npm {MEDIAPIPE_NPM} pose_landmark_heavy.tflite", "licence": "Apache-2.0 (Google)",
        "command": "python -m video_mocap.models convert-detector --heavy", "built": True}, directory)
    (directory / "blazepose_landmark_heavy.md").write_text(f"""# BlazePose heavy landmark model (ONNX): model card

- **What**: Google's BlazePose GHUM heavy landmark model (256x256 crop, the same outputs as the full model:
  33 landmarks + 6 auxiliary, visibility/presence, world landmarks, 64x64x39 heatmap, segmentation; no feature
  outputs, so the context-aware lifter keeps the full model), from `pose_landmark_heavy.tflite` in the npm
  package `{MEDIAPIPE_NPM}`, converted by our converter (`models/tflite_onnx.py`) unchanged.
- **Licence**: Apache License 2.0, (c) Google LLC; see `LICENSE-blazepose.txt`.
- **Built, not committed** (55 MB): `python -m video_mocap.models convert-detector --heavy` fetches the package
  with npm (once, cached), converts it and checks it against the manifest's sha256 `{entry['sha256']}`.
  `python build.py --heavy` bundles it into the extension zips.
- **Parity** (max abs difference to the TFLite interpreter on a random input; landmarks ~200 px, heatmap ~80):
  {", ".join(f"{k} {v:.1e}" for k, v in diffs.items())}.
- **Use**: `capture --detector heavy`; the add-on's Detector menu.
""")
    return dst


HAND_MODELS = {"hand_landmark_full": ("hand_landmark/hand_landmark_full.tflite", True),
               "hand_recrop": ("holistic_landmark/hand_recrop.tflite", False)}


def ship_hands(directory: Path = WEIGHTS_DIR) -> list[Path]:
    """Convert MediaPipe's hand landmark model (weights stored as fp16, as in the TFLite file) and the holistic
    hand re-crop model into ``weights/``, check them against the TFLite interpreter, record hashes, write the card."""
    from .assets import MEDIAPIPE, mediapipe_tflite
    from .tflite_onnx import convert

    out, rows = [], []
    for name, (relpath, half) in HAND_MODELS.items():
        src = mediapipe_tflite(relpath)
        dst = convert(src, directory / f"{name}.onnx", half=half)
        diffs = parity(src, dst)
        entry = register(name, dst, {"kind": "hands", "source": f"{MEDIAPIPE} mediapipe/modules/{relpath}",
                                     "licence": "Apache-2.0 (Google)", "command": "python -m video_mocap.models convert-detector --hands"},
                         directory)
        rows.append(f"| `{name}.onnx` | `{relpath}` | " + ", ".join(f"{k} {v:.1e}" for k, v in diffs.items())
                    + f" | `{entry['sha256']}` |")
        out.append(dst)
    card = f"""# MediaPipe hand landmark and hand re-crop models (ONNX): model card

- **What**: Google's hand landmark model (full; 224x224 crop in [0, 1] -> `Identity` 21 x (x, y, z) crop pixels,
  `Identity_1` hand presence 0..1, `Identity_2` handedness, `Identity_3` 21 x 3 world landmarks in metres) and the
  holistic hand re-crop model (256x256 crop in [0, 1] -> `output_crop`: the hand's centre and a point toward the
  wrist at half the box side, crop pixels), from the PyPI wheel `{MEDIAPIPE}`, converted by our converter
  (`models/tflite_onnx.py`, no TensorFlow). The landmark model's weights are fp16 in the TFLite file and stay fp16
  in the ONNX file (cast to fp32 in the graph: the same numbers, half the size). Used by `inference/hands.py`.
- **Licence**: Apache License 2.0, (c) Google LLC; see `LICENSE-blazepose.txt`. Unchanged weights.
- **Command**: `python -m video_mocap.models convert-detector --hands`.
- **Parity** (max abs difference to the TFLite interpreter on a random input; landmarks in 224-px crop pixels):

| file | source | max abs difference per output | sha256 |
|---|---|---|---|
{chr(10).join(rows)}
"""
    for dst in out:
        (directory / (dst.stem + ".md")).write_text(card)
    return out


def parity(tflite_path: Path, onnx_path: Path, seed: int = 0) -> dict[str, float]:
    """Max abs difference between the TFLite interpreter and onnxruntime, per output, on one input."""
    import numpy as np
    import onnxruntime as ort
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(tflite_path))
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    x = np.random.default_rng(seed).uniform(0, 1, inp["shape"]).astype(np.float32)
    interp.set_tensor(inp["index"], x)
    interp.invoke()
    ref = {d["name"]: interp.get_tensor(d["index"]) for d in interp.get_output_details()}
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {sess.get_inputs()[0].name: x})))
    return {k: float(np.abs(v - got[k]).max()) for k, v in ref.items()}
