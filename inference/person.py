"""Who is captured: the person chosen on the start frame, kept through crossings, occlusion and exits.

The choice (:class:`PersonChoice`) is an index into the people found on the start frame (numbered left to
right), a pixel on the person, or a box around them; by default the largest, most central person. The
:class:`Tracker` then follows that person's crop from frame to frame as MediaPipe does, and checks every
frame that the landmarks still belong to them: the body's centre against the one predicted from its motion,
its size against the last, and its clothes (colour histograms of the torso and the thighs) against the
person's. When a check fails (another body stepped into the crop) or every few frames while someone else
is near, it looks at everyone the detector finds and keeps the one that matches the chosen person; when
nobody matches well enough the frame is left unseen (the gap filling and the lifters take over) rather than
captured on someone else. Lost and re-found frames are counted for the capture's summary.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from .detector import BlazePose, Detection, Pose, Roi, iou, roi_from_points

SHOULDERS, HIPS, KNEES = (11, 12), (23, 24), (25, 26)  # BlazePose landmark indices


class PersonError(ValueError):
    """The chosen person is not on the start frame; the message lists who is."""


@dataclass
class PersonChoice:
    """Whom to capture: ``index`` (people numbered left to right on the start frame), a ``point`` on them or a
    ``box`` around them (pixels); none of them: automatic (the largest, most central person)."""

    index: int | None = None
    point: tuple[float, float] | None = None
    box: tuple[float, float, float, float] | None = None

    @classmethod
    def parse(cls, text: str | None) -> "PersonChoice":
        """``"auto"``/None, ``"1"``, ``"640,360"`` (a point) or ``"100,50,300,420"`` (x0,y0,x1,y1)."""
        if text is None or str(text).strip().lower() in ("", "auto"):
            return cls()
        try:
            values = [float(v) for v in str(text).replace(" ", "").split(",")]
        except ValueError:
            values = []
        if len(values) == 1 and values[0].is_integer() and values[0] >= 0:
            return cls(index=int(values[0]))
        if len(values) == 2:
            return cls(point=(values[0], values[1]))
        if len(values) == 4 and values[2] > values[0] and values[3] > values[1]:
            return cls(box=tuple(values))
        raise ValueError(f"--person {text!r}: give an index (0, 1, ...), a pixel 'x,y' on the person, or a box "
                         f"'x0,y0,x1,y1' around them")

    @property
    def automatic(self) -> bool:
        return self.index is None and self.point is None and self.box is None

    def __str__(self) -> str:
        if self.index is not None:
            return f"person {self.index}"
        if self.point is not None:
            return f"the person at ({self.point[0]:g}, {self.point[1]:g})"
        if self.box is not None:
            return "the person in box (" + ", ".join(f"{v:g}" for v in self.box) + ")"
        return "automatic (the largest, most central person)"


def body_box(det: Detection) -> np.ndarray:
    """The whole body's box (x0, y0, x1, y1) from the detection's keypoints (its own box is the face's):
    around the mid-hip, as tall as the full-body circle it gives."""
    hip, r = det.keypoints[0], float(np.hypot(*(det.keypoints[1] - det.keypoints[0])))
    return np.array([hip[0] - 0.45 * r, hip[1] - r, hip[0] + 0.45 * r, hip[1] + r])


def distinct(dets: list[Detection], prefer: list[Detection] | None = None) -> list[Detection]:
    """One detection per body. Best first (a ``prefer``red one, e.g. the whole frame's view of a large body
    that a tile may cut, wins unless another is clearly more confident), a detection is dropped when its hips
    are where a kept one's are or its face box overlaps a kept one's; then a detection whose body spans two
    kept people's hips is dropped too (the whole-frame detector's merge of two people close together)."""
    prefer = prefer or []
    ranked = sorted(prefer + dets, key=lambda d: -(d.score + 0.05 * any(d is p for p in prefer)))
    kept: list[Detection] = []
    for d in ranked:
        r = np.hypot(*(d.keypoints[1] - d.keypoints[0]))
        if all(np.hypot(*(d.keypoints[0] - k.keypoints[0])) > 0.4 * r and iou(d.box, k.box[None])[0] < 0.05
               for k in kept):
            kept.append(d)

    def spans_two(d: Detection) -> bool:
        b = body_box(d)
        inside = [k for k in kept if k is not d and k.score > d.score and (b[:2] <= k.keypoints[0]).all()
                  and (k.keypoints[0] <= b[2:]).all()]
        return len(inside) >= 2

    return [d for d in kept if not spans_two(d)]


def people(model: BlazePose, rgb: np.ndarray) -> list[Detection]:
    """Everyone the detector finds on a frame, left to right: the whole frame's detections and the tiles' (for
    people too small for the whole frame; a tile may cut a large body, so the whole frame's view is preferred)."""
    return sorted(distinct(model.detect_tiled(rgb), model.detect(rgb)), key=lambda d: d.keypoints[0][0])


def detect_around(model: BlazePose, rgb: np.ndarray, centre: np.ndarray, side: float) -> list[Detection]:
    """People in a square of ``side`` pixels around ``centre`` (clamped to the frame), in frame pixels."""
    h, w = rgb.shape[:2]
    side = int(np.clip(side, 64, min(h, w)))
    x0 = int(np.clip(centre[0] - side / 2, 0, w - side))
    y0 = int(np.clip(centre[1] - side / 2, 0, h - side))
    return [Detection(d.score, d.box + [x0, y0, x0, y0], d.keypoints + [x0, y0])
            for d in model.detect(rgb[y0:y0 + side, x0:x0 + side])]


def find_people(video: str, frame: int = 0, device: str = "auto") -> tuple[np.ndarray, list[Detection]]:
    """The RGB start frame of a video and everyone on it, numbered as ``--person`` counts them."""
    from .video import frames

    rgb = next((img for _, _, img in frames(video, frame, frame + 1)), None)
    if rgb is None:
        raise PersonError(f"{video} has no frame {frame}")
    return rgb, people(BlazePose(device), rgb)


def describe(dets: list[Detection]) -> str:
    return "; ".join(f"{k}: x {b[0]:.0f}-{b[2]:.0f}, y {b[1]:.0f}-{b[3]:.0f}" for k, b in enumerate(map(body_box, dets)))


def draw_people(rgb: np.ndarray, dets: list[Detection]) -> np.ndarray:
    """The frame with every person boxed and numbered as :func:`people` numbers them (for the user to pick)."""
    out = rgb.copy()
    scale = max(rgb.shape[:2]) / 640
    for k, d in enumerate(dets):
        x0, y0, x1, y1 = np.round(body_box(d)).astype(int)
        cv2.rectangle(out, (x0, y0), (x1, y1), (255, 220, 0), max(1, round(2 * scale)))
        cv2.putText(out, str(k), (x0 + 4, y0 + round(28 * scale)), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 220, 0),
                    max(1, round(2 * scale)), cv2.LINE_AA)
    return out


def main_person(dets: list[Detection], size: tuple[int, int]) -> Detection | None:
    """The largest, most central detection (the automatic choice)."""
    if not dets:
        return None
    w, h = size

    def rank(d: Detection) -> float:
        area = np.prod(d.box[2:] - d.box[:2]) / (w * h)
        off = np.hypot(*((d.box[:2] + d.box[2:]) / 2 - [w / 2, h / 2])) / np.hypot(w, h)
        return d.score * np.sqrt(max(area, 1e-6)) * (1 - off)

    return max(dets, key=rank)


def choose(dets: list[Detection], choice: PersonChoice, size: tuple[int, int], frame: int = 0) -> Detection:
    """The detection ``choice`` names among ``dets`` (see :func:`people`); PersonError if there is none."""
    found = f"{len(dets)} {'person' if len(dets) == 1 else 'people'} found on frame {frame}" + (f" ({describe(dets)})" if dets else "")
    if not dets:
        raise PersonError(f"no person found on frame {frame}: choose another start frame (--start)")
    if choice.automatic:
        return main_person(dets, size)
    if choice.index is not None:
        if choice.index >= len(dets):
            raise PersonError(f"--person {choice.index} asked for, but {found}: give 0..{len(dets) - 1}, or a pixel 'x,y' on the person")
        return dets[choice.index]
    if choice.point is not None:
        p = np.array(choice.point)
        boxes = [body_box(d) for d in dets]
        inside = [k for k, b in enumerate(boxes) if (b[:2] <= p).all() and (p <= b[2:]).all()]
        if inside:  # the nearest mid-hip among the bodies the pixel is on
            return dets[min(inside, key=lambda k: np.hypot(*(dets[k].keypoints[0] - p)))]
        raise PersonError(f"no person at pixel ({p[0]:g}, {p[1]:g}): {found}")
    overlap = iou(np.array(choice.box, float), np.array([body_box(d) for d in dets]))
    if overlap.max() < 0.1:
        raise PersonError(f"no person in box {tuple(choice.box)}: {found}")
    return dets[int(np.argmax(overlap))]


def _strip(rgb_hsv: np.ndarray, a: np.ndarray, b: np.ndarray, width: float) -> np.ndarray:
    """HSV histogram (8 hue x 4 saturation x 4 value, normalised) of the band ``width`` x |b - a| wide along a -> b."""
    d = b - a
    length = float(np.hypot(*d))
    h, w = rgb_hsv.shape[:2]
    if length < 4:
        return np.zeros(128, np.float32)
    n = np.array([-d[1], d[0]]) / length * width * length / 2
    quad = np.array([a + n, b + n, b - n, a - n], np.float32)
    x0, y0 = np.clip(np.floor(quad.min(0)), 0, [w - 1, h - 1]).astype(int)
    x1, y1 = np.clip(np.ceil(quad.max(0)) + 1, 1, [w, h]).astype(int)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return np.zeros(128, np.float32)
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillConvexPoly(mask, np.round(quad - [x0, y0]).astype(np.int32), 1)
    hist = cv2.calcHist([rgb_hsv[y0:y1, x0:x1]], [0, 1, 2], mask, [8, 4, 4], [0, 180, 0, 256, 0, 256]).ravel()
    return hist / max(hist.sum(), 1.0)


def appearance(hsv: np.ndarray, shoulders: np.ndarray, hips: np.ndarray, knees: np.ndarray | None = None) -> np.ndarray:
    """Clothes of a body: colour histograms of the torso (mid-shoulder -> mid-hip) and the thighs (mid-hip ->
    mid-knee, or as long again as the torso when the knees are not known)."""
    top = _strip(hsv, shoulders, hips, 0.45)
    below = knees if knees is not None else hips + (hips - shoulders)
    return np.concatenate([top, _strip(hsv, hips, below, 0.45)])


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Bhattacharyya coefficient of two appearances (1: the same colours), averaged over the two strips."""
    parts = [float(np.sqrt(a[k:k + 128] * b[k:k + 128]).sum()) for k in (0, 128) if a[k:k + 128].any() and b[k:k + 128].any()]
    return float(np.mean(parts)) if parts else 0.0


@dataclass
class _Picture:
    """A frame's colours for the clothes checks: HSV at 1/``step`` of the size (every ``step``-th pixel)."""

    hsv: np.ndarray
    step: int

    @classmethod
    def of(cls, rgb: np.ndarray, torso: float | None) -> "_Picture":
        step = int(np.clip((torso or 0) // 20, 1, 4))  # about 20 px of torso left: histograms as telling, cheaper
        return cls(cv2.cvtColor(np.ascontiguousarray(rgb[::step, ::step]), cv2.COLOR_RGB2HSV), step)

    def look(self, shoulders: np.ndarray, hips: np.ndarray, knees: np.ndarray | None = None) -> np.ndarray:
        k = self.step
        return appearance(self.hsv, shoulders / k, hips / k, None if knees is None else knees / k)


@dataclass
class _Body:
    """Where a body is: centre (mid-hips), torso length (px), clothes."""

    centre: np.ndarray
    torso: float
    look: np.ndarray

    @classmethod
    def of_pose(cls, pose: Pose, pic: _Picture) -> "_Body":
        lm = pose.landmarks
        s, h, k = lm[list(SHOULDERS)].mean(0), lm[list(HIPS)].mean(0), lm[list(KNEES)].mean(0)
        return cls(h, float(np.hypot(*(s - h))), pic.look(s, h, k))

    @classmethod
    def of_detection(cls, det: Detection, pic: _Picture) -> "_Body":
        hip, shoulder = det.keypoints[0], det.keypoints[2]  # BlazePose detector: mid-hip, ..., mid-shoulder
        return cls(hip, float(np.hypot(*(shoulder - hip))), pic.look(shoulder, hip))


@dataclass
class Tracker:
    """Frame-to-frame tracking of one person (see the module docstring); call it on each RGB frame: the
    person's :class:`Pose`, or None when they are not confidently seen."""

    model: BlazePose
    choice: PersonChoice = field(default_factory=PersonChoice)
    min_presence: float = 0.5
    min_match: float = 0.6  # clothes similarity below which a body is not taken for the chosen person
    sure_match: float = 0.8  # ... that keeps a body that jumped, and that updates the person's clothes
    check_every: int = 8  # frames between looks at everyone while another person is near
    start_frame: int = 0
    roi: Roi | None = None
    detections: int = 0  # detector runs
    lost_frames: int = 0  # frames with the person not confidently seen
    refound: int = 0  # times the person was found again after being lost
    rejected: int = 0  # frames where the crop held someone else (the switches prevented)
    chosen: Detection | None = None

    def __post_init__(self):
        self.body: _Body | None = None
        self.anchor: np.ndarray | None = None
        self.velocity = np.zeros(2)
        self.steps: list[np.ndarray] = []
        self.frame = -1
        self.since_check = 0
        self.crowded = False
        self.lost_run = 0

    def __call__(self, rgb: np.ndarray) -> Pose | None:
        self.frame += 1
        pic = _Picture.of(rgb, self.body.torso if self.body is not None else None)
        if self.body is None:
            return self._start(rgb, pic)
        pose = self._follow(rgb) if self.roi is not None else None
        now = _Body.of_pose(pose, pic) if pose is not None else None
        jumped = now is not None and self._jumped(now)
        if now is None or jumped or self._match(now.look) < self.min_match or \
                (self.crowded and self.since_check >= self.check_every):
            pose, now = self._search(rgb, pic, pose, now, self.sure_match if jumped else self.min_match)
        if pose is None:
            self.lost_frames += 1
            self.lost_run += 1
            self.roi = None
            return None
        if self.lost_run:
            self.refound += 1
            self.lost_run = 0
        self._accept(pose, now)
        return pose

    # -- steps --------------------------------------------------------------------------------
    def _start(self, rgb: np.ndarray, pic: _Picture) -> Pose | None:
        self.detections += 1
        dets = people(self.model, rgb)
        self.crowded = len(dets) > 1
        if not dets and self.choice.automatic:
            self.lost_frames += 1
            return None
        self.chosen = choose(dets, self.choice, (rgb.shape[1], rgb.shape[0]), self.start_frame + self.frame)
        pose = self.model.landmarks(rgb, roi_from_points(self.chosen.keypoints[0], self.chosen.keypoints[1]))
        if pose.score < self.min_presence:
            self.lost_frames += 1
            return None
        self.body = _Body.of_pose(pose, pic)
        self.anchor = self.body.look.copy()
        self._accept(pose, self.body)
        return pose

    def _follow(self, rgb: np.ndarray) -> Pose | None:
        pose = self.model.landmarks(rgb, self.roi)
        return pose if pose.score >= self.min_presence else None

    def _jumped(self, now: _Body) -> bool:
        """Did the crop slide onto someone else? A jump away from where the body should be, or a size change
        no movement makes in one frame (then only clothes that match well keep it)."""
        jump = np.hypot(*(now.centre - self.body.centre - self.velocity)) / max(self.body.torso, 1.0)
        grow = now.torso / max(self.body.torso, 1.0)
        return jump > 0.5 or not 0.75 < grow < 1.33

    def _match(self, look: np.ndarray) -> float:
        """How well clothes match the chosen person's: half the first look, half the recent ones."""
        return similarity(look, 0.5 * (self.anchor + self.body.look))

    def _search(self, rgb: np.ndarray, pic: _Picture, pose: Pose | None, current: _Body | None, bar: float
                ) -> tuple[Pose | None, _Body | None]:
        """Look at everyone the detector finds: keep the crop's body if its clothes still match and nobody
        else matches better; else move to the body that matches the chosen person (by clothes, and by place
        unless they have been lost a while); else nobody. Returns the pose kept and its body."""
        self.detections += 1
        self.since_check = 0
        reach = (1.0 + 0.1 * self.lost_run) * max(self.body.torso, 1.0) * 2
        expected = self.body.centre + self.velocity * min(1 + self.lost_run, 10)
        # The whole frame, and a closer look where the person should be (a small or half-hidden body the
        # whole-frame detector misses).
        dets = distinct(detect_around(self.model, rgb, expected, 6 * self.body.torso), self.model.detect(rgb))
        self.crowded = len(dets) > 1
        keep = self._match(current.look) if current is not None else 0.0
        # The detections of the body already in the crop; every other one is a candidate.
        here = [current is not None and np.hypot(*(d.keypoints[0] - current.centre)) < 0.5 * max(current.torso, 1.0)
                for d in dets]
        kept = (pose, current) if keep >= bar else (None, None)
        best, best_match = None, max(self.min_match, keep + 0.05)
        for d, at_crop in zip(dets, here):
            if at_crop:
                continue
            cand = _Body.of_detection(d, pic)
            match = self._match(cand.look)
            if np.hypot(*(cand.centre - expected)) <= reach and match > best_match:
                best, best_match = d, match
        if best is None:  # nobody else in the picture and no jump: the clothes only look different (light, turning)
            return (pose, current) if current is not None and all(here) and bar == self.min_match else kept
        found = self.model.landmarks(rgb, roi_from_points(best.keypoints[0], best.keypoints[1]))
        if found.score < self.min_presence:
            return kept
        body = _Body.of_pose(found, pic)
        if self._match(body.look) < self.min_match:
            return kept
        if pose is not None:
            self.rejected += 1
        return found, body

    def _accept(self, pose: Pose, now: _Body) -> None:
        if self.lost_run == 0 and self.frame > 0:
            self.steps.append(now.centre - self.body.centre)
            self.steps = self.steps[-9:]
            self.velocity = np.median(self.steps, axis=0)  # robust to a frame of sliding landmarks
        else:
            self.steps, self.velocity = [], np.zeros(2)
        if self._match(now.look) >= self.sure_match:  # only a clear match updates the clothes (no drift onto another)
            self.body.look = 0.95 * self.body.look + 0.05 * now.look
        self.body.centre, self.body.torso = now.centre, now.torso
        self.roi = pose.roi
        self.since_check += 1

    def summary(self) -> dict:
        """For the motion's meta: the choice, who was chosen, how many frames were lost and re-found."""
        box = [round(float(v), 1) for v in body_box(self.chosen)] if self.chosen is not None else None
        return {"choice": str(self.choice), "box": box, "frame": self.start_frame, "lost_frames": self.lost_frames,
                "refound": self.refound, "other_person_rejected": self.rejected, "detector_runs": self.detections}
