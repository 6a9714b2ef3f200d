"""The rendered-footage harness: character build, ground-truth projection, a tiny render."""
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
