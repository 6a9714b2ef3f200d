"""BVH files <-> motions, in numpy.

Reading: parse the hierarchy and channels, run forward kinematics, recognise the skeleton with the
rig presets and read the canonical joints off it, so any humanoid BVH (CMU, Mixamo, Blender exports)
becomes a :class:`Motion`. Writing: build a CMU-named skeleton with the motion's median bone lengths in
a T-pose, solve its rotations with the retarget solver and write them as ZXY Euler channels.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable
from pathlib import Path

import numpy as np

from ..motion import FRAMES, Motion
from ..skeleton import load_skeleton
from .presets import detect, load_preset, resolve
from .rig import Rig
from ..rotations import axis_angle, normalize, to_euler
from .solver import canonical, posed_joints, rest_joints, solve

SK = load_skeleton("h36m17_ext")
_AXES = {"X": [1.0, 0, 0], "Y": [0, 1.0, 0], "Z": [0, 0, 1.0]}
UNITS = {"m": 1.0, "cm": 0.01, "in": 0.0254, "cmu": 0.0564444}  # cmu: (1/0.45) inch ASF units


class BVHError(ValueError):
    """A BVH file could not be read; the message says where."""


@dataclass
class BVH:
    names: list[str]
    parents: list[int]
    offsets: np.ndarray  # (N, 3) file units
    channels: list[list[str]]
    end_sites: dict[int, np.ndarray]  # joint index -> End Site offset
    frame_time: float
    data: np.ndarray  # (T, C)

    def fk(self) -> tuple[np.ndarray, np.ndarray]:
        """World positions (T, N, 3) and rotations (T, N, 3, 3) in file axes and units."""
        t, n = len(self.data), len(self.names)
        pos, rot = np.zeros((t, n, 3)), np.zeros((t, n, 3, 3))
        col = 0
        for j in range(n):
            local = np.broadcast_to(np.eye(3), (t, 3, 3)).copy()
            trans = np.zeros((t, 3))
            for ch in self.channels[j]:
                v = self.data[:, col]
                col += 1
                axis, kind = ch[0].upper(), ch[1:].lower()
                if kind == "position":
                    trans[:, "XYZ".index(axis)] = v
                else:
                    local = local @ axis_angle(np.broadcast_to(_AXES[axis], (t, 3)), np.radians(v))
            p = self.parents[j]
            if p < 0:
                pos[:, j] = self.offsets[j] + trans
                rot[:, j] = local
            else:
                pos[:, j] = pos[:, p] + (rot[:, p] @ (self.offsets[j] + trans)[..., None])[..., 0]
                rot[:, j] = rot[:, p] @ local
        return pos, rot


def parse(path: str | os.PathLike) -> BVH:
    """The hierarchy, channels (any count and rotation order) and frames of a BVH file; errors name the line."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError as e:
        raise BVHError(f"{path}: cannot read ({e.strerror})") from None
    tokens = [(n, tok) for n, line in enumerate(text.splitlines(), 1) for tok in line.split()]
    it = iter(range(len(tokens)))
    names, parents, offsets, channels, ends = [], [], [], [], {}
    stack: list[int] = []
    k = 0

    def take() -> str:
        nonlocal k
        k = next(it)
        return tokens[k][1]

    try:
        if take() != "HIERARCHY":
            raise BVHError(f"{path}: not a BVH file (no HIERARCHY)")
        pending_end = False
        while (tok := take()) != "MOTION":
            if tok in ("ROOT", "JOINT"):
                line = tokens[k][0]
                parts = [take()]
                while k + 1 < len(tokens) and tokens[k + 1][0] == line:  # a name with spaces ("Bip01 L Thigh")
                    parts.append(take())
                names.append(" ".join(parts))
                parents.append(stack[-1] if stack else -1)
                channels.append([])
                offsets.append(np.zeros(3))
            elif tok == "End":
                take()
                pending_end = True
            elif tok == "{":
                stack.append(-2 if pending_end else len(names) - 1)
            elif tok == "}":
                stack.pop()
                pending_end = False
            elif tok == "OFFSET":
                v = np.array([float(take()) for _ in range(3)])
                if pending_end:
                    ends[[s for s in stack if s >= 0][-1]] = v
                else:
                    offsets[-1] = v
            elif tok == "CHANNELS":
                count = int(take())
                channels[-1] = [take() for _ in range(count)]
                bad = [c for c in channels[-1] if c[:1].upper() not in "XYZ" or c[1:].lower() not in ("position", "rotation")]
                if bad:
                    raise ValueError(f"unknown channel {bad[0]!r}")
            else:
                raise ValueError(f"unexpected {tok!r}")
        take()  # Frames:
        frames = int(take())
        take(), take()  # Frame Time:
        frame_time = float(take())
        width = sum(len(c) for c in channels)
        first = k + 1
        rows = tokens[first:first + frames * width]
        try:
            values = np.array([t for _, t in rows], float)
        except ValueError:
            k = first + next(i for i, (_, t) in enumerate(rows) if not _is_number(t))
            raise ValueError("not a number") from None
    except StopIteration:
        raise BVHError(f"{path}: ends early (line {tokens[-1][0] if tokens else 1}): an unfinished hierarchy or "
                       f"no MOTION section") from None
    except (ValueError, IndexError) as e:
        raise BVHError(f"{path}: line {tokens[k][0]}: malformed BVH near {tokens[k][1]!r} ({e})") from None
    if not names or frames <= 0 or values.size != frames * width:
        line = tokens[first][0] if first < len(tokens) else tokens[-1][0]
        raise BVHError(f"{path}: expected {frames} frames of {width} channels from line {line}, found {values.size} values")
    if frame_time <= 0:
        raise BVHError(f"{path}: frame time must be positive, got {frame_time}")
    return BVH(names, parents, np.array(offsets), channels, ends, frame_time, values.reshape(frames, width))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _guess_unit(bvh: BVH, rig: Rig, mapping) -> float:
    """Metres per file unit: the candidate that makes thigh + shin closest to 0.85 m."""
    legs = sum(rig.lengths[mapping.bones[r]] for r in ("thigh.L", "shin.L"))
    return min(UNITS.values(), key=lambda u: abs(np.log(legs * u / 0.85)))


def _rest_rig(bvh: BVH, to_blender: np.ndarray) -> tuple[Rig, Callable]:
    """The BVH's rest pose as a rig (Blender axes, file units) and a function giving bone tails."""
    zero = BVH(bvh.names, bvh.parents, bvh.offsets, bvh.channels, bvh.end_sites, bvh.frame_time,
               np.zeros((1, bvh.data.shape[1])))
    rest_pos = zero.fk()[0][0] @ to_blender.T
    children = {j: [c for c, p in enumerate(bvh.parents) if p == j] for j in range(len(bvh.names))}

    def tail(j, p, r):
        if children[j]:
            return np.mean([p[..., c, :] for c in children[j]], axis=0)
        end = bvh.end_sites.get(j, bvh.offsets[j] if np.linalg.norm(bvh.offsets[j]) > 0 else np.array([0, 1e-3, 0]))
        return p[..., j, :] + (r[..., j, :, :] @ (end @ to_blender.T))

    eye = np.broadcast_to(np.eye(3), (len(bvh.names), 3, 3))
    bones = {n: {"head": rest_pos[j], "tail": tail(j, rest_pos, eye),
                 "parent": bvh.names[bvh.parents[j]] if bvh.parents[j] >= 0 else None} for j, n in enumerate(bvh.names)}
    return Rig.from_bones(bones), tail


def read(path: str | os.PathLike, up: str = "auto") -> Motion:
    """A humanoid BVH (any naming convention) as a canonical motion (h36m17_ext, or h36m17_hands when its fingers
    map; Blender frame, metres, root = pelvis). ``up``: the file's up axis, 'y' (most files), 'z', or 'auto' (the
    one that stands the body up)."""
    bvh = parse(path)
    for axis in ("y", "z") if up == "auto" else (up,):
        to_blender = FRAMES["y_up"] if axis == "y" else np.eye(3)
        rig, _ = _rest_rig(bvh, to_blender)
        try:
            mapping, _ = detect(rig)
        except ValueError as e:
            raise BVHError(f"{path}: {e}") from None
        rest = rest_joints(rig, mapping)
        body = rest[SK.index("head_top")] - rest[SK.index("pelvis")]
        if body[2] > 0.7 * np.linalg.norm(body):
            break
    unit = _guess_unit(bvh, rig, mapping)
    # Work in metres from here on, so the rig's derived points (nose, heels) are in metres too.
    is_pos = np.array([ch[1:].lower() == "position" for chans in bvh.channels for ch in chans])
    bvh.data[:, is_pos] *= unit
    bvh.offsets = bvh.offsets * unit
    bvh.end_sites = {k: v * unit for k, v in bvh.end_sites.items()}
    rig, tail = _rest_rig(bvh, to_blender)  # in metres: the same bones in the same order, so the same mapping
    pos, rot = bvh.fk()
    order = [bvh.names.index(n) for n in rig.names]
    world_pos = pos @ to_blender.T
    world_rot = to_blender @ rot @ to_blender.T  # rotation relative to the BVH rest (identity)
    heads = world_pos[:, order]
    tails = np.stack([tail(j, world_pos, world_rot) for j in order], 1)
    joints, skeleton = canonical(posed_joints(rig, mapping, heads, tails, world_rot[:, order] @ rig.rest))
    return Motion.from_positions(joints, 1.0 / bvh.frame_time, skeleton, {"source": str(path), "bvh_skeleton": mapping.preset,
                                                                    "bvh_unit_m": unit, "bvh_up": axis})


# -- writing ----------------------------------------------------------------------------------------
# The written skeleton: CMU MotionBuilder names; (name, parent, from joint, to joint). Neck and head
# split the thorax -> head-top line in two, so the head top lands where the data has it.
_WRITE = [("Hips", None, "pelvis", "spine"), ("LeftUpLeg", "Hips", "l_hip", "l_knee"), ("LeftLeg", "LeftUpLeg", "l_knee", "l_ankle"),
          ("LeftFoot", "LeftLeg", "l_ankle", "l_toe"), ("RightUpLeg", "Hips", "r_hip", "r_knee"),
          ("RightLeg", "RightUpLeg", "r_knee", "r_ankle"), ("RightFoot", "RightLeg", "r_ankle", "r_toe"),
          ("Spine1", "Hips", "spine", "thorax"), ("Neck", "Spine1", "thorax", "head_top"), ("Head", "Neck", "thorax", "head_top"),
          ("LeftShoulder", "Spine1", "thorax", "l_shoulder"), ("LeftArm", "LeftShoulder", "l_shoulder", "l_elbow"),
          ("LeftForeArm", "LeftArm", "l_elbow", "l_wrist"), ("LeftHand", "LeftForeArm", "l_wrist", "l_handtip"),
          ("RightShoulder", "Spine1", "thorax", "r_shoulder"), ("RightArm", "RightShoulder", "r_shoulder", "r_elbow"),
          ("RightForeArm", "RightArm", "r_elbow", "r_wrist"), ("RightHand", "RightForeArm", "r_wrist", "r_handtip")]
# T-pose directions of those bones (Blender frame: Z up, the character faces -Y, its left is +X).
_TPOSE = {"Hips": [0, 0, 1], "LeftUpLeg": [0, 0, -1], "LeftLeg": [0, 0, -1], "LeftFoot": [0, -1, 0],
          "Spine1": [0, 0, 1], "Neck": [0, 0, 1], "Head": [0, 0, 1], "LeftShoulder": [1, 0, 0], "LeftArm": [1, 0, 0],
          "LeftForeArm": [1, 0, 0], "LeftHand": [1, 0, 0]}
_DEFAULT_LENGTH = {"LeftFoot": 0.15, "LeftHand": 0.18}


#: Finger bones of the written skeleton (MotionBuilder / HumanIK names, as the cmu_bvh preset's "fingers"), in
#: the hand's point order (h36m17_hands' groups hand_l / hand_r): each finger's three bones run over four points.
_FINGERS = ("Thumb", "Index", "Middle", "Ring", "Pinky")
HANDS = load_skeleton("h36m17_hands")


def _hand_shape(positions: np.ndarray, side: str) -> np.ndarray | None:
    """The median shape of one hand (21 points: the wrist, then h36m17_hands' order) in a palm-down T-pose:
    its points in the hand's own frame (wrist -> middle knuckle, pinky -> index knuckle), over the frames it was
    seen, turned so the fingers point along the arm (+X on the left, -X on the right), the index knuckle forward
    (-Y); None when the motion has no such hand."""
    if positions.shape[1] < len(HANDS):
        return None
    p = positions[:, list(HANDS.group(f"hand_{side}"))]
    seen = np.isfinite(p).all((1, 2))
    if not seen.any():
        return None
    p = p[seen] - p[seen, :1]
    a = normalize(p[:, 9])  # the middle knuckle (wrist = 0, then 4 points a finger)
    k = p[:, 5] - p[:, 17]  # pinky -> index knuckle
    k = normalize(k - (k * a).sum(-1, keepdims=True) * a)
    frame = np.stack([a, k, np.cross(a, k)], -1)  # (N, 3, 3) columns: the hand's axes
    local = np.median(np.einsum("nji,npj->npi", frame, p), axis=0)  # (21, 3) in the hand's axes
    x = 1.0 if side == "l" else -1.0
    tpose = np.array([[x, 0, 0], [0, -1, 0], [0, 0, -x]]).T  # hand axes -> Blender T-pose axes (a proper turn)
    return local @ tpose.T


def tpose_rig(positions: np.ndarray) -> Rig:
    """A CMU-named T-pose skeleton with the motion's median bone lengths; with the hands' points (h36m17_hands),
    finger bones too, in the median hand shape seen, palm down."""
    heads: dict[str, np.ndarray] = {}
    bones = {}
    for name, parent, a, b in _WRITE:
        key = name.replace("Right", "Left")
        d = np.array(_TPOSE[key], float)
        if name.startswith("Right"):
            d[0] = -d[0]
        seg = np.linalg.norm(positions[:, SK.index(b)] - positions[:, SK.index(a)], axis=-1) * (0.5 if key in ("Neck", "Head") else 1)
        length = float(np.nanmedian(seg)) if np.isfinite(seg).any() else _DEFAULT_LENGTH.get(key, 0.1)
        if parent is None:
            head = np.array([0.0, 0.0, 1.0])
        elif name in ("LeftUpLeg", "RightUpLeg"):
            half = np.nanmedian(np.linalg.norm(positions[:, SK.index("l_hip")] - positions[:, SK.index("r_hip")], axis=-1)) / 2
            head = heads["Hips"] + [half if name.startswith("Left") else -half, 0, 0]
        else:
            head = bones[parent]["tail"]
        heads[name] = head
        bones[name] = {"head": head, "tail": head + d * length, "parent": parent}
    for side, Side in (("l", "Left"), ("r", "Right")):
        shape = _hand_shape(positions, side)
        if shape is None:
            continue
        wrist = bones[f"{Side}Hand"]["head"]
        for f, finger in enumerate(_FINGERS):
            parent = f"{Side}Hand"
            for k in range(3):
                name = f"{Side}Hand{finger}{k + 1}"
                bones[name] = {"head": wrist + shape[1 + 4 * f + k], "tail": wrist + shape[2 + 4 * f + k], "parent": parent}
                parent = name
    return Rig.from_bones(bones)


def write(path: str | os.PathLike, motion: Motion, unit: str = "m", overwrite: bool = False,
          unseen_fingers: str = "hold") -> Path:
    """Write ``motion`` (h36m17, h36m17_ext or h36m17_hands: then with finger bones, ``unseen_fingers`` where a hand
    is not seen; see :data:`.solver.UNSEEN_FINGERS`) as a BVH (Y up, ZXY rotations) via the retarget solver."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True (--force on the command line) to replace it")
    m = motion.to_frame("blender")
    pos = m.positions()
    conf = m.confidence
    if m.skeleton.name == "h36m17":
        pos = np.concatenate([pos, np.full((len(pos), 6, 3), np.nan, np.float32)], 1)
        conf = np.concatenate([conf, np.zeros((len(pos), 6), np.float32)], 1)
    rig = tpose_rig(pos)
    mapping = resolve(load_preset("cmu_bvh"), rig)
    track = solve(pos, conf, m.fps, rig, mapping, root_mode="none", unseen_fingers=unseen_fingers)
    to_y = FRAMES["y_up"].T
    lines, cols = ["HIERARCHY"], []
    scale = 1.0 / UNITS[unit]

    def emit(i, depth):
        name, p = rig.names[i], rig.parents[i]
        off = (rig.heads[i] - rig.heads[p]) @ to_y.T * scale if p >= 0 else np.zeros(3)  # the root moves by its channels
        pad = "  " * depth
        lines.append(f"{pad}{'ROOT' if p < 0 else 'JOINT'} {name}")
        lines.append(pad + "{")
        lines.append(f"{pad}  OFFSET {off[0]:.6f} {off[1]:.6f} {off[2]:.6f}")
        lines.append(f"{pad}  CHANNELS {6 if p < 0 else 3} " + ("Xposition Yposition Zposition " if p < 0 else "") + "Zrotation Xrotation Yrotation")
        g = track.world[:, i] if p < 0 else np.swapaxes(track.world[:, p], -1, -2) @ track.world[:, i]
        euler = np.degrees(to_euler(to_y @ g @ to_y.T, "YXZ"))  # R = Rz Rx Ry, as the channels read
        if p < 0:
            cols.append(pos[:, SK.index("pelvis")] @ to_y.T * scale)
        cols.append(euler[:, [2, 0, 1]])
        kids = [k for k in range(len(rig)) if rig.parents[k] == i]
        for k in kids:
            emit(k, depth + 1)
        if not kids:
            end = (rig.tails[i] - rig.heads[i]) @ to_y.T * scale
            lines.extend([f"{pad}  End Site", pad + "  {", f"{pad}    OFFSET {end[0]:.6f} {end[1]:.6f} {end[2]:.6f}", pad + "  }"])
        lines.append(pad + "}")

    emit(rig.index("Hips"), 0)
    data = np.concatenate(cols, 1)
    lines += ["MOTION", f"Frames: {len(data)}", f"Frame Time: {1.0 / m.fps:.8f}"]
    lines += [" ".join(f"{v:.5f}" for v in row) for row in data]
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, path)
    return path
