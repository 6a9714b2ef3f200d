"""Retarget speed: N frames onto a ~50-bone rig (the MakeHuman Mixamo rig, 52 bones), solver + keys,
in headless Blender (bpy wheel). Prints the figures; not a test.

    python benchmarks/retarget_speed.py [--frames 10000]
"""
import argparse
import time

import numpy as np


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--frames", type=int, default=10000)
    args = p.parse_args()
    import bpy

    from video_mocap.models.assets import load_rig
    from video_mocap.motion import Motion
    from video_mocap.retarget import blender_io, feet
    from video_mocap.retarget.presets import detect
    from video_mocap.retarget.solver import posed_joints, solve
    from video_mocap.rotations import axis_angle, normalize
    from video_mocap.skeleton import load_skeleton

    bpy.ops.wm.read_homefile(use_empty=True)
    rig = load_rig("mixamo")
    mapping, _ = detect(rig)
    # A long synthetic clip: smooth random rotations on every mapped bone of the same rig.
    n, rng = args.frames, np.random.default_rng(0)
    u = np.linspace(0, 40, n)
    local = np.broadcast_to(np.eye(3), (n, len(rig), 3, 3)).copy()
    for i in mapping.bones.values():
        local[:, i] = axis_angle(np.broadcast_to(normalize(rng.normal(size=3)), (n, 3)), 0.5 * np.sin(u * rng.uniform(0.5, 2)))
    joints = posed_joints(rig, mapping, *rig.fk(local)).astype(np.float32)
    sk = load_skeleton("h36m17_ext")
    motion = Motion(joints=joints, confidence=np.ones(joints.shape[:2]), fps=30, skeleton=sk,
                    root=np.zeros((n, 3), np.float32), meta={"source": "bench"})
    obj = blender_io.create_armature(rig, "Bench")

    t0 = time.perf_counter()
    pos, conf, _ = blender_io.prepare(motion)
    contact = feet.contacts(pos, motion.fps)
    pos = feet.remove_drift(pos, contact)
    t1 = time.perf_counter()
    track = solve(pos, conf, motion.fps, rig, mapping)
    t2 = time.perf_counter()
    action = blender_io.write_action(obj, track, "bench")
    t3 = time.perf_counter()
    curves = sum(1 for _ in (action.fcurves if not blender_io.LAYERED else
                             [fc for l in action.layers for s in l.strips for b in s.channelbags for fc in b.fcurves]))
    print(f"bpy {bpy.app.version_string}: {n} frames onto {len(rig)} bones ({len(track.animated)} keyed, {curves} F-curves)")
    print(f"  feet (contacts + drift) {t1 - t0:.3f} s, solver {t2 - t1:.3f} s, keys {t3 - t2:.3f} s, "
          f"total {t3 - t0:.3f} s ({n / (t3 - t0):.0f} frames/s)")


if __name__ == "__main__":
    main()
