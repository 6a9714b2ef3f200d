"""A turning camera is followed from the background: real footage turned by known rotations (exact
homographies of the frames, :mod:`video_mocap.models.real.pan`) gives those rotations back through the
capture; a still camera gives none and its capture is unchanged."""
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from footage import write_clip
from video_mocap.inference.camera_motion import from_reference, largest_turn, reference_pixels, to_reference, turn_from_feet
from video_mocap.inference.pipeline import CaptureOptions, capture
from video_mocap.models.real.pan import operator_turns, pan_video, zoom_for

SIZE = (360, 640)
F = 320 / np.tan(np.radians(30))  # the capture's default focal length for a 360 x 640 clip
K = np.array([[F, 0, 180], [0, F, 320], [0, 0, 1.0]])


def _relative(turns: np.ndarray) -> Rotation:
    """Each frame's camera from the first frame's."""
    return Rotation.from_matrix(np.einsum("tij,kj->tik", turns, turns[0]))


@pytest.fixture(scope="module")
def panned(tmp_path_factory):
    """40 frames of real footage, and the same seen by a camera panning +-4 deg: (still, panned, turns, zoom)."""
    folder = tmp_path_factory.mktemp("pan")
    still = write_clip(folder / "still.mp4", frames=40, size=SIZE)
    turns = operator_turns(40, 4.0)
    zoom = zoom_for(K, SIZE, 4.0)
    pan_video(still, folder / "pan.mp4", K, turns, zoom)
    return still, folder / "pan.mp4", turns, zoom


def test_a_panning_camera_is_followed_and_a_still_one_left_alone(panned):
    still, pan, turns, zoom = panned
    moving = capture(pan, CaptureOptions(focal_px=F * zoom))
    assert moving.turn is not None and moving.turn.shape == (40, 3, 3)
    err = np.degrees((_relative(moving.turn) * _relative(turns).inv()).magnitude())
    assert np.median(err) < 0.1 and err.max() < 0.3, f"camera turn error {np.median(err):.3f} (max {err.max():.3f}) deg"
    assert abs(moving.motion.meta["camera"]["turn_deg"] - largest_turn(turns)) < 0.3
    fixed = capture(still, CaptureOptions(focal_px=F))
    assert fixed.turn is None and fixed.motion.meta["camera"]["turn_deg"] == 0.0
    off = capture(pan, CaptureOptions(focal_px=F * zoom, moving_camera=False))
    assert off.turn is None, "moving_camera=False: a fixed camera, as asked"
    # The world path of the body: the turning camera's capture follows the still camera's, the one that
    # ignores the turn puts the camera's turning into the body's path.
    path = {name: c.motion.root[:, :2] - c.motion.root[:1, :2] for name, c in (("moving", moving), ("fixed", fixed), ("off", off))}
    followed = np.linalg.norm(path["moving"] - path["fixed"], axis=1).mean()
    ignored = np.linalg.norm(path["off"] - path["fixed"], axis=1).mean()
    assert followed < 0.5 * ignored, f"root path off the still camera's by {followed:.3f} m (turn ignored: {ignored:.3f} m)"


def test_reference_view_helpers():
    turns = operator_turns(5, 20.0)
    x = np.random.default_rng(0).normal(0, 1, (5, 7, 3)) + [0, 0, 5]
    assert np.allclose(from_reference(to_reference(x, turns), turns), x)
    assert to_reference(x, None) is x and largest_turn(None) == 0.0
    seen = from_reference(x, turns)
    px = seen[..., :2] / seen[..., 2:] * F + K[:2, 2]
    ref, conf = reference_pixels(px, np.ones(px.shape[:2]), turns, F, K[:2, 2])
    assert np.allclose(ref, x[..., :2] / x[..., 2:] * F + K[:2, 2]) and (conf == 1).all()
    behind = reference_pixels(px, np.ones(px.shape[:2]), np.broadcast_to(Rotation.from_euler("y", 180, degrees=True).as_matrix(), (5, 3, 3)), F, K[:2, 2])[1]
    assert (behind == 0).all(), "points the reference view cannot see are unseen there"


def _walk_seen_by(pan_deg: float, fps: float = 30.0, seconds: float = 6.0, noise_px: float = 1.0):
    """A person walking 4.8 m across a plain room 5 m from a camera 1.4 m up, pitched 6 deg down, that pans by ``pan_deg``
    to follow: the ankles' pixels (T, 2, 2), the stances (T, 2), the true turns (T, 3, 3) and up in camera axes."""
    T = int(seconds * fps)
    t = np.arange(T) / fps
    stride, stance = 0.8, 0.62  # m a stride (one a second), and the share of it a foot is on the ground
    ankles = np.zeros((T, 2, 3))  # world, Z up: a planted foot stays where it landed, a swinging one moves on
    held = np.zeros((T, 2), bool)
    for k in range(2):
        cycle, phase = np.divmod(t + k / 2, 1.0)
        held[:, k] = phase < stance
        x = stride * (cycle + np.clip((phase - stance) / (1 - stance), 0, 1))
        ankles[:, k] = np.column_stack([x - 2.4, np.full(T, 5.0 + 0.1 * (2 * k - 1)), 0.08 + 0.1 * ~held[:, k]])
    base = Rotation.from_euler("x", 96, degrees=True)  # world (Z up, Y ahead) -> camera (y down, z ahead), 6 deg down
    pan = np.radians(pan_deg) * (3 * (t / seconds) ** 2 - 2 * (t / seconds) ** 3 - 0.5)  # eases in and out
    views = [base * Rotation.from_euler("z", a) for a in pan]  # the camera turns about the world's vertical
    cam = np.stack([v.apply(ankles[i] - [0, 0, 1.4]) for i, v in enumerate(views)])
    px = cam[..., :2] / cam[..., 2:] * F + K[:2, 2] + np.random.default_rng(1).normal(0, noise_px, (T, 2, 2))
    turns = np.stack([(v * views[0].inv()).as_matrix() for v in views])  # frame t's axes from frame 0's
    return px, held, turns, base.apply([0.0, 0.0, 1.0])


@pytest.mark.parametrize("pan_deg", [0.0, 25.0])
def test_a_pan_over_a_plain_room_is_read_from_the_planted_feet(pan_deg):
    """No background to follow: the camera's pan comes from the bearings of the planted ankles, a still
    camera's feet (with the detector's jitter) read as no pan at all."""
    px, held, turns, up = _walk_seen_by(pan_deg)
    found = turn_from_feet(px, np.ones(held.shape), held, up, F, K[:2, 2], 30.0)
    if pan_deg == 0:
        assert found is None, f"a still camera read as turning {largest_turn(found):.1f} deg"
        return
    assert found is not None and found.shape == (len(px), 3, 3)
    err = np.degrees((_relative(found) * _relative(turns).inv()).magnitude())
    assert np.median(err) < 0.5 and err.max() < 1.0, f"pan error {np.median(err):.2f} (max {err.max():.2f}) deg"
    assert turn_from_feet(px, np.ones(held.shape), held & (np.arange(len(px)) < 20)[:, None], up, F, K[:2, 2], 30.0) is None, \
        "three stances: too little to read a pan from"
    side = Rotation.from_euler("z", 90, degrees=True).as_matrix()  # the same camera on its side (up along its x)
    rays = np.concatenate([(px - K[:2, 2]) / F, np.ones(px.shape[:-1] + (1,))], -1) @ side.T
    found = turn_from_feet(rays[..., :2] / rays[..., 2:] * F + K[:2, 2], np.ones(held.shape), held, side @ up, F, K[:2, 2], 30.0)
    err = np.degrees((_relative(np.einsum("ij,tjk,lk->til", side.T, found, side.T)) * _relative(turns).inv()).magnitude())
    assert err.max() < 1.0, f"on its side: pan error up to {err.max():.2f} deg"


def test_without_background_the_capture_turns_with_the_feet(panned, monkeypatch):
    """Where the background cannot tell, the capture asks the planted feet after a first solve and, given a pan,
    solves again turning with it (recorded in the camera's meta); a still camera's feet leave it still."""
    from video_mocap.inference import pipeline

    still = panned[0]
    asked = []

    def feet(ankles, conf, held, up, f, centre, fps):
        asked.append(held.copy())
        ramp = np.radians(np.linspace(-4, 4, len(ankles)))
        return Rotation.from_rotvec(np.outer(ramp, up)).as_matrix()

    monkeypatch.setattr(pipeline, "camera_rotations", lambda *a, **k: (None, False))
    monkeypatch.setattr(pipeline, "turn_from_feet", feet)
    result = capture(still, CaptureOptions(focal_px=F))
    assert len(asked) == 1 and asked[0].shape == (40, 2) and asked[0].any(), "asked once, with the first solve's contacts"
    assert result.turn is not None and abs(largest_turn(result.turn) - 4.0) < 0.01
    assert result.motion.meta["camera"]["turn_from"] == "feet" and abs(result.motion.meta["camera"]["turn_deg"] - 4.0) < 0.01
    world_axes = result.motion.camera_rotation @ result.turn  # each frame's camera turned back: the one world
    assert np.allclose(world_axes, world_axes[0], atol=1e-5), "the motion's camera turns with the pan"
    monkeypatch.setattr(pipeline, "turn_from_feet", lambda *a: None)
    assert capture(still, CaptureOptions(focal_px=F)).motion.meta["camera"]["turn_from"] is None


@pytest.mark.bpy
def test_the_blend_camera_turns_with_the_footage(panned, tmp_path):
    """In the written .blend the camera stands and turns as the capture solved it: through it, the captured
    pelvis lands on the pelvis in the footage, frame after frame of the pan."""
    bpy = pytest.importorskip("bpy")
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector

    from video_mocap.retarget.blender_io import write_blend

    _, pan, _, zoom = panned
    result = capture(pan, CaptureOptions(focal_px=F * zoom))
    write_blend(result.motion, tmp_path / "pan.blend", str(pan))
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "pan.blend"))
    scene = bpy.context.scene
    assert scene.camera.animation_data is not None and scene.camera.animation_data.action is not None, "keyed as it turned"
    world = result.motion.positions()
    w, h = SIZE
    for t in (0, 13, 26, 39):
        scene.frame_set(t + 1)
        uv = world_to_camera_view(scene, scene.camera, Vector(world[t, 0].tolist()))
        px = np.array([uv.x * w, (1 - uv.y) * h])
        assert np.linalg.norm(px - result.pixels[t, 0]) < 0.03 * h, f"frame {t}: pelvis {px} vs footage {result.pixels[t, 0]}"
