"""Hands: 21 landmarks a hand, in pixels and in metres, from MediaPipe's hand models on crops the body places.

As MediaPipe Holistic does: BlazePose's wrist, index and pinky points give each hand a rough rotated box
(:func:`roi_from_body`); the holistic re-crop model centres and turns it on the hand (:meth:`HandTracker.recrop`);
the hand landmark model reads 21 points, their world coordinates (metres, hand-centred) and a presence score.
A hand seen on the previous frame is cropped from its own landmarks instead (:func:`roi_from_hand`, tracking)
while that crop agrees with the body's. Left and right come from the body, never from the hand model, so a
hand cannot jump to the other arm; where the hands cross, a crop that finds the other hand is told by where
that hand, or this one, just was (:data:`CROSSING`, :data:`JUMP`), and two arms never hold one hand. Unseen
hands (presence under ``min_presence``) give ``None``.
The picture points a capture returns are moved from MediaPipe's landmarks to the joint centres
(:func:`at_joint_centres`); tracking keeps the landmarks as read.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .. import filters
from ..rotations import normalize, slerp_matrix
from ..skeleton import load_skeleton
from . import runtime
from .bones import with_bone_lengths
from .detector import Pose, Roi, upright_angle
from .weights import weight_path

HAND_POINTS = 21
SIDES = ("l", "r")
#: BlazePose landmarks of each hand: wrist, pinky knuckle, index knuckle.
BODY_POINTS = {"l": (15, 17, 19), "r": (16, 18, 20)}
#: The hand landmarks that place the next frame's crop (wrist, thumb base, the knuckles and the joints above).
_TRACK_POINTS = (0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18)
RECROP_SIZE, LANDMARK_SIZE = 256, 224
HAND = load_skeleton("hand21")
KNUCKLES = HAND.group("knuckles")
MIDDLE_KNUCKLE = HAND.index("middle_mcp")
#: Crossing hands: with the body's wrists within CROSSING hand sizes of each other, a hand found afresh (not tracked)
#: within half a hand of where the other hand was at most LOST_FRAMES frames ago, while that hand is not found, is
#: the other hand (the body's wrist points merge or swap there; a detector's swap of far-apart arms is undone later).
LOST_FRAMES, CROSSING = 2, 1.5
#: ... and, the wrists as close now or up to LOST_FRAMES frames before, a hand seen at most LOST_FRAMES frames ago found
#: again more than JUMP of its size (median point) from where it was is the other hand read in this one's crop.
JUMP = 1.0
#: ... its size the median of its last SIZES readings (one reading's size can be a third off where the hands meet).
SIZES = 5
#: Wrist to middle knuckle per forearm (elbow to wrist) length: anthropometric tables give the hand 0.108 and
#: the forearm 0.146 of the body's height, the middle knuckle at 0.47 of the hand's length.
PALM_PER_FOREARM = 0.35
#: The hands are smoothed this much more than the body (the default 0.5 -> 0.8, a 3.3 Hz low-pass): the model's
#: readings of hands, a few dozen pixels across, waver more than the body's (pose2sim demo: frames with a finger
#: bone turning more than 90 deg from the frame before 16 -> 7 of 792; rendered hands' angle error 13.5 -> 13.3 deg).
HAND_SMOOTHING = 0.3


@dataclass
class Hand:
    """One hand on one frame."""

    pixels: np.ndarray  # (21, 2) image pixels, MediaPipe's hand landmark order (0 = wrist)
    world: np.ndarray  # (21, 3) metres, camera axes (x right, y down, z forward), about the hand's centre
    presence: float  # the landmark model's hand presence, 0..1
    handedness: float  # the landmark model's belief that this is a right hand, 0..1 (evidence only: sides come from the body)
    roi: Roi  # the crop it was read from


def _transformed(roi: Roi, scale: float, shift_y: float) -> Roi:
    """MediaPipe's rect transformation: shifted by ``shift_y`` x side along the crop's own y, then scaled."""
    dy = shift_y * roi.size
    return Roi(roi.cx - dy * np.sin(roi.angle), roi.cy + dy * np.cos(roi.angle), roi.size * scale, roi.angle)


def roi_from_body(pose: Pose, side: str) -> Roi:
    """The rough hand crop from the body's wrist, pinky and index points (MediaPipe's hand-from-pose rule): centred
    on the estimated middle knuckle, twice its distance to the wrist, x 2.7, turned so the fingers point up."""
    wrist, pinky, index = (pose.landmarks[i] for i in BODY_POINTS[side])
    middle = (2 * index + pinky) / 3
    roi = Roi(float(middle[0]), float(middle[1]), float(2 * np.hypot(*(middle - wrist))), upright_angle(wrist, middle))
    return _transformed(roi, 2.7, -0.1)


def roi_from_hand(pixels: np.ndarray) -> Roi:
    """The next frame's crop from a hand's landmarks (MediaPipe's hand tracking rule): turned so the wrist ->
    knuckles vector points up, around the tracking points' box, x 2, shifted toward the fingers, square."""
    wrist = pixels[0]
    knuckles = ((pixels[5] + pixels[13]) / 2 + pixels[9]) / 2
    angle = upright_angle(wrist, knuckles)
    pts = pixels[list(_TRACK_POINTS)]
    c, s = np.cos(angle), np.sin(angle)
    local = pts @ np.array([[c, -s], [s, c]])  # image -> crop axes (rotate by -angle)
    lo, hi = local.min(0), local.max(0)
    mid = (lo + hi) / 2 @ np.array([[c, s], [-s, c]])  # back to image axes
    roi = Roi(float(mid[0]), float(mid[1]), float(max(hi - lo)), angle)
    return _transformed(roi, 2.0, -0.1)


def _agree(a: Roi, b: Roi) -> bool:
    """Two crops of the same hand: centres within 0.2 of the side, sides within 40 %, turns within 40 deg."""
    turn = abs((a.angle - b.angle + np.pi) % (2 * np.pi) - np.pi)
    return (np.hypot(a.cx - b.cx, a.cy - b.cy) < 0.2 * b.size and abs(a.size / b.size - 1) < 0.4
            and turn < np.radians(40))


class HandTracker:
    """Both hands of one person, frame after frame: call it with each frame and that frame's body :class:`Pose`."""

    def __init__(self, device: str = "auto", threads: int = 0, min_presence: float = 0.5):
        self.landmark = runtime.session(weight_path("hand_landmark_full"), device, threads)
        self.recropper = runtime.session(weight_path("hand_recrop"), device, threads)
        self.min_presence = min_presence
        self.previous: dict[str, Roi | None] = {s: None for s in SIDES}
        self.last: dict[str, np.ndarray | None] = {s: None for s in SIDES}  # each hand's last landmarks (pixels) ...
        self.lost: dict[str, int] = {s: LOST_FRAMES + 1 for s in SIDES}  # ... and the frames since
        self.apart: dict[str, int] = {s: LOST_FRAMES + 1 for s in SIDES}  # frames since the wrists were within CROSSING
        self.sizes: dict[str, list[float]] = {s: [] for s in SIDES}  # each hand's last SIZES sizes (px) seen

    def recrop(self, rgb: np.ndarray, rough: Roi) -> Roi:
        """The holistic re-crop model's box on the hand inside ``rough``: its two points are the hand's centre
        and a point toward the wrist at half the side."""
        x, m = rough.crop(rgb, RECROP_SIZE)
        kp = self.recropper.run(None, {"input_1": x})[0].reshape(2, 2) @ m[:, :2].T + m[:, 2]
        return Roi(float(kp[0, 0]), float(kp[0, 1]), float(2 * np.hypot(*(kp[1] - kp[0]))), upright_angle(kp[0], kp[1], -np.pi / 2))

    def read(self, rgb: np.ndarray, roi: Roi) -> Hand:
        """The 21 landmarks inside ``roi``."""
        x, m = roi.crop(rgb, LANDMARK_SIZE)
        points, presence, handedness, world = self.landmark.run(None, {"input_1": x})
        pixels = points[0].reshape(HAND_POINTS, 3)[:, :2] @ m[:, :2].T + m[:, 2]
        c, s = np.cos(roi.angle), np.sin(roi.angle)
        w = world[0].reshape(HAND_POINTS, 3)
        world_cam = np.stack([c * w[:, 0] - s * w[:, 1], s * w[:, 0] + c * w[:, 1], w[:, 2]], 1)  # the crop's turn undone
        return Hand(pixels, world_cam, float(presence[0, 0]), float(handedness[0, 0]), roi)

    def __call__(self, rgb: np.ndarray, pose: Pose | None) -> dict[str, Hand | None]:
        """Each side's hand on this frame (``None``: not seen, or no body)."""
        found = self._find(rgb, pose) if pose is not None else {side: None for side in SIDES}
        for side in SIDES:
            hand = found[side]
            self.previous[side] = roi_from_hand(hand.pixels) if hand is not None else None
            if hand is not None:
                self.last[side], self.lost[side] = hand.pixels, 0
                self.sizes[side] = (self.sizes[side] + [_size(hand.pixels)])[-SIZES:]
            else:
                self.lost[side] += 1
        return found

    def _find(self, rgb: np.ndarray, pose: Pose) -> dict[str, Hand | None]:
        """Each arm's hand on this frame: tracked or cropped afresh from the body, kept if present, nearer its own
        wrist than the other, and (crossing hands) not the other hand where it just was."""
        found: dict[str, Hand | None] = {}
        fresh: dict[str, bool] = {}
        for side in SIDES:
            placed = self.recrop(rgb, roi_from_body(pose, side))
            tracked = self.previous[side]
            fresh[side] = tracked is None or not _agree(tracked, placed)
            hand = self.read(rgb, placed if fresh[side] else tracked)
            wrists = [pose.landmarks[BODY_POINTS[s][0]] for s in (side, _other(side))]
            own, other = (np.linalg.norm(hand.pixels[0] - w) for w in wrists)
            seen = hand.presence >= self.min_presence and own <= other  # a hand nearer the other wrist is that arm's
            found[side] = hand if seen else None
        apart = np.linalg.norm(pose.landmarks[BODY_POINTS["l"][0]] - pose.landmarks[BODY_POINTS["r"][0]])
        for side in SIDES:  # crossing hands: found afresh where the other hand, lost on this frame, just was: that hand
            other, hand = _other(side), found[side]
            if hand is not None and fresh[side] and found[other] is None and self.lost[other] <= LOST_FRAMES:
                if _same_hand(hand.pixels, self.last[other]) and apart < _size(self.last[other]) * CROSSING:
                    found[side] = None
        for side in SIDES:  # crossing hands (now or just now): a hand just seen, found more than a hand away from where
            hand = found[side]  # it was: the other (the body's wrist labels are least sure right after a crossing)
            if self.last[side] is not None:
                self.apart[side] = 0 if apart < _size(self.last[side]) * CROSSING else self.apart[side] + 1
            if hand is not None and self.lost[side] <= LOST_FRAMES and self.apart[side] <= LOST_FRAMES:
                if not _same_hand(hand.pixels, self.last[side], JUMP, float(np.median(self.sizes[side]))):
                    found[side] = None
        if found["l"] is not None and found["r"] is not None and _same_hand(found["l"].pixels, found["r"].pixels):
            # both arms' crops read one hand: it is the one seen longer (held on the frame before), else neither's
            held = [s for s in SIDES if self.lost[s] == 0]
            for side in SIDES:
                if held != [side]:
                    found[side] = None
        return found


def _other(side: str) -> str:
    return "r" if side == "l" else "l"


def _size(points: np.ndarray) -> float:
    """A hand's size in pixels: the longer side of its landmarks' box."""
    return float(np.max(points.max(0) - points.min(0)))


def _same_hand(a: np.ndarray, b: np.ndarray | None, within: float = 0.5, size: float | None = None) -> bool:
    """Landmarks ``a`` and ``b`` (21, 2) on the same hand: median distance under ``within`` of ``size`` (px; by
    default ``b``'s)."""
    return b is not None and float(np.median(np.linalg.norm(a - b, axis=1))) < within * (size or _size(b))


def palm_frames(rel: np.ndarray) -> np.ndarray:
    """(T, 3, 3) each reading's palm axes as columns (``rel``: (T, 21, 3) wrist-relative): toward the middle
    knuckle, across the palm, and the palm's normal (index knuckle x pinky knuckle)."""
    x = normalize(rel[:, MIDDLE_KNUCKLE])
    z = np.cross(rel[:, HAND.index("index_mcp")], rel[:, HAND.index("pinky_mcp")])
    z = normalize(z - (z * x).sum(-1, keepdims=True) * x)
    return np.stack([x, np.cross(z, x), z], -1)


def centre_basis(pixels: np.ndarray, world: np.ndarray, left: bool | np.ndarray) -> np.ndarray:
    """(N, 2, 3): how far any of a hand's picture points ``pixels`` (N, 21, 2) moves per unit of a joint-centre
    offset along the hand's own axes (:func:`palm_frames` of its ``world`` landmarks: toward the middle knuckle,
    across the palm, out of it), in wrist-to-middle-knuckle lengths; the world's x, y seen at the picture's scale.
    Offsets are a right hand's: a left hand moves as its mirror image would (``left``: all of them, or (N,) each)."""
    flip = np.where(np.asarray(left)[..., None], [-1.0, 1.0, 1.0], 1.0)  # (3,) or (N, 3)
    w = world * flip[..., None, :]
    rel = w - w[:, :1]
    axes = palm_frames(rel)[:, :2]  # (N, 2, 3): the axes' x, y in the picture
    pc, wc = pixels - pixels.mean(1, keepdims=True), world[..., :2] - world[..., :2].mean(1, keepdims=True)
    scale = (pc * wc).sum((1, 2)) / np.maximum((wc ** 2).sum((1, 2)), 1e-12)  # pixels per metre of the hand model
    return axes * (scale * np.linalg.norm(rel[:, MIDDLE_KNUCKLE], axis=-1))[:, None, None] * flip[..., :2, None]


@lru_cache(maxsize=1)
def _centre_offsets() -> np.ndarray:
    return np.array(json.loads(weight_path("hand_centres").read_text())["offsets"], np.float64)


def at_joint_centres(pixels: np.ndarray, world: np.ndarray, offsets: np.ndarray | None = None) -> np.ndarray:
    """Both hands' picture points (T, 2, 21, 2; left, right; NaN unseen) moved from MediaPipe's landmarks (the skin
    over a knuckle, the fingertip's end) to the joint centres a rig's bones turn about: ``offsets`` (21, 3), one a
    point along the hand's axes (:func:`centre_basis`), default the shipped ones (``models/hand_centres.py``,
    fitted on rendered hands). ``world`` (T, 2, 21, 3) the same readings' world landmarks in camera axes."""
    offsets = _centre_offsets() if offsets is None else offsets
    out = pixels.copy()
    for k, side in enumerate(SIDES):
        seen = np.isfinite(pixels[:, k]).all((1, 2)) & np.isfinite(world[:, k]).all((1, 2))
        if seen.any():
            basis = centre_basis(pixels[seen, k], world[seen, k], side == "l")
            out[seen, k] = pixels[seen, k] + np.einsum("ndk,jk->njd", basis, offsets)
    return out


def flipped(rel: np.ndarray, fps: float, limit: float = 60.0, span: float = 0.1) -> np.ndarray:
    """(T,) readings of one hand (``rel``: (T, 21, 3) wrist-relative, NaN unseen) whose palm faces more than
    ``limit`` deg away from the median facing of the readings within ``span`` seconds either side (at least 3 of
    them; twice, the second time without the first's): the model's mirror-image readings of small or blurred
    hands, the back read as the palm. A hand turning steadily, however fast, agrees with its neighbours' median."""
    normal = palm_frames(rel)[:, :, 2]
    k = max(2, round(span * fps))
    bad = np.zeros(len(rel), bool)
    for _ in range(2):
        good = np.flatnonzero(np.isfinite(normal).all(1) & ~bad)
        for t in np.flatnonzero(np.isfinite(normal).all(1)):
            near = good[(np.abs(good - t) <= k) & (good != t)]
            if len(near) >= 3:
                m = np.median(normal[near], axis=0)
                bad[t] = normal[t] @ m < np.cos(np.radians(limit)) * np.linalg.norm(m)
    return bad


def bridge_hand(rel: np.ndarray, max_gap: int) -> np.ndarray:
    """One hand's readings ``rel`` (T, 21, 3; wrist-relative, NaN unseen) bridged across gaps of up to ``max_gap`` frames:
    the palm turns from its last seen facing to the next (slerp) while the fingers' shape in the palm's axes blends
    (points blended in the camera's axes would fold the palm flat on the way when it turns by half a turn)."""
    seen = np.isfinite(rel).all((1, 2))
    frames = palm_frames(np.where(seen[:, None, None], rel, 1.0))
    local = np.einsum("tji,tkj->tki", frames, rel)  # the points in the palm's axes
    shape, bridged = filters.bridge(local, seen, max_gap)
    out = rel.copy()
    for a, b in filters.runs(bridged):
        w = (np.arange(a, b) - (a - 1)) / (b - (a - 1))
        turn = np.stack([slerp_matrix(frames[a - 1], frames[b], float(s)) for s in w])
        out[a:b] = np.einsum("tij,tkj->tki", turn, shape[a:b])
    return out


def hand_points(world: np.ndarray, forearm: float, fps: float, smooth: float = 0.5, method: str = "butterworth",
                max_gap: int = 0) -> np.ndarray:
    """Both hands of a clip as the motion carries them: ``world`` (T, 2, 21, 3) the hand model's world landmarks
    in camera axes (NaN where a hand was not seen) -> (T, 2, 21, 3) wrist-relative points, in metres, with one
    set of finger bone lengths for the clip and both hands (the model's own scale wavers by +-20 % from frame
    to frame) sized to the body (wrist to middle knuckle = :data:`PALM_PER_FOREARM` x ``forearm``), bridged across
    gaps of up to ``max_gap`` frames (a hand lost for a moment does not snap to another shape when found again; the
    :func:`flipped` readings dropped first), smoothed over each stretch of frames a hand was seen (``smooth`` 0..1, the
    body's smoothing, plus :data:`HAND_SMOOTHING`), NaN where unseen."""
    rel = world - world[:, :, :1]
    for k in range(2):
        rel[flipped(rel[:, k], fps), k] = np.nan
    size = np.linalg.norm(rel[:, :, list(KNUCKLES)], axis=-1).mean(-1)  # (T, 2) this frame's palm
    unit = rel / np.where(size > 1e-6, size, np.nan)[..., None, None]
    for k in range(2):
        unit[:, k] = bridge_hand(unit[:, k], max_gap)
    seen = np.isfinite(unit).all((2, 3))
    if smooth > 0:
        smooth = min(1.0, smooth + HAND_SMOOTHING)
        for k in range(2):
            for a, b in filters.runs(seen[:, k]):
                unit[a:b, k] = filters.smooth(unit[a:b, k].reshape(b - a, -1), fps, method, smooth).reshape(b - a, -1, 3)
    out = np.full(world.shape, np.nan)
    if not seen.any():
        return out
    both = unit[seen]  # (N, 21, 3) every seen hand, left and right
    lengths = np.zeros(len(HAND))
    for j, parent in enumerate(HAND.parents):
        if parent >= 0:
            lengths[j] = np.median(np.linalg.norm(both[:, j] - both[:, parent], axis=-1))
    palm = PALM_PER_FOREARM * forearm / np.median(np.linalg.norm(both[:, MIDDLE_KNUCKLE], axis=-1))
    out[seen] = with_bone_lengths(both, lengths * palm, HAND)
    return out
