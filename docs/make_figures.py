"""Draw the README picture: canonical-skeleton poses from the CMU training file, side by side.

    python docs/make_figures.py ../shared/data/cmu_positions.npz docs/skeleton.png
"""
import sys

import cv2
import numpy as np

from video_mocap.skeleton import load_skeleton


def draw(path_in: str, path_out: str, clips=(0, 40, 120, 200), size=240) -> None:
    sk = load_skeleton("h36m17_ext")
    d = np.load(path_in)
    canvas = np.full((size, size * len(clips), 3), 250, np.uint8)
    for i, c in enumerate(clips):
        t = int(d["clip_start"][c] + d["clip_length"][c] // 2)
        pts = np.concatenate([d["joints_rel"][t], d["extra_rel"][t][:2]]).astype(np.float32)  # Y up
        xy = np.stack([pts[:, 0], -pts[:, 1]], 1) * size * 0.42 + [size * (i + 0.5), size * 0.5]
        for p, ch in sk.bones[:18]:
            col = (60, 60, 220) if sk.names[ch].startswith("l_") else (220, 120, 40) if sk.names[ch].startswith("r_") else (80, 80, 80)
            a, b = xy[p], xy[ch]
            if np.isfinite([*a, *b]).all():
                cv2.line(canvas, tuple(map(int, a)), tuple(map(int, b)), col, 3, cv2.LINE_AA)
        for q in xy[np.isfinite(xy).all(1)]:
            cv2.circle(canvas, tuple(map(int, q)), 3, (30, 30, 30), -1, cv2.LINE_AA)
        cv2.putText(canvas, str(d["clip_name"][c])[:14], (size * i + 8, size - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.imwrite(path_out, canvas)


if __name__ == "__main__":
    draw(sys.argv[1], sys.argv[2])
