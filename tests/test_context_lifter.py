"""The context-aware lifter: feature sampling, crop coordinates, the rendered training data, a tiny training
run, ONNX parity."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from video_mocap.inference.context import crop_coords  # noqa: E402
from video_mocap.inference.detector import LM_SIZE, Roi  # noqa: E402
from video_mocap.models.nets import LEVELS, ContextLifter, sample_map  # noqa: E402


@pytest.mark.parametrize("side", [s for _, s in LEVELS])
def test_sampling_reads_the_known_value_at_a_joint(side):
    """A map whose two channels hold each cell centre's crop x and y gives back the joint's own crop
    position (bilinear sampling of a linear field is exact away from the border)."""
    centres = (np.arange(side) + 0.5) / side * LM_SIZE
    fmap = torch.from_numpy(np.stack(np.meshgrid(centres, centres)))[None].float()  # (1, 2, S, S): x, y
    joints = np.array([[100.0, 60.0], [37.3, 201.9], [128.0, 128.0], [150.5, 90.25]])
    joints = joints[(joints > LM_SIZE / side).all(1) & (joints < LM_SIZE - LM_SIZE / side).all(1)]
    got = sample_map(fmap, torch.from_numpy(joints / LM_SIZE).float()[None, :, None])[0, :, :, 0].T.numpy()
    np.testing.assert_allclose(got, joints, atol=1e-3)


def test_one_hot_cell_is_read_only_at_its_joint():
    fmap = torch.zeros(1, 1, 16, 16)
    fmap[0, 0, 5, 9] = 7.0  # row 5, column 9 -> centre at crop ((9.5, 5.5) / 16)
    pts = torch.tensor([[[[9.5 / 16, 5.5 / 16]], [[2.5 / 16, 5.5 / 16]]]])
    got = sample_map(fmap, pts)[0, 0, :, 0]
    assert got[0] == pytest.approx(7.0) and got[1] == pytest.approx(0.0)


def test_crop_coordinates_invert_the_crop_transform():
    roi = Roi(cx=400.0, cy=300.0, size=350.0, angle=0.4)
    crop = np.array([[10.0, 20.0], [128.0, 128.0], [250.0, 3.0]])
    m = roi.matrix()
    image = crop @ m[:, :2].T + m[:, 2]
    np.testing.assert_allclose(crop_coords(image, roi), crop, atol=1e-3)
    np.testing.assert_allclose(crop_coords([[400.0, 300.0]], roi), [[128.0, 128.0]], atol=1e-3)


def test_offsets_start_around_the_joint_and_the_head_at_zero():
    """Untrained, the context branch adds nothing: the output is the base single lifter's."""
    net = ContextLifter().eval()
    kp = torch.randn(2, 17, 3)
    maps = [torch.randn(2, c, s, s) for c, s in LEVELS]
    with torch.no_grad():
        np.testing.assert_allclose(net(kp, torch.rand(2, 17, 2), *maps).numpy(), net.base(kp).numpy(), atol=1e-6)


def test_rendered_chunk_tiny_training_and_onnx_parity(tmp_path, cmu_file):
    pytest.importorskip("bpy")
    import onnxruntime as ort

    from video_mocap.models.context import ContextConfig, inputs, load_chunks, train_context
    from video_mocap.models.export import export
    from video_mocap.models.nets import SingleLifter
    from video_mocap.models.synth import context_data

    poses = context_data.training_poses(cmu_file, 50, np.random.default_rng(0))
    assert poses.joints.shape == (50, 23, 3) and np.allclose(poses.root[:, [0, 2]], 0)
    data = tmp_path / "data"
    data.mkdir()
    for k in (0, 9):  # chunk 9 is validation
        context_data.make_chunk(k, data, cmu_file, frames=3, size=256, samples=1)
    with np.load(data / "chunk_0000.npz") as d:
        assert d["level0"].shape == (3, 48, 64, 64) and d["level3"].shape == (3, 144, 8, 8)
        assert d["found"].any(), "BlazePose sees the rendered character"
        f = np.flatnonzero(d["found"])[0]
        assert np.median(np.linalg.norm(d["pixels"][f] - d["uv"][f], axis=-1)) < 12, "2D keypoints on the projected truth"
        assert np.allclose(d["joints_cam"][:, 0], 0)
    base = tmp_path / "single.pt"
    torch.save(dict(config={"model": "single", "arch": {}}, state=SingleLifter().state_dict()), base)
    ckpt = train_context(ContextConfig(data=str(data), base=str(base), steps=3, epoch_steps=3, batch=2), tmp_path / "runs", log=lambda *a: None)
    state = torch.load(ckpt, weights_only=False)
    assert state["history"][-1]["step"] == 3 and np.isfinite(state["best_val_mm"])
    assert state["config"]["arch"]["d"] == 96, "the whole architecture is recorded"
    from video_mocap.models.context import evaluate_images

    table = evaluate_images([ckpt], data)
    assert set(table) == {"single (base)", "context"} and all(np.isfinite(r["pa_mpjpe"]) for r in table.values())
    onnx_path = export(ckpt, tmp_path / "context.onnx")
    d, _ = load_chunks(data)
    feeds = inputs(d, np.arange(len(d["conf"])), 0.3)
    net = ContextLifter(**state["config"]["arch"])
    net.load_state_dict(state["state"])
    with torch.no_grad():
        ref = net.eval()(*feeds).numpy()
    names = ["keypoints", "crop", "level0", "level1", "level2", "level3"]
    got = ort.InferenceSession(str(onnx_path)).run(None, {n: t.numpy() for n, t in zip(names, feeds)})[0]
    np.testing.assert_allclose(got, ref, atol=1e-4)
