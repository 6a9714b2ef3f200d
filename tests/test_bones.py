"""One skeleton per clip: bone lengths estimated once (left = right), every frame rebuilt with them."""
import numpy as np
import pytest

from video_mocap.inference.bones import (STATURE_SHARE, clip_bone_lengths, height_scale, performer_height, standing_height,
                                        with_bone_lengths)
from video_mocap.skeleton import load_skeleton

from mocap_fixture import REST

BODY = load_skeleton("h36m17")


def _lengths(x):
    return np.stack([np.linalg.norm(x[:, j] - x[:, p], axis=-1) for j, p in enumerate(BODY.parents) if p >= 0], 1)


def test_rebuilt_poses_keep_directions_and_take_the_clip_lengths():
    rng = np.random.default_rng(0)
    poses = (REST - REST[0])[None] * rng.uniform(0.85, 1.15, (40, 17, 1)) + rng.normal(0, 0.01, (40, 17, 3))
    poses[:, 0] = 0.0
    conf = np.ones((40, 17))
    lengths = clip_bone_lengths(poses, conf, BODY)
    out = with_bone_lengths(poses, lengths, BODY)
    got = _lengths(out)
    assert np.abs(got - got[0]).max() < 1e-9, "every frame has the same bones"
    np.testing.assert_allclose(lengths, lengths[BODY.mirror_permutation])  # left = right
    for j, p in enumerate(BODY.parents):
        if p >= 0:
            a, b = poses[:, j] - poses[:, p], out[:, j] - out[:, p]
            cos = (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
            assert cos.min() > 1 - 1e-9, f"bone {BODY.names[j]} keeps its direction"
    np.testing.assert_allclose(out[:, 0], poses[:, 0])


def test_lengths_come_from_seen_frames():
    poses = np.repeat((REST - REST[0])[None], 30, 0).astype(float)
    shin = np.linalg.norm(REST[3] - REST[2])
    poses[:10, 3] = poses[:10, 2] + (poses[:10, 3] - poses[:10, 2]) * 2.0  # a wild guess where the ankle was unseen
    conf = np.ones((30, 17))
    conf[:10, 3] = 0.0
    lengths = clip_bone_lengths(poses, conf, BODY)
    assert abs(lengths[3] - shin) < 1e-6 and abs(lengths[6] - shin) < 1e-6


def test_upright_frames_set_the_lengths_where_there_are_enough():
    """A lifter shrinks a body it sees upside down: given the picture's up, the frames upright like most of the
    clip alone set the lengths, however the camera is tilted; a clip with too few upright frames keeps them all."""
    upright = np.repeat((REST - REST[0])[None], 40, 0).astype(float)  # Y up, as the fixture stands
    inverted = upright * [1.0, -1.0, 1.0] * 0.8  # upside down and a fifth smaller
    true = clip_bone_lengths(upright, np.ones((40, 17)), BODY)
    up = np.array([0.0, 1.0, 0.0])
    mixed = np.concatenate([upright[:15], inverted[15:]])
    np.testing.assert_allclose(clip_bone_lengths(mixed, np.ones((40, 17)), BODY, up=up), true)
    assert np.all(clip_bone_lengths(mixed, np.ones((40, 17)), BODY)[1:] < true[1:] * 0.81), "without up: the median"
    a = np.radians(40)  # a camera looking down 40 deg tilts every torso alike: the same frames count
    tilt = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    np.testing.assert_allclose(clip_bone_lengths(mixed @ tilt.T, np.ones((40, 17)), BODY, up=up), true)
    few = np.concatenate([upright[:3], inverted[3:]])
    np.testing.assert_allclose(clip_bone_lengths(few, np.ones((40, 17)), BODY, up=up), true * 0.8)


def test_a_known_height_sets_the_skeleton_size():
    """Standing height = thigh + shin + spine to the head's top; a given height scales the skeleton to stand for
    it (a share of it: the detector's points span less of a body than its joint centres)."""
    lengths = clip_bone_lengths(REST[None] - REST[0], np.ones((1, 17)), BODY)
    assert abs(standing_height(lengths, BODY) - REST[10, 1]) < 0.06  # the fixture stands on y = 0
    scale = height_scale(lengths, BODY, 1.6)
    assert abs(performer_height(lengths * scale, BODY) - 1.6) < 1e-9
    assert abs(standing_height(lengths * scale, BODY) - 1.6 * STATURE_SHARE) < 1e-9
    for bad in (175.0, 0.0, -1.0, float("nan")):  # centimetres, nothing, nonsense: said in metres
        with pytest.raises(ValueError, match="height in metres"):
            height_scale(lengths, BODY, bad)
