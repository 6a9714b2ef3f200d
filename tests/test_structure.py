"""Structural mapping: humanoid roles found on skeletons of every common convention, named or not."""
import numpy as np
import pytest

from video_mocap.retarget.presets import detect, roles
from video_mocap.retarget.rig import Rig
from video_mocap.retarget.solver import posed_joints, solve
from video_mocap.retarget.structure import find_roles, side_evidence, tokens

from humanoids import CONVENTIONS, animate, apply, build, segment_errors  # noqa: E402

Y_UP = np.array([[1, 0, 0], [0, 0, 1], [0, -1, 0]], float)  # an FBX armature's own axes
FACING_PLUS_Y = np.diag([-1.0, -1.0, 1.0])
LIMBS = [r for r in roles()["roles"] if r.split(".")[0] in ("upper_arm", "forearm", "hand", "thigh", "shin", "foot")]


def _found(rig, mapping):
    """The body roles found (finger bones a preset's names also found are not the structure's business)."""
    got = {r: rig.names[i] for r, i in mapping.bones.items() if r not in roles()["finger_roles"]}
    got["spine"] = [rig.names[i] for i in mapping.spine]
    return got


def test_tokens_split_every_style():
    assert tokens("mixamorig:LeftUpLeg") == ["left", "up", "leg"]
    assert tokens("Bip01 L Thigh") == ["bip", "01", "l", "thigh"]
    assert tokens("lShldrBend") == ["l", "shldr", "bend"]
    assert tokens("UpperArm_L") == ["upper", "arm", "l"]
    assert tokens("LFArm") == ["l", "f", "arm"]
    assert [side_evidence(n) for n in ("LeftArm", "hand_r", "Bip01 R Calf", "lCollar", "Spine", "RUArm")] == [1, -1, -1, 1, 0, -1]


@pytest.mark.parametrize("convention", sorted(CONVENTIONS))
@pytest.mark.parametrize("variant", ["named", "unnamed", "y_up", "facing_plus_y"])
def test_every_convention_maps_exactly(convention, variant):
    kw = {"named": {}, "unnamed": dict(unnamed=True, shuffle=7), "y_up": dict(turn=Y_UP),
          "facing_plus_y": dict(unnamed=True, turn=FACING_PLUS_Y)}[variant]
    rig, truth = build(convention, **kw)
    mapping, _ = detect(rig)
    assert _found(rig, mapping) == truth
    assert not mapping.unsure and mapping.confidence > 0.9


@pytest.mark.parametrize("convention", sorted(CONVENTIONS))
def test_a_known_motion_retargets_through_every_convention(convention):
    from video_mocap.models.assets import load_rig

    src = load_rig("game_engine")
    ms, _ = detect(src)
    joints, _ = animate(src, ms, frames=90, seed=3)
    rig, _ = build(convention, unnamed=True, shuffle=1)
    mapping, _ = detect(rig)
    track = solve(joints, np.ones(joints.shape[:2]), 50, rig, mapping, root_mode="hips")
    out = posed_joints(rig, mapping, *apply(track, rig))
    limbs = segment_errors(out, joints, LIMBS)
    assert np.median(limbs) < 1.0 and limbs.max() < 3.0
    torso = segment_errors(out, joints, ("hips", "chest", "head"))
    assert np.median(torso) < 1.0


def test_names_that_contradict_the_rest_pose_are_reported():
    rig, _ = build("unity")
    swapped = [n.replace("_L", "_tmp").replace("_R", "_L").replace("_tmp", "_R") for n in rig.names]
    liar = Rig(swapped, rig.parents, rig.heads, rig.tails, rig.rest)
    s = find_roles(liar)
    assert liar.names[s.bones["thigh.L"]] == "UpperLeg_R"  # the rest pose decides ...
    assert "thigh.L" in s.unsure and s.confidence < 0.9  # ... and says it is unsure
    assert any("names say left" in n for n in s.notes)


def test_what_is_not_humanoid_is_refused_with_the_reason():
    legs_only = {"root": {"head": [0, 0, 1], "tail": [0, 0, 1.1], "parent": None}}
    for side, x in (("a", 0.1), ("b", -0.1)):
        legs_only[f"thigh{side}"] = {"head": [x, 0, 1], "tail": [x, 0, 0.5], "parent": "root"}
        legs_only[f"shin{side}"] = {"head": [x, 0, 0.5], "tail": [x, 0, 0.05], "parent": f"thigh{side}"}
    with pytest.raises(ValueError, match="does not look humanoid: no humanoid structure"):
        detect(Rig.from_bones(legs_only))


@pytest.mark.parametrize("name", ["cmu_mb", "game_engine", "mixamo", "default"])
def test_structure_agrees_with_the_presets_on_the_makehuman_rigs(name):
    """The MakeHuman rigs (CMU, UE, Mixamo names; the default rig's 163 bones with face and split limbs): the
    structure finds the same body roles as their hand-written presets."""
    from video_mocap.models.assets import load_rig
    from video_mocap.retarget.presets import detect

    rig = load_rig(name)
    preset, _ = detect(rig)
    found = find_roles(rig)
    body = [r for r in found.bones if not r.startswith("toe")]
    assert {r: found.bones[r] for r in body} == {r: preset.bones[r] for r in body}
    assert found.spine == preset.spine and not found.unsure


@pytest.mark.parametrize("name", ["mixamo", "game_engine", "default"])
def test_fingers_are_found_on_unnamed_rigs(name):
    """MakeHuman's rigs with every bone renamed Bone.NNN and shuffled: the structure finds each finger's three
    bones (end bones, metacarpals and palm bones left out; the thumb by its direction, the others in order across
    the hand) exactly where the rig's preset puts them."""
    from video_mocap.models.assets import load_rig

    rig = load_rig(name)
    truth = {r: rig.names[b] for r, b in detect(rig)[0].bones.items() if r in roles()["finger_roles"]}
    assert len(truth) == 30
    order = np.random.default_rng(4).permutation(len(rig))
    new = {rig.names[i]: f"Bone.{k:03d}" for k, i in enumerate(order)}
    unnamed = Rig.from_bones({new[rig.names[i]]: {"head": rig.heads[i], "tail": rig.tails[i], "roll": 0.0,
                                                  "parent": new[rig.names[rig.parents[i]]] if rig.parents[i] >= 0 else None}
                              for i in order})
    mapping, _ = detect(unnamed)
    assert mapping.preset == "structure"
    back = {v: k for k, v in new.items()}
    assert {r: back[unnamed.names[b]] for r, b in mapping.bones.items() if r in roles()["finger_roles"]} == truth
