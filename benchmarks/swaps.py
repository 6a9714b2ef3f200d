"""Left/right swaps: the detector's labels and our swap fixing, against the truth's 2D (prints figures; not a test).

    python benchmarks/swaps.py out/benchmark [--real out/real] [--switch 0.1] [--hold 0 0.75]
    python benchmarks/swaps.py out/turns --render-turns [--switch 0.05 0.1] [--hold 0 0.75]

For every rendered clip of a benchmark folder (a video beside its ``*_gt.npz``) and, given the real-footage
benchmark's folder (its ``truth.npz``), every pose2sim view: the frames whose legs / arms lie on the wrong side
(each left/right pair of hips, knees, ankles or shoulders, elbows, wrists nearer the other side's truth, by more
than 0.1 person sizes in all), as the detector labels them and after :func:`video_mocap.inference.swaps.find_swaps`
at each ``--switch`` and ``--hold`` cost. The landmarks come from the detector's tracker alone (as the capture tracks one person).
``--render-turns`` first renders ``models.data.TURN_CLIPS`` into the folder (one in three 9:16, every
other one with a following pan): turning dancers and acrobats of *training* subjects,
the set the swap fixing's costs were chosen on (fair for it: it reads only the detector's 2D; and for the contact
network, which leaves these clips out of its data); 12 clips of 5 s, about 12 minutes on a 2-core CPU.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

PAIRS = {"legs": ((23, 24), (25, 26), (27, 28)), "arms": ((11, 12), (13, 14), (15, 16))}  # BlazePose indices


def wrong_side(px: np.ndarray, truth: np.ndarray, size: np.ndarray) -> dict[str, np.ndarray]:
    """(T,) per group: the landmarks ``px`` (T, 33, 2) nearer the truth (T, 33, 2) with left and right crossed."""
    out = {}
    for group, pairs in PAIRS.items():
        same = sum(np.linalg.norm(px[:, a] - truth[:, a], axis=-1) + np.linalg.norm(px[:, b] - truth[:, b], axis=-1) for a, b in pairs)
        cross = sum(np.linalg.norm(px[:, a] - truth[:, b], axis=-1) + np.linalg.norm(px[:, b] - truth[:, a], axis=-1) for a, b in pairs)
        out[group] = cross + 0.1 * size < same
    return out


def clips(folder: Path, real: Path | None):
    """(name, video, truth landmarks (T, 33, 2) NaN where the truth has none, frames) of every clip."""
    from video_mocap.models.synth.score import COMMON

    for gt_path in sorted(folder.glob("*_gt.npz")):
        uv = np.load(gt_path)["uv"]
        truth = np.full((len(uv), 33, 2), np.nan)
        for ours, theirs in COMMON:
            truth[:, theirs] = uv[:, ours]
        yield gt_path.name[:-7], gt_path.with_name(gt_path.name[:-7] + ".mp4"), truth, None
    if real is not None:
        from video_mocap.models.assets import pose2sim_demo
        from video_mocap.models.real.benchmark import cameras

        t = dict(np.load(real / "truth.npz", allow_pickle=True))
        for cam in cameras(t):
            yield f"real {cam.name}", pose2sim_demo() / "videos" / f"{cam.name}.mp4", cam.project(t["world"]), len(t["world"])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("benchmark", type=Path, help="a rendered benchmark's folder (videos and *_gt.npz)")
    p.add_argument("--real", type=Path, help="the real-footage benchmark's folder (truth.npz)")
    p.add_argument("--switch", type=float, nargs="+", default=[0.1], help="find_swaps switch costs to score")
    p.add_argument("--hold", type=float, nargs="+", default=[0.75], help="find_swaps hold costs to score")
    p.add_argument("--render-turns", action="store_true", help="render the turning training-subject clips into BENCHMARK first")
    a = p.parse_args(argv)
    if a.render_turns:
        from video_mocap.models.data import DEFAULT_DATA, TURN_CLIPS
        from video_mocap.models.synth.benchmark import Shot, render_shot

        for i, (clip, seed) in enumerate(TURN_CLIPS):
            render_shot(Shot(clip, seed, portrait=i % 3 == 1, pan=i % 2 == 0), a.benchmark, DEFAULT_DATA, training=True)
    from video_mocap.inference import swaps as S
    from video_mocap.inference.detector import BlazePose
    from video_mocap.inference.video import open_video
    from video_mocap.models.real.benchmark import track
    from video_mocap.skeleton import load_skeleton

    mirror, model = load_skeleton("blazepose33").mirror_permutation, BlazePose("cpu")
    settings = [(s, h) for s in a.switch for h in a.hold]
    methods = ["detector"] + [f"fixed, switch {s:g} hold {h:g}" for s, h in settings]
    totals = {m: {"legs": 0, "arms": 0} for m in methods}
    frames = 0
    print(f"| clip | {' | '.join(m + ' (legs / arms)' for m in methods)} |\n|---|" + "---|" * len(methods))
    for name, video, truth, stop in clips(a.benchmark, a.real):
        px, conf = track(video, model, stop)
        n = min(len(px), len(truth))
        px, conf, truth = px[:n], conf[:n], truth[:n]
        seen = np.isfinite(px).all((1, 2))
        size = S._size(np.nan_to_num(px))
        labelled = {"detector": px}
        cap, info = open_video(video)
        cap.release()
        for (s, h), m in zip(settings, methods[1:]):
            flags = S.find_swaps(np.nan_to_num(px), conf, seen, mirror, info.fps, switch=s, hold=h)
            labelled[m] = S.unswap(np.nan_to_num(px), conf, flags, mirror)[0]
        cells = []
        for m, x in labelled.items():
            w = {g: int((v & seen).sum()) for g, v in wrong_side(x, truth, size).items()}
            totals[m] = {g: totals[m][g] + w[g] for g in w}
            cells.append(f"{w['legs']} / {w['arms']}")
        frames += int(seen.sum())
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    print(f"| **all** ({frames} frames) | " + " | ".join(f"**{t['legs']} / {t['arms']}**" for t in totals.values()) + " |")


if __name__ == "__main__":
    main()
