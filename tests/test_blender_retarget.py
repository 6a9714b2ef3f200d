"""The bpy adapter in headless Blender: reading rigs, writing actions, batch retargeting, failures."""
import numpy as np
import pytest

bpy = pytest.importorskip("bpy")
pytestmark = pytest.mark.bpy

from video_mocap.motion import Motion  # noqa: E402
from video_mocap.retarget import blender_io, bvh  # noqa: E402
from video_mocap.retarget.presets import detect  # noqa: E402
from video_mocap.rotations import angle_between  # noqa: E402
from video_mocap.skeleton import load_skeleton  # noqa: E402

from mocap_fixture import chain_armature, cmu_walk  # noqa: E402

SK = load_skeleton("h36m17_ext")


@pytest.fixture(scope="module")
def walk(cmu_file):
    return cmu_walk(cmu_file, 120)


@pytest.fixture
def scene():
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.context.scene.render.fps = 25
    yield bpy.context.scene


def _mixamo(scene):
    from video_mocap.models.assets import load_rig

    return blender_io.create_armature(load_rig("mixamo"), "Mixamo")


def _segments_agree(obj, motion, frame_of, roles=(("mixamorig:LeftForeArm", "l_elbow", "l_wrist"),
                                                     ("mixamorig:RightLeg", "r_knee", "r_ankle"),
                                                     ("mixamorig:LeftUpLeg", "l_hip", "l_knee"))):
    pos = motion.to_frame("blender").positions()
    worst = 0.0
    for t in (10, 60, 110):
        bpy.context.scene.frame_set(int(round(frame_of(t))))
        for bone, a, b in roles:
            pb = obj.pose.bones[bone]
            got = np.array(pb.tail) - np.array(pb.head)
            want = pos[t, SK.index(b)] - pos[t, SK.index(a)]
            worst = max(worst, float(angle_between(got, want)))
    return worst


def test_create_armature_reproduces_the_rig(scene):
    from video_mocap.models.assets import load_rig

    rig = load_rig("mixamo")
    obj = blender_io.create_armature(rig, "Mixamo")
    back = blender_io.read_rig(obj)
    order = [back.names.index(n) for n in rig.names]
    np.testing.assert_allclose(back.heads[order], rig.heads, atol=1e-5)
    np.testing.assert_allclose(back.rest[order], rig.rest, atol=1e-4)


def test_retarget_writes_a_new_action_and_keeps_the_old(scene, walk):
    obj = _mixamo(scene)
    old = bpy.data.actions.new("users_take")
    obj.animation_data_create()
    obj.animation_data.action = old
    report = blender_io.retarget_motion(walk, obj, pin_feet=False)  # directions as captured: no IK
    assert report.preset == "mixamo" and report.frames == 120 and not report.error
    action = obj.animation_data.action
    assert action.name == "walk" and action is not old
    assert "users_take" in bpy.data.actions and bpy.data.actions["users_take"].use_fake_user
    if blender_io.LAYERED:
        assert obj.animation_data.action_slot is not None
        curves = [fc for layer in action.layers for strip in layer.strips for bag in strip.channelbags for fc in bag.fcurves]
    else:
        curves = list(action.fcurves)
    paths = {fc.data_path for fc in curves}
    assert 'pose.bones["mixamorig:LeftForeArm"].rotation_quaternion' in paths
    assert 'pose.bones["mixamorig:Hips"].location' in paths
    assert all(len(fc.keyframe_points) == 120 for fc in curves)
    # 50 fps data in a 25 fps scene: 120 frames span 60 scene frames.
    assert curves[0].keyframe_points[-1].co[0] == pytest.approx(1 + 119 * 0.5)
    assert _segments_agree(obj, walk, lambda t: 1 + t * 0.5) < 3.0
    # Feet: the report gives the skating figure before and after drift removal.
    assert report.skating_after <= report.skating_before + 1e-6


def test_metarig_and_nla(scene, walk):
    import addon_utils

    addon_utils.enable("rigify", default_set=True)
    bpy.ops.object.armature_human_metarig_add()
    obj = bpy.context.object
    mapping, _ = detect(blender_io.read_rig(obj))
    assert mapping.preset == "metarig"
    report = blender_io.retarget_motion(walk, obj, nla=True, root_mode="in_place")
    assert not report.error
    ad = obj.animation_data
    assert ad.action is None and len(ad.nla_tracks) == 1 and ad.nla_tracks[0].strips[0].action.name == report.action
    roles = (("forearm.L", "l_elbow", "l_wrist"), ("shin.R", "r_knee", "r_ankle"))
    assert _segments_agree(obj, walk, lambda t: 1 + t * 0.5, roles) < 3.0


def test_non_humanoid_and_bad_input_leave_the_scene_unchanged(scene, walk, tmp_path):
    obj = chain_armature(scene, "Tail", 4)
    actions = set(bpy.data.actions.keys())
    with pytest.raises(ValueError, match="does not look humanoid"):
        blender_io.retarget_motion(walk, obj)
    with pytest.raises(ValueError, match="not an armature"):
        mesh = bpy.data.objects.new("Mesh", bpy.data.meshes.new("m"))
        blender_io.retarget_motion(walk, mesh)
    assert set(bpy.data.actions.keys()) == actions and obj.animation_data is None


def test_batch_on_npz_and_bvh(scene, walk, tmp_path):
    obj = _mixamo(scene)
    walk.save(tmp_path / "take1.npz")
    bvh.write(tmp_path / "take2.bvh", walk)
    (tmp_path / "broken.npz").write_bytes(b"junk")
    reports = blender_io.retarget_files([tmp_path], [obj])
    by_clip = {r.clip: r for r in reports}
    assert set(by_clip) == {"take1", "take2", "broken"}
    assert not by_clip["take1"].error and not by_clip["take2"].error
    assert "not a readable npz" in by_clip["broken"].error
    assert {"take1", "take2"} <= set(bpy.data.actions.keys())
    assert "take2" in blender_io.report_json(reports)


def test_blender_imports_our_bvh(scene, walk, tmp_path):
    path = bvh.write(tmp_path / "walk.bvh", walk)
    bpy.ops.import_anim.bvh(filepath=str(path))
    obj = bpy.context.object
    assert obj.type == "ARMATURE" and "LeftForeArm" in obj.data.bones
    roles = (("LeftForeArm", "l_elbow", "l_wrist"), ("RightLeg", "r_knee", "r_ankle"))
    assert _segments_agree(obj, walk, lambda t: 1 + t, roles) < 3.0


def test_rigify_generated_rig(scene, walk):
    """Rigify's control rig: FK controls keyed, IK_FK keyed to FK, the deform bones follow the clip."""
    import addon_utils

    addon_utils.enable("rigify", default_set=True)
    bpy.ops.object.armature_human_metarig_add()
    bpy.ops.pose.rigify_generate()
    rig = bpy.context.object
    report = blender_io.retarget_motion(walk, rig, pin_feet=False)
    assert report.preset == "rigify" and not report.error, report
    action = rig.animation_data.action
    curves = [fc for layer in action.layers for strip in layer.strips for bag in strip.channelbags for fc in bag.fcurves] \
        if blender_io.LAYERED else list(action.fcurves)
    paths = {fc.data_path for fc in curves}
    assert 'pose.bones["upper_arm_parent.L"]["IK_FK"]' in paths and 'pose.bones["torso"].location' in paths
    assert 'pose.bones["shoulder.L"].rotation_euler' in paths  # Rigify's shoulders are YXZ Euler
    roles = (("DEF-forearm.L", "l_elbow", "l_wrist"), ("DEF-shin.R", "r_knee", "r_ankle"), ("DEF-thigh.L", "l_hip", "l_knee"),
             ("DEF-upper_arm.R", "r_shoulder", "r_elbow"))
    assert _segments_agree(rig, walk, lambda t: 1 + t * 0.5, roles) < 4.0



def test_complete_missing_leg(scene, walk):
    """Delete one leg's keys, rebuild it with MPM completion, compare with the original leg."""
    obj = _mixamo(scene)
    blender_io.retarget_motion(walk, obj, name="walk")
    rig = blender_io.read_rig(obj)
    mapping, _ = detect(rig)
    frames = range(1, 61)
    original = blender_io.sample_joints(obj, rig, mapping, frames)
    action = obj.animation_data.action
    curves = blender_io._curves(action, obj)
    leg = ("mixamorig:LeftUpLeg", "mixamorig:LeftLeg", "mixamorig:LeftFoot")
    bag_remove = (lambda fc: action.fcurves.remove(fc)) if not blender_io.LAYERED else None
    if blender_io.LAYERED:
        from bpy_extras.anim_utils import action_get_channelbag_for_slot

        bag = action_get_channelbag_for_slot(action, obj.animation_data.action_slot)
        bag_remove = bag.fcurves.remove
    for fc in curves:
        if any(f'"{b}"' in fc.data_path for b in leg) and "rotation" in fc.data_path:
            bag_remove(fc)
    assert blender_io.static_limbs(obj, mapping) == ["l_leg"]
    broken = blender_io.sample_joints(obj, rig, mapping, frames)
    new, limbs = blender_io.complete_action(obj, frames=frames)
    assert limbs == ["l_leg"] and obj.animation_data.action is new and new is not action
    assert action.name in bpy.data.actions and action.use_fake_user, "the user's action is kept"
    rebuilt = blender_io.sample_joints(obj, rig, mapping, frames)
    knees_ankles = [SK.index(n) for n in ("l_knee", "l_ankle")]
    err_before = np.linalg.norm(broken[:, knees_ankles] - original[:, knees_ankles], axis=-1).mean()
    err_after = np.linalg.norm(rebuilt[:, knees_ankles] - original[:, knees_ankles], axis=-1).mean()
    assert err_after < 0.5 * err_before, (err_before, err_after)
    others = [SK.index(n) for n in ("r_knee", "r_ankle", "l_wrist", "r_wrist")]
    np.testing.assert_allclose(rebuilt[:, others], original[:, others], atol=1e-4)


def test_planted_feet_stay_on_the_rig(scene, cmu_file):
    """A walk with its contacts recorded as a capture records them (the ankle down and still; the toe-off,
    when the ankle rises, is not a contact) onto Mixamo and the metarig: the rig's planted ankles slide
    <= 2 cm/s along the ground (IK on the rig's own legs; out of the leg's reach they rise rather than slide)
    and no ankle goes under the floor."""
    import addon_utils

    from video_mocap.models.contacts import true_contacts

    walk = cmu_walk(cmu_file, 140)
    walk.contacts = true_contacts(walk.positions()[None], np.array([walk.fps]))[0]  # Y-up mocap
    assert walk.contacts.any(0).all() and not walk.contacts.all(0).any(), "both feet step"
    addon_utils.enable("rigify", default_set=True)
    bpy.ops.object.armature_human_metarig_add()
    rigs = [_mixamo(scene), bpy.context.object]
    bpy.context.scene.render.fps = 50
    for obj in rigs:
        report = blender_io.retarget_motion(walk, obj)
        rig = blender_io.read_rig(obj)
        mapping, _ = blender_io.mapping_for(rig)
        got = blender_io.sample_joints(obj, rig, mapping, range(1, len(walk) + 1))
        speeds = []
        for k, ankle in enumerate((SK.index("l_ankle"), SK.index("r_ankle"))):
            held = walk.contacts[1:, k] & walk.contacts[:-1, k]
            speeds.append(np.linalg.norm(np.diff(got[:, ankle, :2], axis=0), axis=-1)[held] * walk.fps)
        speed = np.concatenate(speeds).mean()
        assert speed < 0.02, f"{report.preset}: planted ankles slide {speed * 100:.1f} cm/s on the rig"
        assert np.nanmin(got[:, [SK.index("l_ankle"), SK.index("r_ankle")], 2]) > 0.0, "no ankle under the floor"


@pytest.fixture(scope="module")
def curling_hands():
    """A motion with hands (h36m17_hands): the MakeHuman game-engine rig animated, its fingers curling."""
    from humanoids import animate

    from video_mocap.models.assets import load_rig
    from video_mocap.retarget.solver import canonical

    rig = load_rig("game_engine")
    joints, _ = animate(rig, detect(rig)[0], frames=60, seed=4)
    joints, skeleton = canonical(joints)
    assert skeleton.name == "h36m17_hands"
    return Motion.from_positions(joints, 25.0, skeleton, {"source": "curling hands"})


def _finger_bends(points: dict[str, np.ndarray]) -> np.ndarray:
    """Angles (deg, T x ...) at each finger's middle and end joints from (T, 3) points named as h36m17_hands."""
    out = []
    for side in "lr":
        for f in ("index", "middle", "ring", "pinky"):
            chain = [points[f"{side}_{f}_{k}"] for k in ("mcp", "pip", "dip", "tip")]
            for a, b, c in zip(chain, chain[1:], chain[2:]):
                out.append(angle_between(b - a, c - b))
    return np.stack(out, 1)


@pytest.mark.parametrize("kind", ["mixamo", "rigify"])
def test_fingers_key_onto_the_rig(scene, curling_hands, kind):
    """A motion with hands keys the finger bones (Rigify: its finger FK controls) and the fingers bend as the
    motion's do at their middle and end joints."""
    if kind == "rigify":
        import addon_utils

        addon_utils.enable("rigify", default_set=True)
        bpy.ops.object.armature_human_metarig_add()
        bpy.ops.pose.rigify_generate()
        obj, bone = bpy.context.object, lambda side, f, k: f"DEF-{'thumb' if f == 'thumb' else 'f_' + f}.0{k}.{side.upper()}"
    else:
        obj, bone = _mixamo(scene), lambda side, f, k: f"mixamorig:{'Left' if side == 'l' else 'Right'}Hand{f.capitalize()}{k}"
    report = blender_io.retarget_motion(curling_hands, obj, pin_feet=False, fix_feet=False)
    assert not report.error, report
    action = obj.animation_data.action
    curves = [fc for layer in action.layers for strip in layer.strips for bag in strip.channelbags for fc in bag.fcurves] \
        if blender_io.LAYERED else list(action.fcurves)
    control = "f_index.02.L" if kind == "rigify" else "mixamorig:LeftHandIndex2"
    assert any(fc.data_path == f'pose.bones["{control}"].rotation_quaternion' for fc in curves)
    want = curling_hands.to_frame("blender").positions()
    names = curling_hands.skeleton.names
    got, wanted = [], []
    for t in range(0, 60, 6):
        bpy.context.scene.frame_set(1 + t)
        pts = {}
        for side in "lr":
            for f in ("index", "middle", "ring", "pinky"):
                for k, joint in zip((1, 2, 3), ("mcp", "pip", "dip")):
                    pb = obj.pose.bones[bone(side, f, k)]
                    pts[f"{side}_{f}_{joint}"] = np.array(obj.matrix_world @ pb.head)[None]
                    if k == 3:
                        pts[f"{side}_{f}_tip"] = np.array(obj.matrix_world @ pb.tail)[None]
        got.append(_finger_bends(pts))
        wanted.append(_finger_bends({n: want[t : t + 1, names.index(n)] for n in names}))
    assert np.ptp(np.concatenate(wanted)) > 40, "the fingers do curl"
    err = np.abs(np.concatenate(got) - np.concatenate(wanted))
    assert np.median(err) < 3.0 and np.percentile(err, 95) < 10.0, (np.median(err), np.percentile(err, 95))


def test_a_capture_with_hands_animates_the_fingers(scene):
    """Real footage captured with --hands, retargeted onto Mixamo and a generated Rigify rig: their index fingers
    bend and unbend from frame to frame, within the hinge limits, and the two rigs bend them alike."""
    import addon_utils

    from video_mocap.inference.pipeline import CaptureOptions, capture
    from video_mocap.models.assets import pose2sim_demo

    motion = capture(pose2sim_demo() / "videos" / "cam03.mp4", CaptureOptions(hands=True, start=36, stop=60, device="cpu")).motion
    mixamo = _mixamo(scene)
    addon_utils.enable("rigify", default_set=True)
    bpy.ops.object.armature_human_metarig_add()
    bpy.ops.pose.rigify_generate()
    rigify = bpy.context.object
    bends = []
    for obj, first, second in ((mixamo, "mixamorig:RightHandIndex1", "mixamorig:RightHandIndex2"),
                               (rigify, "DEF-f_index.01.R", "DEF-f_index.02.R")):
        report = blender_io.retarget_motion(motion, obj, pin_feet=False)
        assert not report.error, report
        bends.append([])
        for t in range(0, len(motion), 3):
            bpy.context.scene.frame_set(1 + t)
            a, b = obj.pose.bones[first], obj.pose.bones[second]
            bends[-1].append(float(angle_between(np.array(a.tail - a.head), np.array(b.tail - b.head))))
    bends = np.array(bends)
    assert (np.ptp(bends, axis=1) > 8.0).all() and bends.max() < 115.0, bends
    assert np.median(np.abs(bends[0] - bends[1])) < 3.0, bends


def test_blender_imports_our_bvh_with_fingers(scene, curling_hands, tmp_path):
    """A motion with hands written as BVH: Blender's own importer reads the finger joints, and they curl as the
    motion's fingers do (joint angles at the middle and end joints within a few degrees)."""
    path = bvh.write(tmp_path / "hands.bvh", curling_hands)
    bpy.ops.import_anim.bvh(filepath=str(path))
    obj = bpy.context.object
    assert "LeftHandIndex3" in obj.data.bones and "RightHandThumb1" in obj.data.bones
    want = curling_hands.to_frame("blender").positions()
    names = curling_hands.skeleton.names
    bone = {"mcp": 1, "pip": 2, "dip": 3}
    got, wanted = [], []
    for t in range(0, len(want), 6):
        bpy.context.scene.frame_set(1 + t)
        pts = {}
        for side, Side in (("l", "Left"), ("r", "Right")):
            for f in ("index", "middle", "ring", "pinky"):
                for joint, k in bone.items():
                    pb = obj.pose.bones[f"{Side}Hand{f.capitalize()}{k}"]
                    pts[f"{side}_{f}_{joint}"] = np.array(obj.matrix_world @ pb.head)[None]
                    if k == 3:
                        pts[f"{side}_{f}_tip"] = np.array(obj.matrix_world @ pb.tail)[None]
        got.append(_finger_bends(pts))
        wanted.append(_finger_bends({n: want[t : t + 1, names.index(n)] for n in names}))
    err = np.abs(np.concatenate(got) - np.concatenate(wanted))
    assert np.median(err) < 3.0 and np.percentile(err, 95) < 10.0, (np.median(err), np.percentile(err, 95))
