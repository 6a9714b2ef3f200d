"""Humanoid roles from a skeleton's structure, for rigs no preset names.

The hips are the bone where two leg chains go down and one spine chain goes up; the arms are the two
chains that reach out sideways from the upper spine, the head is the top of the spine chain; along
each chain the joints are placed by proportion (the knee about half way from hip to ankle, the elbow a
little past half way from shoulder to wrist, the hand where the fingers fan out). Left and right come
from the rest geometry: the feet point forward, and left is up x forward. Bone names (``names.json``)
are evidence: they break ties, and where they disagree with the structure the role is reported as
unsure rather than silently guessed. Helper bones (twist, roll, end sites, a dummy root above the
hips) are recognised and left out of the chains.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from .rig import Rig

NAMES_FILE = Path(__file__).resolve().parent / "names.json"
AXES = np.array([[0, 0, 1], [0, 1, 0], [0, 0, -1], [0, -1, 0], [1, 0, 0], [-1, 0, 0]], float)
KNEE_AT = 0.5  # the knee's place along hip -> ankle
UPPER_OVER_FORE = 1.1  # shoulder-elbow over elbow-wrist between joint centres (1.0-1.3 across rigs and tables)


@lru_cache(maxsize=None)
def names() -> dict:
    return json.loads(NAMES_FILE.read_text())


def tokens(name: str) -> list[str]:
    """Lower-case words of a bone name: ``mixamorig:LeftUpLeg`` -> [left, up, leg]; ``Bip01 L Thigh`` ->
    [bip, 01, l, thigh]; ``lShldrBend`` -> [l, shldr, bend]; ``UpperArm_L`` -> [upper, arm, l]."""
    name = name.split("|")[-1].split(":")[-1]
    name = re.sub(r"^([LR])(?=[A-Z])", r"\1 ", name)  # OptiTrack's LFArm, RUArm: a side letter, then the bone
    words = re.findall(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+", name)
    return [w.lower() for w in words]


def role_evidence(name: str, role: str) -> bool:
    """Whether the name says ``role`` (``upper_arm``, ``shin``, ...; sides excluded)."""
    spec, toks = names()["roles"][role], set(tokens(name))
    if any(set(group) <= toks for group in spec.get("not", [])):
        return False
    return any(set(group) <= toks for group in spec["any"])


def side_evidence(name: str) -> int:
    """+1 if the name says left, -1 right, 0 neither (or both)."""
    toks = tokens(name)
    left = any(t in names()["left"] for t in toks)
    right = any(t in names()["right"] for t in toks)
    return int(left) - int(right)


def is_helper(name: str) -> bool:
    return any(t in names()["helper"] for t in tokens(name))


@dataclass
class Structure:
    """Roles found on a rig (role -> bone index) with the spine chain, root, twist helpers, and how sure."""

    bones: dict[str, int]
    spine: list[int]
    root: int | None
    twist: dict[int, tuple[str, float]] = field(default_factory=dict)
    confidence: float = 0.0
    unsure: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class _Tree:
    """What does not depend on the up axis: each bone's children, length and subtree points (heads, plus
    tails of leaves: finger, toe and head tips)."""

    def __init__(self, rig: Rig):
        n = len(rig)
        self.kids = [list(np.flatnonzero(rig.parents == i)) for i in range(n)]
        self.len = rig.lengths
        sub = [[rig.heads[i]] + ([rig.tails[i]] if not self.kids[i] else []) for i in range(n)]
        for i in reversed(range(n)):  # parents come first in a Rig, so children are complete here
            if rig.parents[i] >= 0:
                sub[rig.parents[i]].extend(sub[i])
        self.sub_pts = [np.array(p) for p in sub]


class _Frame:
    """The rig seen with one candidate up axis: heights, subtree extents, chains."""

    def __init__(self, rig: Rig, up: np.ndarray, tree: _Tree):
        self.rig, self.up = rig, up
        self.kids, self.len, self.sub_pts = tree.kids, tree.len, tree.sub_pts
        self.height = float(np.ptp(np.concatenate([rig.heads, rig.tails]) @ up)) or 1.0

    def z(self, p: np.ndarray) -> np.ndarray:
        return p @ self.up

    def horizontal(self, v: np.ndarray) -> np.ndarray:
        return v - np.outer(v @ self.up, self.up).reshape(v.shape) if v.ndim > 1 else v - (v @ self.up) * self.up

    def significant(self, i: int) -> bool:
        return self.len[i] > 0.012 * self.height and not is_helper(self.rig.names[i])

    def main_chain(self, start: int, key) -> list[int]:
        """From ``start``, follow the child whose subtree maximises ``key(points)``; a helper (twist, end
        bone) only where it is the only way on (Daz's in-chain twist bones)."""
        chain = [start]
        while True:
            kids = [k for k in self.kids[chain[-1]] if not is_helper(self.rig.names[k])] or self.kids[chain[-1]]
            if not kids:
                return chain
            chain.append(max(kids, key=lambda k: key(self.sub_pts[k])))


def _hips_candidates(f: _Frame) -> list[tuple[int, list[int], int]]:
    """Bones with two child subtrees going down (legs) and one going up (spine): (bone, legs, spine)."""
    out = []
    h = f.height

    def split(i: int) -> tuple[list, list]:
        z0 = f.z(f.rig.heads[i])
        legs, ups = [], []
        for k in f.kids[i]:
            z = f.z(f.sub_pts[k])
            if z.min() < z0 - 0.3 * h and z.max() < z0 + 0.15 * h:
                legs.append((z.min(), k))
            elif z.max() > z0 + 0.25 * h and z.min() > z0 - 0.25 * h:
                ups.append((z.max(), k))
        return legs, ups

    for i in range(len(f.rig)):
        legs, ups = split(i)
        if len(legs) == 1:  # both legs under one pelvis bone (Daz's hip > pelvis > thighs)
            below, above = split(legs[0][1])
            if len(below) >= 2 and not above:
                legs = below
        if len(legs) >= 2 and ups:
            legs.sort()
            out.append((i, [legs[0][1], legs[1][1]], max(ups)[1]))
    return out


def _place(points: list[float], at: float, names_ok: list[bool]) -> int:
    """Index of the point nearest the fraction ``at``; a name that says the role wins a close call."""
    cost = [abs(p - at) - (0.15 if ok else 0.0) for p, ok in zip(points, names_ok)]
    return int(np.argmin(cost))


def _leg(f: _Frame, top: int) -> dict | None:
    """thigh, shin, foot, toe of one leg subtree (``top`` is its first bone)."""
    rig, h = f.rig, f.height
    chain = f.main_chain(top, lambda p: -f.z(p).min())
    floor = f.z(f.sub_pts[top]).min()
    # The thigh: the first bone pointing mostly down (skips hip connectors such as CMU's LHipJoint).
    thigh = next((b for b in chain if f.significant(b) and -f.z(rig.tails[b] - rig.heads[b]) > 0.7 * f.len[b]), None)
    if thigh is None:
        return None
    chain = chain[chain.index(thigh):]
    foot = next((b for b in chain[1:] if f.z(rig.heads[b]) - floor < 0.12 * h and f.significant(b)), None)
    if foot is None:
        return None
    hip, ankle = rig.heads[thigh], rig.heads[foot]
    between = [b for b in chain[1:chain.index(foot)] if f.significant(b)]
    if not between:
        return None
    span = np.linalg.norm(ankle - hip)
    frac = [float(np.linalg.norm(rig.heads[b] - hip) / span) for b in between]
    shin = between[_place(frac, KNEE_AT, [role_evidence(rig.names[b], "shin") for b in between])]
    out = {"thigh": thigh, "shin": shin, "foot": foot}
    rest = [b for b in chain[chain.index(foot) + 1:] if f.len[b] > 0.005 * h and not is_helper(rig.names[b])]
    if len(rest) > 1 and not f.kids[rest[-1]] and f.len[rest[-1]] < 0.4 * f.len[rest[-2]]:
        rest = rest[:-1]  # an end bone past the toe tip (Biped's Toe0Nub)
    named = [b for b in rest if role_evidence(rig.names[b], "toe")]
    if rest:
        out["toe"] = named[0] if named else rest[-1]
    return out


def _arm(f: _Frame, top: int, centre: np.ndarray, lateral: np.ndarray) -> dict | None:
    """clavicle, upper_arm, forearm, hand of one arm subtree."""
    rig, h = f.rig, f.height
    base = rig.heads[top]
    chain = [b for b in f.main_chain(top, lambda p: np.linalg.norm(p - base, axis=1).max()) if f.significant(b)]
    out = {}
    # The shoulder joint sits ~0.1 of the body's height off the midline; bones before it are clavicles.
    side = [abs((rig.heads[b] - centre) @ lateral) for b in chain]
    upper = next((k for k, d in enumerate(side) if d >= 0.075 * h), None)
    if upper is None or len(chain) - upper < 3:
        return None
    if upper > 0:
        out["clavicle"] = chain[0]
    out["upper_arm"] = chain[upper]
    shoulder = rig.heads[chain[upper]]
    best, pick = np.inf, None
    for w in range(upper + 2, len(chain)):  # (elbow, wrist) by proportion, fan-out and names
        hand = chain[w]
        fans = sum(not is_helper(rig.names[k]) for k in f.kids[hand]) >= 2
        bonus = 0.3 * fans + 0.3 * role_evidence(rig.names[hand], "hand") + 0.1 * (w == len(chain) - 1)
        for e in range(upper + 1, w):
            upper_len = np.linalg.norm(rig.heads[chain[e]] - shoulder)
            fore_len = np.linalg.norm(rig.heads[hand] - rig.heads[chain[e]])
            cost = abs(np.log(max(upper_len, 1e-9) / max(fore_len, 1e-9) / UPPER_OVER_FORE)) - bonus \
                - 0.3 * role_evidence(rig.names[chain[e]], "forearm")
            if cost < best:
                best, pick = cost, (chain[e], hand)
    if pick is None:
        return None
    out["forearm"], out["hand"] = pick
    return out


def _solve_frame(f: _Frame) -> Structure | None:
    rig, h = f.rig, f.height
    cands = _hips_candidates(f)
    if not cands:
        return None
    # The deepest branch point: a dummy root or a Biped's pelvis above it is not the hips.
    depth = lambda i: 0 if rig.parents[i] < 0 else 1 + depth(rig.parents[i])  # noqa: E731
    hips, leg_tops, spine_top = max(cands, key=lambda c: depth(c[0]))
    legs = [_leg(f, t) for t in leg_tops]
    if any(leg is None for leg in legs):
        return None
    # Left is up x forward; forward is where the feet point (toes beyond the ankles).
    fwd = np.zeros(3)
    for leg in legs:
        fwd += f.horizontal(f.sub_pts[leg["foot"]].mean(0) - rig.heads[leg["foot"]])
    across = f.horizontal(rig.heads[legs[0]["thigh"]] - rig.heads[legs[1]["thigh"]])
    notes = []
    if np.linalg.norm(fwd) > 0.02 * h and np.linalg.norm(across) > 0.02 * h:
        left = np.cross(f.up, fwd / np.linalg.norm(fwd))
        first_left = across @ left > 0
        geometry = True
    else:
        first_left, geometry = None, False
    named = sum(side_evidence(rig.names[b]) for b in legs[0].values()) - sum(side_evidence(rig.names[b]) for b in legs[1].values())
    unsure = []
    if first_left is None:
        first_left = named > 0 if named else bool(across @ np.array([1.0, 0, 0]) >= 0)
        notes.append("left/right from " + ("the bone names" if named else "Blender's convention (+X is the left)") +
                     ": the feet do not show which way the rig faces")
    elif named and (named > 0) != first_left:
        unsure += [f"{r}.{s}" for r in ("thigh", "shin", "foot") for s in "LR"]
        notes.append("the bone names say left where the rest pose says right")
    left_dir = across / (np.linalg.norm(across) or 1.0)  # from legs[1] to legs[0]
    if not first_left:
        legs, left_dir = legs[::-1], -left_dir
    centre = 0.5 * (rig.heads[legs[0]["thigh"]] + rig.heads[legs[1]["thigh"]])

    # Spine chain towards the head top; the arms branch from it.
    spine_chain = f.main_chain(spine_top, lambda p: f.z(p).max())
    branch, arms = None, None
    for b in spine_chain:
        reach = []
        for k in f.kids[b]:
            d = (f.sub_pts[k] - centre) @ left_dir
            reach.append((d.max(), d.min(), k))
        lefts = [r for r in reach if r[0] > 0.12 * h]
        rights = [r for r in reach if r[1] < -0.12 * h]
        if lefts and rights:
            arm_l = max(lefts)[2]
            arm_r = min(rights, key=lambda r: r[1])[2]
            if arm_l != arm_r:
                branch, arms = b, (arm_l, arm_r)
                break
    if branch is None:
        return None
    arm_parts = [_arm(f, t, centre, left_dir) for t in arms]
    if any(a is None for a in arm_parts):
        return None
    top_z = f.z(f.sub_pts[spine_top]).max()
    shoulder_z = np.mean([f.z(rig.heads[a["upper_arm"]]) for a in arm_parts])
    above = spine_chain[spine_chain.index(branch) + 1:]
    # The head bone is the first that reaches the top of the skull; neck bones are those below it (face
    # and end bones above it are left out).
    heads = [b for b in above if f.significant(b) and f.z(rig.heads[b]) < shoulder_z + 0.7 * (top_z - shoulder_z)]
    reach = [k for k, b in enumerate(heads) if f.z(rig.tails[b]) >= top_z - 0.06 * h]
    heads = heads[:reach[0] + 1] if reach else heads
    chest = branch
    arm_roots = np.mean([f.z(rig.heads[t]) for t in arms])
    neck_like = (f.z(rig.heads[branch]) > arm_roots - 0.02 * h or role_evidence(rig.names[branch], "neck")) \
        and rig.parents[branch] >= 0 and rig.parents[branch] != hips
    bones: dict[str, int] = {"hips": hips}
    if neck_like:  # a Biped: the clavicles hang from the neck
        chest = int(rig.parents[branch])
        heads = [branch] + heads
    if not heads:
        return None
    bones["chest"] = chest
    bones["head"] = heads[-1]
    if len(heads) > 1:
        bones["neck"] = heads[0]
    spine = [b for b in spine_chain[:spine_chain.index(chest)] if f.significant(b)]
    for side, leg, arm in (("L", legs[0], arm_parts[0]), ("R", legs[1], arm_parts[1])):
        for role, b in {**leg, **arm}.items():
            bones[f"{role}.{side}"] = b
    root = hips
    while rig.parents[root] >= 0:
        root = int(rig.parents[root])

    # Forearm twist helpers beside the chain take a share of the hand's twist, by where they sit.
    twist = {}
    for s in "LR":
        fore, hand = bones[f"forearm.{s}"], bones[f"hand.{s}"]
        elbow, wrist = rig.heads[fore], rig.heads[hand]
        for b in range(len(rig)):
            if b in bones.values() or not {"twist", "roll"} & set(tokens(rig.names[b])):
                continue
            p = rig.parents[b]
            if p == fore or (p >= 0 and rig.parents[p] == fore and p not in bones.values()):
                at = float(np.clip((rig.heads[b] - elbow) @ (wrist - elbow) / ((wrist - elbow) @ (wrist - elbow)), 0, 1))
                twist[b] = (f"hand.{s}", round(at, 2))

    # How sure: symmetric limbs, human proportions, names that agree.
    def length(a: str, b: str) -> float:
        return float(np.linalg.norm(rig.heads[bones[b]] - rig.heads[bones[a]]))

    for a, b in (("thigh", "shin"), ("shin", "foot"), ("upper_arm", "forearm"), ("forearm", "hand")):
        ls, rs = length(f"{a}.L", f"{b}.L"), length(f"{a}.R", f"{b}.R")
        if abs(np.log(max(ls, 1e-9) / max(rs, 1e-9))) >= 0.15:
            unsure += [f"{a}.L", f"{a}.R"]
    for s in "LR":
        ratio = length(f"thigh.{s}", f"shin.{s}") / max(length(f"shin.{s}", f"foot.{s}"), 1e-9)
        if not 0.7 < ratio < 1.5:
            unsure.append(f"shin.{s}")
        ratio = length(f"upper_arm.{s}", f"forearm.{s}") / max(length(f"forearm.{s}", f"hand.{s}"), 1e-9)
        if not 0.8 < ratio < 1.8:
            unsure.append(f"forearm.{s}")
    for role, b in bones.items():
        base = role.split(".")[0]
        nm = rig.names[b]
        says = [r for r in names()["roles"] if r != base and role_evidence(nm, r)]
        if not role_evidence(nm, base) and says and not (base in ("chest", "spine") and set(says) <= {"spine", "chest"}):
            if not (base == "hips" and set(says) <= {"spine", "chest", "hips"}):
                unsure.append(role)
    unsure = sorted(set(unsure))
    confidence = max(0.0, 1.0 - 0.08 * len(unsure) - (0.0 if geometry else 0.2))
    return Structure(bones, spine, root, twist, confidence, unsure, notes)


def find_roles(rig: Rig) -> Structure:
    """Humanoid roles of ``rig`` from its structure (any names, any up axis); raises ValueError if there
    is no humanoid in it, saying what was missing."""
    best, tree = None, _Tree(rig)
    for up in AXES:
        s = _solve_frame(_Frame(rig, up, tree))
        if s is not None and (best is None or s.confidence > best.confidence):
            best = s
        if best is not None and best.confidence >= 0.99:
            break
    if best is None:
        f = _Frame(rig, AXES[0], tree)
        what = "two legs and a spine branching from one bone (the hips)" if not _hips_candidates(f) else \
            "two arms branching from the spine, with a hand, a forearm and an upper arm each"
        raise ValueError(f"no humanoid structure in this armature ({len(rig)} bones): found no {what}")
    return best
