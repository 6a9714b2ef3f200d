"""MediaPipe Holistic's hand landmarks on a video: the reference our hand tracker is checked against.

    .cache/mediapipe-venv/bin/python models/synth/mediapipe_hands.py VIDEO OUT.npz [FRAMES]

Runs in MediaPipe's own environment, like ``mediapipe_pose.py`` (it imports nothing from this project). Video
mode, model_complexity=1 (the full pose landmark model, as our capture runs). Writes ``left`` and ``right``
(T, 21, 2): each hand's landmarks in pixels, the person's left and right as Holistic assigns them from the
body; NaN where Holistic found no hand.
"""
import sys

import cv2
import mediapipe as mp
import numpy as np


def run(video: str, out: str, frames: int | None = None) -> None:
    cap = cv2.VideoCapture(video)
    if not cap.isOpened():
        raise SystemExit(f"cannot open {video}")
    hands = {"left": [], "right": []}
    with mp.solutions.holistic.Holistic(static_image_mode=False, model_complexity=1) as holistic:
        while frames is None or len(hands["left"]) < frames:
            ok, bgr = cap.read()
            if not ok:
                break
            h, w = bgr.shape[:2]
            res = holistic.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            for side, found in (("left", res.left_hand_landmarks), ("right", res.right_hand_landmarks)):
                hands[side].append([[p.x * w, p.y * h] for p in found.landmark] if found else np.full((21, 2), np.nan))
    np.savez_compressed(out, **{k: np.array(v, np.float32) for k, v in hands.items()}, version=mp.__version__)


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else None)
