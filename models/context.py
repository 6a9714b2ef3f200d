"""Train the context-aware lifter on rendered images (chunks from ``models/synth/context_data.py``).

    python -m video_mocap.models train-context DATA_DIR --base models/runs/single.pt [--steps 3000] [--no-context]

The base (the shipped context-agnostic single lifter's checkpoint) stays frozen; the context branch learns a
residual on top of it. ``--no-context`` trains the same refinement from 2D alone on the same frames (the
ablation). Every tenth chunk (k % 10 == 9) is validation; the best checkpoint by validation MPJPE is kept.
"""
from __future__ import annotations

import inspect
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..inference.detector import LM_SIZE
from ..inference.normalize import normalize_frames
from .nets import ContextLifter, build
from .train import load_checkpoint, mpjpe, optimiser


@dataclass
class ContextConfig:
    data: str
    base: str
    steps: int = 3000
    epoch_steps: int = 250
    batch: int = 64
    lr: float = 5e-4
    weight_decay: float = 1e-4
    threshold: float = 0.3  # joints below it are masked, as in the capture path
    drop: float = 0.1  # chance per image of hiding 1-3 more joints
    seed: int = 0
    model: str = "context"
    arch: dict = field(default_factory=dict)


def load_chunks(folder: str | Path) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """All found images of every chunk in ``folder`` and each image's chunk number."""
    paths = sorted(Path(folder).glob("chunk_*.npz"))
    if not paths:
        raise FileNotFoundError(f"{folder}: no chunk_*.npz (make them with python -m video_mocap.models.synth.context_data)")
    parts, chunk = {}, []
    for p in paths:
        with np.load(p) as d:
            ok = d["found"]
            for key in ("pixels", "conf", "crop", "joints_cam", "level0", "level1", "level2", "level3"):
                parts.setdefault(key, []).append(d[key][ok])
            chunk.append(np.full(ok.sum(), int(d["seed"])))
    return {k: np.concatenate(v) for k, v in parts.items()}, np.concatenate(chunk)


def inputs(d: dict[str, np.ndarray], idx: np.ndarray, threshold: float, rng: np.random.Generator | None = None,
           drop: float = 0.0) -> list[torch.Tensor]:
    """Network inputs for images ``idx``: normalised keypoints, crop coordinates in [0, 1], four maps."""
    conf = d["conf"][idx].copy()
    conf[conf < threshold] = 0.0
    if rng is not None and drop > 0:
        for i in np.flatnonzero(rng.random(len(idx)) < drop):
            conf[i, rng.choice(17, rng.integers(1, 4), replace=False)] = 0.0
    kp = normalize_frames(d["pixels"][idx], conf)
    maps = [torch.from_numpy(d[f"level{i}"][idx].astype(np.float32)) for i in range(4)]
    return [torch.from_numpy(kp), torch.from_numpy(d["crop"][idx] / LM_SIZE).float(), *maps]


def evaluate_net(net, d: dict[str, np.ndarray], idx: np.ndarray, threshold: float, batch: int = 256) -> float:
    """MPJPE (mm) of ``net`` on images ``idx``."""
    errs = []
    with torch.no_grad():
        for i in range(0, len(idx), batch):
            j = idx[i : i + batch]
            pred = net(*inputs(d, j, threshold))
            errs.append(torch.linalg.norm(pred - torch.from_numpy(d["joints_cam"][j]), dim=-1).mean(-1).numpy())
    return float(np.concatenate(errs).mean() * 1000)


def evaluate_images(checkpoints: list[str | Path], folder: str | Path, threshold: float = 0.3) -> dict[str, dict[str, float]]:
    """MPJPE and PA-MPJPE (mm) on every found image in ``folder`` of each checkpoint and of the frozen base
    (the context-agnostic single lifter) the first one refines: the same frames with and without context."""
    from .evaluate import pose_errors

    d, _ = load_chunks(folder)
    idx = np.arange(len(d["conf"]))
    truth = d["joints_cam"].astype(np.float64)
    out = {}
    for i, path in enumerate(checkpoints):
        net, state = load_checkpoint(path)
        runs = ([("single (base)", lambda kp, *context, n=net: n.base(kp))] if i == 0 else []) + [(Path(path).stem, net)]
        for name, fn in runs:
            with torch.no_grad():
                pred = np.concatenate([fn(*inputs(d, idx[j : j + 256], threshold)).numpy() for j in range(0, len(idx), 256)])
            err = pose_errors(pred.astype(np.float64), truth)
            out[name] = {"mpjpe": float(err["mpjpe"].mean()), "pa_mpjpe": float(err["pa_mpjpe"].mean()), "images": len(idx)}
    return out


def train_context(cfg: ContextConfig, out: str | Path, log=print) -> Path:
    """Train and save the best checkpoint to ``out/MODEL.pt`` (loadable with :func:`load_checkpoint`)."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    d, chunk = load_chunks(cfg.data)
    val = chunk % 10 == 9 if (chunk % 10 == 9).any() and (chunk % 10 != 9).any() else np.arange(len(chunk)) % 10 == 9
    tr_idx, val_idx = np.flatnonzero(~val), np.flatnonzero(val)
    defaults = {k: v.default for k, v in inspect.signature(ContextLifter).parameters.items()}
    cfg.arch = defaults | cfg.arch  # the checkpoint records the whole architecture, not only what was changed
    net = build("context", **cfg.arch)
    base, _ = load_checkpoint(cfg.base)
    net.base.load_state_dict(base.state_dict())
    net.base.requires_grad_(False)
    params = [p for p in net.parameters() if p.requires_grad]
    opt, sched = optimiser(params, cfg.lr, cfg.weight_decay, cfg.steps)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / f"{cfg.model}{'' if cfg.arch.get('context', True) else '_nocontext'}.pt"
    net.eval()
    base_val = evaluate_net(lambda kp, *context: net.base(kp), d, val_idx, cfg.threshold) if len(val_idx) else float("nan")
    log(f"context lifter: {sum(p.numel() for p in params) / 1e6:.2f} M trained parameters, {len(tr_idx)} train / "
        f"{len(val_idx)} val images; the frozen base alone: {base_val:.1f} mm on val")
    history, best, running, t0 = [], float("inf"), [], time.time()

    def state() -> dict:
        return dict(config=asdict(cfg), state=net.state_dict(), history=history, best_val_mm=best, base_val_mm=base_val)

    for step in range(cfg.steps):
        net.train()
        net.base.eval()
        idx = rng.choice(tr_idx, min(cfg.batch, len(tr_idx)), replace=False)
        loss = mpjpe(net(*inputs(d, idx, cfg.threshold, rng, cfg.drop)), torch.from_numpy(d["joints_cam"][idx]))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        running.append(loss.item())
        if (step + 1) % cfg.epoch_steps == 0 or step + 1 == cfg.steps:
            net.eval()
            v = evaluate_net(net, d, val_idx, cfg.threshold) if len(val_idx) else float("nan")
            history.append(dict(step=step + 1, loss_mm=float(np.mean(running)) * 1000, val_mpjpe_mm=v, minutes=(time.time() - t0) / 60))
            running = []
            if v < best or not ckpt.exists():
                best = min(best, v)
                torch.save(state(), ckpt)
            log(json.dumps(history[-1]))
    saved = torch.load(ckpt, weights_only=False)
    saved["history"] = history
    torch.save(saved, ckpt)
    return ckpt
