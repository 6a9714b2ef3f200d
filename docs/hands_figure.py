"""Draw the README's hands picture: a real frame (the pose2sim demo, BSD-3) captured with ``--hands``: the hand
best seen, as filmed, with the 21 points captured, and on the MakeHuman character (CC0) the capture was
retargeted onto, rendered from the capture's own camera (its solved tilt, height and focal length).

    python docs/hands_figure.py docs/hands.png [--frame 50]
"""
import argparse
import tempfile
from pathlib import Path

import bpy
import cv2
import numpy as np

from video_mocap.inference.camera import world_rotation
from video_mocap.inference.pipeline import CaptureOptions, capture
from video_mocap.inference.video import frames
from video_mocap.models.assets import pose2sim_demo
from video_mocap.models.synth.character import build
from video_mocap.models.synth.render import setup_scene
from video_mocap.retarget import blender_io
from video_mocap.skeleton import load_skeleton


def _crop(img: np.ndarray, points: np.ndarray, side: int) -> np.ndarray:
    """A square crop of ``img`` around ``points`` (N, 2 pixels, NaN ignored), resized to ``side``."""
    p = points[np.isfinite(points).all(1)]
    lo, hi = p.min(0), p.max(0)
    centre, half = (lo + hi) / 2, max(hi - lo) * 0.75 + 20
    x0, y0 = (centre - half).astype(int)
    x1, y1 = (centre + half).astype(int)
    pad = max(0, -x0, -y0, x1 - img.shape[1], y1 - img.shape[0])
    big = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(40, 40, 40))
    return cv2.resize(big[y0 + pad : y1 + pad, x0 + pad : x1 + pad], (side, side), interpolation=cv2.INTER_AREA)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--frame", type=int, default=50, help="the demo frame shown")
    p.add_argument("--side", type=int, default=360)
    a = p.parse_args()
    video = pose2sim_demo() / "videos" / "cam03.mp4"
    start = a.frame - 15
    result = capture(video, CaptureOptions(hands=True, start=start, stop=a.frame + 15))
    m, t = result.motion, 15
    rgb = next(img for k, _, img in frames(video, a.frame, a.frame + 1))
    frame = np.ascontiguousarray(rgb[:, :, ::-1])
    seen = [k for k in range(2) if np.isfinite(result.hand_pixels[t, k]).all()]
    k = max(seen, key=lambda i: np.ptp(result.hand_pixels[t, i], axis=0).max())  # the larger hand in the picture
    hand_px, side = result.hand_pixels[t, k], "lr"[k]
    h, w = frame.shape[:2]
    # The character, the capture retargeted onto it, seen from the capture's camera.
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps = int(round(m.fps))
    arm = build("Human")
    blender_io.retarget_motion(m, arm, name="hands", pin_feet=False)
    setup_scene((w, h), -0.02, np.random.default_rng(1), samples=16)
    cam_meta = m.meta["camera"]
    to_world = world_rotation(np.array(cam_meta["up"]))  # camera axes (x right, y down, z forward) -> world
    cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(cam)
    scene.camera = cam
    cam.location = (0.0, 0.0, cam_meta["height_m"])
    from mathutils import Matrix

    cam.matrix_world = Matrix.Translation(cam.location) @ Matrix(to_world @ np.diag([1.0, -1.0, -1.0])).to_4x4()
    cam.data.sensor_fit = "HORIZONTAL"
    cam.data.lens = cam_meta["focal_px"] / w * cam.data.sensor_width
    scene.frame_set(1 + t)
    with tempfile.TemporaryDirectory() as tmp:
        scene.render.filepath = str(Path(tmp) / "f.png")
        bpy.ops.render.render(write_still=True)
        render = cv2.imread(scene.render.filepath)
    bpy.context.view_layer.update()
    K = np.array([[cam_meta["focal_px"], 0, w / 2], [0, cam_meta["focal_px"], h / 2], [0, 0, 1.0]])
    to_cam = np.linalg.inv(to_world)
    pts = []
    for bone in arm.pose.bones:
        if bone.name.startswith(("hand_", "thumb_", "index_", "middle_", "ring_", "pinky_")) and bone.name.endswith(f"_{side}"):
            x = to_cam @ (np.array(arm.matrix_world @ bone.head) - [0, 0, cam_meta["height_m"]])
            pts.append(x[:2] / x[2] * K[0, 0] + K[:2, 2])
    marked = frame.copy()
    hand = load_skeleton("hand21")
    for p, c in hand.bones:
        cv2.line(marked, tuple(map(int, hand_px[p])), tuple(map(int, hand_px[c])), (40, 200, 255), 2, cv2.LINE_AA)
    for q in hand_px:
        cv2.circle(marked, tuple(map(int, q)), 3, (255, 255, 255), -1, cv2.LINE_AA)
    n = a.side
    panels = [_crop(frame, hand_px, n), _crop(marked, hand_px, n), _crop(render, np.array(pts), n)]
    out = np.concatenate(panels, 1)
    for i, label in enumerate(("the frame (pose2sim demo)", "21 points captured", "keyed on the MakeHuman rig")):
        for colour, weight in (((0, 0, 0), 3), ((255, 255, 255), 1)):  # outlined, readable on any background
            cv2.putText(out, label, (n * i + 8, n - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, weight, cv2.LINE_AA)
    cv2.imwrite(a.out, out)
    print(a.out)


if __name__ == "__main__":
    main()
