"""Joint centres for the hands' picture points: one offset per landmark, fitted on rendered hands.

    python -m video_mocap.models hand-centres RENDER_DIR [RENDER_DIR ...] [--no-ship]

MediaPipe's hand landmarks mark the skin (a knuckle's top, the thumb's base where it shows, the fingertip's end);
a rig's finger bones turn about joint centres, which the rendered truth gives. Each clip (``hands_*.mp4`` and its
``_gt.npz`` from ``python -m video_mocap.models.synth.hands``: render clips of other seeds than the benchmark's) is
read by the body and hand trackers as the capture reads it; each reading is paired with the true hand it lies
nearer, and each landmark's offset along the hand's own axes (``inference.hands.centre_basis``) is fitted by robust
least squares (Huber) on the 2D errors in hand sizes. Ships ``models/weights/hand_centres.json`` with its card.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..inference.hands import SIDES, HandTracker, centre_basis
from ..inference.weights import WEIGHTS_DIR, register, sha256
from ..retarget.solver import SKELETON
from .synth.hands import hand_sizes, landmark_errors

HUBER = 0.03  # hand sizes: errors beyond it weigh as absolute errors (a misread finger does not pull the fit)


def readings(video: str | Path) -> dict[str, np.ndarray]:
    """A rendered clip's hand readings as the capture's trackers make them: every hand found on every frame,
    ``pixels`` (N, 21, 2), ``world`` (N, 21, 3), the truth of the hand it lies nearer, ``truth`` (N, 21, 2) pixels,
    and whether that is the left hand, ``left`` (N,)."""
    from ..inference.detector import BlazePose
    from ..inference.person import PersonChoice, Tracker
    from ..inference.video import frames

    video = Path(video)
    uv = np.load(video.with_name(video.stem + "_gt.npz"))["uv"]
    truth = np.stack([uv[:, list(SKELETON.group(f"hand_{s}"))] for s in SIDES], 1)  # (T, 2, 21, 2)
    body, hands = Tracker(BlazePose("cpu"), PersonChoice.parse("auto")), HandTracker("cpu")
    px, world, true, left = [], [], [], []
    for t, (_, _, rgb) in enumerate(frames(video)):
        if t >= len(truth):
            break
        for hand in hands(rgb, body(rgb)).values():
            if hand is None:
                continue
            k = int(np.argmin([np.median(np.linalg.norm(hand.pixels - truth[t, s], axis=1)) for s in range(2)]))
            px.append(hand.pixels), world.append(hand.world), true.append(truth[t, k]), left.append(k == 0)
    return {"pixels": np.array(px).reshape(-1, 21, 2), "world": np.array(world).reshape(-1, 21, 3),
            "truth": np.array(true).reshape(-1, 21, 2), "left": np.array(left, bool)}


def _basis(r: dict[str, np.ndarray]) -> np.ndarray:
    """(N, 2, 3) :func:`centre_basis` of every reading, each hand as its side."""
    return centre_basis(r["pixels"], r["world"], r["left"])


def fit(reads: list[dict[str, np.ndarray]], huber: float = HUBER, iterations: int = 10) -> np.ndarray:
    """(21, 3) offsets minimising the readings' 2D errors (in hand sizes) at each landmark, robustly."""
    basis = np.concatenate([_basis(r) / hand_sizes(r["truth"])[:, None, None] for r in reads])
    error = np.concatenate([(r["truth"] - r["pixels"]) / hand_sizes(r["truth"])[:, None, None] for r in reads])
    x = basis.reshape(-1, 3)  # every landmark of a hand moves along the same axes
    offsets = np.zeros((21, 3))
    for j in range(21):
        y = error[:, j].reshape(-1)
        w = np.ones(len(y))
        for _ in range(iterations):  # iteratively reweighted least squares, Huber weights
            offsets[j] = np.linalg.lstsq(x * w[:, None], y * w, rcond=None)[0]
            w = np.sqrt(np.minimum(1.0, huber / np.maximum(np.abs(y - x @ offsets[j]), 1e-9)))
    return offsets


def errors(reads: list[dict[str, np.ndarray]], offsets: np.ndarray | None = None) -> np.ndarray:
    """Each reading's median landmark error in hand sizes (the benchmark's measure), moved by ``offsets`` if given."""
    out = []
    for r in reads:
        p = r["pixels"] if offsets is None else r["pixels"] + np.einsum("ndk,jk->njd", _basis(r), offsets)
        out.append(landmark_errors(p, r["truth"], hand_sizes(r["truth"])))
    return np.concatenate(out) if out else np.zeros(0)


def clips_in(dirs: list[str | Path]) -> list[Path]:
    """The rendered hand clips in ``dirs``; FileNotFoundError saying what to do where there are none."""
    missing = [str(d) for d in dirs if not Path(d).is_dir()]
    if missing:
        raise FileNotFoundError(f"no folder {', '.join(missing)}")
    clips = sorted(v for d in dirs for v in Path(d).glob("hands_*.mp4"))
    if not clips:
        raise FileNotFoundError(f"no hands_*.mp4 in {', '.join(map(str, dirs))}: render some first (python -m "
                                "video_mocap.models.synth.hands DIR --clips 8 --seed 100; other seeds than the benchmark's)")
    return clips


def ship(clips: list[Path], command: str, no_ship: bool = False, log=print) -> dict:
    """Read every clip (:func:`clips_in`), measure the fit with each clip left out in turn, fit on all, and (unless
    ``no_ship``) write ``hand_centres.json``, its card and its manifest entry."""
    reads = {}
    for v in clips:
        reads[v] = readings(v)
        log(f"{v.name}: {len(reads[v]['pixels'])} hand readings")
    held = {v: errors([r], fit([x for u, x in reads.items() if u != v])) for v, r in reads.items()}
    every = list(reads.values())
    offsets = fit(every)
    figures = {"clips": len(clips), "readings": int(sum(len(r["pixels"]) for r in every)),
               "median_error_pct_before": round(float(np.median(errors(every))) * 100, 2),
               "median_error_pct_each_clip_left_out": round(float(np.median(np.concatenate(list(held.values())))) * 100, 2),
               "median_error_pct_fitted": round(float(np.median(errors(every, offsets))) * 100, 2)}
    log(json.dumps(figures))
    if no_ship:
        return figures
    path = WEIGHTS_DIR / "hand_centres.json"
    path.write_text(json.dumps({"offsets": np.round(offsets, 5).tolist(), "units": "wrist-to-middle-knuckle lengths",
                                "axes": "toward the middle knuckle, across the palm, out of it (a right hand's)"}, indent=1) + "\n")
    register("hand_centres", path, {"command": command, "kind": "hand_centres",
                                    "source": f"{len(clips)} rendered clips of MakeHuman hands (models/synth/hands.py)"})
    (WEIGHTS_DIR / "hand_centres.md").write_text(card(figures, command, [v.name for v in clips], sha256(path)))
    return figures


def card(figures: dict, command: str, clips: list[str], digest: str) -> str:
    return f"""# hand_centres.json: model card

- **What**: one offset per hand landmark (21 x 3, in wrist-to-middle-knuckle lengths along the hand's own axes:
  toward the middle knuckle, across the palm, out of it; a right hand's, mirrored for a left) that moves the hand
  landmark model's picture points from MediaPipe's landmarks (the skin over a knuckle, the fingertip's end) to the
  joint centres a rig's finger bones turn about (`inference/hands.py` `at_joint_centres`). The picture points only:
  the 3D hand the motion carries comes from the world landmarks, unchanged.
- **Data**: {figures['clips']} rendered clips of the CC0 MakeHuman body's hands ({', '.join(clips)}: seeds other than
  the hand benchmark's), {figures['readings']} hand readings, the truth the rig's joints. Licence: the offsets are
  ours (GPL-3.0-or-later, as the package); no third-party data.
- **Command**: `{command}` (renders: `python -m video_mocap.models.synth.hands DIR --clips 8 --seed 100` and
  `--cross --clips 2 --seed 110`).
- **Fit**: median landmark error {figures['median_error_pct_before']} % of the hand's size as read ->
  {figures['median_error_pct_each_clip_left_out']} % with each clip left out of the fit in turn
  ({figures['median_error_pct_fitted']} % fitted on all). The hand benchmark's figures: README, *Hands*.
- **sha256**: `{digest}`
"""
