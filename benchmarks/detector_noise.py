"""The detector's 2D errors on rendered clips against the training's detector-like 2D (prints figures; not a test).

    python benchmarks/detector_noise.py out/turns out/calib [--window 27] [--synthetic 2000]

For every rendered clip of the folders (a video beside its ``*_gt.npz``; use renders of training or validation
subjects, never the benchmark's held-out ones, when the figures are to set the noise model), the 2D the lifters
are given (the capture's keypoints: tracked, swaps undone) minus the truth's projection, in person sizes, cut
into windows of ``--window`` frames; and the same for ``--synthetic`` windows of the training mocap through
``models.data``'s random cameras, keypoint offsets and detector noise. Per joint, medians over windows: the
window's systematic offset (|mean|), the spread about it (robust sd), the share of frames more than 5 % of the
person's size off that offset (the heavy tail), the frame-to-frame correlation (lag 1) of the frames within it
(the core) and the tail's persistence: the share of tail frames whose next frame is off the same way (a wrong
wrist that stays wrong, or a fresh outlier every frame).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from video_mocap.inference.normalize import person_scale
from video_mocap.inference.pipeline import CaptureOptions, capture
from video_mocap.models import data as D
from video_mocap.models.synth.score import in_picture
from video_mocap.skeleton import load_skeleton

NAMES = load_skeleton("h36m17").names
TAIL = 0.05  # person sizes off the window's offset: the heavy tail


def rendered_errors(video: Path) -> np.ndarray:
    """(T, 17, 2) the capture's keypoints minus the true projection, in person sizes; NaN where unscored."""
    gt = np.load(video.with_name(video.stem + "_gt.npz"))
    result = capture(video, CaptureOptions(lifter="single"))
    n = min(len(gt["uv"]), len(result.pixels))
    uv = gt["uv"][:n, :17]
    err = (result.pixels[:n, :17] - uv) / person_scale(uv, np.ones(uv.shape[:-1]))[:, None, None]
    seen = in_picture(gt)[:n] & (result.motion.confidence[:n, :17].max(1) > 0)
    return np.where(seen[:, None, None], err, np.nan)


def synthetic_errors(windows: int, window: int, seed: int = 0) -> np.ndarray:
    """(N, window, 17, 2) the training's detector-like 2D minus the exact projection, in person sizes (dropped
    joints NaN)."""
    rng = np.random.default_rng(seed)
    sampler = D.WindowSampler(D.load_clips(D.DEFAULT_DATA, "train"))
    world = sampler.windows(windows, window, rng)
    cams = D.random_cameras(world[:, window // 2, 0], rng)
    clean = D.project(D.to_camera(world, cams), cams)
    noisy, conf = D.detector_2d(world, cams, rng)
    err = (noisy - clean) / person_scale(clean, np.ones(clean.shape[:-1]))[..., None, None]
    return np.where((conf > 0)[..., None], err, np.nan)


def cut(err: np.ndarray, window: int) -> np.ndarray:
    """(N, window, 17, 2) the fully scored windows of a clip's (T, 17, 2) errors, back to back."""
    parts = [err[s:s + window] for s in range(0, len(err) - window + 1, window)]
    return np.array([p for p in parts if np.isfinite(p).all()]).reshape(-1, window, 17, 2)


def figures(windows: np.ndarray) -> np.ndarray:
    """(17, 5) per joint: offset, spread and tail share in % of the person's size, the core's lag-1 correlation and
    the tail's persistence (see the module's docstring)."""
    offset = np.nanmean(windows, axis=1, keepdims=True)
    dev = windows - offset
    out = np.zeros((17, 5))
    for j in range(17):
        d = dev[:, :, j]
        ok = np.isfinite(d).all((1, 2))
        d, off = d[ok], offset[ok, 0, j]
        spread = 1.4826 * np.median(np.abs(d - np.median(d)))
        tail = np.linalg.norm(d, axis=-1) > TAIL
        a, b = d[:, :-1], d[:, 1:]
        core = ~tail[:, :-1] & ~tail[:, 1:]
        rho = np.mean([np.corrcoef(a[..., k][core], b[..., k][core])[0, 1] for k in (0, 1)])
        started = tail[:, :-1]
        same_way = tail[:, 1:] & ((a * b).sum(-1) > 0)
        persist = same_way[started].mean() if started.any() else np.nan
        out[j] = 100 * np.median(np.linalg.norm(off, axis=-1)), 100 * spread, 100 * tail.mean(), rho, persist
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folders", nargs="+")
    p.add_argument("--window", type=int, default=27)
    p.add_argument("--synthetic", type=int, default=2000, help="windows of the training's detector-like 2D")
    a = p.parse_args(argv)
    videos = sorted(v for f in a.folders for v in Path(f).glob("*.mp4") if v.with_name(v.stem + "_gt.npz").exists())
    rendered = np.concatenate([cut(rendered_errors(v), a.window) for v in videos])
    synthetic = synthetic_errors(a.synthetic, a.window)
    r, s = figures(rendered), figures(synthetic)
    print(f"{len(videos)} clips, {len(rendered)} rendered windows of {a.window} frames; {len(synthetic)} synthetic windows")
    print(f"{'joint':10s} " + " ".join(f"{h:>15s}" for h in ("offset %", "spread %", "tail %", "core lag-1", "tail persists"))
          + "   (rendered / training)")
    for j, name in enumerate(NAMES):
        print(f"{name:10s} " + " ".join(f"{r[j, k]:7.2f}/{s[j, k]:<7.2f}" for k in range(5)))
    print(f"{'median':10s} " + " ".join(f"{np.nanmedian(r[:, k]):7.2f}/{np.nanmedian(s[:, k]):<7.2f}" for k in range(5)))


if __name__ == "__main__":
    main()
