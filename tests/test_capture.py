"""The capture path on real footage (a real camera of the pose2sim demo) and its errors."""
from pathlib import Path

import cv2
import numpy as np
import pytest

from video_mocap.inference import pipeline
from video_mocap.inference.cli import main
from video_mocap.inference.detector import BlazePose, anchors, roi_from_points
from video_mocap.inference.person import Tracker
from video_mocap.inference.camera import camera_to_world, pitch, place_in_camera
from video_mocap.inference.pipeline import CaptureError, CaptureOptions, capture, fill_gaps
from video_mocap.inference.video import VideoError
from video_mocap.motion import Motion

from footage import write_clip

@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_clip(tmp_path_factory.mktemp("clip") / "pan.mp4", blank=range(12, 15))


def test_anchor_layout():
    a = anchors()
    assert a.shape == (2254, 2) and a.min() > 0 and a.max() < 1


def test_tracking_follows_the_person(clip):
    tracker = Tracker(BlazePose("cpu"))
    cap = cv2.VideoCapture(str(clip))
    poses = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        poses.append(tracker(frame[:, :, ::-1].copy()))
    assert [p is None for p in poses[12:15]] == [True] * 3, "nobody in the black frames"
    found = [p for p in poses if p is not None]
    assert len(found) == 27 and min(p.score for p in found) > 0.9
    # Detector on the first frame, on each frame without the person (3) and the one that finds them again,
    # and at most once more (a check while the first crop settles); the rest is tracking.
    assert tracker.detections <= 1 + 3 + 1 + 1
    assert tracker.lost_frames == 3 and tracker.refound == 1 and tracker.rejected == 0
    # Tracked frames, once the crop has settled (the first crop comes from the detection box, the next from
    # landmarks, and the heatmap refinement fades in as the crop tightens).
    hips = np.array([p.landmarks[23:25].mean(0) for p in poses[2:12]])
    assert np.abs(np.diff(hips, axis=0)).max() < 8, "the landmarks follow the 1-2 px/frame pan smoothly"
    # Upright: shoulders above hips, ankles below knees (image y grows downwards).
    p = found[0]
    assert p.landmarks[11:13, 1].mean() < p.landmarks[23:25, 1].mean()


def test_heatmap_refinement_moves_confident_points_only():
    from video_mocap.inference.detector import refine_from_heatmap

    hm = np.full((64, 64, 2), -10.0)
    rows, cols = np.mgrid[:64, :64]
    blob = 8.0 - ((rows - 20) ** 2 + (cols - 30) ** 2) * 4.0  # confident peak at row 20, column 30
    hm[..., 0] = blob
    hm[..., 1] = blob - 9.0  # the same shape, never confident
    pts = np.array([[31 * 4 + 1.0, 19 * 4 + 2.0], [31 * 4 + 1.0, 19 * 4 + 2.0]])
    out = refine_from_heatmap(pts, hm)
    np.testing.assert_allclose(out[0], [120.0, 80.0], atol=0.05)  # cell index x 4 crop pixels, as MediaPipe reads it
    np.testing.assert_allclose(out[1], pts[1])


def test_rotated_roi_is_upright_for_a_leaning_body():
    roi = roi_from_points(np.array([100.0, 200.0]), np.array([100.0, 100.0]))
    assert abs(roi.angle) < 1e-9 and roi.size == pytest.approx(250)
    tilted = roi_from_points(np.array([100.0, 200.0]), np.array([200.0, 200.0]))  # lying to the right
    assert abs(abs(tilted.angle) - np.pi / 2) < 1e-9
    # The crop's top centre maps to the scale point's side of the body.
    m = tilted.matrix()
    top = m @ [128, 0, 1]
    assert top[0] > 150


def test_capture_end_to_end(clip, tmp_path):
    result = capture(clip, CaptureOptions(lifter="single", device="cpu"))
    m = result.motion
    assert len(m) == 30 and m.skeleton.name == "h36m17_ext" and m.frame == "blender"
    assert m.meta["frames_without_person"] == 3 and m.meta["unseen_stretches"] == []  # 3 frames < 0.5 s: filled
    pos = m.positions()
    assert np.isfinite(pos[:, :17]).all()
    # Z up, floor at 0: the head is above the pelvis, the pelvis above the floor.
    assert (pos[:, 10, 2] > pos[:, 0, 2]).mean() > 0.9 and np.median(pos[:, 0, 2]) > 0.3
    bones = sum(np.linalg.norm(pos[:, c] - pos[:, p], axis=1) for p, c in m.skeleton.bones[:16])
    assert 2.8 < np.median(bones) < 5.5, "a human-sized skeleton (16 bones add up to about 4 m)"
    assert m.root is not None and m.intrinsics[0, 0] > 0
    # The clip-level solve: one skeleton, contacts recorded, the camera in the meta; the file keeps them.
    assert m.meta["solved"] and m.contacts.shape == (30, 2)
    cam = m.meta["camera"]
    assert -60 < cam["pitch_deg"] < 30 and abs(cam["roll_deg"]) < 20 and 0.2 < cam["height_m"] < 4
    back = Motion.load(m.save(tmp_path / "m.npz"))
    np.testing.assert_array_equal(back.contacts, m.contacts)


SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "sample.mp4"


@pytest.mark.parametrize("lifter", ["single", "context"])
def test_lifters_on_the_rendered_sample(lifter):
    """Each lifter on the rendered sample clip against its exact truth (pelvis-relative, camera axes).
    Measured: single 82.2 / 48.1 mm, context 67.8 / 42.5 mm (MPJPE / PA-MPJPE)."""
    from video_mocap.models.evaluate import pose_errors

    g = np.load(SAMPLE.with_name("sample_gt.npz"))
    r = capture(SAMPLE, CaptureOptions(lifter=lifter, device="cpu"))
    assert r.motion.meta["lifter"] == lifter
    truth = (g["joints_cam"][:, :17] - g["joints_cam"][:, :1]).astype(float)
    n = min(len(truth), len(r.camera))
    err = pose_errors(r.camera[:n, :17].astype(float), truth[:n])
    assert err["mpjpe"].mean() < 110 and err["pa_mpjpe"].mean() < 70


def test_legs_out_of_frame_are_reported_and_filled(tmp_path):
    """The sample clip cut off below the hips: the legs are guessed (keys exist), reported as never seen."""
    cap = cv2.VideoCapture(str(SAMPLE))
    ok, frame = cap.read()
    h, w = frame.shape[:2]
    g = np.load(SAMPLE.with_name("sample_gt.npz"))
    cut = int(np.nanmax(g["uv"][:, [1, 4], 1]) + 0.08 * h)  # just below the lower hip
    out = tmp_path / "cut.mp4"
    vw = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), 25, (w, cut))
    for _ in range(40):
        vw.write(frame[:cut])
        ok, frame = cap.read()
    vw.release()
    m = capture(out, CaptureOptions(lifter="single", device="cpu")).motion
    assert {"r_ankle", "l_ankle"} <= set(m.meta["joints_never_seen"]) and "l_shoulder" not in m.meta["joints_never_seen"]
    assert np.isfinite(m.positions()[:, [2, 3, 5, 6]]).all(), "legs are still filled"
    assert (m.confidence[:, [3, 6]] <= 0.1).all(), "and marked as guesses"
    assert m.meta["solved"] and "not seen" in m.meta["contacts_note"], "solved without contacts, and says so"
    assert not m.contacts.any()


def test_out_of_frame_caps_confidence():
    px = np.array([[[10.0, 10.0], [-50.0, 10.0], [100.0, 130.0]]])
    got = pipeline.out_of_frame(px, np.full((1, 3), 0.9), 100, 100)
    np.testing.assert_allclose(got, [[0.9, 0.1, 0.1]])


@pytest.mark.bpy
def test_cli_writes_motion_bvh_and_preview(clip, tmp_path):
    out = tmp_path / "m.npz"
    args = [str(clip), "-o", str(out), "--lifter", "single", "--device", "cpu", "--bvh", str(tmp_path / "m.bvh"),
            "--preview", str(tmp_path / "m.mp4"), "--blend", str(tmp_path / "m.blend"), "-q"]
    assert main(["capture"] + args) == 0
    assert len(Motion.load(out)) == 30
    bpy = pytest.importorskip("bpy")

    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "m.blend"))
    rig = bpy.data.objects["pan rig"]
    assert rig.animation_data.action.name == "pan" and bpy.context.scene.frame_end == 30
    assert bpy.data.movieclips and bpy.context.scene.camera.data.background_images[0].clip is not None
    cap = cv2.VideoCapture(str(tmp_path / "m.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 30
    assert int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) == 360 + 2 * 640, "the frame, then the 3/4 and the side view"
    assert (tmp_path / "m.bvh").read_text().startswith("HIERARCHY")
    before = out.read_bytes()
    assert main(["capture"] + args) == 1, "existing outputs are not replaced without --force"
    assert out.read_bytes() == before


def test_fill_gaps_short_and_long():
    t = 40
    px = np.tile(np.arange(t, dtype=float)[:, None, None], (1, 23, 2))
    conf = np.ones((t, 23))
    seen = np.ones(t, bool)
    seen[5:8] = False
    seen[20:35] = False
    px[~seen], conf[~seen] = 0, 0
    out, c, long_gaps = fill_gaps(px, conf, seen, max_frames=5)
    np.testing.assert_allclose(out[5:8, 0, 0], [5, 6, 7])
    assert (c[5:8] > 0).all() and (c[20:35] == 0).all() and long_gaps == [(20, 35)]


def test_root_from_synthetic_projection():
    rng = np.random.default_rng(0)
    rel = rng.normal(0, 0.3, (50, 23, 3))
    rel[:, 0] = 0
    true_root = np.column_stack([np.linspace(-1, 1, 50), np.full(50, 0.2), np.linspace(3, 6, 50)])
    cam = rel + true_root[:, None]
    f, c = 1000.0, np.array([640.0, 360.0])
    pixels = cam[..., :2] / cam[..., 2:] * f + c
    got = place_in_camera(rel, pixels, np.ones((50, 23)), f, c)
    # Perspective makes the size ratio a little off from the true depth; within 10 %.
    assert np.abs(got[:, 2] / true_root[:, 2] - 1).max() < 0.1
    np.testing.assert_allclose(got[:, 0] / got[:, 2], true_root[:, 0] / true_root[:, 2], atol=0.02)


def _walk_seen_by_pitched_camera(pitch_deg: float, lean_deg: float, path: np.ndarray) -> np.ndarray:
    """Camera-space joints (T, 23, 3) of someone whose planted ankle is on the floor along ``path`` (T, 2),
    leaning ``lean_deg`` forward-right, seen by a camera 3 m up pitched ``pitch_deg`` (negative: down)."""
    t = len(path)
    world = np.zeros((t, 23, 3))
    lean = np.radians(lean_deg)
    up = np.array([np.sin(lean), np.sin(lean) * 0.5, np.cos(lean)])
    world[:, 0] = np.column_stack([path, np.full(t, 0.95)])
    world[:, 8] = world[:, 0] + 0.5 * up / np.linalg.norm(up)
    step = np.arange(t) // 12
    still = path[step * 12]  # a planted foot stays where it landed
    for j, planted in ((3, step % 2 == 0), (6, step % 2 == 1)):
        world[:, j] = np.where(planted[:, None], np.column_stack([still, np.zeros(t)]), np.column_stack([path, np.full(t, 0.15)]))
    p = np.radians(pitch_deg)
    fwd = np.array([0, np.cos(p), np.sin(p)])  # optical axis in the world
    right = np.array([1.0, 0, 0])
    down = np.cross(fwd, right)
    rot = np.stack([right, down, fwd])  # world -> camera (x right, y down, z forward)
    return (world - [0, -6, 3]) @ rot.T


@pytest.mark.parametrize("shape", ["line away", "area"])
def test_floor_fixes_the_camera_pitch(shape):
    """The torso leans 10 deg; the feet's floor gives the true pitch back."""
    t = 300
    s = np.linspace(0, 1, t)
    path = np.column_stack([np.zeros(t), 4 * s]) if shape == "line away" else np.column_stack([2 * np.sin(6 * s), 3 * s])
    cam = _walk_seen_by_pitched_camera(-25.0, 10.0, path)
    assert abs(pitch(camera_to_world(cam)) + 25.0) < 1.0
    if shape == "area":  # the whole plane: the horizon is level again too
        world = cam @ camera_to_world(cam).T
        assert np.ptp(world[::24, 3, 2]) < 0.01, "planted feet at one height"


def test_standing_still_keeps_the_torso_up():
    cam = _walk_seen_by_pitched_camera(-25.0, 10.0, np.zeros((200, 2)))
    assert abs(pitch(camera_to_world(cam)) + 25.0) > 5.0  # no floor to read: the torso's lean stays


def test_bad_inputs(tmp_path):
    with pytest.raises(FileNotFoundError):
        capture(tmp_path / "missing.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 1000)
    with pytest.raises(VideoError, match="cannot open|no frame"):
        capture(junk)
    empty = tmp_path / "empty.mp4"
    cv2.VideoWriter(str(empty), cv2.VideoWriter_fourcc(*"mp4v"), 25, (64, 64)).release()
    with pytest.raises(VideoError):
        capture(empty)
    black = tmp_path / "black.mp4"
    vw = cv2.VideoWriter(str(black), cv2.VideoWriter_fourcc(*"mp4v"), 25, (320, 240))
    for _ in range(10):
        vw.write(np.zeros((240, 320, 3), np.uint8))
    vw.release()
    with pytest.raises(CaptureError, match="no person was found in any of the 10 frames"):
        capture(black, CaptureOptions(lifter="single", device="cpu"))
    with pytest.raises(ValueError, match="unknown lifter"):
        capture(black, CaptureOptions(lifter="magic"))
    with pytest.raises(ValueError, match="camera's height above the floor"):
        capture(black, CaptureOptions(camera_height=0.0))
    with pytest.raises(SystemExit):  # argparse: "give a height above the floor in metres"
        main(["capture", str(black), "-o", str(tmp_path / "y.npz"), "--camera-height", "-1"])
    with pytest.raises(ValueError, match="performer's height in metres"):
        capture(black, CaptureOptions(performer_height=175.0))  # centimetres
    with pytest.raises(SystemExit):
        main(["capture", str(black), "-o", str(tmp_path / "y.npz"), "--performer-height", "175"])
    out = tmp_path / "x.npz"
    assert main(["capture", str(black), "-o", str(out), "--lifter", "single", "-q"]) == 1
    assert not out.exists(), "no partial output"


def test_cancel(clip):
    with pytest.raises(pipeline.Cancelled):
        capture(clip, CaptureOptions(lifter="single", device="cpu"), cancel=lambda: True)


def test_left_right_swaps_are_undone_on_real_footage(tmp_path):
    """cam02 of the pose2sim demo: BlazePose swaps the body's sides for a run of frames mid-clip (the
    four-camera truth marks 29 of 100 frames at full size); cam03 has none."""
    swapped = write_clip(tmp_path / "cam02.mp4", frames=100, camera="cam02")
    r = capture(swapped, CaptureOptions(lifter="single", device="cpu"))
    legs = np.flatnonzero(r.swapped["legs"])
    assert 15 <= len(legs) <= 45 and legs.min() >= 30 and legs.max() <= 80, legs
    assert r.motion.meta["swapped_frames"]["legs"] == len(legs)
    kept = capture(swapped, CaptureOptions(lifter="single", device="cpu", fix_swaps=False))
    assert kept.swapped is None and kept.motion.meta["swapped_frames"] == {}
    clean = capture(write_clip(tmp_path / "cam03.mp4", frames=100, camera="cam03"), CaptureOptions(lifter="single", device="cpu"))
    assert not any(f.any() for f in clean.swapped.values())


def test_one_skeleton_per_clip(clip):
    """Bone lengths do not change from frame to frame (left = right); off, they vary as lifted."""
    def cv(m):
        pos = m.positions()[:, :17]
        bones = m.skeleton.bones[:16]
        lengths = np.stack([np.linalg.norm(pos[:, c] - pos[:, p], axis=-1) for p, c in bones], 1)
        ok = np.isfinite(lengths).all(1)
        return (lengths[ok].std(0) / lengths[ok].mean(0)).max()

    fixed = capture(clip, CaptureOptions(lifter="single", device="cpu")).motion
    free = capture(clip, CaptureOptions(lifter="single", device="cpu", constant_bones=False, solve=False)).motion
    assert cv(fixed) < 1e-4 and cv(free) > 0.01
    b = fixed.meta["bone_lengths_m"]
    assert b["l_knee"] == b["r_knee"] and 0.3 < b["l_knee"] < 0.6 and free.meta["bone_lengths_m"] == {}


def test_a_known_height_sets_the_size_and_the_distance(clip):
    """Given the performer's height, the clip's skeleton stands for it and the body is placed as much further
    from the camera (a small person near and a tall one far look alike); the pose is the same."""
    guess = capture(clip, CaptureOptions(lifter="single", device="cpu"))
    tall = capture(clip, CaptureOptions(lifter="single", device="cpu", performer_height=2.1))
    scale = 2.1 / guess.motion.meta["performer_height_m"]
    assert tall.motion.meta["performer_height_m"] == pytest.approx(2.1, abs=1e-3) and scale > 1.1
    ratio = np.median(tall.root[:, 2] / guess.root[:, 2])
    assert abs(ratio / scale - 1) < 0.03, (ratio, scale)
    b, g = tall.motion.meta["bone_lengths_m"], guess.motion.meta["bone_lengths_m"]
    assert b["l_knee"] / g["l_knee"] == pytest.approx(scale, rel=1e-3)


def test_floor_sits_under_the_planted_foot_on_a_typical_frame():
    from video_mocap.inference.camera import floor_height

    rng = np.random.default_rng(0)
    t = np.arange(200)
    feet = np.zeros((200, 2, 3))
    feet[:, 0, 0] = np.where((t // 25) % 2 == 0, 0.0, (t % 25) * 0.04)  # one foot steps, then stands
    feet[:, 1, 0] = 0.3
    feet[..., 2] = 0.5 + rng.normal(0, 0.05, (200, 2))  # the lifter makes planted feet bob by 5 cm
    lowest = feet[..., 2].min(1)
    floor = floor_height(feet, 25.0)
    assert np.percentile(lowest, 5) + 0.02 < floor < np.median(lowest), "under a typical frame's foot, not its lowest excursion"
    air = feet.copy()
    air[..., 0] += t[:, None] * 0.05  # always moving fast: no planted frame
    assert floor_height(air, 25.0) < 0.5 - 0.05


def test_grounding_metrics():
    from video_mocap.models.synth.score import grounding

    truth = np.zeros((50, 23, 3))
    truth[:, [3, 6], 2] = 0.07
    pred = truth.copy()
    pred[..., 2] += 0.1
    g = grounding(pred, truth, 25.0)
    assert abs(g["float_cm"] - 10.0) < 1e-6 and g["below_pct"] == 0.0
    pred[:10, ..., 2] -= 0.2
    assert grounding(pred, truth, 25.0)["below_pct"] == 20.0


def test_planted_feet():
    from video_mocap.inference.contacts import planted_feet

    world = np.zeros((40, 23, 3))
    world[:, [3, 18, 20], 2] = [0.07, 0.0, 0.02]  # right foot on the floor, still
    world[:, [6, 17, 19], 2] = [0.3, 0.25, 0.28]  # left foot lifted
    world[20:, [3, 18, 20], 0] = np.arange(20)[:, None] * 0.05  # the right foot slides from frame 20 (1.25 m/s)
    got = planted_feet(world, 25.0)
    assert not got[:, 0].any() and got[:18, 1].all() and not got[22:, 1].any()


def test_planted_feet_stay_put():
    from video_mocap.inference.contacts import pin_planted, planted_feet

    world = np.zeros((40, 23, 3))
    world[:, [3, 18, 20], 2] = [0.07, 0.0, 0.02]
    world[:, [6, 17, 19], 2] = [0.3, 0.25, 0.28]
    world[:, :, 0] += np.arange(40)[:, None] * 0.01  # the whole body slides 0.25 m/s: the lifter's drift
    planted = planted_feet(world, 25.0)
    assert planted[:, 1].all()
    pinned = pin_planted(world, planted)
    np.testing.assert_allclose(pinned[:, 3, :2], pinned[:1, 3, :2].repeat(40, 0), atol=1e-9)
    np.testing.assert_allclose(pinned[..., 2], world[..., 2])  # heights untouched
    free = pin_planted(world, np.zeros((40, 2), bool))
    np.testing.assert_allclose(free, world)
