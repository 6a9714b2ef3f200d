"""Command line: ``python -m video_mocap COMMAND ...``."""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from ..motion import Motion, MotionError
from ..retarget.solver import UNSEEN_FINGERS
from .bones import check_height
from .camera import TYPICAL_HEIGHT


def _info(args: argparse.Namespace) -> int:
    m = Motion.load(args.motion)
    seen = (m.confidence > 0).mean(axis=0)
    print(f"{args.motion}: {len(m)} frames at {m.fps:g} fps ({m.duration:.2f} s), skeleton {m.skeleton.name} "
          f"({len(m.skeleton)} joints), frame {m.frame}, root {'yes' if m.root is not None else 'no'}")
    if m.intrinsics is not None:
        print(f"camera: f = {m.intrinsics[0, 0]:.1f} px, image {m.image_size}")
    low = [f"{n} {s:.0%}" for n, s in zip(m.skeleton.names, seen) if s < 0.99]
    print("joints seen in fewer than 99% of frames: " + (", ".join(low) if low else "none"))
    pos = m.positions()
    lo, hi = np.nanmin(pos, axis=(0, 1)), np.nanmax(pos, axis=(0, 1))
    print(f"extent (m): x {lo[0]:.2f}..{hi[0]:.2f}  y {lo[1]:.2f}..{hi[1]:.2f}  z {lo[2]:.2f}..{hi[2]:.2f}")
    for k, v in m.meta.items():
        print(f"meta {k}: {v}")
    return 0


class _Progress:
    """A one-line progress bar on stderr: stage, frames, frames/s."""

    def __init__(self, quiet: bool):
        self.quiet = quiet

    def __call__(self, stage: str, done: int, total: int, fps: float) -> None:
        if self.quiet:
            return
        frac = min(done / max(total, 1), 1.0)
        bar = "#" * int(frac * 30)
        print(f"\r{stage:9s} [{bar:30s}] {done}/{total} {fps:5.1f} fps", end="" if stage != "done" else "\n",
              file=sys.stderr, flush=True)


def _capture(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .pipeline import CaptureOptions, capture

    out = Path(args.output)
    targets = [out] + [Path(p) for p in (args.bvh, args.preview, args.blend) if p]
    clash = [str(p) for p in targets if p.exists()]
    if clash and not args.force:
        print(f"error: {', '.join(clash)} already exist(s); pass --force to replace", file=sys.stderr)
        return 1
    opts = CaptureOptions(lifter=args.lifter, device=args.device, complete=not args.no_complete, threshold=args.threshold,
                          smooth=args.smooth, fov=args.fov, focal_px=args.focal, start=args.start, stop=args.stop,
                          fix_swaps=not args.keep_swaps, constant_bones=not args.per_frame_bones, solve=not args.no_solve,
                          person=args.person, detector=args.detector, hands=args.hands, moving_camera=not args.fixed_camera,
                          camera_height=args.camera_height, performer_height=args.performer_height)
    if args.threads is not None:
        from . import runtime

        runtime.set_threads(args.threads)
    result = capture(args.video, opts, _Progress(args.quiet))
    m = result.motion
    written = [m.save(out, overwrite=args.force)]
    if args.bvh:
        from ..retarget.bvh import write as write_bvh

        written.append(write_bvh(args.bvh, m, overwrite=args.force, unseen_fingers=args.unseen_fingers))
    if args.preview:
        from .preview import write_preview

        written.append(write_preview(args.video, result, args.preview, overwrite=args.force))
    if args.blend:
        from ..retarget.blender_io import write_blend  # needs the bpy wheel: pip install -e '.[blender]'

        written.append(write_blend(m, args.blend, args.video, overwrite=args.force, unseen_fingers=args.unseen_fingers))
    meta = m.meta
    print(f"{len(m)} frames at {m.fps:g} fps; tracking {meta['tracking_fps']} fps on {meta['provider']}, "
          f"lifting ({meta['lifter']}) {meta['lift_ms_per_frame']} ms/frame; frames without a person: "
          f"{meta['frames_without_person']}" + (f", unseen stretches {meta['unseen_stretches']}" if meta["unseen_stretches"] else "")
          + f"; camera pitch {meta['camera_pitch_deg']:+.0f} deg"
          + (f", turning up to {meta['camera']['turn_deg']:.1f} deg (followed, read from the "
             f"{meta['camera'].get('turn_from') or 'background'})" if meta["camera"].get("turn_deg") else "")
          + (f", {meta['camera']['height_m']:.2f} m above the floor; feet in contact on {meta['contact_frames']['left']} (left) / "
             f"{meta['contact_frames']['right']} (right) frames, solve {meta['solve_ms_per_frame']} ms/frame" if meta.get("solved") else "")
          + "".join(f"; {g} left/right swaps undone on {n} frames" for g, n in meta.get("swapped_frames", {}).items() if n))
    who = meta["person"]
    print(f"performer {meta['performer_height_m']:.2f} m tall"
          + (" (as given)" if args.performer_height else " (the lifter's guess: give --performer-height to set the "
             "body's size, and with it its distance from the camera)"))
    print(f"captured {who['choice']}" + (f" (box {who['box']} on frame {who['frame']})" if who["box"] else "")
          + f": {who['lost_frames']} frames without them (left unseen), found again {who['refound']} times"
          + (f", another person taken out of the crop on {who['other_person_rejected']} frames" if who["other_person_rejected"] else ""))
    if meta["joints_never_seen"]:
        print(f"never seen, guessed by the lifter throughout: {', '.join(meta['joints_never_seen'])} "
              "(out of frame or hidden; the keys exist but are not measured)")
    print("wrote " + ", ".join(map(str, written)))
    return 0


def _people(args: argparse.Namespace) -> int:
    import cv2

    from .person import describe, draw_people, find_people

    rgb, dets = find_people(args.video, args.start, args.device)
    print(f"{len(dets)} {'person' if len(dets) == 1 else 'people'} on frame {args.start} (numbered left to right; "
          f"capture one with --person N): {describe(dets) or 'none'}")
    if args.image:
        cv2.imwrite(args.image, cv2.cvtColor(draw_people(rgb, dets), cv2.COLOR_RGB2BGR))
        print(f"wrote {args.image}")
    return 0


def _batch(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .batch import Outputs, retarget_onto, run_batch, table
    from .pipeline import CaptureOptions

    opts = CaptureOptions(lifter=args.lifter, device=args.device, smooth=args.smooth, fov=args.fov, person=args.person,
                          solve=not args.no_solve, detector=args.detector, hands=args.hands,
                          moving_camera=not args.fixed_camera, camera_height=args.camera_height,
                          performer_height=args.performer_height)
    outputs = Outputs(bvh=args.bvh, preview=args.preview, blend=args.blend, force=args.force, unseen_fingers=args.unseen_fingers)
    executor, client = None, None
    if args.scheduler:
        try:
            from distributed import Client
        except ImportError:
            print("error: --scheduler needs Dask: pip install 'video_mocap[dask]' (dask distributed)", file=sys.stderr)
            return 1
        client = Client(args.scheduler)
        executor = client.get_executor()
    t0 = time.perf_counter()

    def progress(done, total, r):
        if not args.quiet:
            bar = "#" * int(30 * done / max(total, 1))
            print(f"\rbatch     [{bar:30s}] {done}/{total} clips  last: {Path(r.video).name} {r.status}",
                  end="\n" if done == total else "", file=sys.stderr, flush=True)

    try:
        results = run_batch(args.inputs, args.output, opts, outputs, args.workers, executor, progress)
    finally:
        if client is not None:
            client.close()
    print(table(results))
    print(f"wall {time.perf_counter() - t0:.1f} s; summary in {Path(args.output) / 'batch.json'}")
    if args.rig:
        print(f"wrote {retarget_onto(results, args.rig, Path(args.output) / 'batch.blend', args.force, args.unseen_fingers)}")
    return 1 if any(r.status == "failed" for r in results) else 0


def _metres(text: str) -> float:
    """A positive distance in metres (argparse type)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a height above the floor in metres, e.g. 1.4")
    return value


def _height(text: str) -> float:
    """A person's height in metres (argparse type)."""
    try:
        return check_height(float(text))
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m video_mocap", description="Video Mocap: footage to animation.")
    sub = p.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="validate a motion file and summarise it")
    info.add_argument("motion", help="a .npz motion file")
    info.set_defaults(run=_info)
    ppl = sub.add_parser("people", help="list (and draw) the people on a frame, numbered as --person counts them")
    ppl.add_argument("video")
    ppl.add_argument("--start", type=int, default=0, help="the frame (the capture's start frame)")
    ppl.add_argument("--image", help="write the frame with every person boxed and numbered to this image file")
    ppl.add_argument("--device", choices=["auto", "cpu", "gpu", "cuda"], default="auto")
    ppl.set_defaults(run=_people)
    cap = sub.add_parser("capture", help="video in, motion out")
    cap.add_argument("video")
    cap.add_argument("-o", "--output", required=True, help="motion .npz to write")
    cap.add_argument("--lifter", choices=["single", "mpm", "context"], default="mpm",
                     help="mpm (default): 27-frame windows, the best on rendered and real footage, the least jitter and "
                          "foot sliding, fills occlusions from neighbouring frames; single: one frame's 2D, the best on "
                          "the mocap test; context: one frame's 2D plus the detector's image features")
    cap.add_argument("--device", choices=["auto", "cpu", "gpu", "cuda"], default="auto")
    cap.add_argument("--detector", choices=["full", "heavy"], default="full",
                     help="landmark model: full (shipped) or heavy (better 2D, slower; build it once with "
                          "python -m video_mocap.models convert-detector --heavy)")
    cap.add_argument("--hands", action="store_true",
                     help="also capture the fingers (21 points a hand, MediaPipe's hand models; about 1.5x the time)")
    cap.add_argument("--unseen-fingers", choices=UNSEEN_FINGERS, default="hold",
                     help="with --hands, the fingers of the BVH and --blend rig where a hand is not seen: hold (the last "
                          "seen shape), rest (the rig's rest pose) or relaxed (a hand at ease)")
    cap.add_argument("--no-complete", action="store_true", help="do not mask and fill low-confidence joints")
    cap.add_argument("--keep-swaps", action="store_true",
                     help="keep the detector's left/right labels as they are (by default swaps are undone over the clip)")
    cap.add_argument("--no-solve", action="store_true",
                     help="skip the clip-level solve (feet on the floor without sliding, one skeleton, camera tilt and "
                          "height from the whole clip): each frame placed on its own, smoothed, planted feet pinned")
    cap.add_argument("--fixed-camera", action="store_true",
                     help="the camera did not turn: skip following its pan/tilt from the background (by default a "
                          "turning camera is found and the motion stays put in the world; a still one is left as is)")
    cap.add_argument("--per-frame-bones", action="store_true",
                     help="with --no-solve, let bone lengths vary from frame to frame as lifted (by default, and always "
                          "with the solve, one skeleton for the clip)")
    cap.add_argument("--threshold", type=float, default=0.3, help="confidence below which joints are filled")
    cap.add_argument("--smooth", type=float, default=0.5, help="smoothing strength 0..1")
    cap.add_argument("--fov", type=float, default=60.0, help="field of view across the long side of the frame, degrees")
    cap.add_argument("--focal", type=float, help="focal length in pixels (overrides --fov)")
    cap.add_argument("--camera-height", type=_metres, default=TYPICAL_HEIGHT, metavar="M",
                     help="how high above the floor the camera was, metres (default 1.4: held or on a tripod); the "
                          "solve expects it to look down at the feet from there, so a known height sets the world's "
                          "tilt better")
    cap.add_argument("--performer-height", type=_height, metavar="M",
                     help="the performer's height, floor to the top of the head, metres (e.g. 1.75): one view cannot "
                          "tell a small person near the camera from a tall one further away, so by default the body "
                          "gets the lifter's typical size; a known height sets its size and distance")
    cap.add_argument("--person", default="auto",
                     help="whom to capture: an index into the people found on the start frame (numbered left to "
                          "right; a wrong index lists who was found), a pixel 'x,y' on the person, or a box "
                          "'x0,y0,x1,y1' around them (default: the largest, most central person)")
    cap.add_argument("--start", type=int, default=0, help="first frame")
    cap.add_argument("--stop", type=int, help="frame to stop before")
    cap.add_argument("--bvh", help="also write a BVH file")
    cap.add_argument("--preview", help="also write a preview video (frames + 2D keypoints beside the 3D skeleton)")
    cap.add_argument("--blend", help="also write a .blend: a rig with the action and the clip as reference (needs bpy)")
    cap.add_argument("--threads", type=int,
                     help="onnxruntime threads per network (default 1: fastest here; 0: all cores)")
    cap.add_argument("--force", action="store_true", help="replace existing output files")
    cap.add_argument("-q", "--quiet", action="store_true")
    cap.set_defaults(run=_capture)
    bat = sub.add_parser("batch", help="capture many videos: worker processes or a Dask cluster, resumable")
    bat.add_argument("inputs", nargs="+", help="video files, folders of videos, or .txt files listing videos")
    bat.add_argument("-o", "--output", required=True, help="folder for the outputs (NAME.npz, ...) and batch.json")
    bat.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) // 2),
                     help="worker processes on this machine (default: half the cores)")
    bat.add_argument("--scheduler", help="a Dask scheduler address (tcp://host:8786): run the clips on its workers")
    bat.add_argument("--lifter", choices=["single", "mpm", "context"], default="mpm", help="as for capture")
    bat.add_argument("--device", choices=["auto", "cpu", "gpu", "cuda"], default="auto")
    bat.add_argument("--person", default="auto", help="as for capture (applies to every clip)")
    bat.add_argument("--detector", choices=["full", "heavy"], default="full", help="as for capture")
    bat.add_argument("--hands", action="store_true", help="as for capture")
    bat.add_argument("--unseen-fingers", choices=UNSEEN_FINGERS, default="hold", help="as for capture (also --rig)")
    bat.add_argument("--no-solve", action="store_true")
    bat.add_argument("--fixed-camera", action="store_true", help="as for capture")
    bat.add_argument("--smooth", type=float, default=0.5)
    bat.add_argument("--fov", type=float, default=60.0)
    bat.add_argument("--camera-height", type=_metres, default=TYPICAL_HEIGHT, metavar="M", help="as for capture")
    bat.add_argument("--performer-height", type=_height, metavar="M", help="as for capture (the same performer in every clip)")
    bat.add_argument("--bvh", action="store_true", help="also write NAME.bvh")
    bat.add_argument("--preview", action="store_true", help="also write NAME_preview.mp4")
    bat.add_argument("--blend", action="store_true", help="also write NAME.blend per clip (needs bpy)")
    bat.add_argument("--rig", help="FILE.blend[:ARMATURE]: also one batch.blend with one action per clip on that "
                                   "armature (the file itself is not changed; needs bpy)")
    bat.add_argument("--force", action="store_true", help="redo clips whose outputs exist")
    bat.add_argument("-q", "--quiet", action="store_true")
    bat.set_defaults(run=_batch)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (MotionError, FileNotFoundError, FileExistsError, ValueError, KeyboardInterrupt) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
