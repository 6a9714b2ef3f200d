"""The developer CLI ``python -m video_mocap.models``: evaluation without torch, help, clear errors."""
import subprocess
import sys
from pathlib import Path

import pytest

from video_mocap.models.evaluate import evaluate, print_table, short_names

from mocap_fixture import write_mocap

SINGLE = Path(__file__).resolve().parents[1] / "models" / "weights" / "single.onnx"
NO_TORCH = "import sys; sys.modules['torch'] = None; from video_mocap.models.__main__ import main; sys.exit(main(sys.argv[1:]))"


def _run(*args, cwd):
    return subprocess.run([sys.executable, "-c", NO_TORCH, *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_evaluate_runs_without_torch_from_anywhere(tmp_path):
    data = write_mocap(tmp_path / "walks.npz", subjects=("01", "02"), frames=60)  # no held-out subject: all 'test'
    done = _run("evaluate", SINGLE, "--data", data, "--cameras", "2", "--clean-2d", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "2 clips x 2 cameras" in done.stdout and "exact 2D" in done.stdout
    assert "walk_01 cam1" in done.stdout and "ALL (frame-weighted)" in done.stdout


def test_every_evaluate_option_has_help(tmp_path):
    done = _run("evaluate", "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    options = [w for w in done.stdout.split() if w.startswith("--")]
    assert {"--data", "--split", "--tiers", "--cameras", "--clean-2d", "--lean", "--legs", "--seed", "--json"} <= set(options)
    assert "all 'test'" in " ".join(done.stdout.split()), "says what a file without the held-out subjects becomes"


def test_missing_data_is_one_line(tmp_path):
    done = _run("evaluate", SINGLE, "--data", tmp_path / "none.npz", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "--data" in done.stderr


def test_more_cameras_and_clean_2d(tmp_path):
    data = write_mocap(tmp_path / "walks.npz", subjects=("01", "02"), frames=60)
    one = evaluate(SINGLE, data, cameras=1)
    two = evaluate(SINGLE, data, cameras=2)
    clean = evaluate(SINGLE, data, cameras=2, clean_2d=True)
    assert len(two["per_clip"]) == 4 and two["frames"] == 2 * one["frames"]
    # Camera 0 of every clip is the one-camera draw, so adding cameras only adds rows.
    assert two["per_clip"][0]["mpjpe"] == pytest.approx(one["per_clip"][0]["mpjpe"])
    assert clean["overall"]["mpjpe"] < two["overall"]["mpjpe"], "exact 2D lifts better than detector-like 2D"
    leant = evaluate(SINGLE, data, cameras=1, lean=50.0)
    assert leant["lean"] == 50.0 and leant["frames"] == one["frames"]
    assert leant["overall"]["mpjpe"] != pytest.approx(one["overall"]["mpjpe"]), "the bodies were leant"
    short = evaluate(SINGLE, data, cameras=1, leg_factors=(0.6, 0.85))
    assert short["leg_factors"] == [0.6, 0.85] and short["frames"] == one["frames"]
    assert short["overall"]["mpjpe"] > one["overall"]["mpjpe"], "short thighs the mocap lacks lift worse"


def test_clip_names_keep_the_distinguishing_part():
    names = [f"cmu/converted/tier0/subject05/{c}.amc" for c in ("05_01", "05_02")] + ["cmu/converted/tier0/subject16/16_10.amc"]
    assert short_names(names) == ["subject05/05_01", "subject05/05_02", "subject16/16_10"]
    long = ["x/" + "a" * 60 + "_take1", "x/" + "a" * 60 + "_take2"]
    assert [n[-5:] for n in short_names(long)] == ["take1", "take2"] and all(len(n) <= 40 for n in short_names(long))
    assert short_names(["clip10", "clip20"]) == ["clip10", "clip20"]


def test_fusion_with_a_missing_checkpoint_is_one_line(tmp_path, cmu_file):
    done = _run("fusion", "--checkpoint", tmp_path / "none.pt", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "no checkpoint" in done.stderr and "fusion.pt" in done.stderr


def test_contacts_with_a_missing_checkpoint_is_one_line(tmp_path, cmu_file):
    done = _run("contacts", "--checkpoint", tmp_path / "seed0.pt", tmp_path / "seed1.pt", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "no checkpoint" in done.stderr and "seed0.pt" in done.stderr and "seed1.pt" in done.stderr


def test_hand_centres_without_renders_is_one_line(tmp_path):
    done = _run("hand-centres", tmp_path, "--no-ship", cwd=tmp_path)
    assert done.returncode != 0 and "no hands_*.mp4" in done.stderr and "models.synth.hands" in done.stderr
    assert "Traceback" not in done.stderr
