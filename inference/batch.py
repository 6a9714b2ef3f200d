"""Batch capture: many videos, N worker processes or a Dask cluster, resumable, one summary.

    python -m video_mocap batch VIDEOS_OR_FOLDERS... -o OUT_DIR [--workers 4] [--bvh] [--preview] [--blend]
                                [--scheduler tcp://host:8786] [--rig scene.blend:Armature]

Each video gives OUT_DIR/NAME.npz (and NAME.bvh, NAME_preview.mp4, NAME.blend when asked). A clip whose
outputs all exist is skipped (run the same command again to finish an interrupted batch; ``--force`` redoes
them); a clip that fails is reported and the others go on. The work goes through the standard executor
interface (``concurrent.futures``): local worker processes, or a Dask cluster's ``client.get_executor()``,
so both are one code path. At the end: a table and OUT_DIR/batch.json. From Blender's Python console::

    from bl_ext.user_default.video_mocap.inference import batch
    batch.run_batch(["/footage"], "/mocap", workers=2)
"""
from __future__ import annotations

import json
import os
import sys
import time
import traceback
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from .pipeline import CaptureOptions

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".m4v", ".webm", ".mpg", ".mpeg", ".wmv")


@dataclass
class Outputs:
    """What to write per clip besides the motion file."""

    bvh: bool = False
    preview: bool = False
    blend: bool = False
    force: bool = False
    unseen_fingers: str = "hold"  # BVH and .blend fingers where a hand is not seen (retarget.solver.UNSEEN_FINGERS)

    def paths(self, video: Path, out_dir: Path) -> dict[str, Path]:
        stem = out_dir / video.stem
        paths = {"motion": stem.with_suffix(".npz")}
        if self.bvh:
            paths["bvh"] = stem.with_suffix(".bvh")
        if self.preview:
            paths["preview"] = stem.with_name(stem.name + "_preview.mp4")
        if self.blend:
            paths["blend"] = stem.with_suffix(".blend")
        return paths


@dataclass
class ClipResult:
    video: str
    status: str  # done | skipped | failed
    outputs: list[str] = field(default_factory=list)
    frames: int = 0
    seconds: float = 0.0
    fps: float = 0.0
    lost_frames: int = 0
    error: str = ""


def videos(inputs: Iterable[str | os.PathLike]) -> list[Path]:
    """Video files from files, folders (their videos, sorted) and text files listing one path per line."""
    out: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            out += sorted(q for q in p.iterdir() if q.suffix.lower() in VIDEO_SUFFIXES)
        elif p.suffix.lower() == ".txt" and p.is_file():
            out += [Path(line.strip()) for line in p.read_text().splitlines() if line.strip() and not line.startswith("#")]
        else:
            out.append(p)
    stems = {}
    for v in out:
        if v.stem in stems and stems[v.stem] != v:
            raise ValueError(f"two videos would write the same outputs: {stems[v.stem]} and {v} (rename one)")
        stems[v.stem] = v
    return out


def run_clip(video: str, out_dir: str, opts: CaptureOptions, outputs: Outputs, threads: int = 0) -> ClipResult:
    """Capture one video and write its outputs (the worker's job; never raises: failures are reported)."""
    from . import runtime
    from .pipeline import capture

    t0 = time.perf_counter()
    video_p, out_p = Path(video), Path(out_dir)
    paths = outputs.paths(video_p, out_p)
    try:
        if threads:
            runtime.set_threads(threads)
        result = capture(video_p, opts)
        m = result.motion
        written = [m.save(paths["motion"], overwrite=outputs.force)]
        if "bvh" in paths:
            from ..retarget.bvh import write as write_bvh

            written.append(write_bvh(paths["bvh"], m, overwrite=outputs.force, unseen_fingers=outputs.unseen_fingers))
        if "preview" in paths:
            from .preview import write_preview

            written.append(write_preview(video_p, result, paths["preview"], overwrite=outputs.force))
        if "blend" in paths:
            from ..retarget.blender_io import write_blend  # needs bpy in the worker

            written.append(write_blend(m, paths["blend"], str(video_p), overwrite=outputs.force, unseen_fingers=outputs.unseen_fingers))
        seconds = time.perf_counter() - t0
        return ClipResult(str(video_p), "done", [str(p) for p in written], len(m), seconds, len(m) / seconds,
                          m.meta.get("person", {}).get("lost_frames", 0))
    except Exception as e:  # noqa: BLE001 - one clip's failure is reported, the batch goes on
        last = traceback.extract_tb(e.__traceback__)[-1] if e.__traceback__ else None
        where = f" ({Path(last.filename).name}:{last.lineno})" if last and not isinstance(e, (ValueError, OSError)) else ""
        return ClipResult(str(video_p), "failed", seconds=time.perf_counter() - t0, error=f"{type(e).__name__}: {e}{where}")


def _worker() -> Callable:
    """``run_clip`` as worker processes can import it: inside Blender this package is ``bl_ext.<repo>.video_mocap``,
    which a plain Python process cannot import, so its folder's parent goes on the path (spawned workers
    inherit it) and the function is taken from the package under its own name."""
    if __name__ == "video_mocap.inference.batch":
        return run_clip
    import importlib

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root.parent))
    return importlib.import_module(f"{root.name}.inference.batch").run_clip


def run_batch(inputs: Iterable[str | os.PathLike], out_dir: str | os.PathLike, opts: CaptureOptions | None = None,
              outputs: Outputs | None = None, workers: int = 1, executor: Executor | None = None,
              progress: Callable[[int, int, ClipResult], None] | None = None) -> list[ClipResult]:
    """Capture every video of ``inputs`` into ``out_dir`` (see the module docstring). ``executor``: any
    ``concurrent.futures.Executor`` (e.g. a Dask client's ``get_executor()``); default ``workers`` local
    processes. ``progress(done, total, result)`` is called as clips finish."""
    opts, outputs = opts or CaptureOptions(), outputs or Outputs()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    todo, results = [], []
    for v in videos(inputs):
        paths = outputs.paths(v, out)
        if not outputs.force and all(p.exists() for p in paths.values()):
            results.append(ClipResult(str(v), "skipped", [str(p) for p in paths.values()]))
        elif not v.is_file():
            results.append(ClipResult(str(v), "failed", error=f"FileNotFoundError: no video at {v}"))
        else:
            todo.append(v)
    total, done = len(results) + len(todo), len(results)
    for r in results:
        progress and progress(done, total, r)
    threads = max(1, (os.cpu_count() or 1) // max(workers, 1)) if executor is None else 0
    own = executor is None and todo
    pool = ProcessPoolExecutor(max_workers=max(1, min(workers, len(todo)))) if own else executor
    worker = _worker()
    try:
        futures = [pool.submit(worker, str(v), str(out), opts, outputs, threads) for v in todo]
        for f in as_completed(futures):
            r = f.result()
            results.append(r)
            done += 1
            progress and progress(done, total, r)
    finally:
        if own:
            pool.shutdown()
    order = {str(v): k for k, v in enumerate(videos(inputs))}
    results.sort(key=lambda r: order.get(r.video, 0))
    (out / "batch.json").write_text(json.dumps({"options": asdict(opts), "outputs": asdict(outputs),
                                                "clips": [asdict(r) for r in results]}, indent=2))
    return results


def retarget_onto(results: list[ClipResult], rig: str, out: Path, force: bool = False, unseen_fingers: str = "hold") -> Path:
    """One .blend: the armature ``FILE.blend:ARMATURE`` (the file is only read) with one action per captured
    clip, saved as ``out`` (needs bpy)."""
    import bpy

    from ..retarget import blender_io

    path, _, name = rig.partition(":")
    if out.exists() and not force:
        raise FileExistsError(f"{out} exists; pass --force to replace it")
    if not Path(path).is_file():
        raise FileNotFoundError(f"--rig: no .blend at {path}")
    bpy.ops.wm.open_mainfile(filepath=path)
    arms = [o for o in bpy.data.objects if o.type == "ARMATURE" and (not name or o.name == name)]
    if not arms:
        raise ValueError(f"--rig: no armature {name!r} in {path}" if name else f"--rig: no armature in {path}")
    motions = [r.outputs[0] for r in results if r.status in ("done", "skipped") and r.outputs]
    reports = blender_io.retarget_files(motions, [arms[0]], unseen_fingers=unseen_fingers)
    for r in reports:
        print(r)
    bpy.ops.wm.save_as_mainfile(filepath=str(out), copy=True)
    return out


def table(results: list[ClipResult]) -> str:
    rows = ["| clip | status | frames | s | fps | frames without the person | outputs / error |", "|---|---|---|---|---|---|---|"]
    for r in results:
        rows.append(f"| {Path(r.video).name} | {r.status} | {r.frames} | {r.seconds:.1f} | {r.fps:.1f} | {r.lost_frames} | "
                    + (r.error or ", ".join(Path(p).name for p in r.outputs)) + " |")
    done = [r for r in results if r.status == "done"]
    frames, secs = sum(r.frames for r in done), sum(r.seconds for r in done)
    rows.append(f"\n{len(done)} captured, {sum(r.status == 'skipped' for r in results)} skipped (already done), "
                f"{sum(r.status == 'failed' for r in results)} failed; {frames} frames in {secs:.1f} worker-seconds")
    return "\n".join(rows)

