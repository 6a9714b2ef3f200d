"""BlazePose on onnxruntime: MediaPipe's pose pipeline re-implemented on the converted models.

The detector finds people on the first frame and whenever tracking is lost (on overlapping tiles when the
whole frame shows nobody, for people small in the frame); the landmark model reads
a square crop rotated so the hips-to-head axis points up; the next frame's crop comes from this
frame's landmarks (tracking); landmarks are refined on the model's heatmap as MediaPipe does. Landmark
visibility and presence become confidences. The main person
is the largest, most central detection; after a loss, the detection nearest the last crop is taken,
so the same person is kept through the clip.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from . import runtime
from .weights import weight_path

DET_SIZE, LM_SIZE = 224, 256
FEATURES = ("model_1_model_add_11_add", "model_1_model_add_10_add", "model_1_model_add_9_add", "model_1_model_add_8_add")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(np.asarray(x, np.float64), -100, 100)))


def anchors() -> np.ndarray:
    """The 2254 SSD anchor centres (x, y in [0, 1]) of the pose detector (strides 8, 16, 32 x3)."""
    out = []
    for stride, per_cell in ((8, 2), (16, 2), (32, 6)):
        n = int(np.ceil(DET_SIZE / stride))
        ys, xs = np.mgrid[0:n, 0:n]
        centres = np.stack([(xs + 0.5) / n, (ys + 0.5) / n], -1).reshape(-1, 1, 2)
        out.append(np.repeat(centres, per_cell, axis=1).reshape(-1, 2))
    return np.concatenate(out).astype(np.float32)


ANCHORS = anchors()


@dataclass
class Detection:
    score: float
    box: np.ndarray  # xmin, ymin, xmax, ymax in image pixels
    keypoints: np.ndarray  # (4, 2) image pixels: mid-hip, full-body scale point, mid-shoulder, upper-body point


@dataclass
class Roi:
    """A rotated square crop: centre and side in image pixels, rotation in radians."""

    cx: float
    cy: float
    size: float
    angle: float

    def matrix(self, out: int = LM_SIZE) -> np.ndarray:
        """2x3 affine from crop pixels (out x out) to image pixels."""
        c, s = np.cos(self.angle), np.sin(self.angle)
        k = self.size / out
        return np.array([[c * k, -s * k, self.cx - (c * k * out / 2 - s * k * out / 2)],
                         [s * k, c * k, self.cy - (s * k * out / 2 + c * k * out / 2)]], np.float64)

    def crop(self, rgb: np.ndarray, out: int = LM_SIZE) -> tuple[np.ndarray, np.ndarray]:
        """The crop as MediaPipe's models take it (1 x out x out x 3, in [0, 1]) and its crop -> image affine.
        Past the picture's edge the edge pixels repeat, as MediaPipe's ImageToTensorCalculator does by default for
        the landmark models: on black the pose model loses a body half out of the picture."""
        m = self.matrix(out)
        crop = cv2.warpAffine(rgb, m, (out, out), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REPLICATE)
        return (crop.astype(np.float32) / 255.0)[None], m


def upright_angle(start: np.ndarray, end: np.ndarray, target: float = np.pi / 2) -> float:
    """Rotation (radians, in [-pi, pi)) that turns the image vector start -> end to ``target`` (radians, y up)."""
    d = end - start
    return float((target - np.arctan2(-d[1], d[0]) + np.pi) % (2 * np.pi) - np.pi)


def roi_from_points(centre: np.ndarray, scale_point: np.ndarray, scale: float = 1.25) -> Roi:
    """MediaPipe's alignment: centred on ``centre``, side 2 x |scale_point - centre| x ``scale``, rotated so
    the centre -> scale point vector points up in the crop."""
    d = scale_point - centre
    return Roi(float(centre[0]), float(centre[1]), float(2 * np.hypot(*d) * scale), upright_angle(centre, scale_point))


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lo, hi = np.maximum(a[:2], b[:, :2]), np.minimum(a[2:], b[:, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
    area = lambda x: np.prod(x[..., 2:] - x[..., :2], axis=-1)  # noqa: E731
    return inter / np.maximum(area(a) + area(b) - inter, 1e-9)


@dataclass
class Pose:
    """One frame's landmarks in image pixels with confidences, and the crop they were read from."""

    landmarks: np.ndarray  # (33, 2) pixels
    depth: np.ndarray  # (33,) relative depth (crop pixels)
    visibility: np.ndarray  # (33,) in [0, 1]
    presence: np.ndarray  # (33,)
    score: float  # the landmark model's pose presence
    world: np.ndarray  # (33, 3) metres, hips-centred (GHUM)
    roi: Roi
    features: list[np.ndarray] | None = None  # backbone feature maps (NCHW) of the crop

    @property
    def confidence(self) -> np.ndarray:
        return np.minimum(self.visibility, self.presence) * self.score


LANDMARK_MODELS = ("full", "heavy")  # heavy: more accurate 2D, slower (built with convert-detector --heavy)


class BlazePose:
    """The two BlazePose networks and MediaPipe's pre- and post-processing."""

    def __init__(self, device: str = "auto", threads: int = 0, min_detection: float = 0.5, features: bool = False,
                 landmark: str = "full"):
        if landmark not in LANDMARK_MODELS:
            raise ValueError(f"unknown landmark model {landmark!r}; choose one of {', '.join(LANDMARK_MODELS)}")
        if features and landmark != "full":
            raise ValueError("the context-aware lifter reads the full landmark model's feature maps: use detector 'full'")
        self.det = runtime.session(weight_path("blazepose_detector"), device, threads)
        self.lm = runtime.session(weight_path(f"blazepose_landmark_{landmark}"), device, threads)
        self.min_detection = min_detection
        self.outputs = ["Identity", "Identity_1", "Identity_4", "Identity_3"] + (list(FEATURES) if features else [])
        self.refine = True  # MediaPipe's heatmap refinement (measured: median 2D error 4.3 -> 3.7 px on rendered clips)

    @property
    def provider(self) -> str:
        return self.lm.get_providers()[0]

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """People in an RGB image (uint8 H x W x 3), best first, after weighted non-maximum suppression."""
        h, w = rgb.shape[:2]
        scale = DET_SIZE / max(h, w)
        nh, nw = round(h * scale), round(w * scale)
        py, px = (DET_SIZE - nh) // 2, (DET_SIZE - nw) // 2
        canvas = np.zeros((DET_SIZE, DET_SIZE, 3), np.float32)
        canvas[py : py + nh, px : px + nw] = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA).astype(np.float32) / 127.5 - 1
        raw, logits = self.det.run(None, {"input_1": canvas[None]})
        raw, scores = raw[0], _sigmoid(logits[0, :, 0])
        keep = np.flatnonzero(scores >= self.min_detection)
        if not len(keep):
            return []
        r = raw[keep] / DET_SIZE
        a = ANCHORS[keep]
        centre = r[:, :2] + a
        boxes = np.concatenate([centre - r[:, 2:4] / 2, centre + r[:, 2:4] / 2], 1)
        kps = r[:, 4:12].reshape(-1, 4, 2) + a[:, None]
        to_img = lambda p: (p * DET_SIZE - [px, py]) / scale  # noqa: E731
        order = np.argsort(-scores[keep])
        boxes, kps, sc = boxes[order], kps[order], scores[keep][order]
        out, used = [], np.zeros(len(sc), bool)
        for i in range(len(sc)):
            if used[i]:
                continue
            group = np.flatnonzero(~used & (iou(boxes[i], boxes) > 0.3))
            used[group] = True
            wgt = sc[group][:, None]
            box = (boxes[group] * wgt).sum(0) / wgt.sum()
            kp = (kps[group] * wgt[:, :, None]).sum(0) / wgt.sum()
            out.append(Detection(float(sc[i]), to_img(box.reshape(2, 2)).ravel(), to_img(kp)))
        return out

    def detect_tiled(self, rgb: np.ndarray, tile: float = 2 / 3) -> list[Detection]:
        """People too small for the whole-frame detector (224 px for the whole frame): detect on overlapping
        square tiles (``tile`` x the short side, half a tile apart), merge duplicates across tiles."""
        h, w = rgb.shape[:2]
        side = max(int(min(h, w) * tile), 32)
        step = max(side // 2, 1)
        found = []
        for y in sorted({*range(0, max(h - side, 0) + 1, step), max(h - side, 0)}):
            for x in sorted({*range(0, max(w - side, 0) + 1, step), max(w - side, 0)}):
                for d in self.detect(rgb[y : y + side, x : x + side]):
                    found.append(Detection(d.score, d.box + [x, y, x, y], d.keypoints + [x, y]))
        found.sort(key=lambda d: -d.score)
        kept: list[Detection] = []
        for d in found:
            if not kept or iou(d.box, np.array([k.box for k in kept])).max() <= 0.3:
                kept.append(d)
        return kept

    def landmarks(self, rgb: np.ndarray, roi: Roi) -> Pose:
        """Read the 33 landmarks inside ``roi``."""
        x, m = roi.crop(rgb)
        outs = self.lm.run(self.outputs, {"input_1": x})
        raw = outs[0][0].reshape(39, 5)
        crop_pts = refine_from_heatmap(raw[:, :2], outs[3][0]) if self.refine else raw[:, :2]
        pts = crop_pts @ m[:, :2].T + m[:, 2]
        return Pose(pts[:33], raw[:33, 2], _sigmoid(raw[:33, 3]), _sigmoid(raw[:33, 4]), float(outs[1][0, 0]),
                    outs[2][0].reshape(39, 3)[:33], roi_from_points(pts[33], pts[34]),
                    [f[0] for f in outs[4:]] if len(outs) > 4 else None)


def refine_from_heatmap(points: np.ndarray, heatmap: np.ndarray, kernel: int = 7, min_confidence: float = 0.5,
                        ramp: float = 0.2) -> np.ndarray:
    """MediaPipe's landmark refinement: each point (crop pixels, (N, 2)) moves to the confidence-weighted
    mean cell of its heatmap channel (HWC logits, (S, S, N)) in a ``kernel`` x ``kernel`` window around it
    (a cell's index read as its position, as MediaPipe does) when the window's peak confidence reaches
    ``min_confidence``. Unlike MediaPipe's hard switch, the move fades in over ``min_confidence`` +- ``ramp``,
    so a peak hovering at the threshold does not make the point jump between frames."""
    side, n = heatmap.shape[0], len(points)
    cell = LM_SIZE / side
    out = points.astype(np.float64).copy()
    col, row = np.trunc(points[:, 0] / cell).astype(int), np.trunc(points[:, 1] / cell).astype(int)
    inside = np.flatnonzero((col >= 0) & (col < side) & (row >= 0) & (row < side))
    r = (kernel - 1) // 2
    offs = np.arange(-r, r + 1)
    rows, cols = row[inside, None] + offs, col[inside, None] + offs  # (M, k) window indices, may leave the map
    conf = _sigmoid(heatmap[np.clip(rows, 0, side - 1)[:, :, None], np.clip(cols, 0, side - 1)[:, None, :], inside[:, None, None]])
    conf *= ((rows >= 0) & (rows < side))[:, :, None] & ((cols >= 0) & (cols < side))[:, None, :]  # zero border
    total, peak = conf.sum((1, 2)), conf.max((1, 2))
    ok = total > 0
    refined = np.stack([(conf * cols[:, None, :]).sum((1, 2)), (conf * rows[:, :, None]).sum((1, 2))], 1) / np.where(ok, total, 1)[:, None] * cell
    weight = np.clip((peak - min_confidence + ramp) / (2 * ramp), 0, 1) if ramp > 0 else (peak >= min_confidence).astype(float)
    weight = np.where(ok, weight, 0.0)
    out[inside] += weight[:, None] * (refined - out[inside])
    return out
