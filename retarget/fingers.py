"""Finger roles from a rig's structure, for rigs no preset names.

Each path from the hand bone to a leaf is a candidate finger: end bones (names such as ``end`` or ``nub``, or a
stub under a third of the finger's other bones) are dropped, and the last three bones are the finger's (palm and
metacarpal bones before them stay with the hand). The thumb is the finger that points most away from the
others, unless a name says ``thumb``; the others are ordered across the hand from the thumb: index, middle,
ring, pinky. Names (``index``, ``middle``, ``ring``, ``pinky`` / ``little``) win where they say which.
"""
from __future__ import annotations

import numpy as np

from .rig import Rig
from .structure import is_helper, tokens

FINGERS = ("thumb", "index", "middle", "ring", "pinky")
_SAYS = {"thumb": {"thumb", "pollex"}, "index": {"index", "pointer"}, "middle": {"middle"}, "ring": {"ring"},
         "pinky": {"pinky", "little", "small"}}


def _paths(rig: Rig, start: int) -> list[list[int]]:
    """Every path of bones from ``start``'s children down to a leaf (helpers skipped where there is another way)."""
    kids = [k for k in np.flatnonzero(rig.parents == start)]
    kids = [k for k in kids if not is_helper(rig.names[k])] or kids
    out = []
    for k in kids:
        below = _paths(rig, k)
        out += [[k] + p for p in below] if below else [[k]]
    return out


def _trim(rig: Rig, path: list[int]) -> list[int]:
    """A path without its end bones: named ends, or a last bone under a third of the path's median bone."""
    while len(path) > 3 and (is_helper(rig.names[path[-1]]) or rig.lengths[path[-1]] < np.median(rig.lengths[path[:-1]]) / 3):
        path = path[:-1]
    return path


def _named(rig: Rig, path: list[int]) -> str | None:
    said = {f for b in path for f, words in _SAYS.items() if words & set(tokens(rig.names[b]))}
    return said.pop() if len(said) == 1 else None


def find_fingers(rig: Rig, hand: int, side: str) -> dict[str, int]:
    """Finger roles (``index.01.L`` ...) under the bone ``hand`` on ``side`` ('L' or 'R'); {} when the hand has
    fewer than three finger-like paths of three bones or more."""
    paths = [p[-3:] for p in (_trim(rig, p) for p in _paths(rig, hand)) if len(p) >= 3]
    paths = list({tuple(p): p for p in paths}.values())  # a shared palm bone gives each finger its own path
    if not 3 <= len(paths) <= 5:
        return {}
    base = np.array([rig.heads[p[0]] for p in paths])
    along = np.array([rig.tails[p[-1]] - rig.heads[p[0]] for p in paths])
    along /= np.linalg.norm(along, axis=1, keepdims=True)
    names = [_named(rig, p) for p in paths]
    thumb = names.index("thumb") if "thumb" in names else int(np.argmin(along @ along.mean(0)))
    rest = [k for k in range(len(paths)) if k != thumb]
    direction = along[rest].mean(0)
    across = base[rest] - base[thumb]
    across -= np.outer(across @ direction, direction) / (direction @ direction)
    order = [rest[k] for k in np.argsort(np.linalg.norm(across, axis=1))]  # nearest the thumb first
    found: dict[int, str] = {thumb: "thumb"}
    named = {k: names[k] for k in order if names[k] not in (None, "thumb")}
    free = [f for f in FINGERS[1:] if f not in named.values()]
    for k in order:
        if k in named or free:
            found[k] = named.get(k) or free.pop(0)
    return {f"{finger}.0{j + 1}.{side}": int(paths[k][j]) for k, finger in found.items() for j in range(3)}
