"""Joint positions -> local bone rotations and root translation for one rig.

Per body role (``roles.json``): swing the rig's rest segment onto the observed segment, then twist
about it so the rest reference vector (limb-plane normal, hip or shoulder axis, face direction)
lines up with the observed one. That gives each role a world rotation ``G`` relative to rest;
a bone's local rotation (``pose_bone.matrix_basis``) is ``R_b^T G_parent^T G_b R_b`` with ``R_b`` its
rest matrix. Working from the rig's own rest joints means A-pose and T-pose rigs need no special case.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..skeleton import load_skeleton
from .presets import Mapping, roles
from .rig import Rig
from ..filters import smooth
from ..rotations import axis_angle, continuous, exp, from_matrix, log, normalize, qconj, qmul, slerp_matrix, swing

SKELETON = load_skeleton("h36m17_hands")  # h36m17_ext's 23 joints first; motions without hands leave the rest unseen
ROOT_MODES = ("hips", "root", "in_place", "none")
#: What a finger does on frames where its hand is not seen: keep the last seen shape (the first seen before it; the
#: rig's rest where the hand is never seen), the rig's rest pose, or ``roles.json``'s relaxed curl.
UNSEEN_FINGERS = ("hold", "rest", "relaxed")


@dataclass
class Track:
    """A solved animation: local rotations for every bone and locations for the translated ones."""

    bones: list[str]
    quaternions: np.ndarray  # (T, B, 4) w, x, y, z; continuous in time
    locations: dict[int, np.ndarray]  # bone index -> (T, 3) pose-space location
    fps: float
    scale: float  # rig size / data size used for the root
    world: np.ndarray  # (T, B, 3, 3) world rotation of every bone relative to its rest
    animated: list[int]  # bones the mapping drives (the ones worth keying)
    properties: dict[str, dict[str, float]]  # custom properties to key (Rigify's IK_FK switches)

    def smoothed(self, strength: float, method: str = "butterworth") -> "Track":
        """Rotations smoothed in log-quaternion space (about each bone's mean rotation, after sign
        alignment) and locations smoothed as positions; 0 returns the track unchanged."""
        q = continuous(self.quaternions.astype(np.float64))
        ref = normalize(q.mean(axis=0))
        r = smooth(log(qmul(qconj(ref)[None], q)), self.fps, method, strength)
        q = continuous(normalize(qmul(ref[None], exp(r))))
        locs = {i: smooth(v, self.fps, method, strength).astype(np.float32) for i, v in self.locations.items()}
        return Track(self.bones, q.astype(np.float32), locs, self.fps, self.scale, self.world, self.animated, self.properties)


def rest_joints(rig: Rig, mapping: Mapping) -> np.ndarray:
    """Canonical joints (J, 3) of the rig at rest, NaN where the rig has no such point."""
    out = _bone_points(rig.heads, rig.tails, mapping)
    ix = SKELETON.index
    fwd = body_forward(out)
    up = normalize(out[ix("head_top")] - out[ix("thorax")])
    out[ix("neck_nose")] = out[ix("thorax")] + 0.65 * (out[ix("head_top")] - out[ix("thorax")]) + 0.09 * normalize(fwd - (fwd @ up) * up)
    for side in "lr":  # heels sit behind the ankles
        out[ix(f"{side}_heel")] = out[ix(f"{side}_ankle")] - 0.05 * fwd
    return out


def posed_joints(rig: Rig, mapping: Mapping, heads: np.ndarray, tails: np.ndarray, rots: np.ndarray) -> np.ndarray:
    """Canonical joints (T, J, 3) of a posed rig (``Rig.fk`` output); the nose and heels, which no
    bone ends at, ride on the head and foot bones as they sit at rest."""
    out = _bone_points(heads, tails, mapping)
    rest = rest_joints(rig, mapping)
    ix = SKELETON.index
    for joint, role in (("neck_nose", "head"), ("l_heel", "foot.L"), ("r_heel", "foot.R")):
        if role in mapping.bones:
            b = mapping.bones[role]
            rel = rots[:, b] @ rig.rest[b].T
            out[:, ix(joint)] = heads[:, b] + (rel @ (rest[ix(joint)] - rig.heads[b]))
    return out


def canonical(joints: np.ndarray) -> tuple[np.ndarray, "Skeleton"]:
    """Posed canonical joints (T, 63, 3) as a motion carries them: all of h36m17_hands where a rig gave hand
    points, else h36m17_ext's 23 joints."""
    if np.isfinite(joints[:, 23:]).any():
        return joints, SKELETON
    return joints[:, :23], load_skeleton("h36m17_ext")


def _bone_points(heads: np.ndarray, tails: np.ndarray, mapping: Mapping) -> np.ndarray:
    spec = roles()["rest_joints"]
    out = np.full(heads.shape[:-2] + (len(SKELETON), 3), np.nan)
    for joint, (end, *candidates) in ((k, v) for k, v in spec.items() if k != "description"):
        for role in candidates:
            if role in mapping.bones:
                b = mapping.bones[role]
                out[..., SKELETON.index(joint), :] = heads[..., b, :] if end == "head" else tails[..., b, :]
                break
    ix = SKELETON.index
    out[..., ix("pelvis"), :] = 0.5 * (out[..., ix("l_hip"), :] + out[..., ix("r_hip"), :])
    out[..., ix("spine"), :] = 0.5 * (out[..., ix("pelvis"), :] + out[..., ix("thorax"), :])
    return out


def body_forward(joints: np.ndarray) -> np.ndarray:
    """Forward direction of a body (..., J, 3): left-hip axis crossed with the up axis of the torso."""
    ix = SKELETON.index
    left = joints[..., ix("l_hip"), :] - joints[..., ix("r_hip"), :]
    up = joints[..., ix("thorax"), :] - joints[..., ix("pelvis"), :]
    return normalize(np.cross(left, up))


def _ref_vector(joints: np.ndarray, names: list[str]) -> np.ndarray:
    p = [joints[..., SKELETON.index(n), :] for n in names]
    return p[1] - p[0] if len(p) == 2 else np.cross(p[1] - p[0], p[2] - p[1])


def _fill(valid: np.ndarray, values: np.ndarray, default: np.ndarray) -> np.ndarray:
    """Forward-fill ``values`` (T, ...) where not ``valid`` (T,), back-fill the start, else ``default``."""
    if not valid.any():
        return np.broadcast_to(default, values.shape).copy()
    idx = np.where(valid, np.arange(len(valid)), -1)
    idx = np.maximum.accumulate(idx)
    idx[idx < 0] = np.flatnonzero(valid)[0]
    return values[idx]


def _role_rotation(joints, conf, rest, fwd_rest, r, aim_rest=None, aim=None):
    """World rotation (T, 3, 3) of one role, or None when the data never shows it. ``aim_rest`` and
    ``aim`` override the segment (used for bones carried by their parent, like clavicles)."""
    aim_idx = [SKELETON.index(n) for n in r["aim"]]
    ref_idx = [SKELETON.index(n) for n in r["ref"]]
    if np.isnan(rest[aim_idx + ref_idx]).any():
        return None
    aim_rest = rest[aim_idx[1]] - rest[aim_idx[0]] if aim_rest is None else aim_rest
    aim = joints[:, aim_idx[1]] - joints[:, aim_idx[0]] if aim is None else aim
    ref_rest = _ref_vector(rest, r["ref"])
    if len(ref_idx) == 3 and np.linalg.norm(ref_rest) < 0.1 * np.prod(
            [np.linalg.norm(rest[ref_idx[k + 1]] - rest[ref_idx[k]]) for k in range(2)]):
        bend = fwd_rest if r.get("bend", "forward") == "forward" else -fwd_rest
        ref_rest = np.cross(aim_rest, bend)  # a straight rest limb: fold it the anatomical way
    seen = (conf[:, aim_idx] > 0).all(1) & np.isfinite(aim).all(1) & (np.linalg.norm(aim, axis=1) > 1e-6)
    if not seen.any():
        return None
    aim = np.where(seen[:, None], aim, aim_rest)
    s = swing(np.broadcast_to(aim_rest, aim.shape), aim)
    d = normalize(aim)
    u1 = s @ ref_rest
    u2 = _ref_vector(joints, r["ref"])
    p1 = u1 - (u1 * d).sum(-1, keepdims=True) * d
    p2 = u2 - (u2 * d).sum(-1, keepdims=True) * d
    size = np.prod([np.linalg.norm(joints[:, ref_idx[k + 1]] - joints[:, ref_idx[k]], axis=-1)
                    for k in range(len(ref_idx) - 1)], axis=0)
    good = seen & (conf[:, ref_idx] > 0).all(1) & (np.linalg.norm(p2, axis=-1) > 0.1 * np.maximum(size, 1e-9))
    theta = np.arctan2((d * np.cross(p1, p2)).sum(-1), (p1 * p2).sum(-1))
    # A straight limb has no plane: keep the last good twist (unwrapped so it never jumps by 2 pi).
    theta = np.unwrap(_fill(good, theta, np.zeros(())))
    return _fill(seen, axis_angle(d, theta) @ s, np.eye(3))


def _role_or_palm(joints, conf, rest, fwd_rest, r):
    """A role's world rotation (T, 3, 3), None when the data never shows it; a role with a ``palm`` (the hands)
    takes it from the palm (wrist -> middle knuckle, the knuckle line) on frames where the hand's own points
    were seen, else from the arm (wrist -> hand tip, the arm's plane) turned as the palm last was from it (so a
    hand lost from view keeps its turn and follows the arm)."""
    arm = _role_rotation(joints, conf, rest, fwd_rest, r)
    if "palm" not in r:
        return arm
    palm = _role_rotation(joints, conf, rest, fwd_rest, r["palm"])
    if palm is None:
        return arm
    seen = (conf[:, [SKELETON.index(n) for n in r["palm"]["aim"] + r["palm"]["ref"]]] > 0).all(1)
    return palm if arm is None else _held_on(arm, palm, seen)


def _held_on(base: np.ndarray, g: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """World rotations (T, 3, 3): ``g`` where ``seen``, elsewhere ``base`` turned as ``g`` last was from it (as
    first seen, before that; ``base`` itself where ``g`` is never seen)."""
    return np.where(seen[:, None, None], g, base @ _fill(seen, np.swapaxes(base, -1, -2) @ g, np.eye(3)))


def _hinge_axis(joints: np.ndarray, conf: np.ndarray, parent_g: np.ndarray, rest: np.ndarray, r: dict) -> np.ndarray:
    """The axis (rig rest axes) a finger's middle or end bone bends about: the median normal of the plane it bends
    in with its parent segment, over the frames it is bent by 15 deg or more, as seen from the parent bone (each
    finger bends in its own plane; the pinky's and index's lean toward the thumb); with fewer than 5 such frames,
    the rig's knuckle line. Oriented so that flexion is a positive turn ('hinge' in roles.json)."""
    knuckles = r["hinge"] * normalize(_ref_vector(rest, r["ref"]))
    a, b = (SKELETON.index(n) for n in r["aim"])
    c = SKELETON.parents[a]
    up, down = joints[:, a] - joints[:, c], joints[:, b] - joints[:, a]
    n = np.cross(up, down)
    bent = ((conf[:, [a, b, c]] > 0).all(1) & np.isfinite(n).all(1)
            & (np.linalg.norm(n, axis=1) > np.sin(np.radians(15)) * np.linalg.norm(up, axis=1) * np.linalg.norm(down, axis=1)))
    if bent.sum() < 5:
        return knuckles
    seen = np.einsum("tji,tj->ti", parent_g[bent], normalize(n[bent]))  # into the parent's rest axes
    seen *= np.sign(seen @ knuckles)[:, None]  # flexion one way: a finger bent backwards does not flip the axis
    axis = normalize(np.median(seen, axis=0))
    return axis if np.isfinite(axis).all() else knuckles


def _hinge(local: np.ndarray, axis: np.ndarray, limits: tuple[float, float]) -> np.ndarray:
    """Local rotations (T, 3, 3) of a hinge bone as the turn about ``axis`` (bone axes; made square to the bone,
    which points along its y) that brings the bone nearest to where ``local`` points it, within ``limits`` deg
    (a turn beyond them goes to the limit on the side the bone last was within them, else the one nearer round
    the circle: a finger read folded right back stays where it was rather than flipping between full flexion and
    straight from one frame to the next)."""
    y = np.array([0.0, 1.0, 0.0])
    axis = normalize(axis - (axis @ y) * y)
    p = local[:, :, 1]  # where the bone points
    p = p - (p @ axis)[:, None] * axis  # its part in the hinge's plane
    lo, hi = np.radians(limits)
    angle = np.arctan2(np.cross(y, p) @ axis, p @ y)
    angle = (angle - (lo + hi) / 2 + np.pi) % (2 * np.pi) - np.pi + (lo + hi) / 2  # within half a turn of the range's middle
    inside = (angle >= lo) & (angle <= hi)
    last = _fill(inside, angle, np.asarray(angle))  # the last angle within the limits (the first, before it)
    angle = np.where(inside, angle, np.where(np.abs(last - lo) < np.abs(last - hi), lo, hi))
    return axis_angle(np.broadcast_to(axis, (len(local), 3)), angle)


def _unseen_finger(g: np.ndarray, parent_g: np.ndarray, seen: np.ndarray, mode: str, curl: np.ndarray) -> np.ndarray:
    """A finger bone's world rotations (T, 3, 3) with the frames its points were not ``seen`` replaced, relative
    to its (posed) parent, by the last seen shape ('hold'), the rest pose ('rest') or ``curl`` ('relaxed')."""
    if mode == "hold":
        return _held_on(parent_g, g, seen)
    return np.where(seen[:, None, None], g, parent_g @ (curl if mode == "relaxed" else np.eye(3)))


def _relaxed_curl(rest: np.ndarray, role: str, r: dict, relaxed: dict) -> np.ndarray:
    """The relaxed turn (rig rest axes) of one finger bone: ``relaxed`` (``roles.json``'s ``relaxed_fingers``)
    degrees about its knuckle line, flexion being a positive turn about it on the right hand, negative on the left."""
    finger, number = role.split(".")[:2]
    degrees = relaxed[finger][int(number) - 1]
    axis = normalize(_ref_vector(rest, r["ref"])) * (1.0 if role.endswith(".R") else -1.0)
    if not degrees or len(r["ref"]) != 2 or not np.isfinite(axis).all():
        return np.eye(3)
    return axis_angle(axis, np.radians(degrees))


def solve(joints: np.ndarray, conf: np.ndarray, fps: float, rig: Rig, mapping: Mapping,
          root_mode: str = "hips", has_root: bool = True, plant: np.ndarray | None = None,
          unseen_fingers: str = "hold") -> Track:
    """Retarget canonical joints (T, 23 or 63, 3; Blender frame, metres, floor at z = 0) onto ``rig``.

    ``root_mode``: 'hips' (all translation on the hips bone), 'root' (ground-plane motion on the root
    bone, height on the hips), 'in_place' (height only), 'none' (no translation). ``plant`` (T, 2): left/right
    feet held where their contact began, by two-bone IK on the rig's own thigh and shin (:func:`_plant_feet`).
    ``unseen_fingers``: what the fingers do where their hand is not seen (:data:`UNSEEN_FINGERS`).
    """
    if root_mode not in ROOT_MODES:
        raise ValueError(f"unknown root mode {root_mode!r}; choose one of {', '.join(ROOT_MODES)}")
    if unseen_fingers not in UNSEEN_FINGERS:
        raise ValueError(f"unknown choice for unseen fingers {unseen_fingers!r}; choose one of {', '.join(UNSEEN_FINGERS)}")
    joints, conf = np.asarray(joints, np.float64), np.asarray(conf)
    t, b = len(joints), len(rig)
    if joints.shape[1] < len(SKELETON):  # a body-only motion: the hands are unseen
        joints = np.concatenate([joints, np.full((t, len(SKELETON) - joints.shape[1], 3), np.nan)], 1)
        conf = np.concatenate([conf, np.zeros((t, len(SKELETON) - conf.shape[1]), conf.dtype)], 1)
    rest = rest_joints(rig, mapping)
    table = roles()
    fingers = {k: v for k, v in table["finger_roles"].items() if k != "description"}
    spec, fwd_rest, relaxed = table["roles"] | fingers, body_forward(rest), table["relaxed_fingers"]
    role_g = {r: _role_or_palm(joints, conf, rest, fwd_rest, spec[r]) for r in spec if r in mapping.bones}
    bone_role = {i: r for r, i in mapping.bones.items()}
    eye = np.broadcast_to(np.eye(3), (t, 3, 3))
    g = np.empty((t, b, 3, 3))
    head = np.empty((t, b, 3))  # posed heads relative to the hips, built parents first
    chain = {i: k for k, i in enumerate(mapping.spine)}
    parent = [mapping.parents.get(i, rig.parents[i]) for i in range(b)]  # constraint-aware parents
    for i in _order(parent):
        p = parent[i]
        parent_g = g[:, p] if p >= 0 else eye
        head[:, i] = rig.heads[i] if p < 0 else head[:, p] + parent_g @ (rig.heads[i] - rig.heads[p])
        role = bone_role.get(i)
        if role in role_g and role_g[role] is not None and spec[role].get("carried") and p >= 0:
            # The segment starts at a joint the parent carries (the thorax for a clavicle): aim the
            # bone from its own head at where the segment's end lands on this rig.
            a, e = (SKELETON.index(n) for n in spec[role]["aim"])
            start = head[:, p] + parent_g @ (rest[a] - rig.heads[p])
            end = start + np.linalg.norm(rest[e] - rest[a]) * normalize(joints[:, e] - joints[:, a])
            g[:, i] = _role_rotation(joints, conf, rest, fwd_rest, spec[role], rest[e] - rig.heads[i], end - head[:, i])
        elif role in role_g and role_g[role] is not None:
            g[:, i] = role_g[role]
            if spec[role].get("hinge") and p >= 0:  # a finger's middle or end bone bends one way only
                axis = _hinge_axis(joints, conf, parent_g, rest, spec[role])
                bent = np.degrees(np.arctan2(np.cross(rig.rest[p][:, 1], rig.rest[i][:, 1]) @ axis, rig.rest[p][:, 1] @ rig.rest[i][:, 1]))
                local = rig.rest[i].T @ np.swapaxes(parent_g, -1, -2) @ g[:, i] @ rig.rest[i]
                g[:, i] = parent_g @ rig.rest[i] @ _hinge(local, rig.rest[i].T @ axis, np.subtract(spec[role]["limits"], bent)) @ rig.rest[i].T
        elif i in chain and role_g.get("hips") is not None and role_g.get("chest") is not None:
            g[:, i] = slerp_matrix(role_g["hips"], role_g["chest"], (chain[i] + 1) / (len(mapping.spine) + 1))
        else:
            g[:, i] = parent_g
        if role in fingers and p >= 0:  # frames the hand was not seen: as asked, relative to the hand
            seen = (conf[:, [SKELETON.index(n) for n in fingers[role]["aim"]]] > 0).all(1)
            curl = _relaxed_curl(rest, role, fingers[role], relaxed) if unseen_fingers == "relaxed" else np.eye(3)
            g[:, i] = _unseen_finger(g[:, i], parent_g, seen, unseen_fingers, curl)
    locations, scale, shift = _root(joints, rig, mapping, rest, g, root_mode if has_root else "none")
    if plant is not None and shift is not None:
        _plant_feet(g, head + shift[:, None], rig, mapping, plant)
    animated = sorted({*mapping.bones.values(), *mapping.spine, *mapping.twist, *locations})
    # Only driven bones get local rotations; every other bone follows its parent (identity).
    local = np.empty((t, b, 3, 3))
    for i in animated:
        p = parent[i]
        rel = g[:, i] if p < 0 else np.swapaxes(g[:, p], -1, -2) @ g[:, i]
        local[:, i] = rig.rest[i].T @ rel @ rig.rest[i]
    _share_twist(local, rig, mapping)
    quats = np.zeros((t, b, 4))
    quats[..., 0] = 1.0
    quats[:, animated] = continuous(from_matrix(local[:, animated]))
    quats = np.where(quats[:1, :, :1] < 0, -quats, quats)  # start on the w >= 0 side
    return Track(list(rig.names), quats.astype(np.float32), locations, fps, scale, g, animated, mapping.properties)


def _order(*parent_lists) -> list[int]:
    """Bones ordered so that every bone comes after each of its parents (in every list)."""
    n, order, done = len(parent_lists[0]), [], set()
    while len(order) < n:
        before = len(order)
        for i in range(n):
            if i not in done and all(p[i] < 0 or p[i] in done for p in parent_lists):
                order.append(i)
                done.add(i)
        if len(order) == before:
            raise ValueError("the bone parents (with the preset's 'parents') form a cycle")
    return order


def _share_twist(local: np.ndarray, rig: Rig, mapping: Mapping) -> None:
    """Helper twist bones (leaves beside the chain, like UE's lowerarm_twist_01_l) take ``share`` of
    the local twist (about its Y axis) of the bone of the role they name (e.g. the hand)."""
    for i, (role, share) in mapping.twist.items():
        if role not in mapping.bones:
            continue
        m = local[:, mapping.bones[role]]
        angle = np.arctan2(m[:, 0, 2] - m[:, 2, 0], m[:, 0, 0] + m[:, 2, 2])  # rotation about local Y
        local[:, i] = local[:, i] @ axis_angle(np.broadcast_to([0.0, 1.0, 0.0], (len(m), 3)), share * angle)


def leg_scale(joints: np.ndarray, rest: np.ndarray) -> float:
    """The rig's size over the motion's: rest leg length (thigh + shin) over the motion's median one."""
    ix = SKELETON.index
    legs = lambda p: np.nanmedian(  # noqa: E731
        np.linalg.norm(p[..., ix("l_knee"), :] - p[..., ix("l_hip"), :], axis=-1)
        + np.linalg.norm(p[..., ix("l_ankle"), :] - p[..., ix("l_knee"), :], axis=-1))
    return float(legs(rest[None]) / legs(joints)) if np.isfinite(legs(joints)) else 1.0


def _plant_feet(g: np.ndarray, head: np.ndarray, rig: Rig, mapping: Mapping, plant: np.ndarray, blend: int = 3) -> None:
    """Turn the thighs and shins of ``g`` (T, B, 3, 3, global rotations; in place) so that each planted foot's
    ankle stays where its contact began; ``head`` (T, B, 3) the posed bone heads in the world.
    On the rig's own bones, so it holds whatever the rig's proportions."""
    from .feet import pin_weights, two_bone

    for k, side in enumerate("LR"):
        thigh, shin = mapping.bones.get(f"thigh.{side}"), mapping.bones.get(f"shin.{side}")
        if thigh is None or shin is None or not plant[:, k].any():
            continue
        hip, knee = head[:, thigh], head[:, shin]
        ankle = knee + (g[:, shin] @ (rig.tails[shin] - rig.heads[shin])[:, None])[..., 0]
        weight, slide = pin_weights(plant[:, k], ankle, blend, dims=3)
        on = weight > 0
        goal = ankle[on] - weight[on, None] * slide[on]
        # Out of the leg's reach (the hips have moved on, the heel is rising): the ankle keeps its place on
        # the ground and rises as far as the leg needs, rather than being dragged along.
        reach = 0.999 * (np.linalg.norm(knee[on] - hip[on], axis=-1) + np.linalg.norm(ankle[on] - knee[on], axis=-1))
        flat = np.linalg.norm(goal[:, :2] - hip[on, :2], axis=-1)
        goal[:, 2] = np.maximum(goal[:, 2], hip[on, 2] - np.sqrt(np.maximum(reach**2 - flat**2, 0.0)))
        new_knee, new_ankle = two_bone(hip[on], knee[on], ankle[on], goal)
        g[on, thigh] = swing(knee[on] - hip[on], new_knee - hip[on]) @ g[on, thigh]
        g[on, shin] = swing(ankle[on] - knee[on], new_ankle - new_knee) @ g[on, shin]


def _root(joints, rig, mapping, rest, g, mode) -> tuple[dict[int, np.ndarray], float, np.ndarray | None]:
    """Translation keys, the rig's size over the motion's, and the world shift of the posed rig (T, 3) where
    the body travels (None in place)."""
    ix = SKELETON.index
    scale = leg_scale(joints, rest)
    hips = mapping.bones.get("hips")
    if mode == "none" or hips is None:
        return {}, scale, None
    pelvis = joints[:, ix("pelvis")] * scale
    target = pelvis + (g[:, hips] @ (rig.heads[hips] - rest[ix("pelvis")]))  # where the hips head goes
    out = {}
    shift = target - rig.heads[hips] if mode in ("hips", "root") else None
    root = mapping.root if mapping.root is not None and mapping.root != hips else None
    if mode in ("in_place", "root"):
        ground = target[:, :2] - rig.heads[hips][:2]
        target = np.concatenate([np.broadcast_to(rig.heads[hips][:2], (len(target), 2)), target[:, 2:]], 1)
        if mode == "root" and root is not None:
            out[root] = (rig.rest[root].T @ np.concatenate([ground, np.zeros((len(ground), 1))], 1)[..., None])[..., 0]
    # The hips, or an unrotated ancestor that carries them (Rigify's torso), takes the translation.
    mover = mapping.translate if mapping.translate is not None else hips
    out[mover] = (rig.rest[mover].T @ (target - rig.heads[hips])[..., None])[..., 0]
    return out, scale, shift
