import numpy as np
import pytest

from video_mocap.skeleton import load_map, load_skeleton, known_skeletons

H36M = ["pelvis", "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "spine", "thorax", "neck_nose",
        "head_top", "l_shoulder", "l_elbow", "l_wrist", "r_shoulder", "r_elbow", "r_wrist"]


def test_canonical_skeleton_matches_training_data_layout():
    sk = load_skeleton("h36m17")
    assert list(sk.names) == H36M
    assert list(sk.parents) == [-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15]
    ext = load_skeleton("h36m17_ext")
    assert ext.names[:17] == sk.names and ext.parents[:17] == sk.parents
    assert {"l_toe", "r_toe", "l_heel", "r_heel", "l_handtip", "r_handtip"} == set(ext.names[17:])


def test_matches_shared_data_file(cmu_file):
    with np.load(cmu_file) as f:
        assert list(f["joint_names"]) == H36M
        assert list(f["parents"]) == list(load_skeleton("h36m17").parents)


def test_mirror_is_an_involution_that_swaps_sides():
    for name in known_skeletons():
        sk = load_skeleton(name)
        perm = sk.mirror_permutation
        np.testing.assert_array_equal(perm[perm], np.arange(len(sk)))
    sk = load_skeleton("h36m17")
    assert sk.names[sk.mirror_permutation[sk.index("l_elbow")]] == "r_elbow"
    assert sk.names[sk.mirror_permutation[sk.index("pelvis")]] == "pelvis"


def test_unknown_skeleton_and_map():
    with pytest.raises(KeyError, match="unknown skeleton 'nope'"):
        load_skeleton("nope")
    with pytest.raises(KeyError, match="no joint map"):
        load_map("h36m17", "coco17")


def _blazepose_frame():
    """Two frames of 33 BlazePose landmarks with distinct coordinates and confidences."""
    rng = np.random.default_rng(1)
    return rng.normal(size=(2, 33, 2)).astype(np.float32), rng.uniform(0.1, 1, (2, 33)).astype(np.float32)


def test_blazepose_map_joints():
    m = load_map("blazepose33", "h36m17_ext")
    src = m.source
    pts, conf = _blazepose_frame()
    out, c = m.apply(pts, conf)
    tgt = m.target
    assert out.shape == (2, 23, 2) and c.shape == (2, 23)
    np.testing.assert_allclose(out[:, tgt.index("l_knee")], pts[:, src.index("left_knee")])
    np.testing.assert_allclose(out[:, tgt.index("r_wrist")], pts[:, src.index("right_wrist")])
    hips = (pts[:, src.index("left_hip")] + pts[:, src.index("right_hip")]) / 2
    np.testing.assert_allclose(out[:, tgt.index("pelvis")], hips, atol=1e-6)
    np.testing.assert_allclose(c[:, tgt.index("pelvis")],
                               np.minimum(conf[:, src.index("left_hip")], conf[:, src.index("right_hip")]))
    # Every target joint is provided by BlazePose.
    assert m.provided.all() and np.isfinite(out).all()


def test_head_top_lies_beyond_the_ears():
    m = load_map("blazepose33", "h36m17_ext")
    src, tgt = m.source, m.target
    pts = np.zeros((33, 3), np.float32)
    pts[src.index("left_shoulder")] = [0.2, 0, 1.4]
    pts[src.index("right_shoulder")] = [-0.2, 0, 1.4]
    pts[src.index("left_ear")] = [0.07, 0, 1.6]
    pts[src.index("right_ear")] = [-0.07, 0, 1.6]
    out, _ = m.apply(pts)
    np.testing.assert_allclose(out[tgt.index("head_top")], [0, 0, 1.7], atol=1e-6)
    np.testing.assert_allclose(out[tgt.index("thorax")], [0, 0, 1.4], atol=1e-6)


def test_maps_are_translation_invariant():
    for src, tgt in [("blazepose33", "h36m17_ext"), ("coco17", "h36m17_ext"), ("h36m17_ext", "h36m17")]:
        m = load_map(src, tgt)
        pts = np.random.default_rng(2).normal(size=(len(m.source), 3)).astype(np.float32)
        a, _ = m.apply(pts)
        b, _ = m.apply(pts + [1.0, -2.0, 3.0])
        np.testing.assert_allclose(b[m.provided] - a[m.provided], np.broadcast_to([1.0, -2.0, 3.0], a[m.provided].shape), atol=1e-5)


def test_coco_map_leaves_feet_and_hands_unseen():
    m = load_map("coco17", "h36m17_ext")
    pts = np.random.default_rng(3).normal(size=(4, 17, 2))
    out, c = m.apply(pts, np.ones((4, 17)))
    for name in ("l_toe", "r_toe", "l_heel", "r_heel", "l_handtip", "r_handtip"):
        k = m.target.index(name)
        assert (c[:, k] == 0).all() and np.isnan(out[:, k]).all()
    assert (c[:, :17] == 1).all()
    # The result is a valid motion once the unseen joints are marked as such.
    from video_mocap.motion import Motion

    Motion(joints=np.concatenate([out, np.zeros((4, 23, 1))], -1), confidence=c, fps=25, skeleton=m.target)


def test_ext_to_h36m_drops_extras():
    m = load_map("h36m17_ext", "h36m17")
    pts = np.random.default_rng(4).normal(size=(3, 23, 3))
    out, _ = m.apply(pts)
    np.testing.assert_allclose(out, pts[:, :17], atol=1e-6)


def test_map_rejects_wrong_joint_count():
    with pytest.raises(ValueError, match="expected 33 blazepose33 joints"):
        load_map("blazepose33", "h36m17_ext").apply(np.zeros((2, 17, 2)))


def test_joint_groups_are_data():
    from video_mocap.skeleton import load_skeleton

    sk = load_skeleton("h36m17_ext")
    assert [sk.names[i] for i in sk.group("foot_l")] == ["l_ankle", "l_toe", "l_heel"]
    assert sorted(sk.group("feet")) == sorted(sk.group("foot_l") + sk.group("foot_r"))
    assert load_skeleton("h36m17").group("ankles") == sk.group("ankles")
    with pytest.raises(KeyError, match="no joint group 'hands'"):
        sk.group("hands")
