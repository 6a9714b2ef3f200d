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
