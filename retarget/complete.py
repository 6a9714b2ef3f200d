"""Complete missing limbs on existing mocap with MPM's 3D completion (numpy + onnxruntime, no bpy).

The canonical joints of the clip (Blender frame, metres) are turned into the model's camera-like axes
(y down), pelvis-relative; the chosen limbs are masked and filled from the rest of the body and the
neighbouring frames; the result comes back in the clip's own frame.
"""
from __future__ import annotations

import numpy as np

from ..inference.lifters import WindowLifter
from ..inference.weights import weight_path
from ..motion import FRAMES
from ..skeleton import load_skeleton

SK = load_skeleton("h36m17_ext")
LIMBS = {"l_arm": ("l_shoulder", "l_elbow", "l_wrist"), "r_arm": ("r_shoulder", "r_elbow", "r_wrist"),
         "l_leg": ("l_hip", "l_knee", "l_ankle"), "r_leg": ("r_hip", "r_knee", "r_ankle")}
#: Extra points that hang off each limb and are rebuilt with it (kept at their offset from the end joint).
ENDS = {"l_arm": ("l_wrist", ("l_handtip",)), "r_arm": ("r_wrist", ("r_handtip",)),
        "l_leg": ("l_ankle", ("l_toe", "l_heel")), "r_leg": ("r_ankle", ("r_toe", "r_heel"))}


def complete_limbs(joints: np.ndarray, limbs: list[str], device: str = "auto", lifter: WindowLifter | None = None) -> np.ndarray:
    """Rebuild ``limbs`` (keys of :data:`LIMBS`) of a clip of canonical joints (T, 23, 3; Blender frame)."""
    unknown = [n for n in limbs if n not in LIMBS]
    if unknown:
        raise ValueError(f"unknown limbs {unknown}; choose from {', '.join(LIMBS)}")
    lifter = lifter or WindowLifter(weight_path("mpm"), device)
    to_cam = FRAMES["opencv_camera"]  # camera -> Blender; row vectors: cam = world @ to_cam
    pelvis = joints[:, :1]
    cam = (joints[:, :17] - pelvis) @ to_cam
    known = np.ones(cam.shape[:2], bool)
    for limb in limbs:
        known[:, SK.indices(LIMBS[limb])] = False
    known &= np.isfinite(cam).all(-1)
    filled = lifter.complete(np.nan_to_num(cam), known)
    out = joints.copy()
    out[:, :17] = filled @ to_cam.T + pelvis
    for limb in limbs:  # the hand and foot points follow the rebuilt end joint
        end, extras = ENDS[limb]
        e = SK.index(end)
        for x in extras:
            k = SK.index(x)
            out[:, k] = joints[:, k] - joints[:, e] + out[:, e]
    return out
