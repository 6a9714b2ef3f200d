"""Training loops for the lifters (CPU or CUDA), with fixed seeds and a log line per epoch.

An "epoch" here is a fixed number of steps over freshly sampled windows (the data are generated on
the fly: every batch has new cameras, bone lengths and detector noise); after each, the model is
scored on a fixed validation batch (held-out subjects, fixed camera seed) and the best is kept.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..inference.normalize import normalize_keypoints
from . import data as D
from .nets import build

TEMPORAL = {"mpm": 27, "tcn": 27}
TCN_CHUNK = 27  # the TCN trains on 27 + 26 frames and is supervised on the 27 middle ones


@dataclass
class Config:
    model: str
    data: str
    steps: int = 6000
    epoch_steps: int = 250
    batch: int = 1024  # frames per batch for single-frame models; windows = batch // window otherwise
    lr: float = 1e-3
    weight_decay: float = 1e-4
    tiers: tuple[int, ...] | None = D.DEFAULT_TIERS
    actor_size: bool = False  # retargeted clips scaled to the training subjects' mean size (data.load_clips)
    stage1: float = 0.3  # MPM: fraction of steps spent on masked pose modelling before fine-tuning
    seed: int = 0
    minutes: float = 0.0  # > 0: a wall-clock budget; ``steps`` is then set from the measured step time
    workers: int = 0  # processes generating batches (0: in the training process); a GPU needs several to be fed
    tumble: float = 0.0  # fraction of training windows turned to any orientation (lying, upside down; data.tumble)
    lean: float = 0.0  # fraction of training windows whose upper body is leaned over (bending, lunges; data.lean)
    mix: float = 0.0  # fraction of training windows with limbs mixed across windows (data.mix_limbs)
    proportions: float = 0.08  # sd of the per-bone length factors (data.random_bone_factors): wider = child-like to tall
    completion: float = 0.25  # MPM stage II: share of steps on 3D completion (the rest lift from occluded 2D)
    whole_limb: float = 0.0  # MPM: share of completion windows whose limb is hidden over every frame (data.tube_mask)
    init: str = ""  # a checkpoint or exported ONNX lifter to start from (same model): continues a run on a new schedule
    arch: dict = field(default_factory=dict)


def mpjpe(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (pred - target).norm(dim=-1).mean()


def _t(x: np.ndarray, device: str) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x)).to(device)


def occlude(b: dict[str, np.ndarray], hidden: np.ndarray) -> np.ndarray:
    """Normalised 2D input with the ``hidden`` (n, t, J) joints unseen, normalised without them,
    exactly as the capture path sees an occluded person."""
    return normalize_keypoints(b["pixels"], np.where(hidden, 0.0, b["conf"]))


class Task:
    """Batches and loss for one model kind."""

    def __init__(self, cfg: Config, sampler: D.WindowSampler, device: str):
        self.cfg, self.sampler, self.device = cfg, sampler, device
        self.window = TEMPORAL.get(cfg.model, 1)
        self.frames = self.window + (TCN_CHUNK - 1 if cfg.model == "tcn" else 0)
        self.n = cfg.batch if self.window == 1 else max(8, cfg.batch // self.frames)

    def batch(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return self.sampler.batch(self.n, self.frames, rng)

    def loss(self, net: torch.nn.Module, b: dict[str, np.ndarray], rng: np.random.Generator, frac: float) -> torch.Tensor:
        kp, target = _t(b["kp"], self.device), _t(b["pose3d"], self.device)
        mid = self.window // 2
        if self.cfg.model == "mlp":
            return mpjpe(net(kp[:, 0]), target[:, 0])
        if self.cfg.model == "single":
            # A fifth of the frames lose a limb (or both legs / both arms), as under occlusion.
            kp = _t(occlude(b, D.tube_mask(len(kp), 1, rng, p=0.2)), self.device)
            return mpjpe(net(kp[:, 0]), target[:, 0])
        if self.cfg.model == "tcn":
            return mpjpe(net(kp), target[:, mid : kp.shape[1] - mid])
        return self._mpm_loss(net, b, kp, target, rng, frac)

    def _mpm_loss(self, net, b, kp, target, rng, frac):
        n, t = kp.shape[:2]
        dev = self.device
        zeros3, none3 = torch.zeros_like(target), torch.zeros(n, t, D.J, device=dev)
        if frac < self.cfg.stage1:
            # Stage I: masked 2D and masked 3D pose modelling, alternating, spatio-temporal masks.
            mask = _t(D.spatiotemporal_mask(n, t, rng), dev)
            if rng.random() < 0.5:
                seen = kp[..., 2] > 0
                masked = kp.clone()
                masked[mask] = 0
                _, out2d = net(masked, zeros3, none3, torch.zeros(n, device=dev))
                err = (out2d - kp[..., :2]).norm(dim=-1)
                return 2.0 * (err * seen).sum() / seen.sum().clamp(min=1)
            out3d, _ = net(kp, target, (~mask).float(), torch.ones(n, device=dev))
            return 3.0 * mpjpe(out3d, target)
        # Stage II: lifting (through detector drops and occluded limbs) and 3D completion.
        if rng.random() < 1.0 - self.cfg.completion:
            occluded = _t(occlude(b, D.tube_mask(n, t, rng, p=0.3)), dev)
            out3d, _ = net(occluded, zeros3, none3, torch.zeros(n, device=dev))
            return mpjpe(out3d, target) + mpjpe(out3d[:, t // 2], target[:, t // 2])
        tube = _t(D.tube_mask(n, t, rng, p=1.0, whole=self.cfg.whole_limb), dev)
        out3d, _ = net(kp, target, (~tube).float(), torch.ones(n, device=dev))
        masked_err = ((out3d - target).norm(dim=-1) * tube).sum() / tube.sum().clamp(min=1)
        return mpjpe(out3d, target) + masked_err

    @torch.no_grad()
    def validate(self, net: torch.nn.Module, b: dict[str, np.ndarray]) -> float:
        """MPJPE in mm of the middle frame, lifting from the full 2D."""
        net.eval()
        kp, target = _t(b["kp"], self.device), _t(b["pose3d"], self.device)
        mid = self.window // 2
        if self.cfg.model in ("single", "mlp"):
            pred = net(kp[:, 0])
        elif self.cfg.model == "tcn":
            pred = net(kp[:, : self.window])[:, 0]
        else:
            n, t = kp.shape[:2]
            pred = net(kp, torch.zeros_like(target), torch.zeros(n, t, D.J, device=self.device), torch.zeros(n, device=self.device))[0][:, mid]
        net.train()
        return float(mpjpe(pred, target[:, mid])) * 1000


def optimiser(params, lr: float, weight_decay: float, steps: int):
    """AdamW with a linear warm-up (10 % of the steps, at most 200) into a cosine decay to 2 % of ``lr``."""
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    warm = min(200, steps // 10 + 1)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(s / steps, 1.0)))))
    return opt, sched


class _Batches(torch.utils.data.IterableDataset):
    """Endless training batches from ``task``, one random stream per worker process."""

    def __init__(self, task: "Task", seed: int):
        self.task, self.seed = task, seed

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.seed, info.id if info else 0])
        while True:
            yield self.task.batch(rng)


def _as_is(batch):
    return batch


def batches(task: "Task", seed: int, workers: int):
    """An iterator of training batches, made in ``workers`` processes (or here, when 0)."""
    if workers <= 0:
        return iter(_Batches(task, seed))
    loader = torch.utils.data.DataLoader(_Batches(task, seed), batch_size=None, num_workers=workers, collate_fn=_as_is,
                                         prefetch_factor=4, persistent_workers=True)
    return iter(loader)


def budget_steps(cfg: Config, task: Task, net: torch.nn.Module, device: str, stream, probe: int = 30) -> int:
    """Steps that fit ``cfg.minutes`` (validation included), timed on ``probe`` steps of a throwaway copy of
    ``net`` in both MPM stages, so the learning-rate schedule still spans the whole run."""
    import copy

    trial = copy.deepcopy(net)
    opt = torch.optim.AdamW(trial.parameters(), lr=0.0)
    rng = np.random.default_rng(cfg.seed + 1)
    for i in range(probe + 5):
        if i == 5:  # the first steps warm up kernels and allocators
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        loss = task.loss(trial, next(stream), rng, 0.0 if i % 2 else 0.99)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    per_step = (time.perf_counter() - t0) / probe * 1.05  # + validation every epoch
    return max(cfg.epoch_steps, int(cfg.minutes * 60 / per_step) // cfg.epoch_steps * cfg.epoch_steps)


def warm_start(net: torch.nn.Module, cfg: Config) -> None:
    """Load ``cfg.init``'s weights (fp16 checkpoints included, or an exported ONNX lifter such as a shipped one)
    into ``net``; its architecture must match."""
    if str(cfg.init).endswith(".onnx"):
        from .export import import_onnx

        net.load_state_dict(import_onnx(cfg.init, cfg.model, cfg.arch))
        return
    state = torch.load(cfg.init, map_location="cpu", weights_only=False)
    if state["config"]["model"] != cfg.model or state["config"].get("arch", {}) != cfg.arch:
        raise ValueError(f"{cfg.init}: a {state['config']['model']} checkpoint with arch {state['config'].get('arch')}, "
                         f"not {cfg.model} with arch {cfg.arch}")
    net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state["state"].items()})


def train(cfg: Config, out: str | Path, device: str | None = None, log=print) -> Path:
    """Train ``cfg.model`` and save the best checkpoint (by validation MPJPE) to ``out/MODEL.pt``."""
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    train_clips = D.load_clips(cfg.data, "train", cfg.tiers, cfg.actor_size)
    val_clips = D.load_clips(cfg.data, "val", cfg.tiers, cfg.actor_size)
    if len(train_clips) == 0:
        raise ValueError(f"{cfg.data}: no training clips for tiers {cfg.tiers}")
    task = Task(cfg, D.WindowSampler(train_clips, tumble=cfg.tumble, lean=cfg.lean, mix=cfg.mix,
                                      proportions=cfg.proportions), device)
    val_task = Task(cfg, D.WindowSampler(val_clips if len(val_clips) else train_clips, bones=False, mirror=False), device)
    val_batch = val_task.sampler.batch(max(256, 2048 // task.window), task.window, np.random.default_rng(1234))
    net = build(cfg.model, **cfg.arch)
    if cfg.init:
        warm_start(net, cfg)
        log(f"{cfg.model}: started from {cfg.init}")
    net = net.to(device)
    stream = batches(task, cfg.seed, cfg.workers)
    if cfg.minutes > 0:
        cfg.steps = budget_steps(cfg, task, net, device, stream)
        log(f"{cfg.minutes:g} min budget: {cfg.steps} steps")
    opt, sched = optimiser(net.parameters(), cfg.lr, cfg.weight_decay, cfg.steps)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / f"{cfg.model}.pt"
    history, best, t0, running = [], float("inf"), time.time(), []
    log(f"{cfg.model}: {sum(p.numel() for p in net.parameters()) / 1e6:.2f} M parameters, {len(train_clips)} clips / "
        f"{train_clips.frames} frames train, {len(val_clips)} clips val, device {device}")
    for step in range(cfg.steps):
        frac = step / cfg.steps
        loss = task.loss(net, next(stream), rng, frac)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        sched.step()
        running.append(loss.item())
        if (step + 1) % cfg.epoch_steps == 0 or step + 1 == cfg.steps:
            val = task.validate(net, val_batch)
            entry = dict(epoch=len(history) + 1, step=step + 1, loss=float(np.mean(running)), val_mpjpe_mm=val,
                         lr=sched.get_last_lr()[0], minutes=(time.time() - t0) / 60)
            history.append(entry)
            running = []
            # Stage I of MPM optimises other objectives: select only among fine-tuned epochs.
            if val < best and frac >= (cfg.stage1 if cfg.model == "mpm" else 0):
                best = val
                torch.save(dict(config=asdict(cfg), state=net.state_dict(), history=history, best_val_mm=best), ckpt)
            log(json.dumps(entry))
    if not ckpt.exists():
        torch.save(dict(config=asdict(cfg), state=net.state_dict(), history=history, best_val_mm=best), ckpt)
    state = torch.load(ckpt, weights_only=False)
    state["history"] = history
    torch.save(state, ckpt)
    return ckpt


def load_checkpoint(path: str | Path) -> tuple[torch.nn.Module, dict]:
    state = torch.load(path, map_location="cpu", weights_only=False)
    net = build(state["config"]["model"], **state["config"]["arch"])
    net.load_state_dict(state["state"])
    return net.eval(), state
