"""Retarget round trips on the MakeHuman rigs (one body, four naming conventions, different rest poses)."""
import numpy as np
import pytest

from video_mocap.retarget.presets import detect, known_presets, load_mapping, normalise, roles
from video_mocap.retarget.rig import Rig, bone_matrix
from video_mocap.rotations import angle_between, axis_angle, from_matrix, normalize, to_matrix
from video_mocap.retarget.solver import SKELETON, posed_joints, rest_joints, solve

from humanoids import animate, apply, segment_errors  # noqa: E402

RIGS = ("cmu_mb", "game_engine", "mixamo", "default")


@pytest.fixture(scope="module")
def rigs():
    from video_mocap.models.assets import load_rig

    return {name: load_rig(name) for name in RIGS}


def test_bone_matrix_matches_blender_conventions():
    # A bone along +Z with roll 0 has its X axis along +X (Blender's default for vertical bones).
    m = bone_matrix(np.zeros(3), np.array([0, 0, 1.0]), np.array(0.0))
    np.testing.assert_allclose(m[:, 1], [0, 0, 1], atol=1e-12)
    np.testing.assert_allclose(m[:, 0], [1, 0, 0], atol=1e-12)
    # Roll turns the X axis about the bone.
    r = bone_matrix(np.zeros(3), np.array([0, 0, 1.0]), np.array(np.pi / 2))
    np.testing.assert_allclose(r[:, 0], [0, 1, 0], atol=1e-12)
    for tail in ([1.0, 0, 0], [0, -1.0, 0], [0.3, 0.2, -0.9]):
        m = bone_matrix(np.zeros(3), np.array(tail), np.array(0.4))
        np.testing.assert_allclose(m @ m.T, np.eye(3), atol=1e-12)
        np.testing.assert_allclose(m[:, 1], normalize(np.array(tail)), atol=1e-12)


def test_quaternion_round_trip():
    rng = np.random.default_rng(0)
    m = axis_angle(normalize(rng.normal(size=(500, 3))), rng.uniform(-np.pi, np.pi, 500))
    np.testing.assert_allclose(to_matrix(from_matrix(m)), m, atol=1e-9)


@pytest.mark.parametrize("name, preset", [("cmu_mb", "cmu_bvh"), ("game_engine", "ue_mannequin"),
                                          ("mixamo", "mixamo"), ("default", "makehuman_default")])
def test_detects_each_naming_convention(rigs, name, preset):
    mapping, scores = detect(rigs[name])
    assert mapping.preset == preset and scores[0][0] == preset
    assert scores[0][1] > scores[1][1], "a clear winner"
    assert not [r for r in mapping.unmapped if not r.startswith("toe")]


def test_prefix_variants_and_separators():
    assert normalise("mixamorig1:LeftArm", ("mixamorig1:",)) == normalise("LeftArm") == "leftarm"
    assert normalise("Armature|upper_arm.L") == "upperarml"


def test_non_humanoid_is_refused():
    bones = {f"Bone.{i:03d}": {"head": [0, 0, i], "tail": [0, 0, i + 1], "parent": f"Bone.{i - 1:03d}" if i else None}
             for i in range(6)}
    with pytest.raises(ValueError, match="does not look humanoid"):
        detect(Rig.from_bones(bones))


def test_user_mapping_round_trips(rigs):
    rig = rigs["mixamo"]
    mapping, _ = detect(rig)
    again = load_mapping(mapping.to_json(rig), rig)
    assert again.bones == mapping.bones and again.spine == mapping.spine
    with pytest.raises(ValueError, match="lacks"):
        load_mapping({"bones": {"hips": "pelvis_that_is_not_there"}}, rig)


LIMB_ROLES = [r for r in roles()["roles"] if r.split(".")[0] in ("upper_arm", "forearm", "hand", "thigh", "shin", "foot")]


@pytest.mark.parametrize("source, target", [("cmu_mb", "mixamo"), ("mixamo", "game_engine"), ("game_engine", "default"),
                                            ("default", "cmu_mb")])
def test_round_trip_between_rigs(rigs, source, target):
    src, tgt = rigs[source], rigs[target]
    ms, _ = detect(src)
    mt, _ = detect(tgt)
    joints, path = animate(src, ms)
    track = solve(joints, np.ones(joints.shape[:2]), 50, tgt, mt, root_mode="hips")
    out = posed_joints(tgt, mt, *apply(track, tgt))
    limbs = segment_errors(out, joints, LIMB_ROLES)  # hands: their palms, where both rigs have fingers
    assert np.median(limbs) < 1.0 and limbs.max() < 2.0
    torso = segment_errors(out, joints, ("hips", "chest", "head"))
    assert np.median(torso) < 1.0 and torso.max() < 2.0
    # Clavicles pivot at different points on different rigs: the shoulder lands on the right ray.
    clav = segment_errors(out, joints, ("clavicle.L", "clavicle.R"))
    assert np.median(clav) < 2.0
    # Fingers (where both rigs have them): the knuckle and thumb bones point as the source's; the middle and end
    # bones are hinges about each rig's own knuckle line (rigs differ there), so their joint angles agree.
    spec = roles()["finger_roles"]
    fingers = sorted(set(ms.bones) & set(mt.bones) & set(spec))
    free = [r for r in fingers if "hinge" not in spec[r]]
    if free:
        assert segment_errors(out, joints, free).max() < 1.0
    bends = []
    for r in (r for r in fingers if "hinge" in spec[r]):
        a, b = (SKELETON.index(n) for n in spec[r]["aim"])
        c = SKELETON.index(SKELETON.names[SKELETON.parents[a]])
        bends.append(np.abs(angle_between(out[:, a] - out[:, c], out[:, b] - out[:, a])
                            - angle_between(joints[:, a] - joints[:, c], joints[:, b] - joints[:, a])))
    if bends:
        assert np.median(np.concatenate(bends)) < 1.0 and np.percentile(np.concatenate(bends), 99) < 6.0
    # Twist: the limb planes agree wherever the limb is bent.
    for side in "lr":
        for a, b, c in ((f"{side}_shoulder", f"{side}_elbow", f"{side}_wrist"), (f"{side}_hip", f"{side}_knee", f"{side}_ankle")):
            ia, ib, ic = (SKELETON.index(n) for n in (a, b, c))
            n_src = np.cross(joints[:, ib] - joints[:, ia], joints[:, ic] - joints[:, ib])
            n_out = np.cross(out[:, ib] - out[:, ia], out[:, ic] - out[:, ib])
            bent = np.linalg.norm(n_src, axis=1) > 0.2 * np.linalg.norm(joints[:, ib] - joints[:, ia], axis=1) * np.linalg.norm(joints[:, ic] - joints[:, ib], axis=1)
            assert np.median(angle_between(n_out[bent], n_src[bent])) < 1.0
    # Root path, after scaling by the leg-length ratio, within 1 cm.
    pelvis = SKELETON.index("pelvis")
    err = np.linalg.norm((out[:, pelvis] - out[0, pelvis]) - track.scale * (joints[:, pelvis] - joints[0, pelvis]), axis=1)
    assert err.max() < 0.01


def test_rest_pose_retargets_to_rest(rigs):
    """A rig's own rest joints retarget onto it as identity rotations."""
    for name in RIGS:
        rig = rigs[name]
        mapping, _ = detect(rig)
        joints = np.repeat(rest_joints(rig, mapping)[None], 3, 0)
        track = solve(joints, np.ones(joints.shape[:2]), 30, rig, mapping, root_mode="none")
        np.testing.assert_allclose(np.abs(track.quaternions[..., 0]), 1.0, atol=1e-5)


def test_a_pose_to_t_pose(rigs):
    """The A-pose-ish MakeHuman rigs and the T-pose Mixamo rig map onto each other's rest pose."""
    src, tgt = rigs["default"], rigs["mixamo"]
    ms, _ = detect(src)
    mt, _ = detect(tgt)
    joints = np.repeat(rest_joints(src, ms)[None], 2, 0)
    track = solve(joints, np.ones(joints.shape[:2]), 30, tgt, mt, root_mode="none")
    out = posed_joints(tgt, mt, *apply(track, tgt))
    i, j = SKELETON.index("l_shoulder"), SKELETON.index("l_elbow")
    assert angle_between(out[:, j] - out[:, i], joints[:, j] - joints[:, i]).max() < 0.5
    assert angle_between(rest_joints(tgt, mt)[j] - rest_joints(tgt, mt)[i], joints[0, j] - joints[0, i]) > 20, \
        "the two rest poses really differ"


def test_unseen_joints_hold_their_last_pose(rigs):
    rig = rigs["mixamo"]
    mapping, _ = detect(rig)
    joints, _ = animate(rig, mapping, frames=60, seed=3)
    conf = np.ones(joints.shape[:2])
    conf[30:, SKELETON.index("l_wrist")] = 0
    track = solve(joints, conf, 50, rig, mapping)
    fore = rig.names.index("mixamorig:LeftForeArm")
    world = track.world[:, fore]
    np.testing.assert_allclose(world[30:], np.broadcast_to(world[29], world[30:].shape), atol=1e-9)


def _flexion(points: np.ndarray, side: str, finger: str) -> np.ndarray:
    """(T, 3) signed bends (deg) at a finger's knuckle, middle and end joint: flexion positive, as roles.json's hinges."""
    ix = SKELETON.index
    p = [points[:, ix(f"{side}_wrist")]] + [points[:, ix(f"{side}_{finger}_{k}")] for k in ("mcp", "pip", "dip", "tip")]
    knuckles = normalize(points[:, ix(f"{side}_index_mcp")] - points[:, ix(f"{side}_pinky_mcp")]) * (1 if side == "r" else -1)
    segs = [b - a for a, b in zip(p, p[1:])]
    return np.degrees(np.stack([np.arctan2((np.cross(u, v) * knuckles).sum(-1), (u * v).sum(-1))
                                for u, v in zip(segs, segs[1:])], 1))


def test_unseen_fingers_hold_rest_or_relax(rigs):
    """A hand lost from view half way: its fingers keep their last shape on the moving hand ('hold', no jump), go to
    the rig's rest ('rest') or take the relaxed curl, flexed toward the palm ('relaxed'); the hand keeps its turn
    from the arm; the seen hand is the same whatever the choice."""
    rig = rigs["mixamo"]
    mapping, _ = detect(rig)
    joints, _ = animate(rig, mapping, frames=60, seed=3)
    conf = np.ones(joints.shape[:2])
    conf[30:, list(SKELETON.group("hand_l"))[1:]] = 0
    left = [i for r, i in mapping.bones.items() if r in roles()["finger_roles"] and r.endswith(".L")]
    right = [i for r, i in mapping.bones.items() if r in roles()["finger_roles"] and r.endswith(".R")]
    hand = mapping.bones["hand.L"]
    tracks = {mode: solve(joints, conf, 50, rig, mapping, unseen_fingers=mode) for mode in ("hold", "rest", "relaxed")}
    q = tracks["hold"].quaternions
    np.testing.assert_allclose(q[30:, left], np.broadcast_to(q[29, left], q[30:, left].shape), atol=1e-5)
    steps = np.abs(np.diff(q[:, hand], axis=0)).max(1)
    assert steps[29] <= steps[:29].max()
    np.testing.assert_allclose(np.abs(tracks["rest"].quaternions[30:, left, 0]), 1.0, atol=1e-5)
    out = posed_joints(rig, mapping, *apply(tracks["relaxed"], rig))
    rest = rest_joints(rig, mapping)[None]
    for finger in ("index", "middle", "ring", "pinky"):
        curl = _flexion(out[30:], "l", finger) - _flexion(rest, "l", finger)
        np.testing.assert_allclose(curl, np.broadcast_to(roles()["relaxed_fingers"][finger], curl.shape), atol=3.0)
    for mode in ("rest", "relaxed"):
        np.testing.assert_allclose(tracks[mode].quaternions[:, right], q[:, right], atol=1e-6)
    with pytest.raises(ValueError, match="unseen fingers"):
        solve(joints, conf, 50, rig, mapping, unseen_fingers="fist")


def test_presets_are_well_formed():
    role_names = set(roles()["roles"]) | {"spine", "toe.L", "toe.R"}
    from video_mocap.retarget.presets import load_preset

    for name in known_presets():
        p = load_preset(name)
        assert p["name"] == name and set(p["bones"]) <= role_names, name
        assert {"hips", "upper_arm.L", "thigh.R"} <= set(p["bones"]), name


def test_rotation_smoothing_calms_jitter_and_keeps_the_motion(rigs):
    rig = rigs["mixamo"]
    mapping, _ = detect(rig)
    joints, _ = animate(rig, mapping, frames=200, seed=5)
    noisy = joints + np.random.default_rng(0).normal(0, 0.01, joints.shape)
    clean = solve(joints, np.ones(joints.shape[:2]), 50, rig, mapping)
    track = solve(noisy, np.ones(joints.shape[:2]), 50, rig, mapping)
    smooth = track.smoothed(0.5)
    fore = rig.names.index("mixamorig:LeftForeArm")

    def jitter(q):
        return np.abs(np.diff(q[:, fore], 2, axis=0)).mean()

    def err(q):
        return np.abs(np.abs((q[:, fore] * clean.quaternions[:, fore]).sum(-1)) - 1).mean()

    assert jitter(smooth.quaternions) < 0.5 * jitter(track.quaternions)
    assert err(smooth.quaternions) < err(track.quaternions)
    np.testing.assert_allclose(np.linalg.norm(smooth.quaternions, axis=-1), 1, atol=1e-5)
    assert track.smoothed(0).quaternions is not None


def test_a_finger_read_beyond_its_limits_stays_on_its_side():
    """A hinge read past its limits goes to the limit on the side it last was within them: a finger read folding
    round through half a turn stays flexed instead of flipping to straight and back."""
    from video_mocap.retarget.solver import _hinge

    read = np.array([100, 130, 170, -170, -140, 60, -5, -40, -120, -160])
    x = np.array([1.0, 0.0, 0.0])
    local = axis_angle(np.tile(x, (len(read), 1)), np.radians(read))
    out = _hinge(local, x, (-10, 110))
    got = np.degrees(np.arctan2(out[:, 2, 1], out[:, 1, 1]))  # the turn about x that the bone (y) took
    np.testing.assert_allclose(got, [100, 110, 110, 110, 110, 60, -5, -10, -10, -10], atol=1e-6)
