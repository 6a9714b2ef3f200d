"""Does the capture stay on the chosen person? Scores tracking on the two-person renders of ``people.py``.

    python -m video_mocap.models.synth.identity OUT_DIR

For every SCENARIO.mp4 / SCENARIO_gt.npz in OUT_DIR, tracks the clip twice, automatically (scored on whoever
it starts on) and with person A chosen by a pixel on them on the first frame (what a user clicks), and compares each frame's
landmarks (the 12 body joints) with both people's true 2D: frames on the chosen person, frames wrongly on
the other person, frames lost (left unseen; and of those, lost while at least half the person was in view),
frames the person was mostly hidden behind the other, identity switches (runs on one person followed by
runs on the other), and the median 2D error on the chosen person.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from ...inference.detector import BlazePose
from ...inference.person import PersonChoice, Tracker
from ...inference.video import frames
from ...skeleton import load_map, load_skeleton

BODY = ("r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "l_shoulder", "l_elbow", "l_wrist", "r_shoulder",
        "r_elbow", "r_wrist")


def track(video: str | Path, choice: PersonChoice, model: BlazePose) -> tuple[np.ndarray, Tracker, float]:
    """The tracked 12 body joints per frame (T, 12, 2; NaN where nobody was taken), the tracker, fps."""
    mapping = load_map("blazepose33", "h36m17_ext")
    ix = [mapping.target.names.index(n) for n in BODY]
    tracker, out = Tracker(model, choice), []
    t0 = time.perf_counter()
    for _, _, rgb in frames(str(video)):
        pose = tracker(rgb)
        if pose is None:
            out.append(np.full((12, 2), np.nan))
        else:
            px, _ = mapping.apply(pose.landmarks, pose.confidence)
            out.append(px[ix])
    return np.array(out), tracker, len(out) / (time.perf_counter() - t0)


def label(tracked: np.ndarray, uv_a: np.ndarray, uv_b: np.ndarray) -> np.ndarray:
    """Per frame: 'A' (the chosen person), 'B' (the other), '-' (nobody taken), '?' (neither fits)."""
    sk = load_skeleton("h36m17_ext")
    ix = [sk.index(n) for n in BODY]
    out = []
    for p, a, b in zip(tracked, uv_a[:, ix], uv_b[:, ix]):
        if np.isnan(p).all():
            out.append("-")
            continue
        da, db = np.median(np.linalg.norm(p - a, axis=1)), np.median(np.linalg.norm(p - b, axis=1))
        torso = lambda u: np.linalg.norm(u[[6, 9]].mean(0) - u[[0, 3]].mean(0))  # noqa: E731
        if da < db and da < 0.5 * torso(a):
            out.append("A")
        elif db < da and db < 0.5 * torso(b):
            out.append("B")
        else:
            out.append("?")
    return np.array(out)


def hidden(uv_me: np.ndarray, uv_other: np.ndarray, z_me: np.ndarray, z_other: np.ndarray) -> np.ndarray:
    """Per frame: the share of a person's 12 body joints behind the other person (inside the other's 2D outline,
    the other nearer the camera)."""
    import cv2

    sk = load_skeleton("h36m17_ext")
    ix = [sk.index(n) for n in BODY]
    out = np.zeros(len(uv_me))
    for t in range(len(uv_me)):
        if np.nanmedian(z_other[t]) >= np.nanmedian(z_me[t]):
            continue
        hull = cv2.convexHull(uv_other[t, :17].astype(np.float32))
        out[t] = np.mean([cv2.pointPolygonTest(hull, (float(x), float(y)), False) >= 0 for x, y in uv_me[t, ix]])
    return out


def switches(labels: np.ndarray) -> int:
    """Changes of identity between the people (lost frames in between do not count as a change)."""
    people = [x for x in labels if x in "AB"]
    return int(sum(a != b for a, b in zip(people, people[1:])))


def score(folder: str | Path) -> list[dict]:
    model = BlazePose("cpu")
    rows = []
    sk = load_skeleton("h36m17_ext")
    ix = [sk.index(n) for n in BODY]
    for gt_path in sorted(Path(folder).glob("*_gt.npz")):
        gt = np.load(gt_path)
        video = gt_path.with_name(gt_path.name.replace("_gt.npz", ".mp4"))
        pick = gt["pick"]
        z = {k: gt[f"joints_{k}"] @ gt["R"].T[:, 2] + gt["t"][2] for k in "ab"}
        behind = {"a": hidden(gt["uv_a"], gt["uv_b"], z["a"], z["b"]) >= 0.5,
                  "b": hidden(gt["uv_b"], gt["uv_a"], z["b"], z["a"]) >= 0.5}
        for mode, choice in (("auto", PersonChoice()), ("picked", PersonChoice(point=(float(pick[0]), float(pick[1]))))):
            tracked, tracker, fps = track(video, choice, model)
            labels = label(tracked, gt["uv_a"], gt["uv_b"])
            first = next((x for x in labels if x in "AB"), "A")
            if mode == "auto" and first == "B":  # automatic: scored on whoever it started on
                labels = np.array([{"A": "B", "B": "A"}.get(x, x) for x in labels])
                tracked_truth, me = gt["uv_b"], "b"
            else:
                tracked_truth, me = gt["uv_a"], "a"
            on_a = labels == "A"
            err = np.linalg.norm(tracked[on_a] - tracked_truth[on_a][:, ix], axis=-1)
            rows.append({"clip": str(gt["scenario"]), "choice": mode, "frames": len(labels), "on_chosen": int(on_a.sum()),
                         "on_other": int((labels == "B").sum()), "lost": int((labels == "-").sum()),
                         "neither": int((labels == "?").sum()), "switches": switches(labels),
                         "hidden": int(behind[me].sum()), "lost_while_visible": int(((labels == "-") & ~behind[me]).sum()),
                         "median_2d_px": float(np.median(err)) if len(err) else float("nan"), "fps": round(fps, 1),
                         "tracker": tracker.summary(), "labels": "".join(labels)})
    return rows


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out_dir")
    a = p.parse_args(argv)
    rows = score(a.out_dir)
    Path(a.out_dir, "identity.json").write_text(json.dumps(rows, indent=2))
    print(f"`python -m video_mocap.models.synth.identity {a.out_dir}`\n")
    print("| clip | choice | frames | on chosen | on other | lost | lost while visible | hidden | neither | switches | 2D px | fps |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['clip']} | {r['choice']} | {r['frames']} | {r['on_chosen']} | {r['on_other']} | {r['lost']} | "
              f"{r['lost_while_visible']} | {r['hidden']} | {r['neither']} | {r['switches']} | {r['median_2d_px']:.1f} | {r['fps']} |")
    for r in rows:
        print(f"{r['clip']:13s} {r['choice']:7s} {r['labels']}")


if __name__ == "__main__":
    main()
