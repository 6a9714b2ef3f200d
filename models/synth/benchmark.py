"""The rendered benchmark: a fixed set of held-out clips, rendered, captured by each of our lifters and by
MediaPipe, and scored against the exact ground truth. One command, resumable (rendered clips are kept):

    python -m video_mocap.models.synth.benchmark [OUT_DIR] [--lifters single mpm] [--no-mediapipe]

MediaPipe (``mediapipe==0.10.14``) runs in its own virtual environment under ``.cache/``, made on first use.
Prints one table (frame-weighted means over the set) and writes OUT_DIR/results.json (rows of earlier
runs for other lifters are kept, so one lifter can be re-scored alone).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..assets import CACHE, MEDIAPIPE
from ..data import DEFAULT_DATA, require_data
from . import score as S

LANDSCAPE, PORTRAIT = (512, 288), (288, 512)


@dataclass(frozen=True)
class Shot:
    """One benchmark clip: a held-out mocap clip on the character and scene drawn from ``seed``."""

    clip: str
    seed: int
    portrait: bool = False
    pan: bool = False
    seconds: float = 5.0

    @property
    def name(self) -> str:
        return f"{self.clip}_s{self.seed}{'_v' if self.portrait else ''}{'_pan' if self.pan else ''}"


#: Held-out test subjects only (05 modern dance, 16 walks/jumps/runs, 49 dance and gymnastics); 4 of 12
#: in 9:16, 4 with a following pan.
SET = (
    Shot("05_01", 1), Shot("05_02", 2, portrait=True), Shot("05_10", 3, pan=True), Shot("05_11", 4),
    Shot("05_13", 5, portrait=True, pan=True), Shot("16_02", 6), Shot("16_07", 7, portrait=True), Shot("49_02", 8, pan=True),
    Shot("49_06", 9), Shot("49_08", 10, portrait=True), Shot("49_18", 11), Shot("49_20", 12, pan=True),
)
METRICS = ("pa_common", "accel_common", "mpjpe", "pa_mpjpe", "root_m", "pitch_err_deg", "skate_cm_s", "float_cm", "below_pct",
           "px_2d", "fps", "found")


def mediapipe_python() -> Path:
    """The interpreter of the MediaPipe environment, made (pip, once) if missing."""
    venv = CACHE / "mediapipe-venv"
    python = venv / "bin" / "python"
    if not python.is_file():
        print(f"making {venv} with {MEDIAPIPE} (once)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", MEDIAPIPE, "numpy<2"], check=True)
    return python


def mediapipe_landmarks(video: Path, landmarks: Path) -> Path:
    """MediaPipe's own solution on ``video``, written to ``landmarks`` (npz) unless it is there already."""
    if not landmarks.is_file():
        subprocess.run([str(mediapipe_python()), str(Path(__file__).with_name("mediapipe_pose.py")), str(video), str(landmarks)],
                       check=True, capture_output=True)
    return landmarks


def render_shot(shot: Shot, out: Path, data: str, samples: int = 4, fps: float = 25.0, scale: float = 1.0,
                training: bool = False) -> tuple[Path, Path]:
    """Render ``shot`` into ``out`` unless it is there already (``training``: a training subject's clip allowed)."""
    video, gt = out / f"{shot.name}.mp4", out / f"{shot.name}_gt.npz"
    if not (video.is_file() and gt.is_file()):
        from .render import render  # bpy only when something must be rendered

        require_data(data)
        size = tuple(int(round(s * scale / 2)) * 2 for s in (PORTRAIT if shot.portrait else LANDSCAPE))
        render(out, shot.clip, data, shot.seconds, fps, size, shot.seed, samples, shot.pan, shot.name, training=training)
    return video, gt


#: Capture options a user who knows them may give, as the benchmark names the rows given them.
TOLD = {"performer_height": " height", "focal_px": " lens"}


def _told(gt: Path, height: bool, lens: bool) -> dict[str, float]:
    """The capture options a rendered clip's truth ``gt`` gives: the person's height, the camera's focal length."""
    if not (height or lens):
        return {}
    truth, told = np.load(gt), {}
    if height:
        from .character import Body, stature  # bpy

        told["performer_height"] = stature(Body.from_json(str(truth["body"])))
    if lens:
        told["focal_px"] = float(truth["K"][0, 0])
    return told


def run(out: str | Path, shots=SET, lifters=("single", "mpm", "context"), mediapipe: bool = True, data: str = DEFAULT_DATA,
        samples: int = 4, scale: float = 1.0, detector: str = "full", options: dict | None = None,
        known_height: bool = False, known_lens: bool = False) -> list[dict]:
    """Render (if needed) and score every shot; one row per shot and method (``options``: more capture options;
    ``known_height`` / ``known_lens``: each capture given the rendered person's height / the render's focal
    length, as a user who knows them would, in rows named 'LIFTER height', 'LIFTER lens', 'LIFTER height lens')."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, shot in enumerate(shots):
        t0 = time.perf_counter()
        video, gt = render_shot(shot, out, data, samples, scale=scale)
        print(f"[{i + 1}/{len(shots)}] {shot.name}: rendered in {time.perf_counter() - t0:.0f} s", flush=True)
        told = _told(gt, known_height, known_lens)
        for lifter in lifters:
            row = S.score(video, gt, lifter, detector=detector, **{**(options or {}), **told}) | {"shot": asdict(shot)}
            if told:  # what the capture was told, beside the method's name
                row |= {"method": row["method"] + "".join(TOLD[k] for k in told), "told": told}
            rows.append(row)
        if mediapipe:
            landmarks = mediapipe_landmarks(video, out / f"{shot.name}_mediapipe.npz")
            rows.append(S.score_mediapipe(landmarks, gt) | {"shot": asdict(shot)})
    results = out / "results.json"
    if results.is_file():  # keep earlier rows of other clips or methods; this run's rows replace their own
        mine = {(r["clip"], r["method"]) for r in rows}
        rows = [r for r in json.loads(results.read_text()) if (r["clip"], r["method"]) not in mine] + rows
    results.write_text(json.dumps(rows, indent=1))
    return rows


def summary(rows: list[dict], metrics=METRICS) -> dict[str, dict[str, float]]:
    """Frame-weighted means per method of the ``metrics`` the rows have; foot skating pooled over every planted
    ankle-frame of the set (a clip with few planted frames weighs as little as it shows)."""
    out = {}
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        w = np.array([r["frames"] for r in mine], float)
        out[method] = {}
        for k in (k for k in metrics if k in mine[0]):
            v = np.array([r[k] for r in mine], float)
            wk = np.array([r.get("skate_n", r["frames"]) for r in mine], float) if k == "skate_cm_s" else w
            ok = np.isfinite(v) & (wk > 0)  # foot skating is undefined on clips where no foot is ever planted
            out[method][k] = float(np.average(v[ok], weights=wk[ok])) if ok.any() else float("nan")
        out[method]["frames"] = int(w.sum())
    return out


COLUMNS = (("PA-MPJPE 12j", "pa_common", ".1f"), ("accel 12j", "accel_common", ".2f"), ("MPJPE 17j", "mpjpe", ".1f"),
           ("PA-MPJPE 17j", "pa_mpjpe", ".1f"), ("root m", "root_m", ".2f"), ("pitch err deg", "pitch_err_deg", ".1f"),
           ("skate cm/s", "skate_cm_s", ".1f"), ("float cm", "float_cm", ".1f"), ("below %", "below_pct", ".0f"),
           ("2D px", "px_2d", ".1f"), ("found %", "found", ".0%"), ("fps", "fps", ".1f"))


def print_tables(rows: list[dict], columns=COLUMNS, metrics=METRICS, unit: str = "clip") -> None:
    """The summary table (frame-weighted, one row per method) and PA-MPJPE per ``unit`` (clip, view), markdown."""
    table = summary(rows, metrics)
    print(f"| method | frames | {' | '.join(c for c, _, _ in columns)} |\n|---|---|" + "---|" * len(columns))
    for method, m in table.items():
        cells = [format(m[k], f).rstrip("%") if k in m else "-" for _, k, f in columns]
        print(f"| {method} | {m['frames']} | " + " | ".join(cells) + " |")
    methods = list(table)
    print(f"\nPA-MPJPE on the 12 common joints, per {unit} (mm):\n| {unit} | {' | '.join(methods)} |\n|---|" + "---|" * len(methods))
    for name in dict.fromkeys(r["clip"] for r in rows):
        by = {r["method"]: r["pa_common"] for r in rows if r["clip"] == name}
        print(f"| {name} | " + " | ".join(f"{by[m]:.1f}" if m in by else "-" for m in methods) + " |")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", nargs="?", default="out/benchmark")
    p.add_argument("--lifters", nargs="+", default=["single", "mpm", "context"])
    p.add_argument("--no-mediapipe", action="store_true")
    p.add_argument("--detector", choices=["full", "heavy"], default="full", help="our landmark model (rows named 'LIFTER heavy')")
    p.add_argument("--data", default=DEFAULT_DATA, help="mocap npz in the shared data layout (needed only to render)")
    p.add_argument("--samples", type=int, default=4, help="Cycles samples per pixel")
    p.add_argument("--shots", type=int, default=len(SET), help="only the first N shots of the set")
    p.add_argument("--fixed-camera", action="store_true", help="capture as if no camera turned (the 'before' rows)")
    p.add_argument("--known-height", action="store_true",
                   help="give each capture the rendered person's height (rows 'LIFTER height'), as a user who knows it")
    p.add_argument("--known-lens", action="store_true",
                   help="give each capture the render's focal length (rows 'LIFTER lens'), as a user who knows it")
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    rows = run(a.out, SET[: a.shots], tuple(a.lifters), not a.no_mediapipe, a.data, a.samples, detector=a.detector,
               options={"moving_camera": False} if a.fixed_camera else None, known_height=a.known_height, known_lens=a.known_lens)
    print(f"\n{len(SET[: a.shots])} clips in {(time.perf_counter() - t0) / 60:.1f} min; "
          f"`python -m video_mocap.models.synth.benchmark {' '.join(argv if argv is not None else sys.argv[1:])}`\n")
    print_tables(rows)


if __name__ == "__main__":
    main()
