"""BVH export and import round trip, and clear errors for bad files."""
import numpy as np
import pytest

from video_mocap.retarget import bvh
from video_mocap.skeleton import load_skeleton

from mocap_fixture import cmu_walk

SK = load_skeleton("h36m17_ext")


@pytest.fixture(scope="module")
def walk_motion(cmu_file):
    return cmu_walk(cmu_file).to_frame("blender")


@pytest.mark.parametrize("unit", ["m", "cm"])
def test_write_read_round_trip(walk_motion, tmp_path, unit):
    path = bvh.write(tmp_path / "walk.bvh", walk_motion, unit=unit)
    back = bvh.read(path)
    assert back.meta["bvh_skeleton"] == "cmu_bvh" and back.meta["bvh_unit_m"] == bvh.UNITS[unit]
    assert len(back) == len(walk_motion) and back.fps == pytest.approx(50, rel=1e-6)
    err = np.linalg.norm(back.positions() - walk_motion.positions(), axis=-1)
    body = [SK.index(n) for n in SK.names if n not in ("neck_nose", "l_heel", "r_heel")]
    assert np.nanmedian(err[:, body]) < 0.005 and np.nanmax(err[:, body]) < 0.02
    assert np.nanmax(err[:, SK.index("neck_nose")]) < 0.06  # the nose is a synthetic point on the head


def test_refuses_to_overwrite(walk_motion, tmp_path):
    path = bvh.write(tmp_path / "a.bvh", walk_motion.slice(0, 10))
    with pytest.raises(FileExistsError):
        bvh.write(path, walk_motion.slice(0, 10))


@pytest.mark.parametrize("text, message", [
    ("not a bvh at all", "no HIERARCHY"),
    ("HIERARCHY\nROOT Hips\n{\nOFFSET 0 0 0\nCHANNELS 3 Xposition Yposition Zposition\n}\nMOTION\nFrames: 2\nFrame Time: 0.03\n1 2 3\n", "expected 2 frames"),
    ("HIERARCHY\nROOT Hips\n{\nOFFSET 0 0 x\n", "malformed"),
])
def test_bad_files(tmp_path, text, message):
    path = tmp_path / "bad.bvh"
    path.write_text(text)
    with pytest.raises(bvh.BVHError, match=message):
        bvh.read(path)


@pytest.mark.parametrize("convention, up, unit, order", [
    ("unity", "y", 0.01, "ZXY"), ("biped", "z", 0.0254, "ZYX"), ("daz", "y", 0.01, "YXZ"), ("xsens", "y", 1.0, "XYZ"),
    ("optitrack", "z", 1.0, "ZXY"), ("lafan1", "y", 0.01, "YZX")])
def test_any_convention_axes_units_and_rotation_order(tmp_path, convention, up, unit, order):
    """BVH files as other tools write them (the issue's Unity-named files included): read, recognised and
    at the right place, whatever their names, up axis, unit and rotation order."""
    from humanoids import build, write_bvh
    from video_mocap.retarget.presets import detect
    from video_mocap.retarget.solver import rest_joints

    rig, _ = build(convention)
    path_m = write_bvh(rig, tmp_path / f"{convention}.bvh", up=up, unit=unit, order=order, bend=0.0)
    motion = bvh.read(tmp_path / f"{convention}.bvh")
    assert motion.meta["bvh_up"] == up and motion.meta["bvh_unit_m"] == pytest.approx(unit)
    rest = rest_joints(rig, detect(rig)[0])
    want = rest[None] + path_m[:, None]  # no rotation: the rest pose carried along the path
    body = [SK.index(n) for n in SK.names if n not in ("neck_nose", "l_heel", "r_heel", "l_handtip", "r_handtip")]
    np.testing.assert_allclose(motion.positions()[:, body], want[:, body], atol=2e-3)
    write_bvh(rig, tmp_path / "bent.bvh", up=up, unit=unit, order=order)
    bent = bvh.read(tmp_path / "bent.bvh")
    assert np.isfinite(bent.positions()[:, body]).all()


def test_broken_files_name_the_line(tmp_path):
    from humanoids import build, write_bvh

    rig, _ = build("unity")
    write_bvh(rig, tmp_path / "broken.bvh", broken_line=4)
    with pytest.raises(bvh.BVHError, match=r"line 4: malformed BVH near 'OFSET'"):
        bvh.read(tmp_path / "broken.bvh")
    text = (tmp_path / "broken.bvh").read_text().replace("OFSET 1x", "OFFSET").splitlines()
    text[-3] = text[-3].replace(text[-3].split()[4], "nan?")
    (tmp_path / "row.bvh").write_text("\n".join(text) + "\n")
    with pytest.raises(bvh.BVHError, match=rf"line {len(text) - 2}: malformed BVH near 'nan\?'"):
        bvh.read(tmp_path / "row.bvh")
