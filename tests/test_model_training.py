"""Tiny training runs, ONNX export parity for every lifter, and the runtime lifters on the result."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from video_mocap.models.train import Config, train  # noqa: E402

from mocap_fixture import write_mocap  # noqa: E402

TINY = {"single": dict(d=32, layers=1, heads=4), "mlp": dict(width=64, blocks=1), "tcn": dict(channels=32),
        "mpm": dict(d=32, temporal_layers=1, heads=4)}


@pytest.fixture(scope="module")
def mocap(tmp_path_factory):
    return write_mocap(tmp_path_factory.mktemp("mocap") / "mini.npz")


def test_tiny_training_lowers_the_loss(mocap, tmp_path):
    torch.set_num_threads(1)
    cfg = Config(model="single", data=mocap, steps=120, epoch_steps=30, batch=128, lr=2e-3, arch=TINY["single"])
    ckpt = train(cfg, tmp_path, device="cpu", log=lambda s: None)
    hist = torch.load(ckpt, weights_only=False)["history"]
    assert len(hist) == 4
    assert hist[-1]["loss"] < 0.7 * hist[0]["loss"]
    assert hist[-1]["val_mpjpe_mm"] < hist[0]["val_mpjpe_mm"]


def test_init_continues_a_run_from_its_checkpoint(mocap, tmp_path):
    torch.set_num_threads(1)
    first = Config(model="single", data=mocap, steps=120, epoch_steps=30, batch=128, lr=2e-3, arch=TINY["single"])
    ckpt = train(first, tmp_path / "a", device="cpu", log=lambda s: None)
    state = torch.load(ckpt, weights_only=False)
    state["state"] = {k: v.half() for k, v in state["state"].items()}  # as checkpoints travel back from a GPU
    torch.save(state, tmp_path / "half.pt")
    more = Config(model="single", data=mocap, steps=30, epoch_steps=30, batch=128, lr=2e-3, arch=TINY["single"],
                  init=str(tmp_path / "half.pt"))
    cont = torch.load(train(more, tmp_path / "b", device="cpu", log=lambda s: None), weights_only=False)
    fresh = Config(model="single", data=mocap, steps=30, epoch_steps=30, batch=128, lr=2e-3, arch=TINY["single"])
    scratch = torch.load(train(fresh, tmp_path / "c", device="cpu", log=lambda s: None), weights_only=False)
    assert cont["history"][0]["val_mpjpe_mm"] < scratch["history"][0]["val_mpjpe_mm"]
    wrong = Config(model="single", data=mocap, steps=1, arch=dict(d=64, layers=1, heads=4), init=str(ckpt))
    with pytest.raises(ValueError, match="arch"):
        train(wrong, tmp_path / "d", device="cpu", log=lambda s: None)


@pytest.mark.parametrize("kind", ["single", "mlp", "tcn", "mpm"])
def test_export_matches_torch(kind, mocap, tmp_path):
    from video_mocap.models.export import export

    cfg = Config(model=kind, data=mocap, steps=2, epoch_steps=1, batch=128, arch=TINY[kind],
                 stage1=0.0 if kind == "mpm" else 0.3)
    ckpt = train(cfg, tmp_path, device="cpu", log=lambda s: None)
    onnx_path = export(ckpt, tmp_path / f"{kind}.onnx")  # raises if onnxruntime and torch differ > 1e-4
    from video_mocap.inference import runtime

    meta = runtime.metadata(runtime.session(onnx_path, "cpu"))
    assert meta["kind"] == kind and meta["skeleton"] == "h36m17"


def test_parity_check_names_the_output_that_differs(mocap, tmp_path):
    """``verify`` passes the exported file against its own network and raises, naming the output, against a
    network whose weights moved."""
    from video_mocap.models.export import check_inputs, export, verify
    from video_mocap.models.train import load_checkpoint

    cfg = Config(model="mpm", data=mocap, steps=2, epoch_steps=1, batch=128, arch=TINY["mpm"], stage1=0.0)
    ckpt = train(cfg, tmp_path, device="cpu", log=lambda s: None)
    onnx_path = export(ckpt, tmp_path / "mpm.onnx")
    net = load_checkpoint(ckpt)[0]
    inputs = check_inputs("mpm", net)
    verify(net, onnx_path, inputs, 1e-4, ["pose3d", "keypoints2d"])
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    with pytest.raises(RuntimeError, match="differs from torch by .* on pose3d"):
        verify(net, onnx_path, inputs, 1e-4, ["pose3d", "keypoints2d"])


@pytest.mark.parametrize("kind", ["single", "mpm"])
def test_training_continues_from_an_exported_onnx(kind, mocap, tmp_path):
    """``--init`` takes an ONNX lifter (a shipped one): its weights read back give the same network, and a
    network of another arch is refused."""
    import shutil

    from video_mocap.models.export import export, import_onnx, store_half
    from video_mocap.models.train import load_checkpoint

    torch.set_num_threads(1)
    cfg = Config(model=kind, data=mocap, steps=40, epoch_steps=40, batch=128, arch=TINY[kind], stage1=0.0)
    ckpt = train(cfg, tmp_path / "a", device="cpu", log=lambda s: None)
    onnx_path = export(ckpt, tmp_path / f"{kind}.onnx")
    weights = import_onnx(onnx_path, kind, TINY[kind])
    trained = load_checkpoint(ckpt)[0].state_dict()
    for k, v in trained.items():
        torch.testing.assert_close(weights[k], v, rtol=0, atol=1e-6, msg=k)
    more = Config(model=kind, data=mocap, steps=1, epoch_steps=1, batch=128, arch=TINY[kind], stage1=0.0,
                  init=str(onnx_path))
    assert train(more, tmp_path / "b", device="cpu", log=lambda s: None).is_file()
    other = dict(TINY[kind], heads=2)
    with pytest.raises(ValueError, match="cannot read"):
        import_onnx(onnx_path, kind, other)
    # a shipped file keeps its weights as float16 (store_half): read back as the float32 values onnxruntime uses
    half = store_half(shutil.copy(onnx_path, tmp_path / f"{kind}_half.onnx"))
    for k, v in import_onnx(half, kind, TINY[kind]).items():
        stored = trained[k].half().float() if trained[k].numel() >= 16 else trained[k]  # store_half keeps tiny ones
        torch.testing.assert_close(v, stored, rtol=0, atol=0, msg=k)


def test_runtime_lifters_run_exported_models(mocap, tmp_path):
    from video_mocap.inference.lifters import FrameLifter, WindowLifter
    from video_mocap.models.export import export

    paths = {}
    for kind in ("single", "mpm"):
        cfg = Config(model=kind, data=mocap, steps=2, epoch_steps=1, batch=128, arch=TINY[kind], stage1=0.0)
        paths[kind] = export(train(cfg, tmp_path, device="cpu", log=lambda s: None), tmp_path / f"{kind}.onnx")
    rng = np.random.default_rng(0)
    pixels, conf = rng.uniform(200, 600, (40, 17, 2)).astype(np.float32), np.ones((40, 17), np.float32)
    single = FrameLifter(paths["single"], "cpu").lift(pixels, conf)
    assert single.shape == (40, 17, 3) and np.isfinite(single).all()
    assert FrameLifter(paths["single"], "cpu").provider == "CPUExecutionProvider"
    mpm = WindowLifter(paths["mpm"], "cpu")
    out = mpm.lift(pixels, conf)
    assert out.shape == (40, 17, 3) and np.isfinite(out).all()
    np.testing.assert_allclose(out[:, 0], 0, atol=1e-6)
    short = mpm.lift(pixels[:5], conf[:5])  # shorter than the window: padded, still 5 poses
    assert short.shape == (5, 17, 3)
    known = np.ones((40, 17), bool)
    known[:, 11:14] = False
    done = mpm.complete(out, known)
    np.testing.assert_array_equal(done[known], out[known])
    assert np.isfinite(done).all()


def test_contact_runs_export_as_one_network_averaging_them(tmp_path):
    """Several contact runs ship as one ONNX whose probabilities are the mean of theirs (what the capture reads),
    its weights kept as float16: half the file, the probabilities within 1e-3."""
    from video_mocap.inference.contacts import ContactModel
    from video_mocap.models import contacts as C
    from video_mocap.models.nets import ContactNet

    torch.manual_seed(0)
    paths, nets = [], []
    for k in range(3):
        net = ContactNet(features=187).eval()
        paths.append(tmp_path / f"run{k}.pt")
        torch.save({"state": net.state_dict(), "features": 187}, paths[-1])
        nets.append(net)
    x = torch.randn(1, 60, 187)
    with torch.no_grad():
        each = [torch.sigmoid(net(x))[0].numpy() for net in nets]
    one = ContactModel(C.export(paths[:1], tmp_path / "one.onnx"), "cpu").predict_features(x[0].numpy())
    mean = ContactModel(C.export(paths, tmp_path / "mean.onnx"), "cpu").predict_features(x[0].numpy())
    np.testing.assert_allclose(one, each[0], atol=1e-3)
    np.testing.assert_allclose(mean, np.mean(each, 0), atol=1e-3)
    assert (tmp_path / "mean.onnx").stat().st_size < 0.6 * 3 * (tmp_path / "run0.pt").stat().st_size, "float16 weights"
    assert np.abs(mean - each[0]).max() > 1e-3, "the runs differ, so their mean is not any one of them"


def test_half_keeps_a_shipped_lifter_as_float16_with_its_figures(mocap, tmp_path):
    """`models half NAME`: the shipped file's weights in float16 (half the file), the held-out figures within the limit
    (0.1 mm for shipped lifters; 1 mm for this barely trained one), the manifest's hash and the card's file line
    updated (the loader checks the hash); too tight a limit keeps the file."""
    from video_mocap.inference.weights import register, weight_path
    from video_mocap.models.card import ship_half
    from video_mocap.models.export import export

    cfg = Config(model="mpm", data=mocap, steps=2, epoch_steps=1, batch=128, arch=TINY["mpm"], stage1=0.0)
    path = export(train(cfg, tmp_path / "run", device="cpu", log=lambda s: None), tmp_path / "mpm.onnx")
    old = register("mpm", path, {"kind": "mpm", "command": "tiny"}, tmp_path)
    (tmp_path / "mpm.md").write_text(f"- **File**: `models/weights/mpm.onnx`, sha256 `{old['sha256']}`, 9.9 MB,\n")
    size = path.stat().st_size
    with pytest.raises(RuntimeError, match="kept float32"):
        ship_half("mpm", mocap, tmp_path, limit_mm=0.0)
    assert path.stat().st_size == size and weight_path("mpm", tmp_path) == path
    ship_half("mpm", mocap, tmp_path, limit_mm=1.0)
    assert path.stat().st_size < 0.8 * size and weight_path("mpm", tmp_path) == path  # smaller; hash registered
    card = (tmp_path / "mpm.md").read_text()
    assert old["sha256"] not in card.splitlines()[0] and f"{path.stat().st_size / 1e6:.1f} MB" in card.splitlines()[0]
    assert "float16" in card
