"""The training-data pipeline: cameras, projection, normalisation, masks, augmentation."""
import numpy as np
import pytest

from video_mocap.inference.normalize import normalize_keypoints
from video_mocap.models import data as D


def _pose(b=4, t=5, seed=0):
    """Plausible standing poses (Y up) with a little motion."""
    rng = np.random.default_rng(seed)
    base = np.array([[0, 1, 0], [-.1, 1, 0], [-.1, .55, 0], [-.1, .1, 0], [.1, 1, 0], [.1, .55, 0], [.1, .1, 0],
                     [0, 1.25, 0], [0, 1.5, 0], [0, 1.6, .08], [0, 1.75, 0], [.18, 1.45, 0], [.2, 1.2, 0], [.2, .95, 0],
                     [-.18, 1.45, 0], [-.2, 1.2, 0], [-.2, .95, 0]], np.float32)
    return base + rng.normal(0, 0.02, (b, t, 17, 3)).astype(np.float32)


def test_camera_projection_round_trip():
    rng = np.random.default_rng(0)
    world = _pose()
    cams = D.random_cameras(world[:, 2, 0], rng)
    np.testing.assert_allclose(np.einsum("bij,bkj->bik", cams.rot, cams.rot), np.broadcast_to(np.eye(3), (4, 3, 3)), atol=1e-5)
    cam = D.to_camera(world, cams)
    assert (cam[..., 2] > 1.0).all(), "everyone is in front of the camera"
    px = D.project(cam, cams)
    # Back-project with the known depth and invert the extrinsics: the world points come back.
    ray = np.concatenate([(px - cams.centre[:, None, None]) / cams.focal[:, None, None, None], np.ones(px.shape[:-1] + (1,))], -1)
    back = np.einsum("bji,btkj->btki", cams.rot, ray * cam[..., 2:]) + cams.pos[:, None, None]
    np.testing.assert_allclose(back, world, atol=1e-4)


def test_camera_ranges():
    rng = np.random.default_rng(1)
    target = np.zeros((2000, 3), np.float32) + [0, 1, 0]
    cams = D.random_cameras(target, rng)
    d = np.linalg.norm(cams.pos - target, axis=1)
    assert d.min() > 2.3 and d.max() < 8.2
    f_ratio = cams.focal / cams.size[:, 0]
    assert f_ratio.min() >= 0.6 and f_ratio.max() <= 2.0
    assert (cams.pos[:, 1] >= 0.2).all()
    assert set(map(tuple, cams.size.astype(int))) <= set(D.IMAGE_SIZES)
    assert (cams.size[:, 1] > cams.size[:, 0]).any(), "portrait video is included"
    # The camera's y axis points down in the world (no upside-down views).
    assert (cams.rot[:, 1, 1] < 0).all()


def test_normalisation_is_invariant_to_position_and_size():
    rng = np.random.default_rng(2)
    px = rng.uniform(100, 400, (3, 17, 2)).astype(np.float32)
    conf = np.ones((3, 17), np.float32)
    a = normalize_keypoints(px, conf)
    b = normalize_keypoints(px * 2.5 + [300, -50], conf)
    np.testing.assert_allclose(a, b, atol=1e-5)
    np.testing.assert_allclose(a[:, [1, 4], :2].mean(1), 0, atol=1e-6)  # centred on the hips
    conf[1, 5] = 0
    c = normalize_keypoints(px, conf)
    assert (c[1, 5] == 0).all()


def test_mirror_swaps_sides_and_is_involution():
    p = _pose(1, 1)
    m = D.mirror(p)
    np.testing.assert_allclose(m[..., 4, 0], -p[..., 1, 0])  # left hip = mirrored right hip
    np.testing.assert_allclose(D.mirror(m), p)


def test_bone_scaling_changes_lengths_only():
    p = _pose(2, 3)
    f = np.full((2, 1, 17), 1.1, np.float32)
    q = D.scale_bones(p, f)
    for j, par in enumerate(D.SKELETON.parents):
        if par < 0:
            continue
        a = np.linalg.norm(p[..., j, :] - p[..., par, :], axis=-1)
        b = np.linalg.norm(q[..., j, :] - q[..., par, :], axis=-1)
        np.testing.assert_allclose(b, 1.1 * a, rtol=1e-5)
    np.testing.assert_allclose(q[..., 0, :], p[..., 0, :])


def test_bone_factors_are_symmetric_and_their_spread_is_the_option():
    """Left and right bones alike; the default keeps proportions within about 20 % (1st-99th percentile), ``--proportions 0.2`` reaches
    short-thighed, child-like bodies (thigh / shin 0.7 and below, as MakeHuman's smallest characters have)."""
    rng = np.random.default_rng(0)
    narrow, wide = D.random_bone_factors(20000, rng), D.random_bone_factors(20000, rng, spread=0.2)
    for f in (narrow, wide):
        np.testing.assert_allclose(f, f[:, D.SKELETON.mirror_permutation])
    ratio = lambda f: f[:, 2] / f[:, 3]  # thigh (r_hip -> r_knee) over shin (r_knee -> r_ankle)
    lo, hi = np.percentile(ratio(narrow), [1, 99])
    assert 0.8 < lo and hi < 1.25
    assert np.mean(ratio(wide) < 0.75) > 0.04 and np.mean(ratio(wide) > 1.3) > 0.04


def test_masks():
    rng = np.random.default_rng(3)
    m = D.spatiotemporal_mask(500, 27, rng)
    per_frame = m.sum(-1)
    assert set(np.unique(per_frame)) == {0, 5}
    assert abs((per_frame > 0).mean() - 0.6) < 0.02
    t = D.tube_mask(300, 27, rng)
    limbs = [set(g) for g in D.LIMBS.values()]
    for w in t:
        joints = set(np.flatnonzero(w.any(0)))
        frames = np.flatnonzero(w.any(1))
        assert joints and (frames == np.arange(frames[0], frames[-1] + 1)).all(), "one contiguous stretch"
        assert any(joints <= g for g in limbs) or len(joints) == 6
        assert (w[frames][:, sorted(joints)]).all(), "the same joints in every masked frame"

    def whole(m):  # share of windows with a limb hidden over every frame
        return m.any(-1).all(-1).mean()

    assert whole(t) < 0.15
    assert abs(whole(D.tube_mask(2000, 27, rng, whole=0.5)) - (0.5 + 0.5 / 19)) < 0.04
    assert whole(D.tube_mask(200, 27, rng, whole=1.0)) == 1.0


def test_detector_noise_scales_with_person_and_drops_joints():
    rng = np.random.default_rng(4)
    uv = np.tile(np.linspace(0, 1, 17)[None, None, :, None], (400, 10, 1, 2)).astype(np.float32)
    small, _ = D.detector_noise(uv * 100, np.random.default_rng(5))
    big, conf = D.detector_noise(uv * 1000, np.random.default_rng(5))
    np.testing.assert_allclose(big - uv * 1000, 10 * (small - uv * 100), rtol=1e-3, atol=1e-2)
    assert 0 < (conf == 0).mean() < 0.05 and conf.max() <= 1
    err = np.linalg.norm(big - uv * 1000, axis=-1)
    assert np.corrcoef(err[conf > 0], conf[conf > 0])[0, 1] < -0.3, "confidence falls as the error grows"
    # Drift: away from the outliers, errors of neighbouring frames are correlated (independent noise gives 0).
    e = (big - uv * 1000)[..., 0]
    calm = (err[:, 1:] < 40) & (err[:, :-1] < 40)
    assert np.corrcoef(e[:, 1:][calm], e[:, :-1][calm])[0, 1] > 0.5


def test_sampler_on_shared_data(cmu_file):
    clips = D.load_clips(cmu_file, "train")
    test = D.load_clips(cmu_file, "test")
    assert not set(clips.subjects) & set(test.subjects), "split by subject"
    assert set(test.subjects) == set(D.HELD_OUT["test"])
    b = D.WindowSampler(clips).batch(16, 9, np.random.default_rng(0))
    assert b["kp"].shape == (16, 9, 17, 3) and b["pose3d"].shape == (16, 9, 17, 3)
    np.testing.assert_allclose(b["pose3d"][..., 0, :], 0, atol=1e-6)
    assert np.isfinite(b["kp"]).all()


def test_contact_data_has_every_tier_less_the_turn_renders(cmu_file):
    """The contact network's training clips: the training subjects of every tier, less the clips rendered for
    validation (so those renders stay unseen), more than the lifters' original skeletons alone."""
    every = D.load_clips(cmu_file, "train", None)
    turns = {clip for clip, _ in D.TURN_CLIPS}
    assert turns <= set(every.names), "the turn renders are of training clips"
    kept = D.without(every, turns)
    assert not turns & set(kept.names) and len(kept) == len(every) - len(turns)
    assert len(kept) > len(D.load_clips(cmu_file, "train")) and not set(kept.subjects) & set(D.HELD_OUT["test"])
    i = every.names.index(kept.names[-1])
    np.testing.assert_array_equal(kept.joints[-1], every.joints[i])


def _half_turned(augment):
    """Random windows, ``augment``(windows, rng, 0.5) of them, and which windows it changed (about half)."""
    rng = np.random.default_rng(0)
    joints = rng.normal(0, 0.3, (40, 5, 17, 3)).astype(np.float32)
    out = augment(joints, rng, 0.5)
    changed = np.abs(out - joints).max(axis=(1, 2, 3)) > 1e-4
    assert 10 < changed.sum() < 30, "about half of the windows changed"
    return joints, out, changed


def test_tumble_turns_whole_windows_rigidly():
    from video_mocap.models.data import tumble

    joints, out, _ = _half_turned(tumble)
    d_in = np.linalg.norm(joints[:, :, :, None] - joints[:, :, None], axis=-1)
    d_out = np.linalg.norm(out[:, :, :, None] - out[:, :, None], axis=-1)
    np.testing.assert_allclose(d_in, d_out, atol=1e-4)  # rigid: every distance kept, within and across frames
    np.testing.assert_allclose(out[:, :, 0].mean(1), joints[:, :, 0].mean(1), atol=1e-4)  # about the mean pelvis


def test_lean_turns_the_upper_body_over_the_legs():
    from video_mocap.models.data import SKELETON, UPPER, lean

    joints, out, changed = _half_turned(lean)
    legs = [j for j in range(17) if j not in UPPER]
    assert SKELETON.names[UPPER[0]] == "spine" and len(legs) == 7
    np.testing.assert_array_equal(out[:, :, legs], joints[:, :, legs])  # the pelvis and legs stay
    for j, p in enumerate(SKELETON.parents):  # every bone keeps its length
        if p >= 0:
            np.testing.assert_allclose(np.linalg.norm(out[..., j, :] - out[..., p, :], axis=-1),
                                       np.linalg.norm(joints[..., j, :] - joints[..., p, :], axis=-1), atol=1e-5)
    up = out[changed][:, :, UPPER] - out[changed][:, :, :1]  # one turn per window: the upper body stays rigid
    was = joints[changed][:, :, UPPER] - joints[changed][:, :, :1]
    np.testing.assert_allclose(np.linalg.norm(up, axis=-1), np.linalg.norm(was, axis=-1), atol=1e-5)


def test_mixed_limbs_move_as_another_bodys_at_this_bodys_lengths():
    from video_mocap.models.data import CHAINS, SKELETON, body_frame, mix_limbs

    joints, out, changed = _half_turned(mix_limbs)
    limb_joints = {j for chain in CHAINS for j in chain[1:]}
    others = [j for j in range(17) if j not in limb_joints]
    np.testing.assert_array_equal(out[:, :, others], joints[:, :, others])  # torso, head, hips and shoulders stay
    for j, p in enumerate(SKELETON.parents):  # every bone keeps its length
        if p >= 0:
            np.testing.assert_allclose(np.linalg.norm(out[..., j, :] - out[..., p, :], axis=-1),
                                       np.linalg.norm(joints[..., j, :] - joints[..., p, :], axis=-1), atol=1e-4)
    # a changed limb's bones point, in this body's axes, where some other window's do in that body's axes
    local = lambda x, a, b: np.einsum("...ij,...j->...i", body_frame(x), (x[..., b, :] - x[..., a, :]) / np.linalg.norm(
        x[..., b, :] - x[..., a, :], axis=-1, keepdims=True))
    for i in np.flatnonzero(changed):
        moved = [c for c in CHAINS if np.abs(out[i, :, c[1]] - joints[i, :, c[1]]).max() > 1e-4]
        assert moved
        a, b = moved[0][:2]
        assert min(np.abs(local(out[i], a, b) - local(joints[k], a, b)).max() for k in range(len(joints))) < 1e-4


def test_actor_size_scales_retargeted_clips_to_the_training_subjects_size(tmp_path):
    """``actor_size``: a retargeted clip (a character 1.25 times a person) is scaled to the training subjects' mean
    size, poses kept; the people's own clips and a held-out subject's size are left as they are."""
    from mocap_fixture import synthetic_clip

    clips = [synthetic_clip(100, 0.0, 1.0), synthetic_clip(100, 0.7, 1.2) * 1.25, synthetic_clip(100, 1.4, 0.9) * 0.8]
    allj = np.concatenate(clips)
    np.savez(tmp_path / "m.npz", root=allj[:, 0], joints_rel=(allj - allj[:, :1]).astype(np.float16),
             clip_start=np.cumsum([0] + [len(c) for c in clips]), clip_subject=np.array(["01", "02", "05"]),
             clip_name=np.array(["a", "b", "c"]), clip_tier=np.array([0, 4, 0], np.int8),
             clip_retargeted=np.array([False, True, False]))
    size = lambda j: np.median(np.linalg.norm(j[:, 1:] - j[:, D.SKELETON.parents[1:]], axis=-1).sum(1))  # noqa: E731
    plain = D.load_clips(str(tmp_path / "m.npz"), "train", None)
    scaled = D.load_clips(str(tmp_path / "m.npz"), "train", None, actor_size=True)
    assert plain.names == scaled.names == ["a", "b"], "subject 05 is held out"
    assert size(plain.joints[1]) / size(plain.joints[0]) == pytest.approx(1.25, rel=1e-2)
    assert size(scaled.joints[1]) == pytest.approx(size(scaled.joints[0]), rel=1e-2)
    np.testing.assert_array_equal(scaled.joints[0], plain.joints[0])
    np.testing.assert_allclose(scaled.joints[1], plain.joints[1] / 1.25, rtol=1e-2, atol=2e-3)
