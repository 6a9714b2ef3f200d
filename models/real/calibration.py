"""Qualisys calibration files (``.qca.txt``, XML) as OpenCV-style cameras.

Read as Pose2Sim's own reader does: intrinsics are in sensor units (64 per pixel, measured from the
``fov_video`` corner); the ``transform``'s rows are the camera's axes in the world and x, y, z its centre
in millimetres, with the camera looking down its -z axis and y up, so the rotation is turned by pi about
the camera's x axis to get OpenCV axes (x right, y down, z forward). The world is Z up, in metres.
Distortion is OpenCV's (k1, k2, p1, p2, k3) on normalised coordinates.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

SENSOR_UNITS = 64.0  # Qualisys sensor units per pixel
FLIP_X = np.diag([1.0, -1.0, -1.0])  # a pi turn about the camera's x axis


@dataclass(frozen=True)
class Camera:
    name: str
    K: np.ndarray  # (3, 3) pixels
    dist: np.ndarray  # (5,) k1 k2 p1 p2 k3
    R: np.ndarray  # (3, 3) world -> camera (OpenCV axes)
    t: np.ndarray  # (3,) metres: x_cam = R x_world + t
    size: tuple[int, int]  # calibrated image width, height

    @property
    def centre(self) -> np.ndarray:
        """The camera centre in the world (m)."""
        return -self.R.T @ self.t

    @property
    def focal(self) -> float:
        return float(self.K[0, 0] + self.K[1, 1]) / 2

    def to_camera(self, x: np.ndarray) -> np.ndarray:
        """World points (..., 3) -> camera space (..., 3)."""
        return x @ self.R.T + self.t

    def project(self, x: np.ndarray) -> np.ndarray:
        """World points (..., 3) -> distorted pixels (..., 2)."""
        c = self.to_camera(x)
        n = c[..., :2] / np.maximum(c[..., 2:], 1e-6)
        return self.distort(n) @ self.K[:2, :2].T + self.K[:2, 2]

    def distort(self, n: np.ndarray) -> np.ndarray:
        """Normalised ideal coordinates (..., 2) -> normalised distorted ones (OpenCV's model)."""
        k1, k2, p1, p2, k3 = self.dist
        x, y = n[..., 0], n[..., 1]
        r2 = x * x + y * y
        radial = 1 + k1 * r2 + k2 * r2**2 + k3 * r2**3
        return np.stack([x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x),
                         y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y], -1)

    def normalise(self, px: np.ndarray) -> np.ndarray:
        """Distorted pixels (..., 2) -> ideal normalised coordinates (..., 2) (rays x/z, y/z)."""
        flat = np.ascontiguousarray(px.reshape(-1, 1, 2), np.float64)
        out = cv2.undistortPointsIter(flat, self.K, self.dist, None, None,
                                      (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 50, 1e-10))
        return out.reshape(px.shape)

    def rotated(self, omega: np.ndarray) -> "Camera":
        """This camera turned by the small rotation vector ``omega`` (rad, camera axes) about its centre."""
        turn = cv2.Rodrigues(np.asarray(omega, np.float64))[0]
        centre = self.centre
        R = turn @ self.R
        return replace(self, R=R, t=-R @ centre)


def read_qca(path: str | Path) -> list[Camera]:
    """The cameras of a Qualisys calibration file, in file order."""
    root = ET.parse(path).getroot()
    cams = []
    for tag in root.findall("cameras/camera"):
        fov, tr, it = tag.find("fov_video"), tag.find("transform"), tag.find("intrinsic")
        left, top = float(fov.get("left")), float(fov.get("top"))
        size = (int(float(fov.get("right")) - left + 1), int(float(fov.get("bottom")) - top + 1))
        f = lambda key: float(it.get(key))  # noqa: E731
        K = np.array([[f("focalLengthU") / SENSOR_UNITS, 0, f("centerPointU") / SENSOR_UNITS - left],
                      [0, f("focalLengthV") / SENSOR_UNITS, f("centerPointV") / SENSOR_UNITS - top], [0, 0, 1]])
        dist = np.array([f("radialDistortion1"), f("radialDistortion2"), f("tangentalDistortion1"),
                         f("tangentalDistortion2"), f("radialDistortion3")])
        axes = np.array([[float(tr.get(f"r{i}{j}")) for j in (1, 2, 3)] for i in (1, 2, 3)])
        centre = np.array([float(tr.get(k)) for k in "xyz"]) / 1000.0
        R = FLIP_X @ axes
        cams.append(Camera(tag.get("serial"), K, dist, R, -R @ centre, size))
    if not cams:
        raise ValueError(f"{path}: no cameras in this calibration file")
    return cams
