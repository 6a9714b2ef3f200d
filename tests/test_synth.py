"""The rendered-footage harness: character build, ground-truth projection, a tiny render."""
import json
from dataclasses import asdict

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from video_mocap.models.synth import character, render  # noqa: E402


def test_character_is_a_skinned_humanoid():
    bpy.ops.wm.read_homefile(use_empty=True)
    arm = character.build("Test")
    body = bpy.data.objects["Test"]
    assert arm.type == "ARMATURE" and body.parent is arm and body.modifiers["Armature"].object is arm
    assert len(body.data.vertices) > 10000 and len(body.vertex_groups) > 40
    heights = np.array([v.co.z for v in body.data.vertices])
    assert 1.4 < np.ptp(heights) < 2.0, "a human-sized body"
    head = arm.data.bones["head"].head_local.z
    foot = arm.data.bones["foot_l"].head_local.z
    assert head - foot > 1.2, "the rig sits inside the body"
    assert len(body.data.materials) == 4


def test_body_shape_follows_the_macro_values():
    """MakeHuman's macro targets shape the body and the rig built inside it."""
    sizes = {}
    for label, body in {"short slim woman": character.Body(gender=0.0, height=0.3, weight=0.3),
                        "tall heavy man": character.Body(gender=1.0, height=0.7, weight=0.9, muscle=0.8)}.items():
        bpy.ops.wm.read_homefile(use_empty=True)
        arm = character.build("Test", body)
        co = np.array([v.co for v in bpy.data.objects["Test"].data.vertices])
        hips = arm.data.bones["thigh_l"].head_local.x - arm.data.bones["thigh_r"].head_local.x
        sizes[label] = (np.ptp(co[:, 2]), np.ptp(co[:, 1]), abs(hips))
        assert character.stature(body) == pytest.approx(np.ptp(co[:, 2]), abs=1e-4), "the height a user would give"
        assert character.Body.from_json(json.dumps(asdict(body))) == body
    (h0, d0, w0), (h1, d1, w1) = sizes["short slim woman"], sizes["tall heavy man"]
    assert 1.35 < h0 < 1.6 and 1.85 < h1 < 2.1, sizes
    assert d1 > d0 * 1.1, "the heavy body is deeper"
    assert character.Body.random(np.random.default_rng(1)) == character.Body.random(np.random.default_rng(1))


def test_ground_truth_projects_onto_the_right_pixel():
    """Our K, R, t agree with Blender's own projection (world_to_camera_view)."""
    from bpy_extras.object_utils import world_to_camera_view

    bpy.ops.wm.read_homefile(use_empty=True)
    size = (320, 180)
    scene = bpy.context.scene
    scene.render.resolution_x, scene.render.resolution_y = size
    cam = render.add_camera(np.array([0.2, 0.5, 0.9]), size, np.random.default_rng(3))
    bpy.context.view_layer.update()
    K, R, t = render.camera_matrices(cam, size)
    from mathutils import Vector

    for p in ([0.2, 0.5, 0.9], [0.5, 0.2, 1.6], [-0.3, 0.8, 0.1]):
        c = R @ np.array(p) + t
        uv = (K @ (c / c[2]))[:2]
        ndc = world_to_camera_view(scene, cam, Vector(p))
        np.testing.assert_allclose(uv, [ndc.x * size[0], (1 - ndc.y) * size[1]], atol=1e-3)


def test_tiny_render_and_score(tmp_path, cmu_file):
    video, gt = render.render(tmp_path, clip="16_01", data=cmu_file, seconds=0.12, fps=25, size=(160, 90), samples=1)
    g = np.load(gt)
    assert g["joints_world"].shape == (3, 23, 3) and g["uv"].shape == (3, 23, 2)
    import cv2

    cap = cv2.VideoCapture(str(video))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    # The pelvis projects inside the image.
    assert (0 < g["uv"][:, 0, 0]).all() and (g["uv"][:, 0, 0] < 160).all() and (0 < g["uv"][:, 0, 1]).all()
    with pytest.raises(ValueError, match="training subject"):
        render.load_clip(cmu_file, "01_01", 1, 25)
    assert len(render.load_clip(cmu_file, "01_01", 1, 25, training=True).joints) == 25  # asked for (2D-only stages)


def test_benchmark_renders_and_scores_one_clip(tmp_path, cmu_file):
    """The benchmark end to end at tiny size: a portrait clip with a pan, rendered, captured, scored."""
    from video_mocap.models.synth import benchmark

    shot = benchmark.Shot("16_01", 3, portrait=True, pan=True, seconds=0.6)
    rows = benchmark.run(tmp_path, (shot,), lifters=("single",), mediapipe=False, data=cmu_file, samples=2, scale=0.75)
    g = np.load(tmp_path / f"{shot.name}_gt.npz")
    assert g["image_size"].tolist() == [216, 384] and g["R"].shape == (15, 3, 3)
    assert not np.allclose(g["R"][0], g["R"][-1]), "the camera pans"
    (row,) = rows
    assert row["frames"] == 15 and row["found"] == 1.0
    assert row["px_2d"] < 15, "the detector finds the rendered person"
    assert 10 < row["pa_mpjpe"] < 250 and np.isfinite(row["accel_common"]) and np.isfinite(row["root_m"])
    assert (tmp_path / "results.json").is_file()
    before = (tmp_path / f"{shot.name}.mp4").stat().st_mtime
    benchmark.run(tmp_path, (shot,), lifters=(), mediapipe=False, data=cmu_file)
    assert (tmp_path / f"{shot.name}.mp4").stat().st_mtime == before, "rendered clips are reused"
    rows = benchmark.run(tmp_path, (shot,), lifters=("single",), mediapipe=False, data=cmu_file, known_height=True,
                         known_lens=True)
    (told,) = [r for r in rows if r["method"] == "single height lens"]  # beside the earlier run's row
    assert told["told"]["focal_px"] == pytest.approx(g["K"][0, 0])
    assert told["told"]["performer_height"] == pytest.approx(
        character.stature(character.Body.from_json(str(g["body"]))))


def test_mediapipe_scoring_on_the_common_joints(tmp_path):
    """MediaPipe's landmarks are scored on the 12 joints both skeletons have, on the frames where the person is in the
    picture and it found them (NaN frames: "found" is their share of the frames in the picture)."""
    from video_mocap.models.synth import score

    rng = np.random.default_rng(0)
    truth = rng.normal(0, 0.3, (6, 23, 3)) + [0, 0, 4]
    world = np.full((6, 33, 3), np.nan, np.float32)
    world[:, score.MEDIAPIPE] = truth[:, score.OURS] * 1.1 + 0.5  # scaled and shifted: PA removes both
    world[2] = np.nan  # a frame without a person
    uv = rng.uniform(0, 100, (6, 23, 2))
    uv[4] += 150  # the body out of the picture: no method is scored there
    world[4, score.MEDIAPIPE] = rng.normal(0, 1, (12, 3))  # nonsense: it would show if it were scored
    image = np.zeros((6, 33, 2), np.float32)
    image[:, score.MEDIAPIPE] = uv[:, score.OURS] + [3, 4]
    np.savez(tmp_path / "mp.npz", world=world, image=image, visibility=np.ones((6, 33)), seconds=1.0)
    np.savez(tmp_path / "c_gt.npz", joints_cam=truth, uv=uv, image_size=(100, 100))
    r = score.score_mediapipe(tmp_path / "mp.npz", tmp_path / "c_gt.npz")
    assert r["frames"] == 4 and r["pa_common"] < 1e-3 and r["found"] == pytest.approx(4 / 5) and r["px_2d"] == pytest.approx(5.0, abs=1e-4)
