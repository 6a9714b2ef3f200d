"""One skeleton per clip: bone lengths estimated once over the clip (left = right), and every frame rebuilt
with them, so no bone stretches or shrinks from frame to frame (each frame is lifted on its own, at its own
scale). Directions are kept; only lengths change, from the root outwards.

A clip's size is not in the picture (a small person near the camera looks like a tall one further away), so
the lifter gives every performer much the same size; a known height (:func:`height_scale`) sets it, and with
it the distance to the camera, the root's path and the camera's height."""
from __future__ import annotations

import numpy as np

from ..skeleton import Skeleton


#: A frame counts as upright for :func:`clip_bone_lengths` where its torso is within 45 deg of the clip's usual one.
UPRIGHT_DEG = 45.0


def upright_frames(joints: np.ndarray, skeleton: Skeleton, up: np.ndarray) -> np.ndarray:
    """(T,) True where the torso (pelvis to thorax) lies within :data:`UPRIGHT_DEG` of the clip's usual torso
    direction: the median one, which a camera looking down or up tilts alike (``up`` (3,), the picture's up in
    the joints' axes, where that median points away from it: a clip spent mostly upside down)."""
    pelvis, thorax = skeleton.group("torso")
    torso = joints[:, thorax] - joints[:, pelvis]
    torso = torso / np.maximum(np.linalg.norm(torso, axis=-1, keepdims=True), 1e-9)
    usual = np.nanmedian(torso, axis=0)
    up = np.asarray(up, float) / np.linalg.norm(up)
    usual = usual / np.linalg.norm(usual) if np.all(np.isfinite(usual)) and usual @ up > 0 else up
    return torso @ usual >= np.cos(np.radians(UPRIGHT_DEG))


def clip_bone_lengths(joints: np.ndarray, conf: np.ndarray, skeleton: Skeleton, threshold: float = 0.3,
                      up: np.ndarray | None = None) -> np.ndarray:
    """Length (J,) of the bone ending at each joint (0 for the root): the median over the frames where both
    ends were seen (all frames where none was), the two sides of the body averaged. With ``up`` (3,), the
    picture's up in the joints' axes, only the upright frames (:func:`upright_frames`) count where a tenth of
    the clip is upright and seen: a lifter shrinks bodies it sees upside down or lying (the cartwheel 49_08 of
    the rendered set stands 1.65 m on its upright frames, 1.36 on the rest)."""
    upright = np.ones(len(joints), bool) if up is None else upright_frames(joints, skeleton, up)
    enough = max(3, 0.1 * len(joints))
    lengths = np.zeros(len(skeleton))
    for j, p in enumerate(skeleton.parents):
        if p < 0:
            continue
        d = np.linalg.norm(joints[:, j] - joints[:, p], axis=-1)
        seen = (conf[:, j] >= threshold) & (conf[:, p] >= threshold) & np.isfinite(d)
        if (seen & upright).sum() >= enough:
            seen &= upright
        use = d[seen] if seen.sum() >= enough else d[np.isfinite(d)]
        lengths[j] = np.median(use) if len(use) else 0.0
    return 0.5 * (lengths + lengths[skeleton.mirror_permutation])


def with_bone_lengths(joints: np.ndarray, lengths: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """Poses (T, J, 3) rebuilt from the root outwards with ``lengths`` (J,), each bone keeping its direction
    (a bone of zero length keeps its parent's position). Parents must come before their children."""
    out = joints.copy()
    for j, p in enumerate(skeleton.parents):
        if p < 0:
            continue
        d = joints[:, j] - joints[:, p]
        n = np.linalg.norm(d, axis=-1, keepdims=True)
        out[:, j] = out[:, p] + np.where(n > 1e-9, d / np.maximum(n, 1e-9), 0.0) * lengths[j]
    return out


#: Heights a performer may be given (m): outside these, the number is a mistake (centimetres, feet).
HEIGHTS = (0.5, 2.6)
#: A captured skeleton's :func:`standing_height` as a share of the performer's height: the size at which the
#: clip's solve places the body at its true distance. Fitted on renders of the validation subjects' mocap (07,
#: 13; 12 clips, random MakeHuman people 1.38-2.16 m tall, the true lens): 0.927 median, sd 0.023, where the
#: lifter's own size leaves the depth 0.76-1.26x the truth. Under 1 because the detector's points (the ears
#: and shoulders the head top is drawn from, hips above the joints) span less of a body than its joint centres.
STATURE_SHARE = 0.93


def standing_height(lengths: np.ndarray, skeleton: Skeleton) -> float:
    """Height (m) of a skeleton standing straight, floor to its head-top joint: the bones ending at its
    ``standing_height`` joints (thigh, shin and the spine up to the head's top). On the CMU mocap's standing
    frames this sum is the head top's height above the floor (median ratio 0.999, quartiles 0.99-1.02), and on
    the rendered MakeHuman people it is the body's height within 1.1 %."""
    return float(sum(lengths[j] for j in skeleton.group("standing_height")))


def performer_height(lengths: np.ndarray, skeleton: Skeleton) -> float:
    """The performer's height (m) a captured skeleton stands for (see :data:`STATURE_SHARE`)."""
    return standing_height(lengths, skeleton) / STATURE_SHARE


def check_height(height: float) -> float:
    """``height`` if it can be a person's height in metres, else a ValueError saying what to give."""
    if not HEIGHTS[0] <= height <= HEIGHTS[1]:
        raise ValueError(f"performer height {height!r}: give the performer's height in metres, floor to the top of "
                         f"the head ({HEIGHTS[0]}-{HEIGHTS[1]}, e.g. 1.75)")
    return height


def height_scale(lengths: np.ndarray, skeleton: Skeleton, height: float) -> float:
    """The factor that makes a captured skeleton with bone ``lengths`` (J,) stand for a performer ``height``
    metres tall."""
    check_height(height)
    current = performer_height(lengths, skeleton)
    if not current > 0:
        raise ValueError("the clip's skeleton has no height to scale (no bones were lifted)")
    return height / current
