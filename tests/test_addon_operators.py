"""The add-on's operators in headless Blender, run the way a script runs them (bpy.ops, synchronously)."""
import numpy as np
import pytest

bpy = pytest.importorskip("bpy")
pytestmark = pytest.mark.bpy

import video_mocap  # noqa: E402
from video_mocap.retarget import blender_io  # noqa: E402

from footage import write_clip  # noqa: E402
from mocap_fixture import chain_armature  # noqa: E402


@pytest.fixture
def scene(tmp_path):
    bpy.ops.wm.read_homefile(use_empty=True)
    video_mocap.register()
    yield bpy.context.scene
    video_mocap.unregister()


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_clip(tmp_path_factory.mktemp("op") / "kick.mp4", frames=20)


def _mixamo():
    from video_mocap.models.assets import load_rig

    return blender_io.create_armature(load_rig("mixamo"), "Mixamo")


def test_the_panel_settings_reach_the_capture(scene):
    """What the panel sets is what the capture and its solve are given (the camera's and the performer's height
    among them)."""
    from video_mocap.addon.operators import _options
    from video_mocap.inference.camera import TYPICAL_HEIGHT
    from video_mocap.inference.pipeline import _solve_options

    s = scene.video_mocap
    assert _options(s).camera_height == pytest.approx(TYPICAL_HEIGHT)
    s.camera_height, s.moving_camera, s.lifter = 2.2, False, "single"
    opts = _options(s)
    assert (opts.camera_height, opts.moving_camera, opts.lifter) == (pytest.approx(2.2), False, "single")
    assert _solve_options(opts).camera_height == pytest.approx(2.2)
    assert opts.performer_height is None, "0 in the panel: the height is unknown"
    s.performer_height = 1.62
    assert _options(s).performer_height == pytest.approx(1.62)


@pytest.mark.parametrize("lifter", ["single", "context"])
def test_capture_onto_a_new_armature(scene, clip, lifter):
    s = scene.video_mocap
    s.video, s.lifter, s.device = str(clip), lifter, "cpu"
    assert bpy.ops.video_mocap.capture() == {"FINISHED"}
    rig = bpy.data.objects["kick rig"]
    assert rig.type == "ARMATURE" and rig.animation_data.action.name == "kick"
    assert s.detected.startswith("cmu_bvh") and "20 frames" in s.status
    assert "kick.mp4" in bpy.data.movieclips


def test_capture_onto_a_mixamo_rig_moves_hands_and_feet(scene, clip):
    rig = _mixamo()
    s = scene.video_mocap
    s.video, s.lifter, s.device, s.armature, s.load_reference = str(clip), "single", "cpu", rig, False
    assert bpy.ops.video_mocap.capture() == {"FINISHED"}
    assert s.detected.startswith("mixamo")
    rest = {b: rig.data.bones[b].tail_local.copy() for b in ("mixamorig:LeftHand", "mixamorig:RightFoot")}
    scene.frame_set(10)
    for b, r in rest.items():
        assert (rig.pose.bones[b].tail - r).length > 0.05, f"{b} moved away from the rest pose"


def test_bad_inputs_leave_the_scene_unchanged(scene, clip, tmp_path):
    s = scene.video_mocap
    before = (set(bpy.data.objects.keys()), set(bpy.data.actions.keys()))
    s.video = str(tmp_path / "nothing.mp4")
    with pytest.raises(RuntimeError, match="No video file"):
        bpy.ops.video_mocap.capture()
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x01" * 500)
    s.video = str(corrupt)
    with pytest.raises(RuntimeError, match="cannot open|no frame"):
        bpy.ops.video_mocap.capture()
    # A non-humanoid armature.
    chain = chain_armature(scene)
    before = (set(bpy.data.objects.keys()), set(bpy.data.actions.keys()))
    s.video, s.armature, s.lifter, s.device = str(clip), chain, "single", "cpu"
    with pytest.raises(RuntimeError, match="does not look humanoid"):
        bpy.ops.video_mocap.capture()
    assert (set(bpy.data.objects.keys()), set(bpy.data.actions.keys())) == before
    # No armature for a motion file.
    s.armature, s.motion_file = None, str(tmp_path / "none.npz")
    bpy.context.view_layer.objects.active = None
    with pytest.raises(RuntimeError, match="choose an armature"):
        bpy.ops.video_mocap.retarget_file()


def test_retarget_file_operator(scene, tmp_path, clip):
    from video_mocap.inference.pipeline import CaptureOptions, capture

    capture(clip, CaptureOptions(lifter="single", device="cpu")).motion.save(tmp_path / "take.npz")
    rig = _mixamo()
    s = scene.video_mocap
    s.armature, s.motion_file = rig, str(tmp_path / "take.npz")
    assert bpy.ops.video_mocap.retarget_file() == {"FINISHED"}
    assert rig.animation_data.action.name == "take"


def test_mapping_panel_and_retarget_from_armature(scene, cmu_file, tmp_path):
    """Show the detected mapping of an unnamed rig, fix a role, save it on the armature and to a file, clear,
    load it back; then retarget an animated armature onto it."""
    from humanoids import build
    from mocap_fixture import cmu_walk

    rig, truth = build("unity", unnamed=True, shuffle=2)
    target = blender_io.create_armature(rig, "Unnamed")
    s = scene.video_mocap
    s.armature = target
    assert bpy.ops.video_mocap.mapping_detect() == {"FINISHED"}
    rows = {r.role: r.bone for r in s.mapping}
    assert rows["thigh.L"] == truth["thigh.L"] and rows["hand.R"] == truth["hand.R"]
    assert s.mapping_info.startswith("structure, confidence 1.00")
    next(r for r in s.mapping if r.role == "toe.L").bone = ""  # the user unmaps a role
    s.mapping_path = str(tmp_path / "unnamed.json")
    assert bpy.ops.video_mocap.mapping_save() == {"FINISHED"}
    assert blender_io.MAPPING_KEY in target and (tmp_path / "unnamed.json").is_file()
    assert "stored on the armature" in s.mapping_info and not {r.role: r.bone for r in s.mapping}["toe.L"]
    assert bpy.ops.video_mocap.mapping_clear() == {"FINISHED"} and blender_io.MAPPING_KEY not in target
    assert bpy.ops.video_mocap.mapping_load() == {"FINISHED"} and blender_io.MAPPING_KEY in target

    before = set(bpy.data.actions.keys())
    with pytest.raises(RuntimeError, match="choose the animated source"):
        bpy.ops.video_mocap.retarget_armature()
    assert set(bpy.data.actions.keys()) == before
    source = _mixamo()
    blender_io.retarget_motion(cmu_walk(cmu_file, 40), source, name="walk")
    s.source_armature = source
    s.mapping_of = "source"  # the panel shows the source's mapping too
    assert bpy.ops.video_mocap.mapping_detect() == {"FINISHED"}
    assert {r.role: r.bone for r in s.mapping}["forearm.L"] == "mixamorig:LeftForeArm" and s.mapping_info.startswith("mixamo")
    s.mapping_of = "target"
    assert bpy.ops.video_mocap.retarget_armature() == {"FINISHED"}
    assert target.animation_data.action.name.startswith("walk") and "structure" not in s.status


def test_find_people_and_capture_the_chosen_one(scene, tmp_path):
    from pathlib import Path

    clip = Path(__file__).parent / "data" / "cross_behind.mp4"
    s = scene.video_mocap
    s.video, s.device, s.lifter, s.frame_stop, s.load_reference = str(clip), "cpu", "single", 20, False
    assert bpy.ops.video_mocap.find_people() == {"FINISHED"}
    assert s.people_info.startswith("2 found: 0: x") and tuple(bpy.data.images["Video Mocap People"].size) == (480, 270)
    s.person = 5
    with pytest.raises(RuntimeError, match="--person 5 asked for, but 2 people found"):
        bpy.ops.video_mocap.capture()
    assert "cross_behind rig" not in bpy.data.objects, "nothing made on failure"
    s.person = 1
    assert bpy.ops.video_mocap.capture() == {"FINISHED"}
    assert bpy.data.objects["cross_behind rig"].animation_data.action.name == "cross_behind"


def test_capture_with_hands_makes_and_keys_finger_bones(scene, tmp_path):
    """The Hands box on (relaxed where a hand is unseen): the new armature gets finger bones and the action keys them."""
    clip = write_clip(tmp_path / "wave.mp4", frames=16, size=(1080, 1920), start=36)
    s = scene.video_mocap
    s.video, s.lifter, s.device, s.hands, s.load_reference = str(clip), "single", "cpu", True, False
    s.unseen_fingers = "relaxed"
    assert bpy.ops.video_mocap.capture() == {"FINISHED"}
    rig = bpy.data.objects["wave rig"]
    assert "LeftHandIndex2" in rig.data.bones and "RightHandThumb3" in rig.data.bones
    action = rig.animation_data.action
    curves = [fc for layer in action.layers for strip in layer.strips for bag in strip.channelbags for fc in bag.fcurves] \
        if blender_io.LAYERED else list(action.fcurves)
    finger = [fc for fc in curves if "HandIndex2" in fc.data_path]
    assert finger and max(np.ptp([k.co[1] for k in fc.keyframe_points]) for fc in finger) > 0.01, "the fingers move"
