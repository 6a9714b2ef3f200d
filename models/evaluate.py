"""Score an ONNX lifter on any npz in the shared data layout, through fixed virtual cameras.

Each clip is seen by ``cameras`` static random cameras (one row per clip and camera) and detector-like 2D
(the training data's noise model: per-joint offsets, drifting noise, sticky outliers, dropped joints; or
exact projections with ``clean_2d``), all from a fixed seed, then lifted exactly as the capture path does
(``inference.lifters``). Metrics, in mm:
P1 MPJPE (pelvis-relative), P2 PA-MPJPE (per-frame Procrustes), N-MPJPE (scale only), PCK@150 mm
and AUC (0-150 mm), MPJVE (velocity error, per frame) and acceleration error (jitter); for MPM also
3D completion of one whole hidden limb (error on that limb) and lifting with both legs hidden in 2D. A fusion
network is scored with the single-frame and MPM lifters beside it (or the shipped ones).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..inference import runtime
from ..inference.lifters import FrameLifter, FusedLifter, WindowLifter
from ..inference.weights import WEIGHTS_DIR, weight_path
from ..inference.normalize import normalize_keypoints
from ..rotations import axis_angle
from . import data as D

LEGS = D.LIMBS["r_leg"] + D.LIMBS["l_leg"]
THRESHOLDS = np.arange(0, 151, 5)


def procrustes(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Align each pose of ``pred`` (N, J, 3) to ``gt`` by rotation, scale and translation."""
    mp, mg = pred.mean(1, keepdims=True), gt.mean(1, keepdims=True)
    p, g = pred - mp, gt - mg
    u, s, vt = np.linalg.svd(np.einsum("nji,njk->nik", p, g))
    d = np.sign(np.linalg.det(np.einsum("nij,njk->nik", u, vt)))
    s[:, -1] *= d
    u[:, :, -1] *= d[:, None]
    rot = np.einsum("nij,njk->nik", u, vt)
    scale = s.sum(1) / (p**2).sum((1, 2))
    return scale[:, None, None] * np.einsum("nji,nik->njk", p, rot) + mg


def pose_errors(pred: np.ndarray, gt: np.ndarray) -> dict[str, np.ndarray]:
    """Per-joint errors (N, J) in mm for the three protocols."""
    scale = (pred * gt).sum((1, 2)) / np.maximum((pred * pred).sum((1, 2)), 1e-9)
    return {
        "mpjpe": np.linalg.norm(pred - gt, axis=-1) * 1000,
        "pa_mpjpe": np.linalg.norm(procrustes(pred, gt) - gt, axis=-1) * 1000,
        "n_mpjpe": np.linalg.norm(scale[:, None, None] * pred - gt, axis=-1) * 1000,
    }


def summarise(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """Metrics of one sequence (T, J, 3)."""
    err = pose_errors(pred, gt)
    pck = np.array([(err["mpjpe"] < t).mean() for t in THRESHOLDS])
    vel = np.linalg.norm(np.diff(pred, axis=0) - np.diff(gt, axis=0), axis=-1) * 1000
    acc = np.linalg.norm(np.diff(pred, 2, axis=0) - np.diff(gt, 2, axis=0), axis=-1) * 1000
    return {
        "mpjpe": float(err["mpjpe"].mean()), "pa_mpjpe": float(err["pa_mpjpe"].mean()),
        "n_mpjpe": float(err["n_mpjpe"].mean()), "pck150": float(pck[-1] * 100), "auc": float(pck.mean() * 100),
        "mpjve": float(vel.mean()) if len(vel) else float("nan"), "accel": float(acc.mean()) if len(acc) else float("nan"),
    }


def fixed_view(joints: np.ndarray, rng: np.random.Generator, clean_2d: bool = False
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One static camera on a clip (T, J, 3, Y up): detector-like (or exact) pixels, confidences, 3D truth."""
    world = joints[None]
    cams = D.random_cameras(np.median(joints[:, 0], axis=0)[None], rng)
    cam = D.to_camera(world, cams)
    if clean_2d:
        pixels, conf = D.project(cam, cams), np.ones(cam.shape[:-1], np.float32)
    else:
        pixels, conf = D.detector_2d(world, cams, rng)
    return pixels[0], conf[0], (cam - cam[..., :1, :])[0]


def short_names(names: list[str], width: int = 40) -> list[str]:
    """Names that fit ``width`` and still tell clips apart: folders all names share and an extension they
    all have are dropped, then a long name keeps its distinguishing tail."""
    if len(names) > 1:
        start = os.path.commonprefix(names).rfind("/") + 1  # whole path components only
        ext = os.path.commonprefix([n[::-1] for n in names])[::-1]
        end = len(ext) - ext.find(".") if "." in ext else 0
        names = [n[start:len(n) - end] or n for n in names]
    return [n if len(n) <= width else "..." + n[-(width - 3):] for n in names]


class CentreWindow:
    """Runs a temporal-convolution baseline with one 27-frame window centred on every frame."""

    def __init__(self, path: str | Path, window: int = 27, batch: int = 512):
        self.session, self.window, self.batch = runtime.session(path, "cpu"), window, batch

    def lift(self, pixels: np.ndarray, conf: np.ndarray) -> np.ndarray:
        h = self.window // 2
        idx = np.clip(np.arange(len(pixels))[:, None] + np.arange(-h, h + 1), 0, len(pixels) - 1)
        kp = normalize_keypoints(pixels[idx], conf[idx])
        return np.concatenate([self.session.run(None, {"keypoints": kp[i : i + self.batch]})[0][:, 0]
                               for i in range(0, len(kp), self.batch)])


def load_lifter(path: str | Path, flip: bool = True):
    """(kind, lifter) for an ONNX lifter, run as the capture runs it (``flip``: with the mirror average)."""
    kind = runtime.metadata(runtime.session(path, "cpu")).get("kind", "single")
    if kind == "fusion":  # with the lifters it fuses: those of its own weights folder, else the shipped ones
        folder = Path(path).parent if (Path(path).parent / "manifest.json").is_file() else WEIGHTS_DIR
        return kind, FusedLifter(path, weight_path("single", folder), weight_path("mpm", folder), "cpu", flip=flip)
    if kind == "mpm":
        return kind, WindowLifter(path, "cpu", flip=flip)
    if kind == "tcn":
        return kind, CentreWindow(path)
    return kind, FrameLifter(path, "cpu", flip=flip)


def _mean(rows: list[dict], key: str, weights: list[int]) -> float:
    vals = np.array([r[key] for r in rows], float)
    ok = np.isfinite(vals)
    return float(np.average(vals[ok], weights=np.array(weights)[ok])) if ok.any() else float("nan")


def evaluate(onnx_path: str | Path, data: str, split: str = "test", tiers=D.DEFAULT_TIERS, seed: int = 2024,
             json_out: str | None = None, cameras: int = 1, clean_2d: bool = False, flip: bool = True,
             lean: float = 0.0, leg_factors: tuple[float, float] = (1.0, 1.0)) -> dict:
    """Metrics of one ONNX lifter on the clips of ``split``, each seen by ``cameras`` random cameras (``flip``:
    lifted with the mirror average, as the capture lifts; ``lean``: every clip's upper body first turned by that
    many degrees about the world's X axis through the pelvis, a body bent over or leaning back; ``leg_factors``: every
    clip's thighs and shins first scaled by these factors, proportions the mocap lacks)."""
    kind, lifter = load_lifter(onnx_path, flip)
    clips = D.load_clips(data, split, tiers)
    if len(clips) == 0:
        raise ValueError(f"{data}: no clips in split {split!r} for tiers {tiers}")
    rows, legs, limbs = [], [], []
    turn = axis_angle(np.array([1.0, 0.0, 0.0]), np.radians(lean))
    factors = np.ones(D.J, np.float32)
    thighs, shins = D.SKELETON.indices(["r_knee", "l_knee"]), D.SKELETON.indices(["r_ankle", "l_ankle"])  # bones end there
    factors[thighs], factors[shins] = leg_factors
    for i, (joints, name) in enumerate(zip(clips.joints, clips.names)):
        joints = D.lean_upper(joints, turn) if lean else joints
        joints = D.scale_bones(joints, factors) if tuple(leg_factors) != (1.0, 1.0) else joints
        for v in range(cameras):
            rng = np.random.default_rng([seed, i] if v == 0 else [seed, i, v])  # camera 0 = the one-camera result
            pixels, conf, gt = fixed_view(joints, rng, clean_2d)
            pred = lifter.lift(pixels, conf)
            rows.append({"clip": name if cameras == 1 else f"{name} cam{v}", "subject": clips.subjects[i],
                         "frames": len(gt), **summarise(pred, gt)})
            hidden = conf.copy()
            hidden[:, list(LEGS)] = 0
            legs.append(pose_errors(lifter.lift(pixels, hidden)[:, LEGS], gt[:, LEGS])["mpjpe"].mean())
            if kind in ("mpm", "fusion"):
                for limb in ("l_arm", "r_arm", "l_leg", "r_leg"):
                    known = np.ones(gt.shape[:2], bool)
                    known[:, list(D.LIMBS[limb])] = False
                    done = lifter.complete(gt, known)
                    limbs.append(pose_errors(done, gt)["mpjpe"][:, list(D.LIMBS[limb])].mean())
    frames = [r["frames"] for r in rows]
    overall = {k: _mean(rows, k, frames) for k in ("mpjpe", "pa_mpjpe", "n_mpjpe", "pck150", "auc", "mpjve", "accel")}
    overall["legs_hidden_2d_mpjpe"] = float(np.average(legs, weights=frames))
    if limbs:
        overall["limb_completion_3d_mpjpe"] = float(np.average(np.reshape(limbs, (-1, 4)).mean(1), weights=frames))
    result = {"model": str(onnx_path), "kind": kind, "data": str(data), "split": split, "tiers": tiers, "seed": seed,
              "cameras": cameras, "clean_2d": clean_2d, "flip": flip, "lean": lean, "leg_factors": list(leg_factors), "clips": len(clips), "frames": int(sum(frames)), "overall": overall, "per_clip": rows}
    if json_out:
        Path(json_out).write_text(json.dumps(result, indent=2))
    return result


def print_table(result: dict) -> None:
    o = result["overall"]
    cams = result.get("cameras", 1)
    print(f"{result['model']} ({result['kind']}) on {result['data']} [{result['split']}]: "
          f"{result['clips']} clips x {cams} camera{'s' * (cams > 1)}, {result['frames']} frames, camera seed "
          f"{result['seed']}, {'exact' if result.get('clean_2d') else 'detector-like'} 2D{', mirror-averaged' if result.get('flip') else ''}"
          + (f", upper body leant {result['lean']:g} deg" if result.get("lean") else ""))
    print(f"{'clip':40s} {'frames':>6s} {'P1':>6s} {'P2':>6s} {'N':>6s} {'PCK':>6s} {'AUC':>6s} {'MPJVE':>6s} {'accel':>6s}")
    names = short_names([r["clip"] for r in result["per_clip"]]) + ["ALL (frame-weighted)"]
    for name, r in zip(names, result["per_clip"] + [{"frames": result["frames"], **o}]):
        print(f"{name:40s} {r['frames']:6d} {r['mpjpe']:6.1f} {r['pa_mpjpe']:6.1f} {r['n_mpjpe']:6.1f} "
              f"{r['pck150']:6.1f} {r['auc']:6.1f} {r['mpjve']:6.2f} {r['accel']:6.2f}")
    print(f"lifting with both legs hidden in 2D: {o['legs_hidden_2d_mpjpe']:.1f} mm on the legs")
    if "limb_completion_3d_mpjpe" in o:
        print(f"3D completion, one whole limb hidden: {o['limb_completion_3d_mpjpe']:.1f} mm on that limb")
