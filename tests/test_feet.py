"""Foot contacts, drift removal and IK pinning on a real CMU walk."""
import numpy as np
import pytest

from video_mocap import filters
from video_mocap.retarget import feet
from video_mocap.skeleton import load_skeleton

from mocap_fixture import cmu_walk

SK = load_skeleton("h36m17_ext")


@pytest.fixture(scope="module")
def walk(cmu_file):
    return cmu_walk(cmu_file).to_frame("blender").positions()  # Blender frame, Z up, floor at 0


def test_contacts_alternate_on_a_walk(walk):
    c = feet.contacts(walk, 50.0)
    for k in range(2):
        runs = filters.runs(c[:, k])
        assert len(runs) >= 2, "several steps per foot"
    assert 0.3 < c.any(1).mean() <= 1.0
    assert 0.2 < c.mean() < 0.8
    # A walking foot is planted while the other swings at least part of the time.
    assert (c[:, 0] ^ c[:, 1]).mean() > 0.2


def test_drift_and_pinning_remove_sliding(walk):
    fps = 50.0
    c = feet.contacts(walk, fps)
    base = feet.skating(walk, c, fps)
    slide = walk.copy()
    slide[..., 0] += (np.arange(len(walk)) / fps * 0.3)[:, None]  # the whole body drifts at 0.3 m/s
    slid = feet.skating(slide, c, fps)
    assert slid > base + 0.2
    fixed = feet.remove_drift(slide, c)
    assert feet.skating(fixed, c, fps) <= base + 0.02


def test_ik_pins_a_sliding_foot_and_keeps_bone_lengths(walk):
    fps = 50.0
    c = feet.contacts(walk, fps)
    slide = walk.copy()
    wobble = 0.03 * np.sin(np.arange(len(walk)) / fps * 2 * np.pi * 3)  # the left foot wobbles 3 cm at 3 Hz
    for n in ("l_ankle", "l_toe", "l_heel"):
        slide[:, SK.index(n), 0] += wobble
    before = feet.skating(slide, c, fps)
    pinned = feet.pin_feet(slide, c)
    after = feet.skating(pinned, c, fps)
    assert after < 0.3 * before, (before, after)
    for side in "lr":
        h, k, a = (SK.index(f"{side}_{n}") for n in ("hip", "knee", "ankle"))
        for p, q in ((h, k), (k, a)):
            np.testing.assert_allclose(np.linalg.norm(pinned[:, q] - pinned[:, p], axis=1),
                                       np.linalg.norm(slide[:, q] - slide[:, p], axis=1), atol=1e-4)


def test_rest_on_floor_puts_contact_ankles_at_the_rigs_height():
    joints = np.zeros((20, 23, 3))
    joints[..., 2] = 0.5
    joints[:, [3, 6], 2] = 0.14  # the capture's ankles sit 14 cm up on planted frames
    contact = np.zeros((20, 2), bool)
    contact[5:15] = True
    out = feet.rest_on_floor(joints, contact, 0.07)
    np.testing.assert_allclose(out[:, [3, 6], 2], 0.07)
    np.testing.assert_allclose(out[..., :2], joints[..., :2])
    np.testing.assert_allclose(feet.rest_on_floor(joints, np.zeros((20, 2), bool), 0.07), joints)  # no contacts: as is
