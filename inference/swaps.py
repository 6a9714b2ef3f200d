"""Left/right swaps of the 2D detector, undone over the whole clip.

BlazePose sometimes labels the body's left side as its right for a run of frames (it reads a person seen from
behind as one facing the camera, or the other way round); every lifter then builds a body facing the wrong
way. Labels jump when that happens, so each frame's labels are kept or mirrored to make the landmarks move
least from frame to frame (a two-state Viterbi over every run of tracked frames, distances relative to the
person's size). The detector's own labels are right on most frames, so every mirrored frame costs a little
(``hold`` person sizes a second): a stretch is relabelled only where jumps at its ends say so, not where legs
crossing in a turn make either labelling about as smooth (left to smoothness alone, such frames flip the
labels at random). Other evidence adds to that cost: with hands captured, the hand model's handedness of the
hand at each wrist (crossed arms are the detector's worst case, and smooth either way). Arms (with the face)
and legs are decided apart: the detector often swaps one pair alone.
"""
from __future__ import annotations

import numpy as np

from ..filters import runs

#: BlazePose landmarks that show a swap: shoulders down to the feet (the face points sit too close together).
LIMBS = tuple(range(11, 33))
#: Groups relabelled together, and the landmarks each group's decision rests on.
GROUPS = {"arms": (tuple(range(0, 23)), tuple(range(11, 23))), "legs": (tuple(range(23, 33)), tuple(range(23, 33)))}
#: Each arm's elbow and wrist (left, right): an arm whose points are both masked for the lifters is hidden.
ARMS = ((13, 15), (14, 16))


def _size(px: np.ndarray) -> np.ndarray:
    """Per-frame person size (T,) in pixels: the RMS spread of the limb landmarks."""
    limbs = px[:, list(LIMBS)]
    return np.sqrt(((limbs - limbs.mean(1, keepdims=True)) ** 2).sum(-1).mean(1)) + 1e-6


def find_swaps(px: np.ndarray, conf: np.ndarray, seen: np.ndarray, mirror: np.ndarray, fps: float,
               switch: float = 0.1, hold: float = 0.75, prior: dict[str, np.ndarray] | None = None,
               hidden: float = 0.15, masked: float = 0.3) -> dict[str, np.ndarray]:
    """Frames (T,) whose labels are mirrored, per group of :data:`GROUPS`, for landmarks ``px`` (T, 33, 2)
    with confidences (T, 33), ``seen`` (T,) where a person was tracked, ``mirror`` the left/right
    permutation of the landmarks and the video's ``fps``. ``switch`` (in person sizes) is what a change of
    labelling costs beyond the motion it explains, ``hold`` (person sizes a second) what mirroring the
    detector's labels costs. ``prior`` (per group, (T, 2)): what keeping and what mirroring each frame's labels
    costs on other evidence (the hand model's handedness for the arms, see :func:`handedness_prior`).
    ``hidden`` (person sizes): what mirroring the arms costs on a frame with one arm hidden (its elbow and wrist
    under ``masked``, the confidence below which the capture masks a joint)."""
    size = _size(px)
    flags = {g: np.zeros(len(px), bool) for g in GROUPS}
    for a, b in runs(seen):
        for g, (_, evidence) in GROUPS.items():
            unary = np.zeros((b - a, 2))
            unary[:, 1] = hold / fps
            if prior is not None and g in prior:
                unary = unary + prior[g][a:b]
            if g == "arms" and hidden > 0:  # one arm hidden: its guessed points say nothing of which arm is which
                unary[:, 1] += hidden * one_arm_hidden(conf[a:b], masked)
            flags[g][a:b] = _viterbi(px[a:b], conf[a:b], size[a:b], mirror, list(evidence), switch, unary)
    return flags


def one_arm_hidden(conf: np.ndarray, threshold: float = 0.3) -> np.ndarray:
    """(T,) True where one arm's elbow and wrist are both under ``threshold`` and the other arm's are not."""
    hid = np.stack([np.asarray(conf)[:, list(arm)].max(1) < threshold for arm in ARMS], 1)
    return hid[:, 0] != hid[:, 1]


def handedness_prior(handedness: np.ndarray, weight: float = 0.3) -> np.ndarray:
    """(T, 2) costs of keeping / mirroring the arms' labels from the hand model's belief that the hand cropped at
    the left and at the right wrist is a right hand (``handedness`` (T, 2), NaN where no hand was seen): each
    confident hand on the wrong side costs the labelling up to ``weight`` person sizes."""
    h = np.nan_to_num(np.asarray(handedness, float), nan=0.5)
    sure = np.abs(2 * h - 1)
    wrong_if_kept = sure[:, 0] * (h[:, 0] > 0.5) + sure[:, 1] * (h[:, 1] < 0.5)
    wrong_if_mirrored = sure[:, 0] * (h[:, 0] < 0.5) + sure[:, 1] * (h[:, 1] > 0.5)
    return weight * np.stack([wrong_if_kept, wrong_if_mirrored], 1)


def unswap(px: np.ndarray, conf: np.ndarray, flags: dict[str, np.ndarray], mirror: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray]:
    """Landmarks and confidences with each group's flagged frames relabelled."""
    px, conf = px.copy(), conf.copy()
    for g, (members, _) in GROUPS.items():
        idx = list(members)
        src = mirror[idx]
        f = flags[g]
        px[np.ix_(f, idx)], conf[np.ix_(f, idx)] = px[f][:, src], conf[f][:, src]
    return px, conf


def _costs(px: np.ndarray, conf: np.ndarray, size: np.ndarray, mirror: np.ndarray, joints: list[int], lag: int
           ) -> tuple[np.ndarray, np.ndarray]:
    """Distances (T - lag,) from each frame to the one ``lag`` before, in person sizes: labels as they are,
    and this frame's mirrored (confidence-weighted over ``joints``)."""
    a, b = px[lag:], px[:-lag]
    w = np.minimum(conf[lag:, joints], conf[:-lag, joints]) + 1e-3
    same = (np.linalg.norm(a[:, joints] - b[:, joints], axis=-1) * w).sum(1) / w.sum(1)
    flip = (np.linalg.norm(a[:, mirror][:, joints] - b[:, joints], axis=-1) * w).sum(1) / w.sum(1)
    return same / size[lag:], flip / size[lag:]


def _viterbi(px: np.ndarray, conf: np.ndarray, size: np.ndarray, mirror: np.ndarray, joints: list[int],
             switch: float, unary: np.ndarray, second: float = 0.5) -> np.ndarray:
    """Mirror flags of one run of frames: each frame's labels against the frame before and, weighted by
    ``second``, the one before that, so one garbled frame cannot flip the labels of all that follow; plus
    ``unary`` (n, 2), each frame's own cost of keeping / mirroring."""
    n = len(px)
    u = np.asarray(unary, float)
    if n < 2:
        return u[:, 1] < u[:, 0]
    s1, f1 = _costs(px, conf, size, mirror, joints, 1)
    s2, f2 = _costs(px, conf, size, mirror, joints, 2) if n > 2 else (np.zeros(0), np.zeros(0))

    def c1(t, a, b):  # frame t - 1 in state a, frame t in state b
        return s1[t - 1] if a == b else f1[t - 1] + switch

    def c2(t, a, b):  # frame t - 2 in state a, frame t in state b
        return second * (s2[t - 2] if a == b else f2[t - 2])

    # States (s_{t-1}, s_t). Without unary costs, frame 0 keeps its labels and the run's majority decides after.
    free = u.any()
    cost = {(a, b): (u[0, a] + u[1, b] + c1(1, a, b) if free or a == 0 else np.inf) for a in (0, 1) for b in (0, 1)}
    back = []
    for t in range(2, n):
        new, arg = {}, {}
        for b in (0, 1):
            for c in (0, 1):
                options = [cost[(a, b)] + c1(t, b, c) + c2(t, a, c) + u[t, c] for a in (0, 1)]
                arg[(b, c)] = int(np.argmin(options))
                new[(b, c)] = min(options)
        back.append(arg)
        cost = new
    b, c = min(cost, key=cost.get)
    states = [c, b]
    for arg in reversed(back):
        a = arg[(b, c)]
        states.append(a)
        b, c = a, b
    flags = np.array(states[::-1], bool)
    return flags if free or flags.sum() * 2 <= n else ~flags
