"""The temporal fusion of the single-frame and MPM lifts: its network, training, export and runtime lifter."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from video_mocap.inference.lifters import FrameLifter, FusedLifter, WindowLifter  # noqa: E402
from video_mocap.inference.weights import weight_path  # noqa: E402
from video_mocap.models import data as D  # noqa: E402
from video_mocap.models import fusion  # noqa: E402
from video_mocap.models.nets import Fusion  # noqa: E402

from mocap_fixture import write_mocap  # noqa: E402


def test_an_untrained_fusion_is_the_average_of_its_lifts():
    g = torch.Generator().manual_seed(0)
    kp, single, mpm = (torch.randn(2, 30, 17, 3, generator=g) for _ in range(3))
    with torch.no_grad():
        out = Fusion().eval()(kp, single, mpm)
    mean = (single + mpm) / 2
    torch.testing.assert_close(out, mean - mean[..., :1, :])


def test_mirroring_swaps_sides_and_negates_x():
    """The fusion's mirror augmentation (`data.mirror`) on its inputs: normalised 2D + confidence, or 3D."""
    x = np.random.default_rng(0).standard_normal((3, 17, 3))
    m = D.mirror(x)
    np.testing.assert_allclose(D.mirror(m), x)
    perm = list(D.SKELETON.mirror_permutation)
    np.testing.assert_allclose(m[:, :, 1:], x[:, perm, 1:])
    np.testing.assert_allclose(m[:, :, 0], -x[:, perm, 0])


def test_lifting_clips_together_equals_one_by_one():
    rng = np.random.default_rng(0)
    pixels = rng.uniform(200, 600, (3, 40, 17, 2)).astype(np.float32)
    conf = (rng.random((3, 40, 17)) > 0.1).astype(np.float32)
    mpm = WindowLifter(weight_path("mpm"), "cpu")
    together = mpm.lift_clips(pixels, conf)
    np.testing.assert_allclose(together, np.stack([mpm.lift(p, c) for p, c in zip(pixels, conf)]), atol=1e-5)


def test_tiny_training_exports_and_runs_in_the_capture_lifter(tmp_path):
    """Sets made from the shipped lifters (kept for a rerun), a checkpoint, ONNX parity (export raises past 1e-4),
    and the runtime lifter: the fusion of the two lifts it makes itself, pelvis at 0, hidden joints filled."""
    torch.set_num_threads(1)
    data = write_mocap(tmp_path / "mini.npz")
    ckpt = fusion.train(data, weight_path("single"), weight_path("mpm"), tmp_path / "run", minutes=0.01, sequences=8,
                        frames=30, val_sequences=4, batch=4, log=lambda s: None)
    assert (tmp_path / "run" / "train_set.npz").is_file() and (tmp_path / "run" / "val_set.npz").is_file()
    state = torch.load(ckpt, weights_only=False)
    assert state["history"] and np.isfinite(state["val_mm"])
    onnx_path = fusion.export(ckpt, tmp_path / "fusion.onnx")
    from video_mocap.inference import runtime

    assert runtime.metadata(runtime.session(onnx_path, "cpu"))["kind"] == "fusion"
    clips = D.load_clips(data, "test")
    pixels, conf, _ = _view(clips.joints[0][:60])
    conf[:, 14:17] = 0  # the right arm unseen
    lifter = FusedLifter(onnx_path, weight_path("single"), weight_path("mpm"), "cpu")
    out = lifter.lift(pixels, conf)
    assert out.shape == (60, 17, 3) and np.isfinite(out).all()
    np.testing.assert_allclose(out[:, 0], 0, atol=1e-6)
    parts = FrameLifter(weight_path("single"), "cpu").lift(pixels, conf), WindowLifter(weight_path("mpm"), "cpu").lift(pixels, conf)
    np.testing.assert_allclose(out, lifter.fuse(pixels, conf, *parts), atol=1e-5)


def test_training_continues_from_an_exported_fusion(tmp_path):
    """``--init`` with an ONNX fusion (the shipped file, as a new checkout has no checkpoints): the weights read back
    are the checkpoint's, the run starts from them (step 0 scored and kept), and a checkpoint works as well."""
    from video_mocap.models.export import import_onnx

    torch.set_num_threads(1)
    data = write_mocap(tmp_path / "mini.npz")
    kw = dict(minutes=0.01, sequences=8, frames=30, val_sequences=4, batch=4, log=lambda s: None)
    ckpt = fusion.train(data, weight_path("single"), weight_path("mpm"), tmp_path / "a", **kw)
    trained = torch.load(ckpt, weights_only=False)["state"]
    onnx_path = fusion.export(ckpt, tmp_path / "fusion.onnx")
    weights = import_onnx(onnx_path, "fusion")
    assert weights.keys() == trained.keys()
    for k, v in trained.items():
        torch.testing.assert_close(weights[k], v, rtol=0, atol=1e-6, msg=k)
    for init in (onnx_path, ckpt):
        more = torch.load(fusion.train(data, weight_path("single"), weight_path("mpm"), tmp_path / "b", init=init, **kw),
                          weights_only=False)
        first = more["history"][0]
        assert first["step"] == 0 and more["config"]["init"] == str(init)
        np.testing.assert_allclose(first["val_mm"], _val_mm(trained, tmp_path / "b" / "val_set.npz"), rtol=1e-5)


def test_corrupted_lifts_are_wrong_in_one_lift_only():
    """``--corrupt``: in the chosen sequences one lift changes over at least half the window, the other lift, the 2D and
    the truth never; a limb mirrored in depth keeps its picture (x, y); p = 0 changes nothing."""
    rng = np.random.default_rng(0)
    b = {k: rng.normal(size=(64, 30, D.J, 3)).astype(np.float32) for k in fusion.INPUTS + ("target",)}
    same = fusion.corrupt_lifts({k: v.copy() for k, v in b.items()}, np.random.default_rng(1), 0.0)
    assert all(np.array_equal(same[k], b[k]) for k in b)
    out = fusion.corrupt_lifts({k: v.copy() for k, v in b.items()}, np.random.default_rng(1), 0.5)
    assert np.array_equal(out["keypoints"], b["keypoints"]) and np.array_equal(out["target"], b["target"])
    changed = {k: (np.abs(out[k] - b[k]) > 1e-5).any(axis=(2, 3)) for k in ("single", "mpm")}  # (N, T) frames changed
    both = changed["single"].any(1) & changed["mpm"].any(1)
    assert not both.any() and 12 <= (changed["single"].any(1) | changed["mpm"].any(1)).sum() <= 48
    for k in ("single", "mpm"):
        for i in np.nonzero(changed[k].any(1))[0]:
            assert changed[k][i].sum() >= 15
            if np.array_equal(out[k][i, ..., :2], b[k][i, ..., :2]):  # a depth mirror: only z moved, on limb joints
                moved = (out[k][i, ..., 2] != b[k][i, ..., 2]).any(0)
                assert not moved[[0, 1, 4, 7, 8, 9, 10, 11, 14]].any() and moved.any()


def _val_mm(state: dict, val_set) -> float:
    """P1 (mm) of a fusion with weights ``state`` on a kept validation set."""
    from video_mocap.models.nets import Fusion

    net = Fusion()
    net.load_state_dict(state)
    with np.load(val_set) as f:
        return fusion._val_mm(net, [torch.from_numpy(f[k]) for k in fusion.INPUTS], f["target"])


def _view(joints):
    from video_mocap.models.evaluate import fixed_view

    return fixed_view(joints, np.random.default_rng(3))


def test_shipped_fusion_on_held_out_mocap(cmu_file):
    """The held-out test subjects through fixed random cameras with detector-like 2D (as `evaluate` sees them): the
    fused lift is more accurate than MPM's (P1, P2), better aligned than either lift (P2) and far less jittery
    (shipped card, whole test set: P1 73.4 vs 76.9 MPM / 74.8 single, P2 47.8 vs 50.8 / 50.8, accel 8.7 vs 19.9 / 46.4;
    here, 300 frames a clip: P1 79.6 vs 81.4 MPM / 84.1 single, P2 56.7 vs 58.6 / 60.4, accel 8.2 vs 21.0 / 48.2)."""
    from video_mocap.models.evaluate import fixed_view, summarise

    lifter = FusedLifter(weight_path("fusion"), weight_path("single"), weight_path("mpm"), "cpu")
    clips = D.load_clips(cmu_file, "test")
    rows = {"fused": [], "single": [], "mpm": []}
    for i, joints in enumerate(clips.joints):
        pixels, conf, gt = fixed_view(joints[:300], np.random.default_rng([11, i]))
        single, mpm = lifter.single.lift(pixels, conf), lifter.mpm.lift(pixels, conf)
        for name, pred in (("fused", lifter.fuse(pixels, conf, single, mpm)), ("single", single), ("mpm", mpm)):
            rows[name].append(summarise(pred, gt) | {"frames": len(gt)})
    m = {name: {k: np.average([r[k] for r in rs], weights=[r["frames"] for r in rs]) for k in ("mpjpe", "pa_mpjpe", "accel")}
         for name, rs in rows.items()}
    fused, single, mpm = m["fused"], m["single"], m["mpm"]
    assert fused["mpjpe"] < mpm["mpjpe"] - 1.5 and fused["pa_mpjpe"] < min(single["pa_mpjpe"], mpm["pa_mpjpe"]) - 0.5, m
    assert fused["accel"] < 0.5 * min(single["accel"], mpm["accel"]), m
