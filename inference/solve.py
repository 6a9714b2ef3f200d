"""The clip-level solve: every joint of every frame in camera space, the floor and the camera's tilt,
fitted together to what the clip shows (as WHAM, GVHMR and SLAHMR place a body in a world).

Unknowns: the 17 joints of every frame (camera axes, metres; as the pelvis and the joints relative to it),
"up" (two angles about the first estimate) and the height of the ankles' plane under contact feet. Terms, each divided by how far it may be off:

- the 2D keypoints, by perspective projection, weighted by confidence (``sigma_px`` of the person's size);
- the lifter's 3D: each joint relative to the pelvis (``sigma_3d``);
- the clip's bone lengths (``sigma_bone``), so no bone stretches;
- knees that do not bend backwards: beyond ``knee`` (the sine of the bend between thigh and shin, about the hips'
  left-right axis) a backward bend is held within ``sigma_knee`` (the lifters read a bent knee seen from the front
  as bent either way, and sometimes pick the impossible one);
- smooth motion: joint accelerations (``accel`` m/s^2 for one sigma);
- foot contacts (probabilities from :class:`.contacts.ContactModel`): a contact ankle does not move
  (``sigma_still`` per frame, whatever the probability that holds it: a stance the network doubts would
  otherwise creep with the lifter's depth) and lies on the plane (weighted by the probability); no ankle
  goes more than ``margin`` under it; next to a contact's start or end (``release_frames``) an ankle's
  acceleration stays within ``release`` m/s^2, so a foot leaves and lands over a few frames instead of jolting
  from the held spot to the free one;
- the camera: roll near 0 (``sigma_roll``), pitch near where a camera at a typical height (``camera_height``)
  sees the first placement's feet (else a typical pitch, ``pitch``; within ``sigma_pitch``); up
  near the first (torso) estimate, within ``sigma_up`` along directions in which the contact feet cover more
  than ``spread`` m (RMS) over at least ``stances`` stances, else held there (``sigma_held``): only a floor
  walked over can say how it tilts, and contacts in one spot (or two landings of a cartwheel) would
  otherwise tilt it to fit the lifter's depth errors. Each stance's floor terms weigh as one observation.

A contact (:func:`.contacts.in_contact`: starting where the network's probability reaches 0.5, lasting while it
stays at 0.2) also lasts through frames where the ankle stands still in the picture and the network still gives
``still_hold``: a stance's fading end, the heel about to lift. And one starts where the network only doubts it
(``still_start``) but the ankle stands still in the picture and moves slower than ``contact_speed`` in the first
pass: a far or small body, whose stances the network reads at 0.05-0.4.

Robust, in two passes: the first solves without contacts (and without a floor to keep ankles above); a
contact is then kept only where that solution's ankle moves slower than ``contact_speed`` (so a wrong contact on
a swinging foot, a jump or a cartwheel is not forced to the floor), or stands still in the picture
(``still_2d``), or is unseen while the network is sure of it (``unseen_contact``: held, but an unseen ankle's
height, the lifter's guess, stays out of the floor's terms), and never on a frame where no joint is seen (a
person lost from the picture, whom the network reads nothing of); every other residual is reweighted as a Huber loss
would weigh it (``f_scale`` sigmas, against detector outliers), and the second pass solves with the contacts
(``least_squares``' own Huber loss converged several times slower on these problems). Solved with
``scipy.optimize.least_squares`` (trust region, sparse analytic Jacobian, lsmr steps) in overlapping chunks,
each chunk's camera held near the previous chunk's, so memory and time grow linearly with the clip.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import sparse
from scipy.optimize import least_squares

from ..skeleton import Skeleton, load_skeleton
from .camera import TYPICAL_HEIGHT, TYPICAL_PITCH, pitch_over_feet, plane_basis
from .camera_motion import reference_pixels
from .contacts import ANKLES, CONTACT, CONTACT_HOLD, in_contact
from ..filters import runs
from .lifters import window_starts
from .normalize import person_scale

J = 17
_BODY = load_skeleton("h36m17")
#: (hip, knee, ankle) of the left and right legs, and the hips.
LEGS = (_BODY.group("leg_l"), _BODY.group("leg_r"))
L_HIP, R_HIP = _BODY.index("l_hip"), _BODY.index("r_hip")


@dataclass
class SolveOptions:
    sigma_px: float = 0.05  # of the person's size in the picture
    sigma_3d: float = 0.06  # m, each joint relative to the pelvis
    sigma_bone: float = 0.005  # m
    knee: float = 0.2  # sine of how far a knee may bend backwards unpenalised (about 12 deg) ...
    sigma_knee: float = 0.1  # ... and one sigma beyond it (0: no knee limit)
    accel: float = 15.0  # m/s^2 for one sigma of joint acceleration
    sigma_still: float = 0.001  # m a frame, a contact ankle
    release: float = 1.0  # m/s^2: one sigma of an ankle's acceleration next to a contact's start or end (0: off) ...
    release_frames: int = 1  # ... within this many frames of it
    sigma_floor: float = 0.02  # m, a contact ankle off the plane
    margin: float = 0.03  # m an ankle may sink under the contact plane unpenalised
    sigma_roll: float = 0.09  # sin of about 5 deg
    pitch: float = TYPICAL_PITCH  # deg: where cameras usually look (slightly down) ...
    sigma_pitch: float = 0.12  # ... held there within this sin (about 7 deg; 0: no such prior)
    camera_height: float = TYPICAL_HEIGHT  # m: the pitch prior is where a camera this high sees the feet (0: ``pitch``)
    per_stance: bool = True  # each stance's floor terms weigh as one observation, not one per frame
    sigma_up: float = 0.26  # sin of about 15 deg
    sigma_held: float = 0.01  # about 0.5 deg
    # m RMS of the contact ankles along a direction before the floor may tilt along it (each stance's depth is off
    # by some 0.1-0.15 m, so a floor through stances 1.5 m apart still tilts by up to ~5 deg) ...
    spread: float = 1.5
    stances: int = 4  # ... and only with this many stances (contact runs of either foot) to go on
    f_scale: float = 3.0  # Huber threshold, in sigmas
    contact_speed: float = 1.0  # m/s: faster ankles (without contacts) are not held as contacts ...
    still_2d: float = 0.4  # ... unless still in the picture (person heights a second, the reference view; 0: off)
    still_hold: float = 0.1  # a contact lasts through frames still in the picture that the network gives this (0: off)
    still_start: float = 0.05  # a contact starts where the ankle is still in the picture and slow and the network gives this (0: off)
    unseen_contact: float = 0.8  # an unseen ankle this surely in contact is held (off the floor terms; 0: off)
    chunk: int = 240
    overlap: int = 40
    first_nfev: int = 15  # evaluations for the first pass (from the first placement) ...
    max_nfev: int = 8  # ... and for the second (from the first's solution)
    lsmr_iterations: int = 100  # per step: inexact steps, 2x faster than lsmr's default (benchmark figures alike)


@dataclass
class Solution:
    joints: np.ndarray  # (T, 17, 3) camera space, metres
    up: np.ndarray  # (T, 3) unit "up" in camera axes
    plane: np.ndarray  # (T,) the contact ankles' plane: up . X = plane
    contact: np.ndarray  # (T, 2) bool, left/right foot held in contact
    cost: float
    iterations: int


class _Problem:
    """One chunk: residuals and their sparse Jacobian for ``least_squares``."""

    def __init__(self, rel, lengths, parents, pixels, conf, f, c, contact, up0, fps, opts: SolveOptions, turn=None):
        self.T = len(rel)
        self.turn = turn  # (T, 3, 3) each frame's camera axes from the reference view's, or None (a still camera)
        self.n = self.T * J * 3
        self.rel, self.lengths, self.parents = rel, lengths, np.asarray(parents)
        self.pixels, self.f, self.c, self.o = pixels, f, c, opts
        size = _person_size(pixels, conf)
        self.w2d = np.sqrt(np.clip(conf, 0, 1)) / (opts.sigma_px * size)[:, None]  # (T, J)
        self.set_up(up0, plane_basis(up0), (opts.sigma_up, opts.sigma_up))
        self.sigma_acc = opts.accel / fps**2
        self.fps = fps
        self.set_contacts(contact)
        idx = np.arange(self.n).reshape(self.T, J, 3)
        self.idx = idx
        # Unknowns: each frame's pelvis and the other joints relative to it (X = M x). With x_scale="jac" the
        # weakly observed direction, the depth of the whole body, is then one scaled unknown per frame,
        # which lsmr handles several times faster than the same direction spread over 17 joints.
        rows = idx.ravel()
        pelvis = np.broadcast_to(idx[:, :1], idx.shape).ravel()
        rel_rows = idx[:, 1:].ravel()
        self.M = sparse.csr_matrix((np.ones(len(rows) + len(rel_rows)), (np.concatenate([rows, rel_rows]),
                                    np.concatenate([pelvis, rel_rows]))), shape=(self.n + 3, self.n + 3))
        self.M = self.M + sparse.diags(np.r_[np.zeros(self.n), np.ones(3)])
        # Fixed patterns (rows are numbered within each block).
        t, j = np.nonzero(self.w2d > 0)
        self.vis = (t, j)
        self.kids = np.arange(1, J)
        self.robust = 1.0  # per-residual multipliers (the Huber reweighting)

    def set_up(self, up0: np.ndarray, basis, sigmas) -> None:
        """Up is ``up0`` tilted by (a, b) along ``basis`` (two unit vectors at right angles to it), each held
        near 0 within its sigma."""
        self.up0, (self.e1, self.e2), self.sigma_tilt = up0, basis, np.asarray(sigmas, float)

    def free_tilt(self, x: np.ndarray) -> np.ndarray:
        """Up at ``x`` as the new reference, tilting freely only along the directions the contact ankles
        cover by more than ``spread`` (returns ``x`` with the tilt reset to 0)."""
        n = self.up(x[self.n : self.n + 2])[0]
        pts = self.split(x)[0][:, list(ANKLES)][self.on_floor]
        e1, e2 = plane_basis(n)
        sig = [self.o.sigma_held, self.o.sigma_held]
        if len(pts) >= 3 and sum(len(runs(self.on_floor[:, k])) for k in range(2)) >= self.o.stances:
            flat = pts - np.outer(pts @ n, n)
            flat -= flat.mean(0)
            _, sv, vt = np.linalg.svd(flat, full_matrices=False)
            e1 = vt[0] - (vt[0] @ n) * n
            e1 /= np.linalg.norm(e1)
            e2 = np.cross(n, e1)
            rms = sv / np.sqrt(len(pts))
            sig = [self.o.sigma_up if rms[0] > self.o.spread else self.o.sigma_held,
                   self.o.sigma_up if rms[1] > self.o.spread else self.o.sigma_held]
        self.set_up(n, (e1, e2), sig)
        x = x.copy()
        x[self.n : self.n + 2] = 0.0
        return x

    def set_contacts(self, contact: np.ndarray, floor: np.ndarray | None = None) -> None:
        """Contact probabilities (T, 2); a foot is held where :func:`.contacts.in_contact` says so, and lies on
        the floor (and tilts it) only where ``floor`` (T, 2) allows: an unseen ankle's height is the lifter's guess."""
        on = in_contact(contact)
        self.contact = on
        self.on_floor = on if floor is None else on & floor
        self.w_floor = np.where(self.on_floor, np.sqrt(contact), 0.0)  # (T, 2)
        if self.o.per_stance:
            for k in range(2):
                for a, b in runs(self.on_floor[:, k]):
                    self.w_floor[a:b, k] /= np.sqrt(b - a)
        self.w_still = (on[1:] & on[:-1]).astype(float)  # (T-1, 2): a held foot is held, however sure the network was
        # Frames (T, 2) within release_frames of a contact's start or end: the foot leaves and lands smoothly there.
        near, r = np.zeros(on.shape), self.o.release_frames
        for t, k in zip(*np.nonzero(on[1:] != on[:-1])):  # a change between frames t and t + 1
            near[max(t + 1 - r, 0) : t + 2 + r, k] = 1.0
        self.w_release = near

    def up(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raw = self.up0 + p[0] * self.e1 + p[1] * self.e2
        norm = np.linalg.norm(raw)
        n = raw / norm
        return n, (self.e1 - n * (n @ self.e1)) / norm, (self.e2 - n * (n @ self.e2)) / norm

    def params(self, X: np.ndarray, tilt=(0.0, 0.0), plane: float = 0.0) -> np.ndarray:
        """The unknowns for joints ``X`` (T, 17, 3), the tilt and the plane."""
        q = np.asarray(X, float).copy()
        q[:, 1:] -= q[:, :1]
        return np.concatenate([q.ravel(), tilt, [plane]])

    def split(self, x: np.ndarray):
        """Joints (T, 17, 3), tilt (2,) and plane from the unknowns."""
        X = x[: self.n].reshape(self.T, J, 3).copy()
        X[:, 1:] += X[:, :1]
        return X, x[self.n : self.n + 2], x[self.n + 2]

    def residuals(self, x: np.ndarray) -> np.ndarray:
        return self._build(x, jac=False)

    def jacobian(self, x: np.ndarray) -> sparse.csr_matrix:
        return self._build(x, jac=True)

    def _build(self, x: np.ndarray, jac: bool):
        X, p, d = self.split(x)
        o, T = self.o, self.T
        n, dn_a, dn_b = self.up(p)
        res, rows, cols, vals = [], [], [], []
        row = 0
        self.blocks = {}

        def add(r, entries, name=""):
            nonlocal row
            r = np.ravel(r)
            res.append(r)
            self.blocks[name] = slice(row, row + len(r))
            if jac:
                for rr, cc, vv in entries:
                    rr, cc, vv = np.broadcast_arrays(rr, cc, vv)
                    rows.append(rr.ravel() + row)
                    cols.append(cc.ravel())
                    vals.append(vv.ravel())
            row += len(r)

        # 2D reprojection (through each frame's turn of the camera, if it turns).
        t, j = self.vis
        P = X[t, j]
        k = np.arange(len(t)) * 2
        ix = self.idx[t, j]
        w = self.w2d[t, j]
        if self.turn is not None:
            Rt = self.turn[t]  # (n, 3, 3)
            P = np.einsum("nij,nj->ni", Rt, P)
        z = np.maximum(P[:, 2], 0.05)
        r = np.stack([self.f * P[:, 0] / z + self.c[0] - self.pixels[t, j, 0],
                      self.f * P[:, 1] / z + self.c[1] - self.pixels[t, j, 1]], 1) * w[:, None]
        if self.turn is None:
            add(r, [(k, ix[:, 0], w * self.f / z), (k, ix[:, 2], -w * self.f * P[:, 0] / z**2),
                    (k + 1, ix[:, 1], w * self.f / z), (k + 1, ix[:, 2], -w * self.f * P[:, 1] / z**2)], "2d")
        else:
            a = (w * self.f / z)[:, None]
            add(r, [(k[:, None], ix, a * (Rt[:, 0] - (P[:, 0] / z)[:, None] * Rt[:, 2])),
                    (k[:, None] + 1, ix, a * (Rt[:, 1] - (P[:, 1] / z)[:, None] * Rt[:, 2]))], "2d")
        # The lifter's shape, pelvis-relative.
        s = 1.0 / o.sigma_3d
        r = (X[:, 1:] - X[:, :1] - self.rel[:, 1:]) * s
        k = np.arange(r.size).reshape(r.shape)
        add(r, [(k, self.idx[:, 1:], s), (k, np.broadcast_to(self.idx[:, :1], r.shape), -s)])
        # Bone lengths.
        s = 1.0 / o.sigma_bone
        D = X[:, self.kids] - X[:, self.parents[self.kids]]
        L = np.maximum(np.linalg.norm(D, axis=-1), 1e-6)
        r = (L - self.lengths[self.kids]) * s
        k = np.arange(r.size).reshape(r.shape)[..., None]
        g = D / L[..., None] * s
        add(r, [(k, self.idx[:, self.kids], g), (k, self.idx[:, self.parents[self.kids]], -g)])
        if o.sigma_knee > 0:
            add(*self._knees(X), "knees")
        # Smooth accelerations.
        if T > 2:
            s = 1.0 / self.sigma_acc
            r = (X[2:] - 2 * X[1:-1] + X[:-2]) * s
            k = np.arange(r.size).reshape(r.shape)
            add(r, [(k, self.idx[2:], s), (k, self.idx[1:-1], -2 * s), (k, self.idx[:-2], s)])
        # Contacts: still, on the plane; nothing under it.
        ankles = X[:, list(ANKLES)]  # (T, 2, 3)
        aix = self.idx[:, list(ANKLES)]
        if T > 1:
            s = self.w_still[..., None] / o.sigma_still
            r = (ankles[1:] - ankles[:-1]) * s
            k = np.arange(r.size).reshape(r.shape)
            add(r, [(k, aix[1:], s), (k, aix[:-1], -s)], "still")
        if T > 2 and o.release > 0:
            s = self.w_release[1:-1, :, None] / (o.release / self.fps**2)
            r = (ankles[2:] - 2 * ankles[1:-1] + ankles[:-2]) * s
            k = np.arange(r.size).reshape(r.shape)
            add(r, [(k, aix[2:], s), (k, aix[1:-1], -2 * s), (k, aix[:-2], s)], "release")
        h = ankles @ n - d  # (T, 2) the ankles' heights over the plane
        k = np.arange(h.size).reshape(h.shape)

        def heights(s):  # d(h * s): the ankles, the tilt and the plane
            return [(k[..., None], aix, s[..., None] * n), (k, self.n, s * (ankles @ dn_a)),
                    (k, self.n + 1, s * (ankles @ dn_b)), (k, self.n + 2, -s)]

        s = self.w_floor / o.sigma_floor
        add(h * s, heights(s), "floor")
        below = np.minimum(h + o.margin, 0.0) if self.contact.any() else np.zeros_like(h)  # no floor yet: no "under"
        s = (below < 0) / o.sigma_floor
        add(below * s, heights(s))
        # The camera: little roll, up near the prior.
        s = 1.0 / o.sigma_roll
        add([n[0] * s], [(0, self.n, dn_a[0] * s), (0, self.n + 1, dn_b[0] * s)])
        s = 1.0 / self.sigma_tilt
        add(p * s, [(0, self.n, s[0]), (1, self.n + 1, s[1])])
        if o.sigma_pitch > 0:
            s = 1.0 / o.sigma_pitch
            add([(n[2] - np.sin(np.radians(o.pitch))) * s], [(0, self.n, dn_a[2] * s), (0, self.n + 1, dn_b[2] * s)])
        if not jac:
            return np.concatenate(res) * self.robust
        m = sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(row, self.n + 3)) @ self.M
        return m if np.isscalar(self.robust) else sparse.diags(self.robust) @ m

    def reweight(self, x: np.ndarray, k: float) -> None:
        """Huber weights from the residuals at ``x``: 1 within ``k`` sigmas, k/|r| beyond (the contact
        terms keep full weight: they were gated instead)."""
        self.robust = 1.0
        r = np.abs(self.residuals(x))
        self.robust = np.sqrt(np.minimum(1.0, k / np.maximum(r, 1e-12)))
        for name in ("still", "floor", "knees"):
            self.robust[self.blocks.get(name, slice(0))] = 1.0

    def _knees(self, X: np.ndarray):
        """Residuals (T, 2) and Jacobian entries of the knee limit: s = (thigh x shin) . left / (|thigh| |shin|)
        is the sine of the knee's bend, positive forward; below -``knee`` it costs (-s - knee) / ``sigma_knee``."""
        o = self.o
        u = X[:, L_HIP] - X[:, R_HIP]
        nu = np.maximum(np.linalg.norm(u, axis=-1, keepdims=True), 1e-6)
        left = u / nu
        res, entries = [], []
        k = np.arange(2 * self.T).reshape(self.T, 2)
        for leg, (h, kn, an) in enumerate(LEGS):
            a, b = X[:, kn] - X[:, h], X[:, an] - X[:, kn]
            na = np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-6)
            nb = np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-6)
            c = np.cross(a, b)
            s = (c * left).sum(-1, keepdims=True) / (na * nb)
            on = (s[:, 0] < -o.knee) / o.sigma_knee  # active rows; d(residual) = -ds / sigma
            res.append(np.where(on > 0, (-s[:, 0] - o.knee) * on, 0.0))
            da = np.cross(b, left) / (na * nb) - s * a / na**2
            db = np.cross(left, a) / (na * nb) - s * b / nb**2
            du = (c - (c * left).sum(-1, keepdims=True) * left) / (nu * na * nb)
            g = -on[:, None]
            row = k[:, leg, None]
            for joint, d in ((kn, da - db), (h, -da), (an, db), (L_HIP, du), (R_HIP, -du)):
                entries.append((row, self.idx[:, joint], g * d))
        return np.stack(res, 1), entries

    def ankle_speed(self, x: np.ndarray) -> np.ndarray:
        """(T, 2) speed of the ankles (m/s) at ``x``."""
        a = self.split(x)[0][:, list(ANKLES)]
        if len(a) < 2:
            return np.zeros(a.shape[:2])
        return np.linalg.norm(np.gradient(a, axis=0), axis=-1) * self.fps


def _person_size(pixels: np.ndarray, conf: np.ndarray) -> np.ndarray:
    """(T,) the person's size in pixels (the longer side of the seen keypoints' box), filled over unseen frames."""
    size = person_scale(pixels, conf)
    ok = np.isfinite(size) & (size > 4)
    if not ok.any():
        return np.full(len(pixels), 100.0)
    return np.interp(np.arange(len(size)), np.flatnonzero(ok), size[ok])


def solve(rel: np.ndarray, root: np.ndarray, lengths: np.ndarray, skeleton: Skeleton, pixels: np.ndarray,
          conf: np.ndarray, f: float, centre: np.ndarray, fps: float, contact: np.ndarray | None, up: np.ndarray,
          opts: SolveOptions | None = None, turn: np.ndarray | None = None, earlier: np.ndarray | None = None) -> Solution:
    """Solve a clip: ``rel`` (T, 17, 3) the lifter's pelvis-relative 3D (camera axes), ``root`` (T, 3) a first
    pelvis placement, ``lengths`` (17,) the clip's bones, ``pixels``/``conf`` (T, 17[, 2]) the 2D keypoints
    (confidence 0: unseen), ``contact`` (T, 2) left/right contact probabilities (None: no contacts), ``up``
    a first unit "up" in camera axes. With ``turn`` (T, 3, 3), a camera that turns (see
    :mod:`.camera_motion`): the 3D inputs, the solution and up are in the reference view's axes and frame t
    sees ``turn[t] @ X``. ``earlier`` (T, 17, 3), an earlier solution in the same axes (a clip solved again turning
    with a new pan), replaces the first pass: the solve starts there, not at ``root`` (then unused), and its ankles
    gate the contacts (``up`` stays the caller's prior). See the module docstring."""
    opts = opts or SolveOptions()
    T = len(rel)
    contact = np.zeros((T, 2)) if contact is None else np.asarray(contact, float)
    x0 = (rel + root[:, None] if earlier is None else earlier).astype(np.float64)
    conf = np.where(np.isfinite(pixels).all(-1), conf, 0.0)
    pixels = np.nan_to_num(pixels)
    out = np.zeros((T, J, 3))
    weight = np.zeros(T)
    ups, planes, held = np.zeros((T, 3)), np.zeros(T), np.zeros((T, 2))
    up_prior = np.asarray(up, float) / np.linalg.norm(up)
    plane0 = _first_plane(x0, contact, up_prior)
    if opts.camera_height > 0 and opts.sigma_pitch > 0:  # the pitch prior: where a camera that high sees the feet
        over = pitch_over_feet(x0[:, list(ANKLES)], conf[:, list(ANKLES)] > 0, up_prior, opts.camera_height)
        if over is not None:
            opts = replace(opts, pitch=over)
    still = _still_in_picture(pixels, conf, f, centre, fps, turn) < opts.still_2d  # (T, 2) ankles
    if opts.still_hold > 0:  # a stance's fading end, the ankle still where it stood in the picture: held on
        contact = np.where(still & (contact >= opts.still_hold), np.maximum(contact, CONTACT_HOLD), contact)
    hidden = conf[:, list(ANKLES)] <= 0  # (T, 2) unseen ankles: held only when sure, and off the floor terms
    unseen = hidden & (contact >= opts.unseen_contact) & (opts.unseen_contact > 0)
    found = (conf > 0).any(axis=1, keepdims=True)  # (T, 1) frames with the body seen: no contacts where it is lost
    cost, nfev = 0.0, 0
    for s in window_starts(T, opts.chunk, max(opts.chunk - opts.overlap, 1)):
        e = min(s + opts.chunk, T)
        sl = slice(s, e)
        prob = _Problem(rel[sl].astype(np.float64), lengths, skeleton.parents, pixels[sl], conf[sl], f, centre,
                        contact[sl], up_prior, fps, opts, None if turn is None else turn[sl])
        start = x0[sl].copy()
        if s > 0:  # start from where the previous chunk ended
            have = weight[sl] > 0
            start[have] = out[sl][have] / weight[sl][have, None, None]
        x = prob.params(start, (0.0, 0.0), plane0)
        for second in (False, True) if earlier is None else (True,):
            if second:  # contacts where the free ankle is slow, still in 2D, or unseen and sure; Huber weights elsewhere
                slow = prob.ankle_speed(x) < opts.contact_speed
                given = contact[sl]
                if opts.still_start > 0:  # a stance the network doubts, still in the picture and slow in 3D
                    given = np.where(still[sl] & slow & (given >= opts.still_start), np.maximum(given, CONTACT), given)
                gated = np.where(found[sl] & (slow | still[sl] | unseen[sl]), given, 0.0)
                prob.set_contacts(gated, floor=~hidden[sl])
                x = prob.free_tilt(x)
                prob.reweight(x, opts.f_scale)
            else:
                prob.set_contacts(np.zeros((e - s, 2)))
            r = least_squares(prob.residuals, x, jac=prob.jacobian, method="trf", tr_solver="lsmr", x_scale="jac",
                              max_nfev=opts.max_nfev if second else opts.first_nfev, ftol=1e-5, xtol=1e-7,
                              tr_options={"maxiter": opts.lsmr_iterations})
            x = r.x
            nfev += int(r.nfev)
        X, p, d = prob.split(r.x)
        n = prob.up(p)[0]
        taper = np.ones(e - s)
        if s > 0:
            ramp = min(opts.overlap, e - s)
            taper[:ramp] = np.linspace(0.0, 1.0, ramp + 2)[1:-1]
        if e < T:
            ramp = min(opts.overlap, e - s)
            taper[-ramp:] = np.minimum(taper[-ramp:], np.linspace(1.0, 0.0, ramp + 2)[1:-1])
        out[sl] += X * taper[:, None, None]
        held[sl] += prob.contact * taper[:, None]
        ups[sl] += n * taper[:, None]
        planes[sl] += d * taper
        weight[sl] += taper
        cost += float(r.cost)
        up_prior, plane0 = n, d  # the next chunk's camera starts here and is held near it
    out /= weight[:, None, None]
    ups /= np.linalg.norm(ups, axis=1, keepdims=True)
    planes /= weight
    held /= weight[:, None]
    return Solution(out.astype(np.float32), ups, planes, held > 0.5, cost, nfev)


def _still_in_picture(pixels: np.ndarray, conf: np.ndarray, f: float, centre: np.ndarray, fps: float,
                      turn: np.ndarray | None, span: float = 0.1) -> np.ndarray:
    """(T, 2) speed of each ankle in the picture (the reference view's, so a turning camera does not move it), in
    person heights a second, over +-``span`` seconds (a 2-px detector jitter reads as 0.04 heights a second so,
    as 0.2 frame to frame at 50 fps); inf where unseen. The depth of a crouching body drifts in the free solve
    while its planted feet stay put in the picture."""
    px, seen = reference_pixels(pixels[:, list(ANKLES)], conf[:, list(ANKLES)], turn, f, centre)
    T = len(px)
    k = max(1, round(span * fps))
    ahead, behind = np.minimum(np.arange(T) + k, T - 1), np.maximum(np.arange(T) - k, 0)
    steps = np.maximum(ahead - behind, 1)[:, None]
    speed = np.linalg.norm(px[ahead] - px[behind], axis=-1) / steps * fps / _person_size(pixels, conf)[:, None]
    ok = (seen[ahead] > 0) & (seen[behind] > 0) & (seen > 0) & (T > 1)
    return np.where(ok, speed, np.inf)


def _first_plane(x: np.ndarray, contact: np.ndarray, up: np.ndarray) -> float:
    """Height (along ``up``) of the ankles' plane: the median contact ankle, else the lower ankles' 20th percentile."""
    h = x[:, list(ANKLES)] @ up  # (T, 2)
    on = in_contact(contact)
    if on.sum() >= 3:
        return float(np.median(h[on]))
    return float(np.percentile(h.min(1), 20))
