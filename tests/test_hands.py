"""Hands: the tracker against MediaPipe Holistic on real footage, left/right from the body, crops."""
from pathlib import Path

import numpy as np
import pytest

from video_mocap.inference.detector import BlazePose, Roi
from video_mocap.inference.hands import HandTracker, roi_from_body, roi_from_hand
from video_mocap.inference.person import PersonChoice, Tracker
from video_mocap.inference.video import frames

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def tracked():
    """Our hands on 30 frames of the pose2sim demo's camera 3 (both hands in view), and Holistic's reference
    (``models/synth/mediapipe_hands.py`` on the same frames)."""
    from video_mocap.models.assets import pose2sim_demo

    ref = np.load(DATA / "holistic_hands_cam03.npz")
    start = int(ref["start"])
    body, hands = Tracker(BlazePose("cpu"), PersonChoice.parse("auto")), HandTracker("cpu")
    out = []
    for _, _, rgb in frames(pose2sim_demo() / "videos" / "cam03.mp4", start, start + len(ref["left"])):
        out.append(hands(rgb, body(rgb)))
    return out, ref


def test_hands_match_holistic_and_keep_their_side(tracked):
    """Median landmark distance to Holistic's within 10 % of the hand's size (wrist to middle knuckle) on each
    side, and each hand nearer its own side's reference than the other hand's."""
    out, ref = tracked
    for side, name, other in (("l", "left", "right"), ("r", "right", "left")):
        errs, swapped = [], []
        for hands, mine, theirs in zip(out, ref[name], ref[other]):
            if hands[side] is None or not np.isfinite(mine).all():
                continue
            size = np.linalg.norm(mine[0] - mine[9])
            errs.append(np.median(np.linalg.norm(hands[side].pixels - mine, axis=1)) / size)
            swapped.append(np.isfinite(theirs).all() and np.median(np.linalg.norm(hands[side].pixels - theirs, axis=1)) / size < errs[-1])
        assert len(errs) >= 20, f"the {name} hand was found on {len(errs)} of the frames Holistic found it"
        assert np.median(errs) < 0.10, (name, np.median(errs))
        assert not any(swapped), name


def test_world_landmarks_are_a_hand_in_metres(tracked):
    """World landmarks: a real hand's size (wrist to middle knuckle, whatever the fingers do: 6-12 cm on the
    median frame; MediaPipe's scale wavers frame to frame), turned back to camera axes so the hand points where
    it points in the picture."""
    out, _ = tracked
    palms = []
    for hands in out:
        for hand in hands.values():
            if hand is None:
                continue
            palms.append(np.linalg.norm(hand.world[9] - hand.world[0]))
            d2 = hand.pixels[9] - hand.pixels[0]
            d3 = hand.world[9, :2] - hand.world[0, :2]
            if np.linalg.norm(d2) > 15:  # the hand not pointing at the camera
                assert d2 @ d3 / (np.linalg.norm(d2) * np.linalg.norm(d3)) > 0.7
    assert 0.06 < np.median(palms) < 0.12 and 0.03 < min(palms) and max(palms) < 0.16, np.percentile(palms, [0, 50, 100])


def test_crop_from_landmarks_turns_with_the_hand():
    """A hand pointing up gives an upright crop; the same hand turned 90 deg gives a crop turned 90 deg, same size."""
    rng = np.random.default_rng(0)
    up = np.c_[rng.uniform(-20, 20, 21), -np.linspace(0, 100, 21)] + [300, 300]
    up[0] = [300, 300]
    a = roi_from_hand(up)
    turned = (up - up[0]) @ np.array([[0, 1], [-1, 0]]).T + up[0]  # 90 deg
    b = roi_from_hand(turned)
    assert isinstance(a, Roi) and abs(a.angle) < 0.3
    assert abs(abs(b.angle - a.angle) - np.pi / 2) < 0.05 and np.isclose(a.size, b.size, rtol=1e-6)


def test_capture_with_hands_carries_both_hands(tmp_path):
    """``hands=True``: the motion's skeleton is h36m17_hands, each hand on its own wrist with one set of finger
    bones for the clip sized to the forearm, the frames each hand was seen in the meta; the BVH has the fingers."""
    from video_mocap.inference.hands import PALM_PER_FOREARM
    from video_mocap.inference.pipeline import CaptureOptions, capture
    from video_mocap.models.assets import pose2sim_demo
    from video_mocap.retarget import bvh

    m = capture(pose2sim_demo() / "videos" / "cam03.mp4", CaptureOptions(hands=True, start=36, stop=56, device="cpu")).motion
    sk = m.skeleton
    assert sk.name == "h36m17_hands" and m.joints.shape == (20, 63, 3)
    assert min(m.meta["hand_frames"].values()) >= 15
    pos = m.to_frame("blender").positions()
    for side in "lr":
        wrist, elbow = pos[:, sk.index(f"{side}_wrist")], pos[:, sk.index(f"{side}_elbow")]
        seen = np.isfinite(pos[:, sk.index(f"{side}_index_tip")]).all(1)
        palm = np.linalg.norm(pos[seen, sk.index(f"{side}_middle_mcp")] - wrist[seen], axis=1)
        forearm = np.median(np.linalg.norm(wrist - elbow, axis=1))
        np.testing.assert_allclose(palm, PALM_PER_FOREARM * forearm, rtol=1e-3)
        for a, b in (("index_pip", "index_dip"), ("thumb_mcp", "thumb_ip")):
            bone = np.linalg.norm(pos[seen, sk.index(f"{side}_{b}")] - pos[seen, sk.index(f"{side}_{a}")], axis=1)
            assert np.ptp(bone) < 1e-4, "finger bones keep their length"
        assert (m.confidence[~seen, sk.index(f"{side}_index_tip")] == 0).all()
    path = bvh.write(tmp_path / "hands.bvh", m)
    assert "JOINT LeftHandIndex2" in path.read_text() and bvh.read(path).skeleton.name == "h36m17_hands"
    # Where a hand was seen, the choice for unseen hands changes nothing.
    held, relaxed = bvh.read(path), bvh.read(bvh.write(tmp_path / "relaxed.bvh", m, unseen_fingers="relaxed"))
    for side in "lr":
        seen = m.confidence[:, sk.index(f"{side}_index_tip")] > 0
        tip = held.skeleton.index(f"{side}_index_tip")
        np.testing.assert_allclose(relaxed.joints[seen, tip], held.joints[seen, tip], atol=1e-4)


def _fake_tracker(monkeypatch, readings):
    """A :class:`HandTracker` whose crops read the given hands in turn: ``readings`` is a list, per call of ``read``
    (left, then right, each frame), of (21, 2) pixels or None (no hand there)."""
    from video_mocap.inference.hands import Hand

    tracker = HandTracker("cpu")
    queue = list(readings)

    def read(rgb, roi):
        px = queue.pop(0)
        return Hand(np.zeros((21, 2)) if px is None else px, np.zeros((21, 3)), 0.0 if px is None else 0.9, 0.5, roi)

    monkeypatch.setattr(tracker, "read", read)
    monkeypatch.setattr(tracker, "recrop", lambda rgb, rough: rough)
    return tracker


def _body(left_wrist, right_wrist):
    from video_mocap.inference.detector import Pose

    lm = np.zeros((33, 2))
    for (w, p, i), at in (((15, 17, 19), left_wrist), ((16, 18, 20), right_wrist)):
        lm[w], lm[p], lm[i] = at, np.add(at, (-8, -30)), np.add(at, (8, -30))
    return Pose(lm, np.zeros(33), np.ones(33), np.ones(33), 1.0, np.zeros((33, 3)), Roi(200, 200, 400, 0.0))


def test_crossing_hands_do_not_take_each_others_place(monkeypatch):
    """Hands crossing: the right hand is lost and, on the same frame, the left arm's fresh crop reads a hand where the
    right hand just was: that is the right hand, so the left is marked unseen; with the arms apart (a detector's
    left/right swap, undone later over the clip) the same reading is kept."""
    rng = np.random.default_rng(0)
    hand = rng.uniform(0, 40, (21, 2))
    a, b = hand + [100, 100], hand + [300, 100]  # the left hand at a, the right at b
    rgb = np.zeros((400, 400, 3), np.uint8)
    apart = (a[0], b[0])
    crossing = (b[0], b[0] + [25, 0])  # the left wrist has come onto the right hand, the right wrist beside it
    swapped = (b[0], a[0])  # the detector's labels swapped
    for then, now, kept in ((apart, crossing, False), (apart, swapped, True)):
        tracker = _fake_tracker(monkeypatch, [a, b, b, None])
        first = tracker(rgb, _body(*then))
        assert first["l"] is not None and first["r"] is not None
        tracker.previous["l"] = Roi(-500, -500, 10, 0.0)  # the left hand's track lost: its crop is made afresh
        second = tracker(rgb, _body(*now))
        assert second["r"] is None and (second["l"] is not None) == kept, now


def test_a_hand_jumping_onto_the_other_while_crossing_is_not_this_hand(monkeypatch):
    """Hands crossing (now or up to two frames before): the left arm's crop, tracked, reads the right hand a hand and
    more from where the left hand just was: not the left hand (marked unseen); moved less than a hand, or the wrists
    long apart, it is kept."""
    rng = np.random.default_rng(1)
    hand = rng.uniform(0, 40, (21, 2))
    a, b = hand + [100, 100], hand + [300, 100]
    rgb = np.zeros((400, 400, 3), np.uint8)
    apart, crossing = (a[0], b[0]), (b[0], b[0] + [25, 0])
    for now, reading, kept in ((crossing, b, False), (crossing, a + [20, 0], True), (apart, a + [0, 60], True)):
        tracker = _fake_tracker(monkeypatch, [a, b, reading, b])
        tracker(rgb, _body(*apart))
        tracker.previous["l"] = roi_from_body(_body(*now), "l")  # the left hand's crop tracked, not made afresh
        assert (tracker(rgb, _body(*now))["l"] is not None) == kept, (now is crossing, kept)
    # Just after a crossing the body's wrist labels swap: the left crop reads the right hand, wrists apart now.
    tracker = _fake_tracker(monkeypatch, [a, b, a + [20, 0], None, b, None])
    tracker(rgb, _body(*apart))
    tracker(rgb, _body(*crossing))
    assert tracker(rgb, _body(b[0], a[0]))["l"] is None
    # "A hand" is the hand's usual size: one reading spread 1.4 times larger where the hands meet does not widen the
    # jump it may make (a reading 1.2 usual sizes away, within the spread one's size, is still not this hand).
    size = float(np.max(hand.max(0) - hand.min(0)))
    spread = (a - a.mean(0)) * 1.4 + a.mean(0)
    tracker = _fake_tracker(monkeypatch, [a, b] * 3 + [spread, b, a + [1.2 * size, 0], b])
    for _ in range(3):
        tracker(rgb, _body(*apart))
    tracker(rgb, _body(*crossing))
    assert tracker(rgb, _body(*crossing))["l"] is None


def test_two_arms_never_hold_one_hand(monkeypatch):
    """Both arms' crops read the same hand (crossing hands, one of them hidden): it stays with the arm that held it on
    the frame before; where neither did, it is neither's."""
    rng = np.random.default_rng(4)
    hand = rng.uniform(0, 40, (21, 2))
    a, b = hand + [100, 100], hand + [300, 100]
    rgb = np.zeros((400, 400, 3), np.uint8)
    close = (b[0] - [10, 0], b[0] + [10, 0])
    tracker = _fake_tracker(monkeypatch, [None, b, b - [3, 0], b + [3, 0]])
    tracker(rgb, _body(a[0], b[0]))
    second = tracker(rgb, _body(*close))
    assert second["l"] is None and second["r"] is not None
    tracker = _fake_tracker(monkeypatch, [None, None, b - [3, 0], b + [3, 0]])
    tracker(rgb, _body(a[0], b[0]))
    second = tracker(rgb, _body(*close))
    assert second["l"] is None and second["r"] is None


def test_joint_centres_move_along_the_hand_and_mirror_for_the_left():
    """The picture points move by the offsets along the hand's own axes at the picture's scale (zero offsets:
    not at all); a left hand, the mirror image of a right, moves as the mirror image; unseen hands stay NaN."""
    from video_mocap.inference.hands import MIDDLE_KNUCKLE, at_joint_centres, palm_frames

    rng = np.random.default_rng(2)
    right = np.concatenate([np.zeros((1, 3)), rng.normal([0.0, -0.08, 0.0], 0.03, (20, 3))])  # metres, camera axes
    right[[5, 9, 13, 17]] = [[0.03, -0.08, 0.01], [0.0, -0.09, 0.0], [-0.02, -0.085, 0.0], [-0.04, -0.07, 0.01]]
    left = right * [-1, 1, 1]
    world = np.stack([left, right])[None]  # (1, 2, 21, 3)
    pixels = world[..., :2] * 2000 + [320, 240]  # 2000 px a metre
    np.testing.assert_allclose(at_joint_centres(pixels, world, np.zeros((21, 3))), pixels)
    offsets = np.zeros((21, 3))
    offsets[8] = [0.1, 0.05, 0.2]
    moved = at_joint_centres(pixels, world, offsets)
    axes = palm_frames((right - right[0])[None])[0]
    expected = 2000 * np.linalg.norm(right[MIDDLE_KNUCKLE]) * axes[:2] @ offsets[8]
    np.testing.assert_allclose(moved[0, 1, 8] - pixels[0, 1, 8], expected, atol=1e-6)
    np.testing.assert_allclose(moved[0, 0, 8] - pixels[0, 0, 8], expected * [-1, 1], atol=1e-6)
    np.testing.assert_allclose(np.delete(moved - pixels, 8, axis=2), 0.0, atol=1e-9)
    unseen = np.full_like(pixels, np.nan)
    assert np.isnan(at_joint_centres(unseen, np.full_like(world, np.nan), offsets)).all()


def test_centre_offsets_are_recovered_from_readings():
    """The fit finds offsets that explain the readings' errors, with a tenth of the landmarks misread."""
    from video_mocap.inference.hands import centre_basis
    from video_mocap.models.hand_centres import errors, fit

    rng = np.random.default_rng(3)
    n = 200
    world = rng.normal(0, 0.04, (n, 21, 3))
    world[:, 0] = 0.0
    world[:, 9] = rng.normal([0.0, -0.09, 0.0], 0.01, (n, 3))
    pixels = world[..., :2] * rng.uniform(1000, 3000, (n, 1, 1)) + 300
    left = rng.uniform(size=n) < 0.5
    true = rng.normal(0, 0.15, (21, 3))
    truth = pixels.copy()
    for side in (False, True):
        truth[left == side] += np.einsum("ndk,jk->njd", centre_basis(pixels[left == side], world[left == side], side), true)
    bad = rng.uniform(size=(n, 21)) < 0.1
    truth[bad] += rng.normal(0, 40, (bad.sum(), 2))
    reads = [{"pixels": pixels, "world": world, "truth": truth, "left": left}]
    found = fit(reads)
    np.testing.assert_allclose(found, true, atol=0.02)
    assert np.median(errors(reads, found)) < 0.2 * np.median(errors(reads))


def test_benchmark_poses_curl_fingers_within_limits():
    """The rendered hand benchmark's poses (numpy, before Blender): hands before the chest, every finger joint
    bending between straight and 100 deg and moving through most of that range."""
    from video_mocap.models.assets import load_rig
    from video_mocap.models.synth.hands import finger_bends, hand_track
    from video_mocap.retarget.presets import detect
    from video_mocap.rotations import to_matrix
    from video_mocap.retarget.solver import SKELETON, posed_joints

    rig = load_rig("game_engine")
    mapping, _ = detect(rig)
    track = hand_track(rig, mapping, 40, 25.0, np.random.default_rng(0))
    pose = posed_joints(rig, mapping, *rig.fk(to_matrix(track.quaternions.astype(np.float64)), np.zeros((40, len(rig), 3))))
    for side in "lr":
        bends = finger_bends(pose, side)
        assert bends.shape == (40, 14) and np.nanmin(bends) >= 0 and np.nanmax(bends) < 100
        assert np.median(np.ptp(bends, axis=0)) > 15, "the fingers move"
        wrist, chest = pose[:, SKELETON.index(f"{side}_wrist")], pose[:, SKELETON.index("thorax")]
        assert (wrist[:, 1] < chest[:, 1]).all() and (wrist[:, 2] < chest[:, 2]).all(), "before the chest, below the neck"


def test_hand_points_bridge_short_gaps_only():
    """A hand lost for a moment is bridged from the shape before to the shape after; a long loss stays unseen."""
    from video_mocap.inference.hands import hand_points

    rng = np.random.default_rng(0)
    world = np.repeat(rng.normal(0, 0.03, (1, 2, 21, 3)), 60, 0)
    world[30:, :, 1:] *= 1.2  # the fingers spread half way (the palm is rescaled to the forearm: only the shape counts)
    world[30:, :, 5:9] += [0.0, 0.0, 0.02]  # the index finger bends
    world[27:33, 0] = np.nan  # left: a 6-frame loss
    world[10:50, 1] = np.nan  # right: a 40-frame loss
    out = hand_points(world, 0.25, 25.0, smooth=0.0, max_gap=12)
    assert np.isfinite(out[:, 0]).all() and np.isnan(out[10:50, 1]).all() and np.isfinite(out[:10, 1]).all()
    tip = out[:, 0, 8]
    mid = np.linalg.norm(tip[27:33] - tip[26], axis=-1)
    assert (np.diff(mid) > 0).all() and mid[-1] < np.linalg.norm(tip[33] - tip[26]), "a steady blend, no snap"


def _turning_hand(frames: int, degrees_per_frame: float) -> np.ndarray:
    """(T, 21, 3) one rigid wrist-relative hand turning about its own wrist-to-middle-knuckle axis."""
    from video_mocap.rotations import axis_angle

    rng = np.random.default_rng(1)
    shape = rng.normal(0, 0.03, (21, 3))
    shape[0] = 0
    shape[9] = [0.0, 0.09, 0.0]  # the middle knuckle on the turning axis
    shape[5], shape[17] = [0.03, 0.085, 0.0], [-0.03, 0.075, 0.0]  # index and pinky knuckles either side
    turn = axis_angle(np.tile([0.0, 1.0, 0.0], (frames, 1)), np.radians(degrees_per_frame * np.arange(frames)))
    return np.einsum("tij,kj->tki", turn, shape)


def test_mirror_readings_are_flipped_and_steady_turns_are_not():
    """A reading whose palm faces the other way from its neighbours' (the back read as the palm) is dropped; a hand
    turning fast and steadily (25 deg a frame) is not."""
    from video_mocap.inference.hands import flipped

    fast = _turning_hand(40, 25.0)
    assert not flipped(fast, 30.0).any()
    slow = _turning_hand(40, 2.0)
    slow[[20, 30]] *= [1.0, 1.0, -1.0]  # mirrored in depth (the camera's z): the back read as the palm (40, 60 deg on)
    assert np.flatnonzero(flipped(slow, 30.0)).tolist() == [20, 30]


def test_a_bridged_hand_turns_without_folding():
    """Bridged across a 160 deg turn of the palm, the hand turns rigidly: the palm keeps its width."""
    from video_mocap.inference.hands import bridge_hand

    hand = _turning_hand(20, 16.0)
    hand[1:11] = np.nan
    out = bridge_hand(hand, 12)
    width = np.linalg.norm(out[:, 5] - out[:, 17], axis=-1)
    np.testing.assert_allclose(width, width[0], rtol=1e-6)
    np.testing.assert_allclose(out[0], hand[0]) and np.testing.assert_allclose(out[11:], hand[11:])
