"""The foot-contact network: data, training, held-out precision/recall, ONNX export.

    python -m video_mocap.models contacts [--minutes 6] [--runs 3] [--out models/runs]

Training windows are mocap seen through random cameras with detector-like 2D (as the lifters'), lifted by
the shipped single-frame lifter exactly as the capture lifts (joints under the confidence threshold
masked), so the network learns from the 3D it will be given. True contacts come from the mocap itself
(:func:`true_contacts`). Subjects held out of the lifters are held out here too. Unlike the lifters it trains
on every fidelity tier (:data:`TIERS`): retargeted characters keep where the feet are planted, and those
tiers hold the turns, dances and acrobatics the original skeletons lack; the turning clips rendered for
validation (``data.TURN_CLIPS``) are left out.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..inference.contacts import ANKLES, CONTACT, CONTACT_HOLD, contact_features, in_contact
from ..inference.lifters import FrameLifter
from . import data as D

FPS = 50.0  # the shared data's frame rate
PLANTED_HEIGHT, PLANTED_SPEED = 0.06, 0.25  # as the rendered benchmark's scorer defines a planted foot
#: Training tiers: all (None). On the validation renders, every tier against the original skeletons only: skating
#: 2.39 -> 1.59 cm/s, turning training subjects 10.5 -> 8.7 (see the card).
TIERS = None


def true_contacts(world: np.ndarray, fps: np.ndarray) -> np.ndarray:
    """(B, T, 2) left/right contact of Y-up mocap windows (B, T, J, 3) at ``fps`` (B,): the ankle within
    6 cm of the lowest ankle height of its window and slower than 0.25 m/s."""
    ankles = world[:, :, list(ANKLES)]  # (B, T, 2, 3)
    height = ankles[..., 1] - ankles[..., 1].min(axis=(1, 2), keepdims=True)
    speed = np.linalg.norm(np.gradient(ankles, axis=1), axis=-1) * fps[:, None, None]
    return (height < PLANTED_HEIGHT) & (speed < PLANTED_SPEED)


def make_set(clips: D.Clips, windows: int, frames: int, lifter: FrameLifter, seed: int,
             threshold: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """``windows`` random windows: features (N, T, F) and true contacts (N, T, 2)."""
    rng = np.random.default_rng(seed)
    sampler = D.WindowSampler(clips)
    feats, labels = [], []
    for start in range(0, windows, 256):
        n = min(256, windows - start)
        world, step = sampler.windows(n, frames, rng, steps=True)
        flip = rng.random(n) < 0.5
        world[flip] = D.mirror(world[flip])
        world = D.scale_bones(world, D.random_bone_factors(n, rng)[:, None])
        fps = FPS / step
        cams = D.random_cameras(world[:, frames // 2, 0], rng)
        pixels, conf = D.detector_2d(world, cams, rng)
        conf = np.where(conf < threshold, 0.0, conf).astype(np.float32)
        rel = lifter.lift(pixels.reshape(-1, D.J, 2), conf.reshape(-1, D.J)).reshape(n, frames, D.J, 3)
        feats.append(np.stack([contact_features(rel[i], pixels[i], conf[i], fps[i]) for i in range(n)]))
        labels.append(true_contacts(world, fps))
    return np.concatenate(feats), np.concatenate(labels)


def precision_recall(prob: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Precision, recall and F1 of the contacts the capture holds (:func:`in_contact`) over every frame and foot."""
    pred = in_contact(prob)
    tp = float((pred & truth).sum())
    precision, recall = tp / max(pred.sum(), 1), tp / max(truth.sum(), 1)
    return {"precision": precision, "recall": recall, "f1": 2 * precision * recall / max(precision + recall, 1e-9),
            "contact_rate": float(truth.mean())}


def train(data: str, lifter_path: str | Path, out: str | Path, minutes: float = 6.0, windows: int = 6000,
          frames: int = 64, seed: int = 0, log=print) -> Path:
    """Train on the train split for ``minutes``, keep the best on the val split; returns the checkpoint."""
    import torch

    from .nets import ContactNet

    lifter = FrameLifter(lifter_path, "cpu")
    t0 = time.perf_counter()
    clips = D.without(D.load_clips(data, "train", TIERS), [clip for clip, _ in D.TURN_CLIPS])
    x, y = make_set(clips, windows, frames, lifter, seed)
    vx, vy = make_set(D.load_clips(data, "val"), windows // 6, frames, lifter, seed + 1)
    log(f"data: {len(x)} train / {len(vx)} val windows of {frames} frames in {time.perf_counter() - t0:.0f} s; "
        f"contact rate {y.mean():.2f}")
    torch.manual_seed(seed)
    net = ContactNet(features=x.shape[-1])
    opt = torch.optim.AdamW(net.parameters(), 1e-3, weight_decay=1e-4)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.float32))
    vxt = torch.from_numpy(vx)
    rng = np.random.default_rng(seed)
    best, step, t1 = -1.0, 0, time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / "contacts.pt"
    while time.perf_counter() - t1 < minutes * 60:
        net.train()
        for _ in range(100):
            idx = torch.from_numpy(rng.integers(0, len(xt), 64))
            loss = torch.nn.functional.binary_cross_entropy_with_logits(net(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
        net.eval()
        with torch.no_grad():
            prob = torch.sigmoid(net(vxt)).numpy()
        f1 = precision_recall(prob, vy)["f1"]
        if f1 > best:
            best = f1
            torch.save({"state": net.state_dict(), "features": x.shape[-1], "step": step, "val_f1": float(f1)}, ckpt)
        log(f"step {step}: loss {loss.item():.3f}, val F1 {f1:.3f} (best {best:.3f})")
    return ckpt


def load(checkpoint: str | Path):
    import torch

    from .nets import ContactNet

    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    net = ContactNet(features=state["features"])
    net.load_state_dict(state["state"])
    return net.eval()


def export(checkpoints: list[str | Path], onnx_path: str | Path, tolerance: float = 1e-3) -> Path:
    """Checkpoints (one or more) -> ONNX: input ``features`` (B, T, F), output ``contact`` (B, T, 2) probabilities, any B and T;
    weights kept as float16 (:func:`export.store_half`), checked against torch. Several checkpoints (runs of other
    seeds) give one network that averages their probabilities: one run's contacts vary with its seed (see the
    card), their mean much less."""
    import torch

    from .export import store_half, verify

    nets = torch.nn.ModuleList(load(c) for c in checkpoints)

    class Probabilities(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.nets = nets

        def forward(self, x):
            return torch.stack([torch.sigmoid(net(x)) for net in self.nets]).mean(0)

    wrapped = Probabilities().eval()
    x = torch.randn(2, 50, nets[0].inp.in_channels)
    onnx_path = Path(onnx_path)
    torch.onnx.export(wrapped, (x,), str(onnx_path), input_names=["features"], output_names=["contact"],
                      dynamic_axes={"features": {0: "batch", 1: "frames"}, "contact": {0: "batch", 1: "frames"}},
                      opset_version=17, dynamo=False)
    store_half(onnx_path)
    verify(wrapped, onnx_path, {"features": torch.randn(1, 137, nets[0].inp.in_channels)}, tolerance)
    return onnx_path


def evaluate(onnx_path: str | Path, data: str, lifter_path: str | Path, windows: int = 1000, frames: int = 64,
             seed: int = 2024) -> dict[str, float]:
    """Precision/recall on the held-out test subjects (fixed seed); also that of a rule on the 2D alone (the
    ankle slower than 0.3 person heights a second), the evidence a network is measured against."""
    from ..inference.contacts import ContactModel

    feats, truth = make_set(D.load_clips(data, "test"), windows, frames, FrameLifter(lifter_path, "cpu"), seed)
    model = ContactModel(onnx_path, "cpu")
    prob = model.session.run(["contact"], {"features": feats})[0]
    speed_cols = 17 * 3 * 2 + np.array([[2 * a, 2 * a + 1] for a in ANKLES])  # the ankles' 2D speeds
    rule = (np.linalg.norm(feats[..., speed_cols], axis=-1) < 0.3).astype(np.float32)
    return {"windows": windows, "frames": frames, **precision_recall(prob, truth),
            "rule_2d": precision_recall(rule, truth)}


def ship(checkpoints: list[str | Path], data: str, lifter_path: str | Path, command: str, directory: Path | None = None,
         note: str = "") -> Path:
    """Export (one checkpoint, or several averaged) into the weights folder, measure on the held-out subjects,
    register the hash, write the card."""
    from ..inference.weights import WEIGHTS_DIR

    directory = Path(directory or WEIGHTS_DIR)
    return write_card(export(checkpoints, directory / "contacts.onnx"), data, lifter_path, command, note, len(checkpoints))


def write_card(onnx_path: Path, data: str, lifter_path: str | Path, command: str, note: str = "", runs: int = 1) -> Path:
    """Measure the network in ``onnx_path`` on the held-out subjects (as the capture decides contacts), register
    its hash and the figures, write ``contacts.eval.json`` and the card beside it (``note``: a paragraph for it)."""
    import json

    from ..inference.weights import register

    directory = onnx_path.parent
    result = evaluate(onnx_path, data, lifter_path)
    (directory / "contacts.eval.json").write_text(json.dumps(result, indent=2) + "\n")
    entry = register("contacts", onnx_path, {"kind": "contacts", "command": command, "licence": "CMU mocap: free for all uses",
                                             "test_f1": round(result["f1"], 3), "runs": runs}, directory)
    rule = result["rule_2d"]
    tiers = "every fidelity tier" if TIERS is None else f"fidelity tiers {', '.join(map(str, TIERS))}"
    note = f"{note}\n\n" if note else ""
    ensemble = f"; {runs} runs of it with different seeds, their probabilities averaged" if runs > 1 else ""
    card = f"""# contacts: foot contacts from lifted 3D and 2D

**What.** Per-frame contact probability of the left and right foot for a whole clip at once: dilated residual
temporal convolutions (width 128, receptive field 35 frames, 0.2 M parameters){ensemble}. Inputs per frame
(`inference.contacts.contact_features`): the normalised 2D, the lifted pelvis-relative 3D (camera axes), the
2D speed of every joint in person heights per second and the 3D speed relative to the pelvis. The clip-level
solve (`inference/solve.py`) holds a foot still on the floor from where its probability reaches {CONTACT} for as
long as it stays at or above {CONTACT_HOLD} (`inference.contacts.in_contact`).

**Data and licence.** CMU Graphics Lab mocap (free for all uses; "The data used in this project was obtained
from mocap.cs.cmu.edu. The database was created with funding from NSF EIA-0196217."), training subjects only
(held out: {', '.join(D.HELD_OUT['test'])} for test, {', '.join(D.HELD_OUT['val'])} for model selection), {tiers}, less the
{len(D.TURN_CLIPS)} turning clips rendered for validation ({', '.join(c for c, _ in D.TURN_CLIPS)}). Windows of 64
frames at 24-62 fps seen through random cameras with detector-like 2D, lifted by the shipped `single` lifter
as the capture lifts. True contact: the ankle within {PLANTED_HEIGHT * 100:.0f} cm of the window's lowest ankle
height and slower than {PLANTED_SPEED} m/s (the rendered benchmark's definition of a planted foot).

**Command.** `{command}`

**Held-out test** ({result['windows']} windows x {result['frames']} frames of subjects {', '.join(D.HELD_OUT['test'])},
fixed seed; `contacts.eval.json`):

| | precision | recall | F1 |
|---|---|---|---|
| this network (held from p >= {CONTACT} while p >= {CONTACT_HOLD}) | {result['precision']:.3f} | {result['recall']:.3f} | {result['f1']:.3f} |
| rule on the 2D alone (ankle slower than 0.3 person heights/s) | {rule['precision']:.3f} | {rule['recall']:.3f} | {rule['f1']:.3f} |

True contact rate: {result['contact_rate']:.2f} of foot-frames.

{note}**File.** `contacts.onnx`, sha256 `{entry['sha256']}`.
"""
    (directory / "contacts.md").write_text(card)
    return onnx_path
