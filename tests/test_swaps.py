"""Undoing the detector's left/right swaps: synthetic runs of swapped frames, gaps, partial (arms-only) swaps."""
import numpy as np

from video_mocap.inference.swaps import GROUPS, find_swaps, handedness_prior, unswap
from video_mocap.skeleton import load_skeleton

MIRROR = load_skeleton("blazepose33").mirror_permutation
FPS = 30.0


def _walker(frames=60, seed=0):
    """A person seen from the side-front: 33 landmarks drifting and swinging, left and right apart."""
    rng = np.random.default_rng(seed)
    base = rng.uniform([-60, -200], [60, 200], (33, 2))
    side = np.array([1.0 if "left" in n else -1.0 if "right" in n else 0.0 for n in load_skeleton("blazepose33").names])
    base[:, 0] += 45 * side  # the two sides 90 px apart
    t = np.arange(frames)[:, None, None]
    swing = 25 * np.sin(t / 6.0) * side[None, :, None] * np.array([1.0, 0.3])
    px = 500 + base[None] + swing + np.array([2.0, 0.5]) * t + rng.normal(0, 1.5, (frames, 33, 2))
    return px, np.full((frames, 33), 0.95)


def _side_on(frames=90, seed=0, amp=50.0, period=20.0):
    """A person seen side on, stepping: each leg point swings through its other side's (90 frames at 30 fps)."""
    rng = np.random.default_rng(seed)
    names = load_skeleton("blazepose33").names
    base = rng.uniform([-60, -200], [60, 200], (33, 2))
    side = np.array([1.0 if "left" in n else -1.0 if "right" in n else 0.0 for n in names])
    leg = np.arange(33) >= 23
    left = leg & (side > 0)
    base[MIRROR[left]] = base[left]  # the legs together, one behind the other
    base[leg, 0] = 0
    base[:, 0] += 45 * side * ~leg
    t = np.arange(frames)
    px = np.repeat(base[None], frames, 0)
    px[:, leg, 0] += amp * np.sin(2 * np.pi * t / period)[:, None] * side[leg]
    px = 500 + px + np.array([1.0, 0.3]) * t[:, None, None] + rng.normal(0, 1.5, (frames, 33, 2))
    return px, np.full((frames, 33), 0.9)


def _swap(px, conf, frames, group):
    members = list(GROUPS[group][0])
    px, conf = px.copy(), conf.copy()
    for t in frames:
        px[t, members], conf[t, members] = px[t, MIRROR[members]], conf[t, MIRROR[members]]
    return px, conf


def test_runs_of_swapped_frames_are_found_per_group():
    px, conf = _walker()
    seen = np.ones(len(px), bool)
    bad, bad_conf = _swap(px, conf, range(10, 22), "arms")
    bad, bad_conf = _swap(bad, bad_conf, list(range(15, 30)) + [40], "legs")
    flags = find_swaps(bad, bad_conf, seen, MIRROR, FPS)
    assert np.flatnonzero(flags["arms"]).tolist() == list(range(10, 22))
    assert np.flatnonzero(flags["legs"]).tolist() == list(range(15, 30)) + [40]
    fixed, fixed_conf = unswap(bad, bad_conf, flags, MIRROR)
    np.testing.assert_allclose(fixed, px)
    np.testing.assert_allclose(fixed_conf, conf)


def test_clean_tracks_are_left_alone_and_the_majority_wins():
    px, conf = _walker(seed=1)
    seen = np.ones(len(px), bool)
    assert not any(f.any() for f in find_swaps(px, conf, seen, MIRROR, FPS).values())
    # Labels wrong from frame 20 to the end (40 of 60 frames): still the shorter run is the one undone.
    bad, bad_conf = _swap(px, conf, range(20, 60), "arms")
    assert np.flatnonzero(find_swaps(bad, bad_conf, seen, MIRROR, FPS)["arms"]).tolist() == list(range(20))


def test_runs_are_decided_apart_across_tracking_gaps():
    px, conf = _walker(seed=2)
    seen = np.ones(len(px), bool)
    seen[28:32] = False
    px[28:32], conf[28:32] = 0.0, 0.0
    bad, bad_conf = _swap(px, conf, range(5, 12), "legs")
    bad, bad_conf = _swap(bad, bad_conf, range(40, 45), "legs")
    flags = find_swaps(bad, bad_conf, seen, MIRROR, FPS)
    assert np.flatnonzero(flags["legs"]).tolist() == list(range(5, 12)) + list(range(40, 45))
    assert not flags["legs"][28:32].any()


def test_hands_say_which_arm_is_which():
    """Labels wrong on most of the clip (the majority rule would keep them): the hand model's handedness at each
    wrist (the right hand's crop reads ~1, the left's ~0; a few frames without hands, one garbled) sets them right."""
    px, conf = _walker(seed=3)
    seen = np.ones(len(px), bool)
    wrong = range(15, 60)
    bad, bad_conf = _swap(px, conf, wrong, "arms")
    handed = np.tile([0.02, 0.97], (len(px), 1))  # the hands at the true left / right wrists
    handed[list(wrong)] = handed[list(wrong)][:, ::-1]  # cropped at the wrists as (mis)labelled
    handed[5:9] = np.nan  # no hands seen
    handed[30] = [0.03, 0.96]  # one frame where the hand model is fooled
    flags = find_swaps(bad, bad_conf, seen, MIRROR, FPS, prior={"arms": handedness_prior(handed)})
    assert np.flatnonzero(flags["arms"]).tolist() == list(wrong)
    assert not flags["legs"].any()
    assert np.flatnonzero(find_swaps(bad, bad_conf, seen, MIRROR, FPS)["arms"]).tolist() == list(range(15)), "without hands"


def test_legs_passing_each_other_keep_their_labels():
    """Seen side on, legs that pass each other are smoother as a bounce (labels mirrored at every pass) than as they
    move: by smoothness alone their labels flip on about half the frames (as on turning dancers); every mirrored
    frame's cost (``hold``) keeps the detector's labels where no jump says otherwise."""
    px, conf = _side_on()
    seen = np.ones(len(px), bool)
    assert find_swaps(px, conf, seen, MIRROR, FPS, hold=0.0)["legs"].sum() > 20, "smoothness alone flips them"
    assert not any(f.any() for f in find_swaps(px, conf, seen, MIRROR, FPS).values())


def test_a_hidden_arm_is_no_evidence_of_a_swap():
    """Seen side on, the shoulders together and one arm hidden behind the body: the detector's guess for the hidden
    arm lies where the seen arm was a frame before, so mirroring those frames looks smoother; the labels are kept
    (without the hidden-arm cost two of them were mirrored)."""
    px, conf = _walker(60, seed=1)
    left, right = [13, 15, 17, 19, 21], [14, 16, 18, 20, 22]
    px[:, 11] = px[:, 12] + [4.0, 0.0]
    px[:, right] += 12.0 * np.sin(np.arange(60) / 2.0)[:, None, None]  # the seen arm moves fast
    for t in range(20, 45):
        px[t, left], conf[t, left] = px[t - 1, right], 0.02
    seen = np.ones(len(px), bool)
    assert not find_swaps(px, conf, seen, MIRROR, FPS)["arms"].any()
    assert find_swaps(px, conf, seen, MIRROR, FPS, hidden=0.0)["arms"].any()
