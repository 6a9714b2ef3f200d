"""``python -m video_mocap.models train|export|evaluate ...``: reproduce the shipped lifters."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

DEFAULT_DATA = "../shared/data/cmu_positions.npz"


def _tiers(text: str):
    return None if text == "all" else tuple(int(t) for t in text.split(","))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m video_mocap.models")
    sub = p.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="train a lifter on mocap seen through virtual cameras")
    tr.add_argument("model", choices=["single", "mpm", "mlp", "tcn"])
    tr.add_argument("--data", default=DEFAULT_DATA)
    tr.add_argument("--out", default="models/runs")
    tr.add_argument("--steps", type=int, default=6000)
    tr.add_argument("--epoch-steps", type=int, default=250)
    tr.add_argument("--batch", type=int, default=1024, help="frames per batch")
    tr.add_argument("--lr", type=float, default=1e-3)
    tr.add_argument("--tiers", type=_tiers, default=(0, 1, 2), help="CMU fidelity tiers, e.g. 0,1,2 or all")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ex = sub.add_parser("export", help="checkpoint -> ONNX, checked against torch")
    ex.add_argument("checkpoint")
    ex.add_argument("onnx")
    ev = sub.add_parser("evaluate", help="score an ONNX lifter on any npz in the shared data layout")
    ev.add_argument("onnx")
    ev.add_argument("--data", default=DEFAULT_DATA)
    ev.add_argument("--split", default="test", choices=["train", "val", "test", "all"])
    ev.add_argument("--tiers", type=_tiers, default=(0, 1, 2))
    ev.add_argument("--json", help="write the metrics here")
    ev.add_argument("--seed", type=int, default=2024, help="camera and noise seed")
    sh = sub.add_parser("ship", help="export into models/weights, evaluate, record the hash, write the model card")
    sh.add_argument("checkpoint")
    sh.add_argument("name", help="shipped model name, e.g. single or mpm")
    sh.add_argument("--data", default=DEFAULT_DATA)
    sh.add_argument("--train-command", required=True, help="the training command, for the card")
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
    sub.add_parser("convert-detector", help="BlazePose tflite (mediapipe wheel) -> ONNX in models/weights, parity-checked")
    args = p.parse_args(argv)

    if args.command == "train":
        from .train import Config, train

        if args.threads:
            torch.set_num_threads(args.threads)
        cfg = Config(model=args.model, data=args.data, steps=args.steps, epoch_steps=args.epoch_steps,
                     batch=args.batch, lr=args.lr, tiers=args.tiers, seed=args.seed)
        print(train(cfg, args.out))
    elif args.command == "export":
        from .export import export

        print(export(args.checkpoint, args.onnx))
    elif args.command == "train-context":
        from .context import ContextConfig, train_context

        if args.threads:
            torch.set_num_threads(args.threads)
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
    elif args.command == "convert-detector":
        from .card import ship_detector

        print("\n".join(map(str, ship_detector())))
    elif args.command == "ship":
        from .card import ship

        print(ship(args.checkpoint, args.name, args.data, args.train_command))
    else:
        from .evaluate import evaluate, print_table

        result = evaluate(args.onnx, args.data, args.split, args.tiers, args.seed, args.json)
        print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
