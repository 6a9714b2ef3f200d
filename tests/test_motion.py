import json
import zipfile

import numpy as np
import pytest

from video_mocap.motion import FRAMES, Motion, MotionError
from video_mocap.skeleton import load_skeleton


def make_motion(t=20, skeleton="h36m17_ext", **kw):
    sk = load_skeleton(skeleton)
    rng = np.random.default_rng(0)
    args = dict(joints=rng.normal(size=(t, len(sk), 3)), confidence=rng.uniform(0.2, 1, (t, len(sk))), fps=30, skeleton=sk)
    args.update(kw)
    return Motion(**args)


def test_round_trip_keeps_everything(tmp_path):
    turn = np.stack([np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]]) for a in np.linspace(0, 0.3, 20)])
    m = make_motion(root=np.arange(60.0).reshape(20, 3), intrinsics=np.diag([1000.0, 1000.0, 1.0]),
                    image_size=(1920, 1080), meta={"source": "clip.mp4", "lifter": "mpm"}, camera_rotation=turn)
    m.confidence[3, 5] = 0
    m.joints[3, 5] = np.nan
    path = m.save(tmp_path / "a.npz")
    back = Motion.load(path)
    np.testing.assert_array_equal(back.joints, m.joints)
    np.testing.assert_array_equal(back.confidence, m.confidence)
    np.testing.assert_array_equal(back.root, m.root)
    np.testing.assert_array_equal(back.intrinsics, m.intrinsics)
    np.testing.assert_array_equal(back.camera_rotation, m.camera_rotation)
    assert back.fps == 30 and back.skeleton == m.skeleton and back.frame == "blender"
    assert back.image_size == (1920, 1080) and back.meta == m.meta
    np.testing.assert_allclose(back.positions(), m.joints + m.root[:, None])


def test_optional_fields_stay_absent(tmp_path):
    back = Motion.load(make_motion().save(tmp_path / "b.npz"))
    assert back.root is None and back.intrinsics is None and back.image_size is None and back.camera_rotation is None
    np.testing.assert_array_equal(back.positions(), back.joints)


def test_save_never_overwrites_without_asking(tmp_path):
    path = make_motion().save(tmp_path / "c.npz")
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite"):
        make_motion(t=5).save(path)
    assert path.read_bytes() == before
    assert len(Motion.load(make_motion(t=5).save(path, overwrite=True))) == 5


@pytest.mark.parametrize("kw, message", [
    (dict(joints=np.zeros((20, 17, 3))), "T x 23 x 3"),
    (dict(joints=np.zeros((0, 23, 3)), confidence=np.zeros((0, 23))), "no frames"),
    (dict(confidence=np.ones((20, 22))), "confidence must be"),
    (dict(confidence=np.full((20, 23), 1.5)), r"\[0, 1\]"),
    (dict(fps=0), "fps"),
    (dict(fps=float("nan")), "fps"),
    (dict(frame="z_down"), "unknown coordinate frame"),
    (dict(root=np.zeros((19, 3))), "root must be"),
    (dict(root=np.full((20, 3), np.nan)), "root trajectory"),
    (dict(intrinsics=np.eye(4)), "intrinsics"),
    (dict(image_size=(0, 100)), "image_size"),
    (dict(camera_rotation=np.zeros((19, 3, 3))), "camera_rotation"),
])
def test_rejects_malformed(kw, message):
    with pytest.raises(MotionError, match=message):
        make_motion(**kw)


def test_nan_only_where_unseen():
    m = make_motion()
    joints = m.joints.copy()
    joints[4, 7] = np.nan
    with pytest.raises(MotionError, match="frame 4, joint 'spine'"):
        make_motion(joints=joints)
    conf = m.confidence.copy()
    conf[4, 7] = 0
    make_motion(joints=joints, confidence=conf)


def _rewrite(path, **changes):
    with np.load(path) as f:
        data = {k: f[k] for k in f.files}
    for k, v in changes.items():
        if v is None:
            data.pop(k)
        else:
            data[k] = v
    np.savez(path, **data)


@pytest.mark.parametrize("changes, message", [
    (dict(version=np.array(99)), "version 99"),
    (dict(format=np.array("something.else")), "not a Video Mocap motion"),
    (dict(skeleton=np.array("smpl24")), "unknown skeleton 'smpl24'"),
    (dict(joint_names=np.array(["x"] * 23)), "do not match skeleton"),
    (dict(confidence=None), "missing entries confidence"),
    (dict(meta=np.array("{broken")), "not valid JSON"),
    (dict(joints=np.zeros((20, 23, 2))), "T x 23 x 3"),
])
def test_load_rejects_bad_files(tmp_path, changes, message):
    path = make_motion().save(tmp_path / "bad.npz")
    _rewrite(path, **changes)
    with pytest.raises(MotionError, match=message) as err:
        Motion.load(path)
    assert str(path) in str(err.value)


def test_load_rejects_non_npz(tmp_path):
    path = tmp_path / "corrupt.npz"
    path.write_bytes(b"this is not a zip file")
    with pytest.raises(MotionError, match="not a readable npz"):
        Motion.load(path)
    with pytest.raises(FileNotFoundError):
        Motion.load(tmp_path / "missing.npz")


def test_frames_convert_both_ways():
    m = make_motion(root=np.ones((20, 3)), camera_rotation=np.broadcast_to(FRAMES["opencv_camera"], (20, 3, 3)))
    there = m.to_frame("y_up")
    # The camera's forward axis (Blender's +Y) is the Y-up frame's -Z.
    np.testing.assert_allclose(there.camera_rotation[:, :, 2], np.tile([0, 0, -1.0], (20, 1)), atol=1e-6)
    np.testing.assert_allclose(there.to_frame("blender").camera_rotation, m.camera_rotation, atol=1e-6)
    # Blender's Z up is Y up in the Y-up frame.
    np.testing.assert_allclose(there.joints[..., 1], m.joints[..., 2], atol=1e-6)
    np.testing.assert_allclose(there.to_frame("blender").positions(), m.positions(), atol=1e-5)
    for name, rot in FRAMES.items():
        np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-6, err_msg=name)
        assert np.isclose(np.linalg.det(rot), 1.0), name


def test_camera_frame_puts_camera_looking_along_plus_y():
    # A point straight ahead of an OpenCV camera (z forward) and above its centre (y negative).
    p = np.array([0.0, -1.0, 5.0], np.float32)
    np.testing.assert_allclose(FRAMES["opencv_camera"] @ p, [0.0, 5.0, 1.0])


def test_slice():
    m = make_motion(root=np.zeros((20, 3)))
    s = m.slice(5, 9)
    assert len(s) == 4 and s.root.shape == (4, 3)
    np.testing.assert_array_equal(s.joints, m.joints[5:9])


def test_cli_info(tmp_path, capsys):
    from video_mocap.inference.cli import main

    path = make_motion(meta={"source": "x.mp4"}).save(tmp_path / "m.npz")
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "20 frames at 30 fps" in out and "h36m17_ext" in out and "x.mp4" in out
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"junk")
    assert main(["info", str(bad)]) == 1
    assert "not a readable npz" in capsys.readouterr().err
