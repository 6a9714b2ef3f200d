"""A small synthetic mocap file in the shared data layout (walking-like limb swings, Y up)."""
import numpy as np

REST = np.array([[0, 1, 0], [-.1, 1, 0], [-.1, .55, 0], [-.1, .1, 0], [.1, 1, 0], [.1, .55, 0], [.1, .1, 0],
                 [0, 1.25, 0], [0, 1.5, 0], [0, 1.6, .08], [0, 1.75, 0], [.18, 1.45, 0], [.2, 1.2, 0], [.2, .95, 0],
                 [-.18, 1.45, 0], [-.2, 1.2, 0], [-.2, .95, 0]], np.float32)


def synthetic_clip(frames: int, phase: float, speed: float) -> np.ndarray:
    t = np.arange(frames) / 50.0
    swing = 0.35 * np.sin(2 * np.pi * speed * t + phase)
    j = np.repeat(REST[None], frames, 0).copy()
    for hip, knee, ankle, sign in ((1, 2, 3, 1), (4, 5, 6, -1)):
        j[:, knee, 2] += sign * swing * 0.45
        j[:, ankle, 2] += sign * swing * 0.9
    for sh, el, wr, sign in ((11, 12, 13, 1), (14, 15, 16, -1)):
        j[:, el, 2] -= sign * swing * 0.25
        j[:, wr, 2] -= sign * swing * 0.5
    j[:, :, 2] += (t * speed)[:, None]  # walk forward
    return j


def write_mocap(path, subjects=("01", "02", "05", "07"), frames=150) -> str:
    clips = [synthetic_clip(frames, i * 0.7, 0.8 + 0.2 * i) for i in range(len(subjects))]
    allj = np.concatenate(clips)
    root = allj[:, 0].copy()
    np.savez(path, root=root, joints_rel=(allj - root[:, None]).astype(np.float16),
             clip_start=np.cumsum([0] + [len(c) for c in clips]), clip_subject=np.array(subjects),
             clip_name=np.array([f"walk_{s}" for s in subjects]), clip_tier=np.zeros(len(clips), np.int8))
    return str(path)
