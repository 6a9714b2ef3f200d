"""The benchmark's scoring: foot skating over planted frames, pooled over the set."""
import numpy as np

from video_mocap.models.synth.benchmark import summary
from video_mocap.models.synth.score import FEET, foot_skate


def _walker(T=50, fps=25.0):
    """True world: ankles planted (still, on the floor) for the first half, then swinging forward 1 m/s."""
    w = np.zeros((T, 17, 3))
    w[:, :, 2] = 0.5
    for j in FEET:
        w[:, j, 2] = 0.05
        w[T // 2:, j, 0] = np.arange(T - T // 2) / fps
        w[T // 2:, j, 2] = 0.3
    return w


def test_foot_skate_counts_planted_frames_and_skips_missing_output():
    truth = _walker()
    pred = truth.copy()
    pred[:, FEET[0], 1] = np.arange(len(pred)) * 0.004  # 10 cm/s sideways at 25 fps
    skate, n = foot_skate(pred, truth, 25.0)
    assert n == 2 * 24  # both ankles, the 24 frame steps inside the planted half
    assert np.isclose(skate, 5.0)  # one ankle slides 10 cm/s, the other none
    pred[3] = np.nan  # no person found on one frame: its two steps leave the mean, they do not poison it
    skate, n = foot_skate(pred, truth, 25.0)
    assert n == 2 * 22 and np.isclose(skate, 5.0)


def test_summary_pools_skating_over_planted_frames():
    rows = [{"clip": "a", "method": "m", "frames": 100, "skate_cm_s": 1.0, "skate_n": 190, "pa_mpjpe": 50.0},
            {"clip": "b", "method": "m", "frames": 100, "skate_cm_s": 80.0, "skate_n": 10, "pa_mpjpe": 70.0},
            {"clip": "c", "method": "m", "frames": 100, "skate_cm_s": float("nan"), "skate_n": 0, "pa_mpjpe": 60.0}]
    table = summary(rows)["m"]
    assert np.isclose(table["skate_cm_s"], (190 * 1.0 + 10 * 80.0) / 200)
    assert np.isclose(table["pa_mpjpe"], 60.0) and table["frames"] == 300
