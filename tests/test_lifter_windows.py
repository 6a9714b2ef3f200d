"""Sliding-window stitching of the temporal lifter."""
import numpy as np
import pytest

from video_mocap.inference.lifters import stitch, window_starts


@pytest.mark.parametrize("frames, window, stride", [(100, 27, 9), (27, 27, 9), (10, 27, 9), (28, 27, 1), (81, 27, 27)])
def test_windows_cover_every_frame(frames, window, stride):
    starts = window_starts(frames, window, stride)
    covered = np.zeros(max(frames, window), bool)
    for s in starts:
        covered[s : s + window] = True
    assert covered[:frames].all()
    assert starts[0] == 0 and starts[-1] + window >= frames
    assert all(b - a <= stride for a, b in zip(starts, starts[1:]))


def test_stitch_reproduces_a_consistent_signal():
    frames, window = 100, 27
    signal = np.sin(np.arange(frames) / 7.0)[:, None]
    starts = window_starts(frames, window, 9)
    wins = np.stack([signal[s : s + window] for s in starts])
    np.testing.assert_allclose(stitch(wins, starts, frames), signal, atol=1e-6)


def test_stitch_blends_disagreeing_windows_smoothly():
    frames, window = 60, 27
    starts = window_starts(frames, window, 9)
    wins = np.stack([np.full((window, 1), float(i)) for i in range(len(starts))])
    out = stitch(wins, starts, frames)[:, 0]
    assert out[0] == 0 and np.isclose(out[-1], len(starts) - 1)
    assert np.all(np.diff(out) >= -1e-9), "a monotone blend, no jumps back"
    assert np.abs(np.diff(out)).max() < 0.5
