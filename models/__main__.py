"""``python -m video_mocap.models train|export|evaluate ...``: reproduce the shipped lifters."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .data import DEFAULT_DATA, DEFAULT_TIERS, HELD_OUT, require_data

DATA_HELP = (f"mocap npz in the shared data layout (default: {DEFAULT_DATA}, the CMU file of the shared data "
             "folder beside the checkout)")
TIERS_HELP = ("CMU fidelity tiers to use, comma-separated (e.g. 0,1,2) or 'all': 0 original ASF/AMC skeletons, "
              "1 BVH/FBX, 2 expmap, 3-6 retargeted onto other characters; files without tiers use every clip")


def _tiers(text: str):
    return None if text == "all" else tuple(int(t) for t in text.split(","))


def _threads(n: int) -> None:
    import torch

    if n:
        torch.set_num_threads(n)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m video_mocap.models")
    sub = p.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="train a lifter on mocap seen through virtual cameras")
    tr.add_argument("model", choices=["single", "mpm", "mlp", "tcn"])
    tr.add_argument("--data", default=DEFAULT_DATA, help=DATA_HELP)
    tr.add_argument("--out", default="models/runs")
    tr.add_argument("--steps", type=int, default=6000)
    tr.add_argument("--epoch-steps", type=int, default=250, help="steps between validations (the best is kept)")
    tr.add_argument("--minutes", type=float, default=0.0,
                    help="train for this wall-clock budget instead of --steps (steps set from the measured step time)")
    tr.add_argument("--workers", type=int, default=0, help="processes making training batches (0: none; use several on a GPU)")
    tr.add_argument("--stage1", type=float, default=0.3, help="MPM: fraction of the steps spent on masked pose pre-training")
    tr.add_argument("--batch", type=int, default=1024, help="frames per batch")
    tr.add_argument("--tumble", type=float, default=0.0,
                    help="fraction of training windows turned to any orientation: lying, leaning, upside down (default 0)")
    tr.add_argument("--lean", type=float, default=0.0,
                    help="fraction of training windows whose upper body is leaned over by up to 40 deg (bending, lunges)")
    tr.add_argument("--mix", type=float, default=0.0,
                    help="fraction of training windows with a limb or a pair moving as another window's (poses the mocap lacks)")
    tr.add_argument("--proportions", type=float, default=0.08,
                    help="sd of each bone's random length factor (default 0.08; 0.2: short-thighed, child-like to long-legged bodies)")
    tr.add_argument("--completion", type=float, default=0.25,
                    help="MPM: share of the fine-tuning steps on 3D completion from a partial 3D pose (default 0.25)")
    tr.add_argument("--whole-limb", type=float, default=0.0,
                    help="MPM: share of those whose limb is hidden over the whole window, as in mocap missing a limb (default 0)")
    tr.add_argument("--lr", type=float, default=1e-3)
    tr.add_argument("--init", default="", help="start from this checkpoint's weights, or an exported ONNX lifter's (same model, e.g. models/weights/mpm.onnx): continue a run on a new schedule")
    tr.add_argument("--tiers", type=_tiers, default=DEFAULT_TIERS, help=TIERS_HELP)
    tr.add_argument("--actor-size", action="store_true",
                    help="scale each retargeted clip to the training subjects' mean size (their poses, people's size)")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ex = sub.add_parser("export", help="checkpoint -> ONNX, checked against torch")
    ex.add_argument("checkpoint")
    ex.add_argument("onnx")
    ev = sub.add_parser(
        "evaluate", help="score an ONNX lifter on any npz in the shared data layout (needs onnxruntime only)",
        description="Each clip is seen by random static cameras (all-round azimuth, elevation -10..40 deg, 2.5-8 m, "
                    "common video sizes and lenses) with detector-like 2D (per-joint offsets, drifting noise, sticky "
                    "outliers, dropped joints; --clean-2d for exact projections), lifted as the capture path lifts, "
                    "and scored in mm: P1 MPJPE, P2 PA-MPJPE, N-MPJPE, PCK@150, AUC, MPJVE, acceleration; legs hidden "
                    "in 2D; for MPM also one whole limb completed in 3D. Fixed seed: the same numbers every run.")
    ev.add_argument("onnx", help="the lifter, e.g. models/weights/single.onnx")
    ev.add_argument("--data", default=DEFAULT_DATA, help=DATA_HELP)
    ev.add_argument("--split", default="test", choices=["train", "val", "test", "all"],
                    help=f"which clips: test = CMU subjects {', '.join(HELD_OUT['test'])}, val = {', '.join(HELD_OUT['val'])}, "
                         "train = the rest, all = every clip. A file without any of the held-out CMU subjects "
                         "(someone else's data) is all 'test' (default: test)")
    ev.add_argument("--tiers", type=_tiers, default=DEFAULT_TIERS, help=TIERS_HELP + " (default: 0,1,2)")
    ev.add_argument("--cameras", type=int, default=1,
                    help="random cameras per clip (default 1); more make the figure less dependent on one draw")
    ev.add_argument("--clean-2d", action="store_true", help="exact projected 2D (confidence 1) instead of detector-like 2D")
    ev.add_argument("--lean", type=float, default=0.0, metavar="DEG",
                    help="first turn every clip's upper body by DEG about the world X axis through the pelvis (bent over, "
                         "leaning back): how a lifter copes with leaning bodies")
    ev.add_argument("--legs", type=float, nargs=2, default=(1.0, 1.0), metavar=("THIGH", "SHIN"),
                    help="first scale every clip's thighs and shins by these factors (e.g. 0.6 0.85: short-thighed, "
                         "child-like legs): how a lifter copes with proportions its mocap lacks")
    ev.add_argument("--no-flip", action="store_true",
                    help="lift without the mirror average (the capture averages each lift with its mirror image's)")
    ev.add_argument("--json", help="write the metrics (overall and per clip) to this file")
    ev.add_argument("--seed", type=int, default=2024, help="camera and noise seed (default 2024)")
    sh = sub.add_parser("ship", help="export into models/weights, evaluate, record the hash, write the model card")
    sh.add_argument("checkpoint")
    sh.add_argument("name", help="shipped model name, e.g. single or mpm")
    sh.add_argument("--data", default=DEFAULT_DATA, help=DATA_HELP)
    sh.add_argument("--train-command", required=True, help="the training command, for the card")
    sh.add_argument("--trained-on", default="a 2-core CPU", help="the machine it trained on, for the card")
    sh.add_argument("--note", default="", help="a markdown file with a paragraph for the card (ablations, ...)")
    hf = sub.add_parser("half", help="keep a shipped lifter's weights as float16 (half the file), checked on the held-out test")
    hf.add_argument("name", help="the lifter's name in models/weights (e.g. mpm)")
    hf.add_argument("--data", default=DEFAULT_DATA, help=DATA_HELP)
    tc = sub.add_parser("train-context", help="train the context-aware lifter on rendered images")
    tc.add_argument("data", help="folder of chunk_*.npz from python -m video_mocap.models.synth.context_data")
    tc.add_argument("--base", default="models/runs/single.pt", help="checkpoint of the single-frame lifter to refine")
    tc.add_argument("--out", default="models/runs")
    tc.add_argument("--steps", type=int, default=3000)
    tc.add_argument("--batch", type=int, default=64)
    tc.add_argument("--lr", type=float, default=5e-4)
    tc.add_argument("--no-context", action="store_true", help="ablation: the same refinement from 2D alone")
    tc.add_argument("--seed", type=int, default=0)
    tc.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ec = sub.add_parser("evaluate-context", help="same images with and without context: MPJPE / PA-MPJPE")
    ec.add_argument("data", help="folder of chunk_*.npz (e.g. made with --split test)")
    ec.add_argument("checkpoints", nargs="+")
    sc = sub.add_parser("ship-context", help="export the context lifter into models/weights with its card")
    sc.add_argument("checkpoint")
    sc.add_argument("--train-command", required=True)
    sc.add_argument("--benchmark", help="results.json of the rendered benchmark, for the card")
    sc.add_argument("--ablation", default="", help="markdown file with the evaluate-context table, for the card")
    sc.add_argument("--note", default="", help="a paragraph for the card (how the data was made, ...)")
    co = sub.add_parser("contacts", help="train the foot-contact network, measure it on the held-out subjects and ship it")
    co.add_argument("--data", default=DEFAULT_DATA, help=DATA_HELP)
    co.add_argument("--out", default="models/runs")
    co.add_argument("--minutes", type=float, default=6.0, help="training time (the best on the val subjects is kept)")
    co.add_argument("--windows", type=int, default=6000, help="training windows of 64 frames")
    co.add_argument("--seed", type=int, default=0)
    co.add_argument("--runs", type=int, default=1, help="train this many runs (seeds --seed, --seed + 1, ...) and ship "
                    "their average")
    co.add_argument("--checkpoint", nargs="+", help="ship these checkpoints (averaged) instead of training")
    co.add_argument("--train-command", default="", help="with --checkpoint: the command that trained them, for the card")
    co.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    co.add_argument("--card", action="store_true", help="only measure the shipped network again and rewrite its card")
    co.add_argument("--note", default="", help="markdown file with a paragraph for the card (figures through the capture)")
    co.add_argument("--no-ship", action="store_true", help="train only: leave models/weights as it is")
    fu = sub.add_parser("fusion", help="train the temporal fusion of the single-frame and MPM lifts (data made once, kept in --out)")
    fu.add_argument("--data", default=DEFAULT_DATA, help=DATA_HELP)
    fu.add_argument("--out", default="models/runs/fusion", help="folder for the generated sets and the checkpoint")
    fu.add_argument("--minutes", type=float, default=25.0, help="training time (the best on the val subjects is kept)")
    fu.add_argument("--sequences", type=int, default=16000, help="training sequences of 54 frames")
    fu.add_argument("--lr", type=float, default=1e-3)
    fu.add_argument("--mix", type=float, default=0.0, help="share of training windows with limbs mixed across windows")
    fu.add_argument("--seed", type=int, default=0)
    fu.add_argument("--corrupt", type=float, default=0.0, help="share of training sequences with one lift made wrong over a stretch")
    fu.add_argument("--init", help="continue from a fusion checkpoint (.pt) or exported file (.onnx, e.g. the shipped one)")
    fu.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    fu.add_argument("--no-ship", action="store_true", help="train only: leave models/weights as it is")
    fu.add_argument("--checkpoint", help="ship this checkpoint of an earlier run instead of training")
    fu.add_argument("--train-command", default="", help="with --checkpoint: the command that trained it, for the card")
    fu.add_argument("--note", default="", help="markdown file with a paragraph for the card")
    cd = sub.add_parser("convert-detector", help="BlazePose tflite (mediapipe wheel) -> ONNX in models/weights, parity-checked")
    cd.add_argument("--heavy", action="store_true", help="build the heavy landmark model instead (npm @mediapipe/pose; 55 MB, not committed)")
    cd.add_argument("--hands", action="store_true", help="convert the hand landmark and hand re-crop models instead")
    hc = sub.add_parser("hand-centres", help="fit the hands' joint-centre offsets on rendered hands and ship them")
    hc.add_argument("renders", nargs="+", help="folders of hands_*.mp4 with their _gt.npz (models/synth/hands.py; "
                    "other seeds than the benchmark's, e.g. --clips 8 --seed 100)")
    hc.add_argument("--no-ship", action="store_true", help="measure the fit only: leave models/weights as it is")
    args = p.parse_args(argv)
    ran = " ".join([p.prog, *(argv if argv is not None else sys.argv[1:])])  # this command line, for a card
    if getattr(args, "data", None) and args.command in ("train", "evaluate", "ship", "contacts", "fusion", "half"):
        require_data(args.data)

    if args.command == "train":
        from .train import Config, train

        _threads(args.threads)
        cfg = Config(model=args.model, data=args.data, steps=args.steps, epoch_steps=args.epoch_steps,
                     batch=args.batch, lr=args.lr, tiers=args.tiers, seed=args.seed, minutes=args.minutes,
                     stage1=args.stage1, workers=args.workers, tumble=args.tumble, lean=args.lean, mix=args.mix,
                     proportions=args.proportions, completion=args.completion, whole_limb=args.whole_limb, init=args.init,
                     actor_size=args.actor_size)
        print(train(cfg, args.out))
    elif args.command == "export":
        from .export import export

        print(export(args.checkpoint, args.onnx))
    elif args.command == "train-context":
        from .context import ContextConfig, train_context

        if not Path(args.base).is_file():
            raise SystemExit(f"error: no single-frame checkpoint at {args.base}: pass --base FILE, or train one first "
                             "(python -m video_mocap.models train single)")
        _threads(args.threads)
        cfg = ContextConfig(data=args.data, base=args.base, steps=args.steps, batch=args.batch, lr=args.lr, seed=args.seed,
                            arch={"context": not args.no_context})
        print(train_context(cfg, args.out))
    elif args.command == "evaluate-context":
        from .context import evaluate_images

        print("| model | images | MPJPE (mm) | PA-MPJPE (mm) |\n|---|---|---|---|")
        for name, r in evaluate_images(args.checkpoints, args.data).items():
            print(f"| {name} | {r['images']} | {r['mpjpe']:.1f} | {r['pa_mpjpe']:.1f} |")
    elif args.command == "ship-context":
        from .card import ship_context

        ablation = Path(args.ablation).read_text() if args.ablation else ""
        print(ship_context(args.checkpoint, args.train_command, args.benchmark, ablation, args.note))
    elif args.command == "contacts":
        from ..inference.weights import weight_path
        from . import contacts

        missing = [c for c in args.checkpoint or [] if not Path(c).is_file()]
        if missing:
            raise SystemExit(f"error: no checkpoint at {', '.join(missing)}")
        _threads(args.threads)
        note = Path(args.note).read_text().strip() if args.note else ""
        if args.card:
            from ..inference.weights import manifest

            entry = manifest()["contacts"]
            print(contacts.write_card(weight_path("contacts"), args.data, weight_path("single"), entry["command"], note,
                                      entry.get("runs", 1)))
            return 0
        if args.checkpoint:
            ckpts, ran = args.checkpoint, args.train_command or ran
        else:
            out = Path(args.out)
            ckpts = [contacts.train(args.data, weight_path("single"), out / f"seed{s}" if args.runs > 1 else out,
                                    args.minutes, args.windows, seed=s) for s in range(args.seed, args.seed + args.runs)]
        if not args.no_ship:
            print(contacts.ship(ckpts, args.data, weight_path("single"), ran, note=note))
    elif args.command == "fusion":
        from ..inference.weights import weight_path
        from . import fusion

        if args.checkpoint and not Path(args.checkpoint).is_file():
            raise SystemExit(f"error: no checkpoint at {args.checkpoint} (a fusion run writes OUT/fusion.pt)")
        _threads(args.threads)
        ckpt = Path(args.checkpoint) if args.checkpoint else fusion.train(
            args.data, weight_path("single"), weight_path("mpm"), args.out, args.minutes, args.sequences, seed=args.seed, lr=args.lr,
            mix=args.mix, init=args.init, corrupt=args.corrupt)
        if not args.no_ship:
            print(fusion.ship(ckpt, args.data, args.train_command or ran, note=Path(args.note).read_text() if args.note else ""))
    elif args.command == "convert-detector":
        from .card import ship_detector, ship_hands, ship_heavy

        print(ship_heavy() if args.heavy else "\n".join(map(str, ship_hands() if args.hands else ship_detector())))
    elif args.command == "hand-centres":
        from .hand_centres import clips_in, ship as ship_centres

        try:
            clips = clips_in(args.renders)
        except FileNotFoundError as e:
            raise SystemExit(f"error: {e}")
        print(ship_centres(clips, ran.replace(" ".join(args.renders), "RENDERS"), args.no_ship))
    elif args.command == "half":
        from ..inference.weights import manifest
        from .card import ship_half

        lifters = [n for n, e in manifest().items() if e.get("kind") in ("single", "mpm", "fusion")]
        if args.name not in lifters:
            raise SystemExit(f"error: no lifter {args.name!r} in models/weights; its lifters: {', '.join(lifters)}")
        print(ship_half(args.name, args.data))
    elif args.command == "ship":
        from .card import ship

        note = Path(args.note).read_text() if args.note else ""
        print(ship(args.checkpoint, args.name, args.data, args.train_command, trained_on=args.trained_on, note=note))
    else:
        from .evaluate import evaluate, print_table

        if not Path(args.onnx).is_file():
            raise SystemExit(f"error: no lifter at {args.onnx} (the shipped ones are in models/weights/*.onnx)")
        result = evaluate(args.onnx, args.data, args.split, args.tiers, args.seed, args.json, args.cameras, args.clean_2d,
                          not args.no_flip, args.lean, tuple(args.legs))
        print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
