"""Rig presets (``presets/*.json``) and auto-detection.

A preset names the bone of each body role (``roles.json``) and, under ``fingers``, of each finger role; a
role given as a list takes the first bone the rig has, except ``spine``, which lists the chain from the hips up
(bones the rig lacks, or that another role took, are skipped). Matching ignores case, separators and known name prefixes, so
``mixamorig1:LeftArm``, ``LeftArm`` and ``left_arm`` match alike.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .rig import Rig

PRESET_DIR = Path(__file__).resolve().parent / "presets"
ROLES_FILE = Path(__file__).resolve().parent / "roles.json"
GENERIC_PREFIXES = ("armature", "skeleton", "bip01", "bip001")


@lru_cache(maxsize=None)
def roles() -> dict:
    return json.loads(ROLES_FILE.read_text())


def wanted_roles() -> list[str]:
    """Every role a mapping tries to fill: the body roles of ``roles.json`` and the toes."""
    return list(roles()["roles"]) + ["toe.L", "toe.R"]


def normalise(name: str, prefixes: tuple[str, ...] = ()) -> str:
    """Lower-case bone name without prefixes (``mixamorig:``, ``Armature|``...) or separators."""
    n = name.split("|")[-1]
    for p in prefixes:
        if n.lower().startswith(p.lower()):
            n = n[len(p):]
            break
    n = re.sub(r"[\s_.:\-]", "", n.lower())
    return n


@dataclass
class Mapping:
    """A preset resolved on one rig: role -> bone index, the spine chain, twist bones and extras."""

    preset: str
    bones: dict[str, int]
    spine: list[int]
    root: int | None
    translate: int | None = None  # the bone that carries the body's translation (default: hips)
    twist: dict[int, tuple[str, float]] = field(default_factory=dict)
    parents: dict[int, int] = field(default_factory=dict)  # whose rotation a bone really inherits (constraints)
    properties: dict[str, dict[str, float]] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)
    score: float = 0.0
    confidence: float = 1.0  # a structural mapping's certainty (1 for a preset that fits)
    unsure: list[str] = field(default_factory=list)  # roles the structure and the names disagree on
    notes: list[str] = field(default_factory=list)

    def to_json(self, rig: Rig) -> dict:
        """A user mapping file (bone names) that :func:`load_mapping` reads back."""
        return {"preset": self.preset, "bones": {r: rig.names[i] for r, i in self.bones.items()},
                "spine": [rig.names[i] for i in self.spine], "root": None if self.root is None else rig.names[self.root],
                "translate": None if self.translate is None else rig.names[self.translate],
                "twist": {rig.names[i]: list(v) for i, v in self.twist.items()},
                "parents": {rig.names[i]: rig.names[j] for i, j in self.parents.items()}, "properties": self.properties}


def known_presets() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.json"))


@lru_cache(maxsize=None)
def load_preset(name: str) -> dict:
    path = PRESET_DIR / f"{name}.json"
    if not path.is_file():
        raise KeyError(f"unknown rig preset {name!r}; known: {', '.join(known_presets())}")
    return json.loads(path.read_text())


def _lookup(rig: Rig, prefixes: tuple[str, ...]) -> dict[str, int]:
    table: dict[str, int] = {}
    for i, n in enumerate(rig.names):
        for key in (normalise(n, prefixes), normalise(n, GENERIC_PREFIXES)):
            table.setdefault(key, i)
    return table


def _is_ancestor(rig: Rig, a: int, b: int) -> bool:
    p = rig.parents[b]
    while p >= 0:
        if p == a:
            return True
        p = rig.parents[p]
    return False


# Roles whose bone must descend from the first role's bone, for the parent-chain consistency score.
CHAINS = [("hips", "chest"), ("chest", "head"), ("upper_arm.L", "forearm.L"), ("forearm.L", "hand.L"),
          ("upper_arm.R", "forearm.R"), ("forearm.R", "hand.R"), ("thigh.L", "shin.L"), ("shin.L", "foot.L"),
          ("thigh.R", "shin.R"), ("shin.R", "foot.R"), ("chest", "upper_arm.L"), ("chest", "upper_arm.R"),
          ("hips", "thigh.L"), ("hips", "thigh.R")]


def resolve(preset: dict, rig: Rig) -> Mapping:
    """Apply a preset (dict) to a rig; the score counts matched roles whose parent chains are consistent."""
    prefixes = tuple(preset.get("prefixes", ()))
    table = _lookup(rig, prefixes)

    def find(names) -> int | None:
        for n in [names] if isinstance(names, str) else names:
            i = table.get(normalise(n, prefixes))
            if i is not None:
                return i
        return None

    bones: dict[str, int] = {}
    for role, names in (preset["bones"] | preset.get("fingers", {})).items():
        if role != "spine" and (i := find(names)) is not None:
            bones[role] = i
    taken = set(bones.values())
    spine = [i for n in preset["bones"].get("spine", []) if (i := find(n)) is not None and i not in taken]
    root = find(preset["root"]) if "root" in preset else bones.get("hips")
    if "root_bone" in preset and (rb := find(preset["root_bone"])) is not None:
        root = rb
    twist = {i: (v[0], float(v[1])) for n, v in preset.get("twist", {}).items() if (i := find(n)) is not None}
    translate = find(preset["translate"]) if "translate" in preset else None
    parents = {i: j for n, m in preset.get("parents", {}).items() if (i := find(n)) is not None and (j := find(m)) is not None}
    unmapped = [r for r in wanted_roles() if r not in bones]
    consistent = sum(1 for a, b in CHAINS if a in bones and b in bones and _is_ancestor(rig, bones[a], bones[b]))
    score = len(bones) + consistent - 2 * sum(1 for a, b in CHAINS if a in bones and b in bones
                                               and not _is_ancestor(rig, bones[a], bones[b])) + 0.01 * len(spine)
    return Mapping(preset["name"], bones, spine, root, translate, twist, parents, dict(preset.get("properties", {})),
                   unmapped, score)


ESSENTIAL = {"hips", "upper_arm.L", "forearm.L", "upper_arm.R", "forearm.R", "thigh.L", "shin.L", "thigh.R", "shin.R"}


def from_structure(rig: Rig) -> Mapping:
    """The roles found from the skeleton's structure (``structure.find_roles``, the fingers by
    ``fingers.find_fingers``) as a mapping."""
    from .fingers import find_fingers
    from .structure import find_roles

    s = find_roles(rig)
    for side in "LR":  # fingers too, where the hands have them
        if f"hand.{side}" in s.bones:
            taken = set(s.bones.values()) | set(s.spine)
            s.bones.update({r: b for r, b in find_fingers(rig, s.bones[f"hand.{side}"], side).items() if b not in taken})
    return Mapping("structure", s.bones, s.spine, s.root,
                   twist=s.twist, unmapped=[r for r in wanted_roles() if r not in s.bones], score=float(len(s.bones)),
                   confidence=s.confidence, unsure=s.unsure, notes=s.notes)


def detect(rig: Rig) -> tuple[Mapping, list[tuple[str, float]]]:
    """The preset that fits ``rig`` best, else roles found from its structure (any naming convention);
    returns the mapping and every preset's score (best first)."""
    results = sorted((resolve(load_preset(n), rig) for n in known_presets()), key=lambda m: -m.score)
    best, scores = results[0], [(m.preset, m.score) for m in results]
    # A preset fits when it finds every essential role (its score has weighed the parent chains; Rigify's
    # controls are not parented as the body is, its preset says how).
    if ESSENTIAL <= set(best.bones):
        try:  # the structure fills roles the preset's names miss (LAFAN1's LeftToe), where the two agree
            found = from_structure(rig)
        except ValueError:
            return best, scores
        if all(found.bones.get(r) == best.bones[r] for r in ESSENTIAL):
            taken = set(best.bones.values()) | set(best.spine)
            extra = {r: i for r, i in found.bones.items() if r not in best.bones and i not in taken}
            best.bones.update(extra)
            best.unmapped = [r for r in best.unmapped if r not in extra]
        return best, scores
    try:
        return from_structure(rig), scores
    except ValueError as e:
        missing = sorted(ESSENTIAL - set(best.bones))
        raise ValueError(f"this armature does not look humanoid: {e}; and the best preset ({best.preset}) finds no "
                         f"bone for {', '.join(missing)}; map the bones yourself (a mapping file) or pick another "
                         f"armature") from None


def load_mapping(data: dict, rig: Rig) -> Mapping:
    """A user's saved mapping (from :meth:`Mapping.to_json`) applied to ``rig``."""
    preset = {"name": data.get("preset", "custom"), "bones": dict(data["bones"], spine=data.get("spine", [])),
              "twist": data.get("twist", {}), "parents": data.get("parents", {}), "properties": data.get("properties", {})}
    for key in ("root", "translate"):
        if data.get(key):
            preset[key] = data[key]
    missing = [n for n in list(data["bones"].values()) + list(data.get("spine", [])) if n not in rig]
    if missing:
        raise ValueError(f"the mapping names bones this armature lacks: {', '.join(missing)}")
    return resolve(preset, rig)
