import numpy as np
import pytest

from video_mocap.filters import butterworth, one_euro, smooth


def test_butterworth_keeps_motion_removes_jitter_without_lag():
    fps = 50.0
    t = np.arange(500) / fps
    motion = np.sin(2 * np.pi * 1.0 * t)
    jitter = 0.2 * np.sin(2 * np.pi * 18.0 * t)
    out = butterworth(motion + jitter, fps, cutoff=7.0)
    inner = slice(25, -25)
    assert np.abs(out - motion)[inner].max() < 0.02
    assert np.abs(out - motion).max() <= 0.2, "the ends stay within the jitter (no pull towards zero)"
    # Zero phase: the filtered peak sits where the true peak is.
    assert abs(np.argmax(out[:100]) - np.argmax(motion[:100])) <= 1


def test_butterworth_works_on_joint_arrays_and_constants():
    x = np.full((40, 17, 3), 0.7)
    np.testing.assert_allclose(butterworth(x, 30.0), x, atol=1e-9)


def test_one_euro_follows_fast_motion_and_calms_stillness():
    fps = 60.0
    rng = np.random.default_rng(0)
    still = 1.0 + 0.005 * rng.standard_normal(300)
    calm = one_euro(still, fps, min_cutoff=0.5, beta=2.0)
    assert calm[60:].std() < 0.4 * still[60:].std()
    ramp = np.concatenate([np.zeros(60), np.linspace(0, 3, 60), np.full(60, 3.0)])
    fast = one_euro(ramp, fps, min_cutoff=0.5, beta=2.0)
    assert np.abs(fast - ramp)[60:120].max() < 0.25, "little lag when moving fast"


def test_smooth_strength_knob():
    fps = 30.0
    x = np.random.default_rng(1).standard_normal((90, 3))
    np.testing.assert_array_equal(smooth(x, fps, strength=0), x)
    weak, strong = (np.diff(smooth(x, fps, "butterworth", s), axis=0).std() for s in (0.2, 0.9))
    assert strong < weak < np.diff(x, axis=0).std()
    with pytest.raises(ValueError, match="unknown smoothing"):
        smooth(x, fps, "kalman")
    with pytest.raises(ValueError, match="within"):
        smooth(x, fps, strength=2)
