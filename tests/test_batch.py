"""Batch capture: worker processes and a local Dask cluster, resumable, failures reported (inference/batch.py)."""
import json

import pytest

from video_mocap.inference.batch import Outputs, run_batch, table, videos
from video_mocap.inference.cli import main
from video_mocap.inference.pipeline import CaptureOptions

from footage import write_clip

OPTS = CaptureOptions(lifter="single", device="cpu")


@pytest.fixture(scope="module")
def footage(tmp_path_factory):
    d = tmp_path_factory.mktemp("footage")
    write_clip(d / "take_a.mp4", frames=12, size=(180, 320))
    write_clip(d / "take_b.mp4", frames=12, size=(180, 320), camera="cam01")
    (d / "broken.mp4").write_bytes(b"\x00\x01" * 300)
    (d / "notes.txt.bak").write_text("not a video")
    return d


def test_folder_in_worker_processes_then_resumed(footage, tmp_path):
    out = tmp_path / "out"
    seen = []
    results = run_batch([footage, tmp_path / "missing.mp4"], out, OPTS, Outputs(bvh=True), workers=2,
                        progress=lambda done, total, r: seen.append((done, total)))
    status = {r.video.split("/")[-1]: r.status for r in results}
    assert status == {"broken.mp4": "failed", "take_a.mp4": "done", "take_b.mp4": "done", "missing.mp4": "failed"}
    assert (out / "take_a.npz").is_file() and (out / "take_b.bvh").is_file() and not (out / "broken.npz").exists()
    assert seen[-1] == (4, 4) and [d for d, _ in seen] == [1, 2, 3, 4]
    failed = {r.video.split("/")[-1]: r.error for r in results if r.status == "failed"}
    assert "cannot open" in failed["broken.mp4"] or "no frame" in failed["broken.mp4"]
    assert "no video at" in failed["missing.mp4"]
    summary = json.loads((out / "batch.json").read_text())
    assert [c["status"] for c in summary["clips"]] == [r.status for r in results]
    again = run_batch([footage], out, OPTS, Outputs(bvh=True), workers=2)
    assert [r.status for r in again] == ["failed", "skipped", "skipped"], "finished clips are not redone"
    assert "2 skipped (already done), 1 failed" in table(again)


def test_a_local_dask_cluster_runs_the_same_batch(footage, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        results = run_batch([footage / "take_a.mp4", footage / "take_b.mp4"], tmp_path, OPTS,
                            executor=client.get_executor())
    assert [r.status for r in results] == ["done", "done"] and all(r.frames == 12 for r in results)


def test_command_line_reports_and_fails_on_any_failure(footage, tmp_path, capsys):
    assert main(["batch", str(footage / "take_a.mp4"), str(footage / "broken.mp4"), "-o", str(tmp_path), "--workers",
                 "1", "--device", "cpu", "-q"]) == 1
    out = capsys.readouterr().out
    assert "| take_a.mp4 | done | 12 |" in out and "| broken.mp4 | failed |" in out and "1 captured" in out
    listing = tmp_path / "list.txt"
    listing.write_text(f"# my takes\n{footage / 'take_a.mp4'}\n")
    assert [v.name for v in videos([listing])] == ["take_a.mp4"]
    with pytest.raises(ValueError, match="same outputs"):
        videos([footage / "take_a.mp4", tmp_path / "take_a.mov"])


@pytest.mark.bpy
def test_one_blend_with_an_action_per_clip_on_a_chosen_rig(footage, tmp_path):
    bpy = pytest.importorskip("bpy")
    from video_mocap.inference.batch import retarget_onto
    from video_mocap.models.assets import load_rig
    from video_mocap.retarget import blender_io

    bpy.ops.wm.read_homefile(use_empty=True)
    blender_io.create_armature(load_rig("mixamo"), "Hero")
    scene_file = tmp_path / "hero.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(scene_file))
    before = scene_file.read_bytes()
    results = run_batch([footage / "take_a.mp4", footage / "take_b.mp4"], tmp_path / "out", OPTS, workers=2)
    out = retarget_onto(results, f"{scene_file}:Hero", tmp_path / "out" / "batch.blend")
    assert scene_file.read_bytes() == before, "the user's file is only read"
    bpy.ops.wm.open_mainfile(filepath=str(out))
    assert {"take_a", "take_b"} <= set(bpy.data.actions.keys())
    with pytest.raises(FileExistsError):
        retarget_onto(results, f"{scene_file}:Hero", out)
    with pytest.raises(ValueError, match="no armature 'Villain'"):
        retarget_onto(results, f"{scene_file}:Villain", tmp_path / "other.blend")
