"""The real-footage benchmark: Qualisys calibration, triangulation, left/right swaps, a tiny end-to-end run."""
import cv2
import numpy as np
import pytest

from video_mocap.models.real.calibration import FLIP_X, SENSOR_UNITS, Camera, read_qca
from video_mocap.models.real.triangulate import bone_cv, reprojection_px, triangulate, undo_swaps


def _look_at(centre, target):
    z = target - centre
    z /= np.linalg.norm(z)
    x = np.cross(z, [0, 0, 1.0])
    x /= np.linalg.norm(x)
    R = np.stack([x, np.cross(z, x), z])
    return Camera("c", np.array([[1600.0, 0, 540], [0, 1600, 960], [0, 0, 1]]), np.array([-0.05, 0.14, 0.001, 0.0007, 0.0]),
                  R, -R @ centre, (1088, 1920))


def _ring(n=4):
    target = np.array([0.0, 0.0, 1.0])
    return [_look_at(np.array([3.5 * np.cos(a), 3.5 * np.sin(a), 1.8 + 0.2 * i]), target)
            for i, a in enumerate(np.linspace(0, 2 * np.pi, n, endpoint=False) + 0.3)]


def _write_qca(path, cams):
    rows = []
    for c in cams:
        axes = FLIP_X @ c.R  # back to Qualisys: camera axes in the world, looking down -z
        tr = " ".join(f'r{i + 1}{j + 1}="{axes[i, j]!r}"' for i in range(3) for j in range(3))
        x, y, z = c.centre * 1000
        k1, k2, p1, p2, k3 = c.dist
        rows.append(f'<camera serial="{c.name}"><fov_video left="0" top="0" right="{c.size[0] - 1}" bottom="{c.size[1] - 1}"/>'
                    f'<transform {tr} x="{x!r}" y="{y!r}" z="{z!r}"/>'
                    f'<intrinsic focalLengthU="{c.K[0, 0] * SENSOR_UNITS!r}" focalLengthV="{c.K[1, 1] * SENSOR_UNITS!r}" '
                    f'centerPointU="{c.K[0, 2] * SENSOR_UNITS!r}" centerPointV="{c.K[1, 2] * SENSOR_UNITS!r}" radialDistortion1="{k1!r}" '
                    f'radialDistortion2="{k2!r}" radialDistortion3="{k3!r}" tangentalDistortion1="{p1!r}" tangentalDistortion2="{p2!r}"/></camera>')
    path.write_text(f"<calibration><cameras>{''.join(rows)}</cameras></calibration>")


def test_calibration_round_trips_a_reprojection(tmp_path):
    cams = [Camera(f"cam0{i + 1}", c.K, c.dist, c.R, c.t, c.size) for i, c in enumerate(_ring())]
    _write_qca(tmp_path / "calib.qca.txt", cams)
    read = read_qca(tmp_path / "calib.qca.txt")
    pts = np.random.default_rng(0).uniform([-0.5, -0.5, 0], [0.5, 0.5, 2], (50, 3))
    for a, b in zip(cams, read):
        assert b.name == a.name and b.size == a.size
        np.testing.assert_allclose(b.project(pts), a.project(pts), atol=1e-6)
        # Our distortion model is OpenCV's, and undistortion inverts it.
        cv_px = cv2.projectPoints(pts, cv2.Rodrigues(a.R)[0], a.t, a.K, a.dist)[0][:, 0]
        np.testing.assert_allclose(a.project(pts), cv_px, atol=1e-6)
        rays = a.normalise(a.project(pts))
        cam = a.to_camera(pts)
        np.testing.assert_allclose(rays, cam[:, :2] / cam[:, 2:], atol=1e-8)


def test_the_demo_calibration_looks_at_one_place():
    from video_mocap.models.assets import pose2sim_demo

    cams = read_qca(pose2sim_demo() / "calibration" / "Calib.qca.txt")
    assert [c.name for c in cams] == ["cam01", "cam02", "cam03", "cam04"]
    A, b = np.zeros((3, 3)), np.zeros(3)
    for c in cams:
        d = c.R[2]
        A += np.eye(3) - np.outer(d, d)
        b += (np.eye(3) - np.outer(d, d)) @ c.centre
    target = np.linalg.solve(A, b)  # where the optical axes pass closest
    for c in cams:
        assert c.centre[2] > 1.0 and c.R[1] @ [0, 0, 1] < -0.7, "cameras above the floor, image down = world down"
        assert np.linalg.norm(c.project(target) - np.array(c.size) / 2) < 150, "every camera sees the spot near its centre"


def test_triangulation_recovers_known_points():
    cams = _ring()
    X = np.random.default_rng(1).uniform([-0.6, -0.6, 0.0], [0.6, 0.6, 1.9], (40, 33, 3))
    px = np.stack([c.project(X) for c in cams])
    conf = np.ones(px.shape[:-1])
    got, used = triangulate(px, conf, cams)
    assert np.abs(got - X).max() < 1e-3 and used.all()
    # One view far off on some points, one view unconfident on others: dropped, still exact.
    px[2, :10, 5] += 80.0
    conf[1, 10:20, 6] = 0.1
    got, used = triangulate(px, conf, cams)
    assert np.abs(got - X).max() < 1e-3
    assert not used[2, :10, 5].any() and not used[1, 10:20, 6].any()
    assert np.isnan(triangulate(px[:1], conf[:1], cams[:1])[0]).all(), "one view cannot triangulate"


def test_left_right_swaps_are_undone():
    from video_mocap.skeleton import load_skeleton

    mirror = load_skeleton("blazepose33").mirror_permutation
    cams = _ring()
    rng = np.random.default_rng(2)
    base = rng.uniform([-0.3, -0.3, 0.1], [0.3, 0.3, 1.8], (33, 3))
    X = base[None] + rng.normal(0, 0.01, (12, 33, 3))
    px = np.stack([c.project(X) for c in cams]) + rng.normal(0, 1.0, (4, 12, 33, 2))
    conf = np.ones(px.shape[:-1])
    truth = np.zeros((4, 12), bool)
    truth[1, 3:7] = True  # one view swaps for four frames
    truth[3, 9] = True
    swapped = px.copy()
    for v, t in zip(*np.nonzero(truth)):
        swapped[v, t] = px[v, t][mirror]
    fixed, _, flags = undo_swaps(swapped, conf, cams, mirror, list(range(11, 33)))
    np.testing.assert_array_equal(flags, truth)
    np.testing.assert_allclose(fixed, px)


def test_bone_cv():
    j = np.zeros((10, 3, 3))
    j[:, 1, 2] = 1.0
    j[:, 2, 2] = 1.0 + np.linspace(0.9, 1.1, 10)
    assert bone_cv(j, [(0, 1)]) == 0.0
    assert bone_cv(j, [(0, 1), (1, 2)]) == pytest.approx(0.5 * np.std(np.linspace(0.9, 1.1, 10)))


def test_tiny_end_to_end(tmp_path):
    """The whole command on a few frames of one view, without MediaPipe: finite figures, a sound truth."""
    from video_mocap.models.real import benchmark

    truth, rows = benchmark.run(tmp_path, lifters=("single",), mediapipe=False, stop=12, views=("cam03",))
    assert len(truth["world"]) == 12 and float(truth["reprojection_px"]) < 20
    assert [r["method"] for r in rows] == ["single", "single +f"] and all(r["clip"] == "cam03" for r in rows)
    for r in rows:
        assert 20 < r["pa_common"] < 200 and 0 < r["root_m"] < 2 and np.isfinite(r["mpjpe"])
    assert (tmp_path / "results.json").is_file() and (tmp_path / "truth.npz").is_file()
    benchmark.print_tables(rows)
