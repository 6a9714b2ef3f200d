"""MediaPipe's own pose solution on a video: the baseline animators use today.

    .cache/mediapipe-venv/bin/python models/synth/mediapipe_pose.py VIDEO OUT.npz

Runs in its own environment (``mediapipe==0.10.14`` pulls opencv-contrib and jax, which must not meet the
add-on's packages), so it imports nothing from this project. Video mode, model_complexity=1 (the "full"
landmark model, the one our capture path runs), MediaPipe's own landmark smoothing on. Writes world landmarks
(T, 33, 3; metres, hip-centred, camera-aligned axes), image landmarks (T, 33, 2; pixels), visibility
(T, 33) and the wall time; frames without a person are NaN.
"""
import sys
import time

import cv2
import mediapipe as mp
import numpy as np


def run(video: str, out: str) -> None:
    cap = cv2.VideoCapture(video)
    if not cap.isOpened():
        raise SystemExit(f"cannot open {video}")
    world, image, vis = [], [], []
    t0 = time.perf_counter()
    with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=True) as pose:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            h, w = bgr.shape[:2]
            res = pose.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            if res.pose_world_landmarks is None:
                world.append(np.full((33, 3), np.nan))
                image.append(np.full((33, 2), np.nan))
                vis.append(np.zeros(33))
                continue
            world.append([[p.x, p.y, p.z] for p in res.pose_world_landmarks.landmark])
            image.append([[p.x * w, p.y * h] for p in res.pose_landmarks.landmark])
            vis.append([p.visibility for p in res.pose_landmarks.landmark])
    seconds = time.perf_counter() - t0
    np.savez_compressed(out, world=np.array(world, np.float32), image=np.array(image, np.float32),
                        visibility=np.array(vis, np.float32), seconds=seconds, version=mp.__version__)


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2])
