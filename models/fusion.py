"""The temporal fusion network: the single-frame and MPM lifts of a clip, fused over time.

    python -m video_mocap.models fusion [--minutes 25] [--sequences 16000] [--out models/runs/fusion]
        [--init models/weights/fusion.onnx] [--corrupt 0.3]

Training sequences are mocap seen through random cameras with detector-like 2D (as the lifters'), joints under
the capture's confidence threshold masked and whole limbs hidden in some windows (as occlusion hides them), then
lifted by the *shipped* single-frame and MPM lifters exactly as the capture lifts (mirror-averaged, MPM's windows
blended): the network learns from the two estimates it will be given, and where each goes wrong. Subjects held
out of the lifters are held out here too (validation subjects choose the checkpoint). Since those lifts are of
subjects the lifters were trained on, ``--corrupt`` makes one of them wrong in some sequences, as held-out poses
make them (:func:`corrupt_lifts`).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ..inference.lifters import FrameLifter, WindowLifter
from ..inference.normalize import normalize_frames
from . import data as D

THRESHOLD = 0.3  # the capture's default confidence threshold: joints below it are masked for the lifters
INPUTS = ("keypoints", "single", "mpm")


def make_set(clips: D.Clips, sequences: int, frames: int, single: FrameLifter, mpm: WindowLifter, seed: int,
             hidden: float = 0.3, tumble: float = 0.1, lean: float = 0.2, mix: float = 0.0, chunk: int = 64, log=None
             ) -> dict[str, np.ndarray]:
    """``sequences`` random windows of ``frames`` frames: the fusion's inputs (per-frame normalised 2D, the two
    lifts) and the true pelvis-relative 3D (camera axes), each (N, T, J, 3) float32. ``hidden``: share of windows
    with a limb (or both legs / arms) hidden in 2D throughout, as :func:`data.tube_mask` draws them; ``tumble``,
    ``lean``, ``mix``: shares of windows turned, leant and with limbs mixed across windows (:mod:`data`)."""
    rng = np.random.default_rng(seed)
    sampler = D.WindowSampler(clips, tumble=tumble, lean=lean, mix=mix)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in INPUTS + ("target",)}
    t0 = time.perf_counter()
    for start in range(0, sequences, chunk):
        n = min(chunk, sequences - start)
        b = sampler.batch(n, frames, rng)
        conf = np.where(D.tube_mask(n, frames, rng, p=hidden) | (b["conf"] < THRESHOLD), 0.0, b["conf"]).astype(np.float32)
        pixels = b["pixels"]
        parts["keypoints"].append(normalize_frames(pixels, conf))
        parts["single"].append(single.lift(pixels.reshape(-1, D.J, 2), conf.reshape(-1, D.J)).reshape(n, frames, D.J, 3))
        parts["mpm"].append(mpm.lift_clips(pixels, conf))
        parts["target"].append(b["pose3d"].astype(np.float32))
        if log and (start // chunk) % 25 == 0:
            log(f"  {start + n} / {sequences} sequences, {time.perf_counter() - t0:.0f} s")
    return {k: np.concatenate(v).astype(np.float32) for k, v in parts.items()}


#: Each limb's chain (hip / shoulder, knee / elbow, ankle / wrist): data.CHAINS in the order the corruption has
#: always drawn them (legs left first), so a seed gives the same corrupted batches.
LIMB_CHAINS = [D.LIMBS[k] for k in ("l_leg", "r_leg", "l_arm", "r_arm")]


def corrupt_lifts(b: dict[str, np.ndarray], rng: np.random.Generator, p: float) -> dict[str, np.ndarray]:
    """A training batch with, in a share ``p`` of its sequences, one of the two lifts (either, equally often) wrong
    over a stretch of at least half the window, as a lifter is on a pose it does not know: pulled 30-80 % of the
    way toward another sequence's lift (its picture no longer fits the 2D), or one or two limbs mirrored in depth
    about their hip / shoulder (it still fits; two draws of one limb mirror it back, leaving that lift right).
    Lifts of the training subjects by lifters trained on them are rarely wrong, so without this the fusion learns
    to follow MPM wherever the two disagree, held-out poses included. The truth and the 2D are unchanged.
    Modifies ``b`` in place and returns it."""
    n, frames = b["target"].shape[:2]
    for i in np.nonzero(rng.random(n) < p)[0]:
        key = "single" if rng.random() < 0.5 else "mpm"
        length = int(rng.integers(frames // 2, frames + 1))
        start = int(rng.integers(0, frames - length + 1))
        s = slice(start, start + length)
        x = b[key][i]  # a view: changed in place
        if rng.random() < 0.5:
            other, a = int(rng.integers(0, n)), rng.uniform(0.3, 0.8)
            x[s] = (1 - a) * x[s] + a * b[key][other][s]
        else:
            for _ in range(int(rng.integers(1, 3))):
                chain = LIMB_CHAINS[int(rng.integers(0, len(LIMB_CHAINS)))]
                root_z = x[s, chain[0], 2].copy()
                for k in chain[1:]:
                    x[s, k, 2] = 2 * root_z - x[s, k, 2]
    return b


def cached_set(path: Path, make) -> dict[str, np.ndarray]:
    """The set stored at ``path`` (made once by ``make()``, then kept: a run can be resumed or repeated)."""
    if path.is_file():
        with np.load(path) as f:
            return {k: f[k] for k in f.files}
    data = make()
    np.savez(path, **data)
    return data


def mpjpe_mm(pred: np.ndarray, target: np.ndarray) -> float:
    return float(np.linalg.norm(pred - target, axis=-1).mean() * 1000)


def train(data: str, single_path: str | Path, mpm_path: str | Path, out: str | Path, minutes: float = 25.0,
          sequences: int = 16000, frames: int = 54, seed: int = 0, lr: float = 1e-3, batch: int = 64,
          velocity: float = 0.5, val_sequences: int = 1000, mix: float = 0.0, init: str | Path | None = None,
          corrupt: float = 0.0, log=print) -> Path:
    """Make (or reuse) the sets, train for ``minutes`` on the train split, keep the best on the val split (loss:
    MPJPE plus ``velocity`` times the velocity error, both over every frame). ``mix``: the share of training
    windows with limbs mixed across windows (the validation windows are mocap as it is). ``init``: continue from
    a fusion checkpoint (``.pt``) or an exported one (``.onnx``, e.g. the shipped file), scored first as the best
    so far. ``corrupt``: the share of training sequences with one lift made wrong (:func:`corrupt_lifts`)."""
    import torch

    from .nets import Fusion

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    single, mpm = FrameLifter(single_path, "cpu"), WindowLifter(mpm_path, "cpu")
    t0 = time.perf_counter()
    val = cached_set(out / "val_set.npz", lambda: make_set(D.load_clips(data, "val"), val_sequences, frames,
                                                           single, mpm, seed + 1))
    name = f"train_set_mix{mix:g}.npz" if mix else "train_set.npz"
    tr = cached_set(out / name, lambda: make_set(D.load_clips(data, "train"), sequences, frames, single, mpm, seed,
                                                 mix=mix, log=log))
    base = {k: mpjpe_mm(val[k], val["target"]) for k in ("single", "mpm")}
    log(f"data: {len(tr['target'])} train / {len(val['target'])} val sequences of {frames} frames "
        f"({time.perf_counter() - t0:.0f} s); val P1 single {base['single']:.1f}, mpm {base['mpm']:.1f} mm")
    torch.manual_seed(seed)
    net = Fusion()
    if init:
        net.load_state_dict(_init_state(init))
    opt = torch.optim.AdamW(net.parameters(), lr, weight_decay=1e-4)
    vin = [torch.from_numpy(val[k]) for k in INPUTS]
    rng = np.random.default_rng(seed)
    best, step, t1, history = float("inf"), 0, time.perf_counter(), []
    ckpt = out / "fusion.pt"
    config = {"frames": frames, "sequences": sequences, "seed": seed, "lr": lr, "batch": batch, "velocity": velocity,
              "mix": mix, "init": str(init) if init else None, "corrupt": corrupt}

    def keep(step: int, val_mm: float) -> None:
        torch.save({"state": net.state_dict(), "step": step, "val_mm": val_mm, "val_base_mm": base, "config": config,
                    "history": history}, ckpt)

    if init:
        best = _val_mm(net, vin, val["target"])
        history.append({"step": 0, "loss_mm": float("nan"), "val_mm": best})
        keep(0, best)
        log(f"start ({init}): val P1 {best:.1f} mm")
    while time.perf_counter() - t1 < minutes * 60:
        net.train()
        for _ in range(100):
            idx = rng.integers(0, len(tr["target"]), batch)
            b = {k: tr[k][idx] for k in INPUTS + ("target",)}
            if rng.random() < 0.5:  # the mirror image: every input (x, y, conf or 3D) and the truth mirrored alike
                b = {k: D.mirror(v) for k, v in b.items()}
            if corrupt:
                b = corrupt_lifts(b, rng, corrupt)
            b = {k: torch.from_numpy(v) for k, v in b.items()}
            pred, target = net(*(b[k] for k in INPUTS)), b["target"]
            loss = (pred - target).norm(dim=-1).mean()
            loss = loss + velocity * (pred.diff(dim=1) - target.diff(dim=1)).norm(dim=-1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
        p1 = _val_mm(net, vin, val["target"])
        history.append({"step": step, "loss_mm": loss.item() * 1000, "val_mm": p1})
        if p1 < best:
            best = p1
            keep(step, p1)
        log(f"step {step}: loss {loss.item() * 1000:.1f}, val P1 {p1:.1f} mm (best {best:.1f}; single {base['single']:.1f}, "
            f"mpm {base['mpm']:.1f})")
    state = torch.load(ckpt, weights_only=False)
    state["history"] = history
    torch.save(state, ckpt)
    return ckpt


def _init_state(path: str | Path) -> dict:
    """The weights to start from: a fusion checkpoint's, or those read back from an exported ONNX file."""
    from .export import import_onnx

    return import_onnx(path, "fusion") if str(path).endswith(".onnx") else load(path).state_dict()


def _val_mm(net, inputs, target: np.ndarray) -> float:
    """P1 (mm) of ``net`` on the validation inputs, in eval mode."""
    import torch

    net.eval()
    with torch.no_grad():
        return mpjpe_mm(net(*inputs).numpy(), target)


def load(checkpoint: str | Path):
    import torch

    from .nets import Fusion

    net = Fusion()
    net.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=False)["state"])
    return net.eval()


def export(checkpoint: str | Path, onnx_path: str | Path, tolerance: float = 1e-4) -> Path:
    """Checkpoint -> ONNX: inputs ``keypoints``, ``single``, ``mpm`` (B, T, 17, 3), output ``pose3d`` (B, T, 17, 3),
    any B and T; metadata ``kind=fusion``; checked against torch."""
    import onnx
    import torch

    from .export import example_inputs, verify

    net = load(checkpoint)
    example = example_inputs("fusion", batch=2, window=40).values()
    onnx_path = Path(onnx_path)
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    dyn = {k: {0: "batch", 1: "frames"} for k in INPUTS + ("pose3d",)}
    torch.onnx.export(net, tuple(example), str(onnx_path), input_names=list(INPUTS), output_names=["pose3d"],
                      dynamic_axes=dyn, opset_version=17, dynamo=False)
    model = onnx.load(str(onnx_path))
    for key, value in {"kind": "fusion", "skeleton": "h36m17"}.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(onnx_path))
    verify(net, onnx_path, example_inputs("fusion", batch=1, window=137, seed=1), tolerance)
    return onnx_path


def ship(checkpoint: str | Path, data: str, command: str, directory: Path | None = None, note: str = "") -> Path:
    """Export into the weights folder, score on the held-out subjects beside the lifters it fuses, register the
    hash and the figures, write ``fusion.eval.json`` and the card (``note``: a paragraph for it)."""
    import torch

    from ..inference.weights import WEIGHTS_DIR, register
    from .card import _fmt
    from .evaluate import evaluate

    directory = Path(directory or WEIGHTS_DIR)
    onnx_path = export(checkpoint, directory / "fusion.onnx")
    result = evaluate(onnx_path, data, "test")
    plain = evaluate(onnx_path, data, "test", flip=False)
    for row in result["per_clip"]:
        row.pop("subject", None)
    (directory / "fusion.eval.json").write_text(json.dumps(result, indent=2) + "\n")
    o = result["overall"]
    entry = register("fusion", onnx_path, {"kind": "fusion", "command": command, "licence": "CMU mocap: free for all uses",
                                           "test_mpjpe_mm": round(o["mpjpe"], 1)}, directory)
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    cfg, hist = state["config"], state["history"]
    inputs = {k: json.loads((directory / f"{k}.eval.json").read_text())["overall"] for k in ("single", "mpm")
              if (directory / f"{k}.eval.json").is_file()}
    compare = "\n".join(f"| {k} (its own card) | {v['mpjpe']:.1f} | {v['pa_mpjpe']:.1f} | {v['accel']:.1f} | "
                        f"{v['legs_hidden_2d_mpjpe']:.1f} |" for k, v in inputs.items())
    every = max(1, len(hist) // 12)
    log = "\n".join(f"| {h['step']} | {h['loss_mm']:.1f} | {h['val_mm']:.1f} |" for h in hist[::every])
    base = state["val_base_mm"]
    card = f"""# fusion.onnx: model card

**What.** The temporal half of the MPM lifter: the single-frame lifter's and MPM's lifts of a clip (each
mirror-averaged as the capture runs them) and the per-frame normalised 2D, fused over time. Dilated residual
temporal convolutions (width 256, dilations 1-2-4-8, a receptive field of 35 frames, edge frames repeated at
the clip's ends; {sum(p.numel() for p in load(checkpoint).parameters()) / 1e6:.1f} M parameters) give per joint and frame a blend
weight between the two lifts and a correction; the untrained network is their plain average. The whole clip
runs at once (`inference.lifters.FusedLifter`); 3D completion stays MPM's.

- **File**: `models/weights/fusion.onnx`, sha256 `{entry['sha256']}`, {onnx_path.stat().st_size / 1e6:.1f} MB, ONNX
  opset 17, metadata `kind=fusion`; inputs `keypoints`, `single`, `mpm` (B, T, 17, 3), output `pose3d` (B, T, 17, 3).
- **Data and licence**: `cmu_positions.npz` only (CMU Graphics Lab Motion Capture Database: free for all uses;
  "The data used in this project was obtained from mocap.cs.cmu.edu. The database was created with funding from
  NSF EIA-0196217."), training subjects only; validation subjects {', '.join(D.HELD_OUT['val'])} choose the checkpoint,
  test subjects {', '.join(D.HELD_OUT['test'])} are held out. {cfg['sequences']} sequences of {cfg['frames']} frames (24-62 fps)
  through random cameras with detector-like 2D, joints under confidence {THRESHOLD} masked, a limb hidden in 30 %
  of them, 10 % turned to any orientation and 20 % with the upper body leant; lifted by the shipped `single` and
  `mpm` networks exactly as the capture lifts, so it learns from the two estimates it will be given.
- **Training**: `{command}` (AdamW lr {cfg['lr']}, batch {cfg['batch']} sequences, MPJPE + {cfg['velocity']} x
  velocity error, mirror augmentation); best validation step {state['step']} kept.
- **Evaluation**: `python -m video_mocap.models evaluate models/weights/fusion.onnx` (held-out test subjects,
  one fixed camera per clip, seed 2024, {result['frames']} frames; per clip in `fusion.eval.json`).

{_fmt(plain['overall'], o)}

("Network alone": the two lifts it is given without their mirror average.)

Against the lifts it fuses (CMU held-out test, mirror-averaged, mm):

| lifter | P1 | P2 | acceleration | legs hidden in 2D |
|---|---|---|---|---|
| **fused (this network)** | **{o['mpjpe']:.1f}** | **{o['pa_mpjpe']:.1f}** | {o['accel']:.1f} | {o['legs_hidden_2d_mpjpe']:.1f} |
{compare}

Validation subjects (the training sequences' kind of windows): single {base['single']:.1f}, MPM {base['mpm']:.1f}, fused
{state['val_mm']:.1f} mm P1.

| step | training loss (mm) | val P1 (mm) |
|---|---|---|
{log}
""" + (f"\n{note.strip()}\n" if note.strip() else "")
    (directory / "fusion.md").write_text(card)
    return onnx_path
