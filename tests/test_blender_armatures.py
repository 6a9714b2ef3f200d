"""Armature to armature, turned armatures, FBX and mixed-convention batches, stored mappings (headless Blender)."""
import json

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")
pytestmark = pytest.mark.bpy

from video_mocap.models.assets import load_rig  # noqa: E402
from video_mocap.retarget import blender_io  # noqa: E402
from video_mocap.retarget.presets import roles  # noqa: E402
from video_mocap.retarget.rig import Rig  # noqa: E402
from video_mocap.retarget.solver import SKELETON  # noqa: E402

from humanoids import build, segment_errors, write_bvh  # noqa: E402
from mocap_fixture import cmu_walk  # noqa: E402

LIMBS = [r for r in roles()["roles"] if r.split(".")[0] in ("upper_arm", "forearm", "thigh", "shin")]
STILL = dict(fix_feet=False, pin_feet=False)  # compare bone directions without the feet's IK


@pytest.fixture(scope="module")
def walk(cmu_file):
    return cmu_walk(cmu_file, 90)


@pytest.fixture
def scene():
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.context.scene.render.fps = 25
    yield bpy.context.scene


def _animated_mixamo(walk):
    src = blender_io.create_armature(load_rig("mixamo"), "Source")
    blender_io.retarget_motion(walk, src, name="source walk", **STILL)
    return src


def _joints(obj, frames=range(1, 46, 3)):
    rig, mapping = blender_io.armature_mapping(obj)
    return blender_io.sample_joints(obj, rig, mapping, frames)


def test_armature_to_armature_onto_ue5_and_rigify(scene, walk):
    """A Mixamo-named source with an action onto a UE5-named rig and a Rigify control rig."""
    import addon_utils

    src = _animated_mixamo(walk)
    want = _joints(src)
    ue = blender_io.create_armature(load_rig("game_engine"), "UE")
    report = blender_io.retarget_armature(src, ue, **STILL)
    assert report.preset == "ue_mannequin" and not report.error and report.action.startswith("source walk")
    got = _joints(ue)
    limbs = segment_errors(got, want, LIMBS)
    assert np.median(limbs) < 1.0 and limbs.max() < 3.0
    pelvis = SKELETON.index("pelvis")
    path_err = np.linalg.norm((got[:, pelvis] - got[0, pelvis]) - report.scale * (want[:, pelvis] - want[0, pelvis]), axis=1)
    assert path_err.max() < 0.01

    addon_utils.enable("rigify", default_set=True)
    bpy.ops.object.armature_human_metarig_add()
    bpy.ops.pose.rigify_generate()
    rigify = bpy.context.object
    report = blender_io.retarget_armature(src, rigify, **STILL)
    assert report.preset == "rigify"
    for frame, t in ((1, 0), (22, 7), (43, 14)):
        bpy.context.scene.frame_set(frame)
        for bone, a, b in (("DEF-forearm.L", "l_elbow", "l_wrist"), ("DEF-shin.R", "r_knee", "r_ankle"),
                           ("DEF-upper_arm.R", "r_shoulder", "r_elbow")):
            pb = rigify.pose.bones[bone]
            seg = np.array(pb.tail - pb.head)
            ref = want[t, SKELETON.index(b)] - want[t, SKELETON.index(a)]
            assert np.degrees(np.arccos(np.clip(seg @ ref / np.linalg.norm(seg) / np.linalg.norm(ref), -1, 1))) < 4.0
    assert src.animation_data.action.name == "source walk", "the source keeps its action"
    with pytest.raises(ValueError, match="same armature"):
        blender_io.retarget_armature(src, src)


def test_an_armature_turned_by_its_object_gets_the_same_keys(scene, walk):
    """An imported FBX armature is often Y-up inside and stood up by its object rotation: same local keys."""
    upright = blender_io.create_armature(load_rig("mixamo"), "Upright")
    rig = load_rig("mixamo")
    y_up = np.array([[1, 0, 0], [0, 0, 1], [0, -1, 0]], float)
    lying = Rig(rig.names, rig.parents, rig.heads @ y_up.T, rig.tails @ y_up.T, y_up @ rig.rest)
    turned = blender_io.create_armature(lying, "Turned")
    turned.rotation_euler = (np.pi / 2, 0, 0)
    bpy.context.view_layer.update()
    a = blender_io.retarget_motion(walk, upright, name="a", **STILL)
    b = blender_io.retarget_motion(walk, turned, name="b", **STILL)
    assert a.preset == b.preset == "mixamo"
    for frame in (1, 20, 40):
        bpy.context.scene.frame_set(frame)
        for name in ("mixamorig:LeftForeArm", "mixamorig:RightUpLeg", "mixamorig:Hips"):
            qa, qb = upright.pose.bones[name].rotation_quaternion, turned.pose.bones[name].rotation_quaternion
            assert abs(abs(qa.dot(qb)) - 1) < 1e-5
        hips_a = upright.matrix_world @ upright.pose.bones["mixamorig:Hips"].head
        hips_b = turned.matrix_world @ turned.pose.bones["mixamorig:Hips"].head
        assert (hips_a - hips_b).length < 1e-4


def test_batch_of_fbx_and_mixed_convention_bvh(scene, walk, tmp_path):
    """FBX files imported with Blender's importer and BVH files of several conventions, one action each;
    broken files are named with their reason, and no imported object is left in the scene."""
    src = _animated_mixamo(walk)
    bpy.ops.object.select_all(action="DESELECT")
    src.select_set(True)
    bpy.context.view_layer.objects.active = src
    scene.frame_start, scene.frame_end = 1, 46  # the exporter bakes the scene's range
    bpy.ops.export_scene.fbx(filepath=str(tmp_path / "mixamo take.fbx"), use_selection=True, bake_anim=True,
                             add_leaf_bones=False, bake_anim_use_nla_strips=False, bake_anim_use_all_actions=False)
    (tmp_path / "broken.fbx").write_bytes(b"Kaydara FBX Binary  \x00junk")
    for conv, up in (("unity", "y"), ("biped", "z"), ("daz", "y"), ("xsens", "y"), ("optitrack", "z")):
        write_bvh(build(conv)[0], tmp_path / f"{conv}.bvh", up=up, unit=0.01)
    write_bvh(build("unity")[0], tmp_path / "cut.bvh", broken_line=4)
    target = blender_io.create_armature(load_rig("game_engine"), "UE")
    direct = blender_io.retarget_armature(src, target, name="direct", **STILL)
    objects, actions = set(bpy.data.objects), set(bpy.data.actions)
    reports = {r.clip: r for r in blender_io.retarget_files([tmp_path], [target], **STILL)}
    assert set(bpy.data.objects) == objects, "imports are removed again"
    assert {a.name for a in set(bpy.data.actions) - actions} == {"mixamo take", "unity", "biped", "daz", "xsens", "optitrack"}
    for clip in ("mixamo take", "unity", "biped", "daz", "xsens", "optitrack"):
        assert not reports[clip].error, reports[clip]
    assert "FBX" in reports["broken"].error and "line 4" in reports["cut"].error
    # The FBX round trip gives the motion the armature had.
    target.animation_data.action = bpy.data.actions["direct"]
    if blender_io.LAYERED:
        target.animation_data.action_slot = bpy.data.actions["direct"].slots[0]
    a = _joints(target)
    target.animation_data.action = bpy.data.actions["mixamo take"]
    if blender_io.LAYERED:
        target.animation_data.action_slot = bpy.data.actions["mixamo take"].slots[0]
    b = _joints(target)
    assert np.median(segment_errors(b, a, LIMBS)) < 2.0 and direct.frames == reports["mixamo take"].frames


def test_a_stored_mapping_is_used_and_checked(scene, walk):
    obj = blender_io.create_armature(load_rig("mixamo"), "Mixamo")
    rig, mapping = blender_io.armature_mapping(obj)
    data = mapping.to_json(rig)
    data["bones"]["forearm.L"], data["bones"]["hand.L"] = "mixamorig:LeftHand", "mixamorig:LeftForeArm"  # a user's (bad) fix
    blender_io.store_mapping(obj, data)
    _, used = blender_io.armature_mapping(obj)
    assert rig.names[used.bones["forearm.L"]] == "mixamorig:LeftHand"
    assert json.loads(obj[blender_io.MAPPING_KEY])["bones"]["hand.L"] == "mixamorig:LeftForeArm"
    with pytest.raises(ValueError, match="lacks: nope"):
        blender_io.store_mapping(obj, {"bones": {"hips": "nope"}})
    blender_io.store_mapping(obj, None)
    _, again = blender_io.armature_mapping(obj)
    assert rig.names[again.bones["forearm.L"]] == "mixamorig:LeftForeArm"
