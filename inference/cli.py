"""Command line: ``python -m video_mocap COMMAND ...``."""
from __future__ import annotations

import argparse
import sys

import numpy as np

from ..motion import Motion, MotionError


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


def _capture(args: argparse.Namespace) -> int:
    # The detector and lifters land with the capture issue; until then say so instead of
    # writing anything that looks like a result.
    print("video_mocap capture: the capture path (detector + lifters) is not part of this build yet; "
          "nothing was written.", file=sys.stderr)
    return 2


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m video_mocap", description="Video Mocap: footage to animation.")
    sub = p.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="validate a motion file and summarise it")
    info.add_argument("motion", help="a .npz motion file")
    info.set_defaults(run=_info)
    cap = sub.add_parser("capture", help="video in, motion out")
    cap.add_argument("video")
    cap.add_argument("-o", "--output", required=True, help="motion .npz to write")
    cap.add_argument("--bvh", help="also write a BVH file")
    cap.add_argument("--preview", help="also write a preview video")
    cap.set_defaults(run=_capture)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (MotionError, FileNotFoundError, FileExistsError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
