"""The camera's own turning (pan, tilt, roll) from the background's motion in the picture.

A camera that follows the performer moves every planted foot across the frame; taken as a still camera, the
motion then slides and the contact model sees no contacts. :class:`BackgroundFlow` tracks corners of a key
frame through the frames after it (pyramidal Lucas-Kanade on a small grey copy; it runs in the decoding
thread), and :func:`camera_rotations` turns those tracks, off the person's box, into each frame's rotation
against one reference view (the clip's mean view): each frame's rotation from its key frame is fitted to
the tracks' rays (RANSAC for the inliers, then the least-squares rotation), a frame without enough
background keeps turning as the frame before, and a clip that does not turn, or shows too little
background to tell, gives None (a still camera: the capture is unchanged). A camera on a tripod only turns;
a hand-held one also moves, which this models as turning (right for a background a few metres away or more).

Where the background cannot tell (a plain floor and walls), the planted feet can: :func:`turn_from_feet`
fits the camera's pan to the bearings of the ankles the clip's solve held in contact.
"""
from __future__ import annotations

import cv2
import numpy as np
from scipy import sparse
from scipy.sparse.linalg import spsolve
from scipy.spatial.transform import Rotation

from ..filters import runs
from .camera import plane_basis

#: Below this (degrees, the largest angle of any frame's view from the reference) the camera is still.
STILL_DEG = 0.3
#: A pan read from the planted feet alone counts from this sweep (degrees): on still cameras the feet's own
#: errors read as sweeps up to 3.4 deg (rendered benchmark), a 25 deg pan as 21.
PAN_FROM_FEET_DEG = 6.0


class BackgroundFlow:
    """Called with each decoded frame (BGR) in order. Corners found on a key frame are tracked frame to frame
    (so each frame is compared with its key frame directly and small errors do not add up step by step); a
    new key frame is taken when half the tracks are lost or covered by the person, or after ``span`` frames.
    ``tracks[n]`` is (key frame index, its corners (N, 2), where they are in frame n (N, 2)), full-frame
    pixels; None on the first frame."""

    def __init__(self, width: int = 320, corners: int = 200, span: int = 30):
        self.width, self.corners, self.span = width, corners, span
        self.tracks: list[tuple[int, np.ndarray, np.ndarray] | None] = []
        self.scale = 1.0
        self.person: np.ndarray | None = None
        self._prev: np.ndarray | None = None
        self._key, self._found = 0, 0
        self._key_pts = self._pts = np.zeros((0, 1, 2), np.float32)

    def __call__(self, frame: np.ndarray) -> None:
        """Track into ``frame`` (BGR); new corners keep off :attr:`person` (a box x0, y0, x1, y1 in pixels, if
        known: the caller sets it as it finds the person, a few frames behind when this runs while decoding)."""
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        while grey.shape[1] > 1.5 * self.width:  # halve (filtered) down to about ``width``: cheaper than resizing
            grey = cv2.pyrDown(grey)
        self.scale = frame.shape[1] / grey.shape[1]
        size = [grey.shape[1], grey.shape[0]]
        n = len(self.tracks)
        if self._prev is None:
            self.tracks.append(None)
        else:
            if len(self._pts):
                pts, status, _ = cv2.calcOpticalFlowPyrLK(self._prev, grey, self._pts, None, winSize=(11, 11),
                                                          maxLevel=2, minEigThreshold=1e-3)  # none on flat sky, walls
                ok = status.ravel() == 1
                self._key_pts, self._pts = self._key_pts[ok], pts[ok]
            self.tracks.append((self._key, self._key_pts[:, 0] * self.scale, self._pts[:, 0] * self.scale))
        usable = len(self._pts) if self.person is None else _outside(self._pts[:, 0] * self.scale, self.person).sum()
        if self._prev is None or usable < self._found / 2 or n - self._key >= self.span:
            mask = None
            if (person := self.person) is not None:
                mask = np.full(grey.shape, 255, np.uint8)
                x0, y0, x1, y1 = np.clip(np.round(np.asarray(person) / self.scale), 0, size * 2).astype(int)
                mask[y0:y1, x0:x1] = 0
            found = cv2.goodFeaturesToTrack(grey, self.corners, 0.01, 8, mask=mask, blockSize=5)
            self._pts = found if found is not None else np.zeros((0, 1, 2), np.float32)
            self._key, self._key_pts, self._found = n, self._pts.copy(), len(self._pts)
        self._prev = grey


def person_box(pixels: np.ndarray, conf: np.ndarray) -> np.ndarray | None:
    """The person's keypoint box (x0, y0, x1, y1), widened by a tenth of the person's size for the body
    around the joints (hair, hands, clothes) and a little more below for the shadow; None when no joint is
    seen. (RANSAC takes care of the odd track still on the person.)"""
    seen = conf > 0
    if not seen.any():
        return None
    (x0, y0), (x1, y1) = pixels[seen].min(0), pixels[seen].max(0)
    pad = 0.1 * max(x1 - x0, y1 - y0)
    return np.array([x0 - pad, y0 - pad, x1 + pad, y1 + 1.5 * pad])


def _outside(points: np.ndarray, box: np.ndarray | None) -> np.ndarray:
    """(N,) True for the points (N, 2) outside ``box`` (all of them without one)."""
    if box is None:
        return np.ones(len(points), bool)
    return ~((points[:, 0] > box[0]) & (points[:, 0] < box[2]) & (points[:, 1] > box[1]) & (points[:, 1] < box[3]))


def _kabsch(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotations D with b ~ D a for unit rays a, b (..., N, 3)."""
    u, _, vt = np.linalg.svd(np.swapaxes(a, -1, -2) @ b)
    v, ut = np.swapaxes(vt, -1, -2), np.swapaxes(u, -1, -2)
    d = np.ones(u.shape[:-1])
    d[..., 2] = np.where(np.linalg.det(v @ ut) < 0, -1.0, 1.0)
    return v @ (d[..., None] * ut)


def _turn(a_px: np.ndarray, b_px: np.ndarray, f: float, centre: np.ndarray, tolerance: float, min_points: int,
          rng: np.random.Generator, hypotheses: int = 32) -> np.ndarray | None:
    """The rotation turning rays ``a_px`` into ``b_px`` (pixels): RANSAC over pairs of tracks (two rays fix a
    rotation), then the least-squares rotation of the inliers (``tolerance`` radians); None without enough."""
    if len(a_px) < min_points:
        return None
    rays = [np.column_stack([(p.astype(np.float64) - centre) / f, np.ones(len(p))]) for p in (a_px, b_px)]
    a, b = (r / np.linalg.norm(r, axis=1, keepdims=True) for r in rays)
    first = rng.integers(0, len(a), hypotheses)
    pick = np.stack([first, (first + rng.integers(1, len(a), hypotheses)) % len(a)], 1)  # two different tracks
    D = _kabsch(a[pick], b[pick])  # (H, 3, 3)
    err = np.linalg.norm(a @ np.swapaxes(D, 1, 2) - b, axis=-1)  # (H, N) radians
    inliers = err[np.argmax((err < tolerance).sum(1))] < tolerance
    if inliers.sum() < min_points:
        return None
    return _kabsch(a[inliers], b[inliers])


def camera_rotations(flow: BackgroundFlow, pixels: np.ndarray, conf: np.ndarray, f: float, centre: np.ndarray,
                     min_points: int = 12, tolerance_px: float = 0.6, seen: float = 0.8, still_deg: float = STILL_DEG
                     ) -> tuple[np.ndarray | None, bool]:
    """(T, 3, 3): each frame's camera axes from the reference view's (a point X in the reference camera's
    axes is ``R[t] @ X`` in frame t's), from the tracks of :class:`BackgroundFlow` off the person's 2D
    ``pixels``/``conf`` (T, J[, 2]); None for a camera that does not turn, or when fewer than ``seen`` of the
    frames show enough background (``min_points`` tracks agreeing within ``tolerance_px`` pixels of the
    tracking image): a plain floor and a long shadow that moves with the person are no ground to judge by.
    Second: whether the background could tell (False: too little background; see :func:`turn_from_feet`)."""
    T = len(pixels)
    rng = np.random.default_rng(0)
    tolerance = tolerance_px * flow.scale / f
    turned = [Rotation.identity()]  # frame t's axes from frame 0's (quaternions: no drift off a rotation)
    found = 0
    for t in range(1, T):
        D = None
        if t < len(flow.tracks) and flow.tracks[t] is not None:
            key, a, b = flow.tracks[t]
            keep = _outside(a, person_box(pixels[key], conf[key])) & _outside(b, person_box(pixels[t], conf[t]))
            D = _turn(a[keep], b[keep], f, centre, tolerance, min_points, rng)
        if D is None:  # no background seen: turning on as the frame before turned
            turned.append(turned[-1] * turned[-2].inv() * turned[-1] if t > 1 else turned[-1])
        else:
            found += 1
            turned.append(Rotation.from_matrix(D) * turned[key])
    if found < max(1, seen * (T - 1)):  # too little background to follow the camera by: a still camera
        return None, False
    turned = Rotation.concatenate(turned)
    views = turned * turned.mean().inv()  # against the clip's mean view
    if np.degrees(views.magnitude()).max() < still_deg:
        return None, True
    return views.as_matrix(), True


def turn_from_feet(ankles: np.ndarray, conf: np.ndarray, held: np.ndarray, up: np.ndarray, f: float,
                   centre: np.ndarray, fps: float, stances: int = 4, min_frames: int = 3, sigma_deg: float = 0.5,
                   accel_deg: float = 30.0, speed_deg: float = 60.0, sweep_deg: float = PAN_FROM_FEET_DEG
                   ) -> np.ndarray | None:
    """(T, 3, 3) a camera's pan about ``up`` (camera axes) read from the feet, as :func:`camera_rotations`
    gives turns, for footage whose background cannot show it: a held ankle stands still, so its bearing about
    ``up`` from the camera stays the same through each stance (of ``min_frames`` or more seen frames), and what
    changes it is the camera's pan. The pan angle of every frame is fitted to that (linear least squares, each
    bearing within ``sigma_deg``, the pan's angular acceleration and speed within ``accel_deg`` deg/s^2 and
    ``speed_deg`` deg/s, so it carries on smoothly between stances), against the clip's mean view. ``ankles``
    (T, 2, 2) pixels, ``conf``/``held`` (T, 2). None with fewer than ``stances`` stances or a sweep under
    ``sweep_deg``: a still camera (the feet's own errors read as small sweeps)."""
    T = len(ankles)
    up = np.asarray(up, float) / np.linalg.norm(up)
    e1, e2 = plane_basis(up)  # bearings about up are measured in the level plane (each stance's own offset is free)
    rays = np.concatenate([(ankles - centre) / f, np.ones(ankles.shape[:-1] + (1,))], -1)
    bearing = np.arctan2(rays @ e2, rays @ e1)  # (T, 2); turned by psi about up, every bearing grows by psi
    frames, feet = [], []
    for k in range(2):
        for a, b in runs(held[:, k] & (conf[:, k] > 0)):
            if b - a >= min_frames:
                frames.append(np.arange(a, b))
                feet.append(np.full(b - a, k))
    if len(frames) < stances or T < 3:
        return None
    # Unknowns: the pan of each frame, then each stance's bearing. bearing[t] = pan[t] + stance's.
    t = np.concatenate(frames)
    stance = np.concatenate([np.full(len(fr), i) for i, fr in enumerate(frames)])
    w = 1.0 / np.radians(sigma_deg)
    rows = np.arange(len(t))
    fit = sparse.csr_matrix((np.full(2 * len(t), w), (np.r_[rows, rows], np.r_[t, T + stance])), shape=(len(t), T + len(frames)))
    eye = sparse.eye(T, format="csr")
    acc = (eye[2:] - 2 * eye[1:-1] + eye[:-2]) * (fps**2 / np.radians(accel_deg))
    speed = (eye[1:] - eye[:-1]) * (fps / np.radians(speed_deg))
    mean = sparse.csr_matrix(np.full((1, T), 1e3 / T))  # the reference: the mean view
    A = sparse.vstack([fit, sparse.hstack([sparse.vstack([acc, speed, mean]), sparse.csr_matrix((2 * T - 2, len(frames)))])]).tocsc()
    b = np.r_[bearing[t, np.concatenate(feet)] * w, np.zeros(2 * T - 2)]
    pan = spsolve((A.T @ A).tocsc(), A.T @ b)[:T]
    if np.degrees(np.ptp(pan)) < sweep_deg:
        return None
    return Rotation.from_rotvec(np.outer(pan, up)).as_matrix()


def largest_turn(rotations: np.ndarray | None) -> float:
    """Degrees: the largest angle between any frame's view and the reference view (0 for a still camera)."""
    if rotations is None:
        return 0.0
    return float(np.degrees(Rotation.from_matrix(rotations).magnitude()).max())


def to_reference(x: np.ndarray, rotations: np.ndarray | None) -> np.ndarray:
    """Points ``x`` (T, ..., 3) in each frame's camera axes -> the reference view's axes."""
    if rotations is None:
        return x
    return np.einsum("t...j,tjk->t...k", x, rotations)


def from_reference(x: np.ndarray, rotations: np.ndarray | None) -> np.ndarray:
    """Points ``x`` (T, ..., 3) in the reference view's axes -> each frame's camera axes."""
    if rotations is None:
        return x
    return np.einsum("t...k,tjk->t...j", x, rotations)


def reference_pixels(pixels: np.ndarray, conf: np.ndarray, rotations: np.ndarray | None, f: float,
                     centre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints (T, J, 2) where the reference view would see them (confidence 0 behind it)."""
    if rotations is None:
        return pixels, conf
    rays = np.concatenate([(pixels - centre) / f, np.ones(pixels.shape[:-1] + (1,))], -1)
    rays = to_reference(rays, rotations)
    ahead = rays[..., 2] > 0.1
    z = np.where(ahead, rays[..., 2], 1.0)[..., None]
    return rays[..., :2] / z * f + centre, np.where(ahead, conf, 0.0)
