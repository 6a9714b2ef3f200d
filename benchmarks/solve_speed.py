"""Clip-level solve speed and memory: a long clip (held-out CMU mocap, one camera, detector-like 2D, the
single lifter's 3D, the contact network) solved as the capture solves it. Prints ms a frame, peak memory
and how well the known camera and trajectory came back; not a test.

    python benchmarks/solve_speed.py [--minutes 10] [--fps 25]
"""
import argparse
import resource
import time

import numpy as np


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--fps", type=float, default=25.0)
    args = p.parse_args()

    from video_mocap.inference.bones import clip_bone_lengths, with_bone_lengths
    from video_mocap.inference.camera import camera_to_world, place_in_camera
    from video_mocap.inference.contacts import ContactModel
    from video_mocap.inference.lifters import FrameLifter
    from video_mocap.inference.solve import solve
    from video_mocap.inference.weights import weight_path
    from video_mocap.models import data as D
    from video_mocap.skeleton import load_skeleton

    body = load_skeleton("h36m17")
    clips = D.load_clips(D.DEFAULT_DATA, "test")
    step = 50.0 / args.fps
    centred = [c[:: max(1, int(round(step)))] - c[:, :1].mean(0) * [1, 0, 1] for c in clips.joints]
    world = np.concatenate(centred)  # the clips back to back (cuts between them), each about the origin, Y up
    frames = int(args.minutes * 60 * args.fps)
    world = np.resize(world, (frames,) + world.shape[1:])[None]
    rng = np.random.default_rng(0)
    cams = D.random_cameras(np.zeros((1, 3)), rng)  # a 1280x720-style camera 1.6 m up, 7 m away, looking 15 deg down
    eye, at = np.array([0.0, 1.6, 7.0]), np.array([0.0, 0.9, 0.0])
    z = (at - eye) / np.linalg.norm(at - eye)
    x = np.cross(z, [0.0, 1.0, 0.0])
    x /= np.linalg.norm(x)
    cams.rot[0], cams.pos[0] = np.stack([x, np.cross(z, x), z]), eye
    cams.size[0], cams.centre[0], cams.focal[0] = (1280, 720), (640, 360), 1100.0
    cam = D.to_camera(world, cams)
    pixels, conf = D.detector_2d(world, cams, rng)
    pixels, conf = pixels[0], np.where(conf[0] < 0.3, 0.0, conf[0])
    f, centre = float(cams.focal[0]), cams.centre[0]
    t0 = time.perf_counter()
    rel = FrameLifter(weight_path("single"), "cpu").lift(pixels, conf)
    lengths = clip_bone_lengths(rel, conf, body)
    rel = with_bone_lengths(rel, lengths, body)
    root = place_in_camera(rel, pixels, conf, f, centre)
    up = camera_to_world(np.concatenate([rel + root[:, None], np.zeros((frames, 6, 3))], 1), args.fps)[2]
    t1 = time.perf_counter()
    contact = ContactModel(weight_path("contacts"), "cpu").predict(rel, pixels, conf, args.fps)
    t2 = time.perf_counter()
    sol = solve(rel, root, lengths, body, pixels, conf, f, centre, args.fps, contact, up)
    t3 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    true_up = cams.rot[0] @ [0.0, 1.0, 0.0]
    ang = lambda u: np.degrees(np.arccos(np.clip(u @ true_up / np.linalg.norm(u), -1, 1)))
    err = lambda r: np.linalg.norm(r - cam[0, :, 0], axis=-1).mean()
    print(f"{frames} frames ({args.minutes:g} min at {args.fps:g} fps), camera {np.linalg.norm(cams.pos[0] - world[0, :, 0].mean(0)):.1f} m away")
    print(f"lift + first placement {1000 * (t1 - t0) / frames:.2f} ms/frame; contacts {1000 * (t2 - t1) / frames:.2f} ms/frame; "
          f"solve {1000 * (t3 - t2) / frames:.2f} ms/frame ({sol.iterations} evaluations); peak memory {peak:.0f} MB")
    print(f"up error {ang(up):.1f} -> {ang(np.median(sol.up, 0)):.1f} deg; root error {err(root):.2f} -> {err(sol.joints[:, 0]):.2f} m")


if __name__ == "__main__":
    main()
