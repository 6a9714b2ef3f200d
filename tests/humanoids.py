"""Skeletons of the common naming conventions, built on one body (the MakeHuman game-engine rig's rest joints).

Each convention lists its bones as the tool writes them: (name, parent, head point, tail point, role). Names
with {L}/{Left}/{l}/{left} exist on both sides; points and roles ending in ``.X`` take the side. A point
``a>b@t`` lies a fraction t from a to b. The role is what a correct mapping assigns (None: no role).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from video_mocap.retarget.rig import Rig
from video_mocap.rotations import axis_angle, normalize, to_matrix
from video_mocap.retarget.solver import posed_joints

SIDES = {"L": dict(L="L", Left="Left", l="l", left="left", X="L"), "R": dict(L="R", Left="Right", l="r", left="right", X="R")}

CONVENTIONS: dict[str, list[tuple]] = {
    "unity": [  # Unity humanoid as exported by research mocap sets (the names from the issue)
        ("joint_Root", None, "floor", "pelvis", None), ("Hips", "joint_Root", "pelvis", "spine1", "hips"),
        ("Spine", "Hips", "spine1", "chest", "spine"), ("Chest", "Spine", "chest", "neck", "chest"),
        ("Neck", "Chest", "neck", "skull", "neck"), ("Head", "Neck", "skull", "top", "head"),
        ("Shoulder_{L}", "Chest", "clav.X", "shoulder.X", "clavicle.X"), ("UpperArm_{L}", "Shoulder_{L}", "shoulder.X", "elbow.X", "upper_arm.X"),
        ("LowerArm_{L}", "UpperArm_{L}", "elbow.X", "wrist.X", "forearm.X"), ("Hand_{L}", "LowerArm_{L}", "wrist.X", "knuckle.X", "hand.X"),
        ("UpperLeg_{L}", "Hips", "hip.X", "knee.X", "thigh.X"), ("LowerLeg_{L}", "UpperLeg_{L}", "knee.X", "ankle.X", "shin.X"),
        ("Foot_{L}", "LowerLeg_{L}", "ankle.X", "ball.X", "foot.X"), ("Toes_{L}", "Foot_{L}", "ball.X", "toe.X", "toe.X"),
    ],
    "biped": [  # 3ds Max Biped: thighs hang from the first spine bone, clavicles from the neck, twist helpers
        ("Bip01", None, "floor", "pelvis", None), ("Bip01 Pelvis", "Bip01", "pelvis", "spine1", None),
        ("Bip01 Spine", "Bip01 Pelvis", "spine1", "spine2", "hips"), ("Bip01 Spine1", "Bip01 Spine", "spine2", "chest", "spine"),
        ("Bip01 Spine2", "Bip01 Spine1", "chest", "neck", "chest"), ("Bip01 Neck", "Bip01 Spine2", "neck", "skull", "neck"),
        ("Bip01 Head", "Bip01 Neck", "skull", "top", "head"), ("Bip01 HeadNub", "Bip01 Head", "top", "top>skull@-0.2", None),
        ("Bip01 {L} Clavicle", "Bip01 Neck", "clav.X", "shoulder.X", "clavicle.X"),
        ("Bip01 {L} UpperArm", "Bip01 {L} Clavicle", "shoulder.X", "elbow.X", "upper_arm.X"),
        ("Bip01 {L} Forearm", "Bip01 {L} UpperArm", "elbow.X", "wrist.X", "forearm.X"),
        ("Bip01 {L} ForeTwist", "Bip01 {L} Forearm", "elbow.X>wrist.X@0.5", "wrist.X", None),
        ("Bip01 {L} Hand", "Bip01 {L} Forearm", "wrist.X", "knuckle.X", "hand.X"),
        ("Bip01 {L} Finger0", "Bip01 {L} Hand", "thumb.X", "thumbtip.X", None),
        ("Bip01 {L} Finger1", "Bip01 {L} Hand", "index.X", "indextip.X", None),
        ("Bip01 {L} Finger2", "Bip01 {L} Hand", "knuckle.X", "fingertip.X", None),
        ("Bip01 {L} Thigh", "Bip01 Spine", "hip.X", "knee.X", "thigh.X"), ("Bip01 {L} Calf", "Bip01 {L} Thigh", "knee.X", "ankle.X", "shin.X"),
        ("Bip01 {L} Foot", "Bip01 {L} Calf", "ankle.X", "ball.X", "foot.X"), ("Bip01 {L} Toe0", "Bip01 {L} Foot", "ball.X", "toe.X", "toe.X"),
        ("Bip01 {L} Toe0Nub", "Bip01 {L} Toe0", "toe.X", "toe.X>ball.X@-0.3", None),
    ],
    "humanik": [  # Autodesk HumanIK / MotionBuilder, with roll (twist) bones beside the limbs
        ("Hips", None, "pelvis", "spine1", "hips"), ("Spine", "Hips", "spine1", "spine2", "spine"),
        ("Spine1", "Spine", "spine2", "chest", "spine"), ("Spine2", "Spine1", "chest", "neck", "chest"),
        ("Neck", "Spine2", "neck", "skull", "neck"), ("Head", "Neck", "skull", "top", "head"),
        ("{Left}Shoulder", "Spine2", "clav.X", "shoulder.X", "clavicle.X"), ("{Left}Arm", "{Left}Shoulder", "shoulder.X", "elbow.X", "upper_arm.X"),
        ("{Left}ArmRoll", "{Left}Arm", "shoulder.X>elbow.X@0.5", "elbow.X", None),
        ("{Left}ForeArm", "{Left}Arm", "elbow.X", "wrist.X", "forearm.X"),
        ("{Left}ForeArmRoll", "{Left}ForeArm", "elbow.X>wrist.X@0.5", "wrist.X", None),
        ("{Left}Hand", "{Left}ForeArm", "wrist.X", "knuckle.X", "hand.X"),
        ("{Left}HandThumb1", "{Left}Hand", "thumb.X", "thumbtip.X", None), ("{Left}HandIndex1", "{Left}Hand", "index.X", "indextip.X", None),
        ("{Left}HandMiddle1", "{Left}Hand", "knuckle.X", "fingertip.X", None),
        ("{Left}UpLeg", "Hips", "hip.X", "knee.X", "thigh.X"), ("{Left}UpLegRoll", "{Left}UpLeg", "hip.X>knee.X@0.5", "knee.X", None),
        ("{Left}Leg", "{Left}UpLeg", "knee.X", "ankle.X", "shin.X"), ("{Left}LegRoll", "{Left}Leg", "knee.X>ankle.X@0.5", "ankle.X", None),
        ("{Left}Foot", "{Left}Leg", "ankle.X", "ball.X", "foot.X"), ("{Left}ToeBase", "{Left}Foot", "ball.X", "toe.X", "toe.X"),
    ],
    "daz": [  # Daz Genesis 8: bend/twist splits, a pelvis bone under the hip, collars, carpals
        ("Genesis8Female", None, "floor", "pelvis", None), ("hip", "Genesis8Female", "pelvis", "spine1", "hips"),
        ("pelvis", "hip", "pelvis", "pelvis>floor@0.1", None),
        ("abdomenLower", "hip", "spine1", "spine2", "spine"), ("abdomenUpper", "abdomenLower", "spine2", "chest", "spine"),
        ("chestLower", "abdomenUpper", "chest", "chest>neck@0.5", "spine"), ("chestUpper", "chestLower", "chest>neck@0.5", "neck", "chest"),
        ("neckLower", "chestUpper", "neck", "neck>skull@0.5", "neck"), ("neckUpper", "neckLower", "neck>skull@0.5", "skull", None),
        ("head", "neckUpper", "skull", "top", "head"),
        ("{l}Pectoral", "chestUpper", "chest>clav.X@0.6", "chest>clav.X@0.6|fwd", None),
        ("{l}Collar", "chestUpper", "clav.X", "shoulder.X", "clavicle.X"),
        ("{l}ShldrBend", "{l}Collar", "shoulder.X", "shoulder.X>elbow.X@0.45", "upper_arm.X"),
        ("{l}ShldrTwist", "{l}ShldrBend", "shoulder.X>elbow.X@0.45", "elbow.X", None),
        ("{l}ForearmBend", "{l}ShldrTwist", "elbow.X", "elbow.X>wrist.X@0.4", "forearm.X"),
        ("{l}ForearmTwist", "{l}ForearmBend", "elbow.X>wrist.X@0.4", "wrist.X", None),
        ("{l}Hand", "{l}ForearmTwist", "wrist.X", "palm.X", "hand.X"),
        ("{l}Thumb1", "{l}Hand", "thumb.X", "thumbtip.X", None), ("{l}Carpal1", "{l}Hand", "palm.X", "index.X", None),
        ("{l}Index1", "{l}Carpal1", "index.X", "indextip.X", None), ("{l}Carpal2", "{l}Hand", "palm.X", "knuckle.X", None),
        ("{l}Mid1", "{l}Carpal2", "knuckle.X", "fingertip.X", None),
        ("{l}ThighBend", "pelvis", "hip.X", "hip.X>knee.X@0.5", "thigh.X"), ("{l}ThighTwist", "{l}ThighBend", "hip.X>knee.X@0.5", "knee.X", None),
        ("{l}Shin", "{l}ThighTwist", "knee.X", "ankle.X", "shin.X"), ("{l}Foot", "{l}Shin", "ankle.X", "ball.X", "foot.X"),
        ("{l}Metatarsals", "{l}Foot", "ankle.X>ball.X@0.3", "ball.X", None), ("{l}Toe", "{l}Metatarsals", "ball.X", "toe.X", "toe.X"),
    ],
    "rokoko": [
        ("Hips", None, "pelvis", "spine1", "hips"), ("Spine1", "Hips", "spine1", "spine2", "spine"),
        ("Spine2", "Spine1", "spine2", "chest", "spine"), ("Spine3", "Spine2", "chest", "chest>neck@0.5", "spine"),
        ("Spine4", "Spine3", "chest>neck@0.5", "neck", "chest"), ("Neck", "Spine4", "neck", "skull", "neck"),
        ("Head", "Neck", "skull", "top", "head"),
        ("{Left}Shoulder", "Spine4", "clav.X", "shoulder.X", "clavicle.X"), ("{Left}Arm", "{Left}Shoulder", "shoulder.X", "elbow.X", "upper_arm.X"),
        ("{Left}ForeArm", "{Left}Arm", "elbow.X", "wrist.X", "forearm.X"), ("{Left}Hand", "{Left}ForeArm", "wrist.X", "knuckle.X", "hand.X"),
        ("{Left}FingerIndex1", "{Left}Hand", "index.X", "indextip.X", None), ("{Left}FingerMiddle1", "{Left}Hand", "knuckle.X", "fingertip.X", None),
        ("{Left}Thigh", "Hips", "hip.X", "knee.X", "thigh.X"), ("{Left}Shin", "{Left}Thigh", "knee.X", "ankle.X", "shin.X"),
        ("{Left}Foot", "{Left}Shin", "ankle.X", "ball.X", "foot.X"), ("{Left}Toe", "{Left}Foot", "ball.X", "toe.X", "toe.X"),
    ],
    "xsens": [  # Xsens MVN: vertebra names
        ("Pelvis", None, "pelvis", "spine1", "hips"), ("L5", "Pelvis", "spine1", "spine1>spine2@0.5", "spine"),
        ("L3", "L5", "spine1>spine2@0.5", "spine2", "spine"), ("T12", "L3", "spine2", "chest", "spine"),
        ("T8", "T12", "chest", "neck", "chest"), ("Neck", "T8", "neck", "skull", "neck"), ("Head", "Neck", "skull", "top", "head"),
        ("{Left}Shoulder", "T8", "clav.X", "shoulder.X", "clavicle.X"), ("{Left}UpperArm", "{Left}Shoulder", "shoulder.X", "elbow.X", "upper_arm.X"),
        ("{Left}ForeArm", "{Left}UpperArm", "elbow.X", "wrist.X", "forearm.X"), ("{Left}Hand", "{Left}ForeArm", "wrist.X", "fingertip.X", "hand.X"),
        ("{Left}UpperLeg", "Pelvis", "hip.X", "knee.X", "thigh.X"), ("{Left}LowerLeg", "{Left}UpperLeg", "knee.X", "ankle.X", "shin.X"),
        ("{Left}Foot", "{Left}LowerLeg", "ankle.X", "ball.X", "foot.X"), ("{Left}Toe", "{Left}Foot", "ball.X", "toe.X", "toe.X"),
    ],
    "optitrack": [  # OptiTrack Motive
        ("Hip", None, "pelvis", "spine1", "hips"), ("Ab", "Hip", "spine1", "chest", "spine"), ("Chest", "Ab", "chest", "neck", "chest"),
        ("Neck", "Chest", "neck", "skull", "neck"), ("Head", "Neck", "skull", "top", "head"),
        ("{L}Shoulder", "Chest", "clav.X", "shoulder.X", "clavicle.X"), ("{L}UArm", "{L}Shoulder", "shoulder.X", "elbow.X", "upper_arm.X"),
        ("{L}FArm", "{L}UArm", "elbow.X", "wrist.X", "forearm.X"), ("{L}Hand", "{L}FArm", "wrist.X", "fingertip.X", "hand.X"),
        ("{L}Thigh", "Hip", "hip.X", "knee.X", "thigh.X"), ("{L}Shin", "{L}Thigh", "knee.X", "ankle.X", "shin.X"),
        ("{L}Foot", "{L}Shin", "ankle.X", "ball.X", "foot.X"), ("{L}Toe", "{L}Foot", "ball.X", "toe.X", "toe.X"),
    ],
    "neuron": [  # Perception Neuron (Axis): no toes, an in-hand bone before each finger
        ("Hips", None, "pelvis", "spine1", "hips"), ("Spine", "Hips", "spine1", "spine2", "spine"),
        ("Spine1", "Spine", "spine2", "chest", "spine"), ("Spine2", "Spine1", "chest", "neck", "chest"),
        ("Neck", "Spine2", "neck", "neck>skull@0.5", "neck"), ("Neck1", "Neck", "neck>skull@0.5", "skull", None),
        ("Head", "Neck1", "skull", "top", "head"),
        ("{Left}Shoulder", "Spine2", "clav.X", "shoulder.X", "clavicle.X"), ("{Left}Arm", "{Left}Shoulder", "shoulder.X", "elbow.X", "upper_arm.X"),
        ("{Left}ForeArm", "{Left}Arm", "elbow.X", "wrist.X", "forearm.X"), ("{Left}Hand", "{Left}ForeArm", "wrist.X", "palm.X", "hand.X"),
        ("{Left}HandThumb1", "{Left}Hand", "thumb.X", "thumbtip.X", None), ("{Left}InHandIndex", "{Left}Hand", "palm.X", "index.X", None),
        ("{Left}HandIndex1", "{Left}InHandIndex", "index.X", "indextip.X", None), ("{Left}InHandMiddle", "{Left}Hand", "palm.X", "knuckle.X", None),
        ("{Left}HandMiddle1", "{Left}InHandMiddle", "knuckle.X", "fingertip.X", None),
        ("{Left}UpLeg", "Hips", "hip.X", "knee.X", "thigh.X"), ("{Left}Leg", "{Left}UpLeg", "knee.X", "ankle.X", "shin.X"),
        ("{Left}Foot", "{Left}Leg", "ankle.X", "toe.X", "foot.X"),
    ],
    "lafan1": [  # Ubisoft LAFAN1 BVH names
        ("Hips", None, "pelvis", "spine1", "hips"), ("Spine", "Hips", "spine1", "spine2", "spine"),
        ("Spine1", "Spine", "spine2", "chest", "spine"), ("Spine2", "Spine1", "chest", "neck", "chest"),
        ("Neck", "Spine2", "neck", "skull", "neck"), ("Head", "Neck", "skull", "top", "head"),
        ("{Left}Shoulder", "Spine2", "clav.X", "shoulder.X", "clavicle.X"), ("{Left}Arm", "{Left}Shoulder", "shoulder.X", "elbow.X", "upper_arm.X"),
        ("{Left}ForeArm", "{Left}Arm", "elbow.X", "wrist.X", "forearm.X"), ("{Left}Hand", "{Left}ForeArm", "wrist.X", "fingertip.X", "hand.X"),
        ("{Left}UpLeg", "Hips", "hip.X", "knee.X", "thigh.X"), ("{Left}Leg", "{Left}UpLeg", "knee.X", "ankle.X", "shin.X"),
        ("{Left}Foot", "{Left}Leg", "ankle.X", "ball.X", "foot.X"), ("{Left}Toe", "{Left}Foot", "ball.X", "toe.X", "toe.X"),
    ],
}


def points() -> dict[str, np.ndarray]:
    """Named rest points of one body (metres, Blender axes: Z up, facing -Y, left +X)."""
    from video_mocap.models.assets import load_rig

    r = load_rig("game_engine")
    h, t = (lambda n: r.heads[r.index(n)]), (lambda n: r.tails[r.index(n)])
    p = {"floor": h("Root"), "pelvis": h("pelvis"), "spine1": h("spine_01"), "spine2": h("spine_02"), "chest": h("spine_03"),
         "neck": h("neck_01"), "skull": h("head"), "top": t("head")}
    for s, x in (("L", "l"), ("R", "r")):
        p.update({f"clav.{s}": h(f"clavicle_{x}"), f"shoulder.{s}": h(f"upperarm_{x}"), f"elbow.{s}": h(f"lowerarm_{x}"),
                  f"wrist.{s}": h(f"hand_{x}"), f"palm.{s}": t(f"hand_{x}"), f"knuckle.{s}": h(f"middle_01_{x}"),
                  f"fingertip.{s}": t(f"middle_03_{x}"), f"thumb.{s}": h(f"thumb_01_{x}"), f"thumbtip.{s}": t(f"thumb_03_{x}"),
                  f"index.{s}": h(f"index_01_{x}"), f"indextip.{s}": t(f"index_03_{x}"), f"hip.{s}": h(f"thigh_{x}"),
                  f"knee.{s}": h(f"calf_{x}"), f"ankle.{s}": h(f"foot_{x}"), f"ball.{s}": h(f"ball_{x}"), f"toe.{s}": t(f"ball_{x}")})
    return p


def _point(expr: str, p: dict[str, np.ndarray]) -> np.ndarray:
    if expr.endswith("|fwd"):
        return _point(expr[:-4], p) + np.array([0.0, -0.05, 0.0])
    if ">" in expr:
        ab, at = expr.split("@")
        a, b = ab.split(">")
        return p[a] + float(at) * (p[b] - p[a])
    return p[expr]


def build(convention: str, unnamed: bool = False, shuffle: int | None = None, turn=None) -> tuple[Rig, dict[str, str]]:
    """The convention's rig and its true role -> bone name mapping. ``unnamed`` renames every bone
    ``Bone.NNN``; ``shuffle`` (a seed) shuffles the bone order; ``turn`` (3x3) rotates the whole rig."""
    p = points()
    rows = []
    for name, parent, head, tail, role in CONVENTIONS[convention]:
        if "{" in name:
            for s in ("L", "R"):
                sub = SIDES[s]
                rows.append((name.format(**sub), parent.format(**sub), head.replace(".X", f".{s}"), tail.replace(".X", f".{s}"),
                             role.replace(".X", f".{s}") if role else None))
        else:
            rows.append((name, parent, head, tail, role))
    if shuffle is not None:
        rows = [rows[i] for i in np.random.default_rng(shuffle).permutation(len(rows))]
    rename = {r[0]: (f"Bone.{k:03d}" if unnamed else r[0]) for k, r in enumerate(rows)}
    turn = np.eye(3) if turn is None else np.asarray(turn, float)
    bones = {rename[n]: {"head": turn @ _point(h, p), "tail": turn @ _point(t, p), "parent": rename[par] if par else None}
             for n, par, h, t, _ in rows}
    truth = {role: rename[n] for n, _, _, _, role in rows if role and role != "spine"}
    truth["spine"] = [rename[n] for n, _, _, _, role in sorted(rows, key=lambda r: _depth(r[0], rows)) if role == "spine"]
    return Rig.from_bones(bones), truth


def _depth(name: str, rows) -> int:
    parent = {r[0]: r[1] for r in rows}
    d = 0
    while parent.get(name):
        name, d = parent[name], d + 1
    return d


def animate(rig, mapping, frames=150, seed=0):
    """Smooth random rotations (up to 35 deg) on every mapped body bone, fingers curling (0-70 deg about the
    knuckle line, as fingers bend), a walk-like hips path; returns the canonical joints of the posed rig and the
    hips path."""
    from video_mocap.retarget.presets import roles
    from video_mocap.retarget.solver import SKELETON, rest_joints

    rng = np.random.default_rng(seed)
    u = np.linspace(0, 1, frames)
    local = np.broadcast_to(np.eye(3), (frames, len(rig), 3, 3)).copy()
    fingers, rest = roles()["finger_roles"], rest_joints(rig, mapping)
    for role, i in mapping.bones.items():
        phase = np.sin(2 * np.pi * (u * rng.uniform(0.5, 2) + rng.uniform()))
        if role in fingers:
            side = role[-1]
            knuckles = rest[SKELETON.index(f"{side.lower()}_index_mcp")] - rest[SKELETON.index(f"{side.lower()}_pinky_mcp")]
            axis = (1 if side == "R" else -1) * rig.rest[i].T @ normalize(knuckles)  # flexion (roles.json 'hinge') ...
            axis = normalize(axis - axis[1] * np.array([0.0, 1.0, 0.0]))  # ... square to the bone (its y)
            local[:, i] = axis_angle(np.broadcast_to(axis, (frames, 3)), np.radians(35) * (1 + phase))
            continue
        amp = np.radians(12 if role == "hips" else 35)
        local[:, i] = axis_angle(np.broadcast_to(normalize(rng.normal(size=3)), (frames, 3)), amp * phase)
    path = np.stack([np.linspace(0, 2, frames), 0.3 * np.sin(6 * u), 0.05 * np.sin(20 * u)], 1)
    loc = np.zeros((frames, len(rig), 3))
    hips = mapping.bones["hips"]
    loc[:, hips] = (rig.rest[hips].T @ path.T).T
    heads, tails, rots = rig.fk(local, loc)
    return posed_joints(rig, mapping, heads, tails, rots), path


def apply(track, rig):
    loc = np.zeros((len(track.quaternions), len(rig), 3))
    for i, l in track.locations.items():
        loc[:, i] = l
    return rig.fk(to_matrix(track.quaternions.astype(np.float64)), loc)


def segment_errors(out: np.ndarray, joints: np.ndarray, role_names) -> np.ndarray:
    """Angles (deg) between the posed and the wanted segment of each role ('aim' in roles.json; a hand's
    'palm' where both have the hand's points), all frames."""
    from video_mocap.retarget.presets import roles
    from video_mocap.rotations import angle_between
    from video_mocap.retarget.solver import SKELETON

    spec = roles()["roles"] | roles()["finger_roles"]

    def seg(p, role):
        r = spec[role]
        if "palm" in r and all(x.shape[1] == len(SKELETON) and np.isfinite(x[:, SKELETON.index(r["palm"]["aim"][1])]).all()
                               for x in (out, joints)):
            r = r["palm"]
        a, b = (SKELETON.index(n) for n in r["aim"])
        return p[:, b] - p[:, a]
    return np.concatenate([angle_between(seg(out, r), seg(joints, r)) for r in role_names])


def write_bvh(rig: Rig, path, frames: int = 40, up: str = "y", unit: float = 1.0, order: str = "ZXY",
              bend: float = 30.0, broken_line: int | None = None) -> np.ndarray:
    """A BVH file of ``rig`` (the way other tools write one: its own names, rest = zero rotations) that
    walks forward and bends every joint a little; ``unit`` metres per file unit, ``up`` 'y' or 'z'.
    Returns the root path (T, 3, metres, Blender axes). ``broken_line`` corrupts that line."""
    to_file = np.array([[1, 0, 0], [0, 0, 1], [0, -1, 0]], float) if up == "y" else np.eye(3)  # Blender -> file
    kids = {i: [k for k in range(len(rig)) if rig.parents[k] == i] for i in range(-1, len(rig))}
    lines = ["HIERARCHY"]

    def emit(i: int, depth: int) -> None:
        pad = "  " * depth
        off = rig.heads[i] - rig.heads[rig.parents[i]] if rig.parents[i] >= 0 else np.zeros(3)  # root: in its channels
        lines.append(f"{pad}{'ROOT' if rig.parents[i] < 0 else 'JOINT'} {rig.names[i]}")
        lines.append(pad + "{")
        lines.append(f"{pad}  OFFSET " + " ".join(f"{v:.6f}" for v in to_file @ off / unit))
        rot = " ".join(f"{a}rotation" for a in order)
        lines.append(f"{pad}  CHANNELS {'6 Xposition Yposition Zposition ' if rig.parents[i] < 0 else '3 '}{rot}")
        for k in kids[i]:
            emit(k, depth + 1)
        if not kids[i]:
            lines.extend([f"{pad}  End Site", pad + "  {", f"{pad}    OFFSET " +
                          " ".join(f"{v:.6f}" for v in to_file @ (rig.tails[i] - rig.heads[i]) / unit), pad + "  }"])
        lines.append(pad + "}")

    for r in kids[-1]:
        emit(r, 0)
    u = np.linspace(0, 1, frames)
    path_m = np.stack([0.3 * np.sin(2 * np.pi * u), -1.5 * u, 0.02 * np.sin(8 * np.pi * u)], 1)
    lines += ["MOTION", f"Frames: {frames}", "Frame Time: 0.033333"]
    order_ix = {i: k for k, i in enumerate(sum(([r] + _descendants(r, kids) for r in kids[-1]), []))}
    joints = sorted(order_ix, key=order_ix.get)
    for t in range(frames):
        row = []
        for i in joints:
            if rig.parents[i] < 0:
                row += list(to_file @ (rig.heads[i] + path_m[t]) / unit)
            row += [bend * np.sin(2 * np.pi * u[t] + i), 0.5 * bend * np.sin(2 * np.pi * u[t] + 2 * i), 0.0]
        lines.append(" ".join(f"{v:.5f}" for v in row))
    if broken_line is not None:
        lines[broken_line - 1] = lines[broken_line - 1].replace("OFFSET", "OFSET 1x")
    Path(path).write_text("\n".join(lines) + "\n")
    return path_m


def _descendants(i: int, kids: dict) -> list[int]:
    out = []
    for k in kids[i]:
        out += [k] + _descendants(k, kids)
    return out
