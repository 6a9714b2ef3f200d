"""Choosing whom to capture and staying on them (inference/person.py)."""
from pathlib import Path

import numpy as np
import pytest

from video_mocap.inference.detector import Detection
from video_mocap.inference.person import PersonChoice, PersonError, body_box, choose, similarity, appearance


def _det(hip_x, hip_y=300.0, r=150.0):
    kp = np.array([[hip_x, hip_y], [hip_x, hip_y - r], [hip_x, hip_y - 0.6 * r], [hip_x, hip_y - r]], float)
    return Detection(0.9, np.array([hip_x - 20, hip_y - r - 20, hip_x + 20, hip_y - r + 20], float), kp)


def test_parse_every_form_and_refuse_nonsense():
    assert PersonChoice.parse(None).automatic and PersonChoice.parse("auto").automatic
    assert PersonChoice.parse("1").index == 1
    assert PersonChoice.parse("640, 360").point == (640.0, 360.0)
    assert PersonChoice.parse("10,20,300,400").box == (10.0, 20.0, 300.0, 400.0)
    for bad in ("-1", "1.5", "a", "1,2,3", "300,400,10,20"):
        with pytest.raises(ValueError, match="--person"):
            PersonChoice.parse(bad)


def test_choose_by_index_point_box_or_automatically():
    dets = [_det(150), _det(500, r=200)]
    size = (1280, 720)
    assert choose(dets, PersonChoice(index=0), size) is dets[0]
    assert choose(dets, PersonChoice(point=(505, 250)), size) is dets[1]
    assert choose(dets, PersonChoice(box=tuple(body_box(dets[0]))), size) is dets[0]
    assert choose(dets, PersonChoice(), size) is dets[1], "automatic: the larger, more central one"


def test_a_person_who_is_not_there_is_named_with_who_is():
    dets = [_det(150), _det(500)]
    with pytest.raises(PersonError, match=r"--person 3 asked for, but 2 people found on frame 7 \(0: x 82-218"):
        choose(dets, PersonChoice(index=3), (1280, 720), frame=7)
    with pytest.raises(PersonError, match=r"no person at pixel \(1000, 50\): 2 people found"):
        choose(dets, PersonChoice(point=(1000, 50)), (1280, 720))
    with pytest.raises(PersonError, match="no person found on frame 0"):
        choose([], PersonChoice(index=0), (1280, 720))


def test_clothes_tell_people_apart():
    import cv2

    img = np.zeros((200, 200, 3), np.uint8)
    img[:, :100] = (200, 30, 30)  # red shirt and trousers on the left person
    img[:, 100:] = (30, 30, 200)  # blue on the right
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
    left = appearance(hsv, np.array([50.0, 40]), np.array([50.0, 100]))
    left2 = appearance(hsv, np.array([45.0, 50]), np.array([55.0, 110]))
    right = appearance(hsv, np.array([150.0, 40]), np.array([150.0, 100]))
    assert similarity(left, left2) > 0.95 and similarity(left, right) < 0.1


CLIP = Path(__file__).parent / "data" / "cross_behind.mp4"  # rendered by models/synth/people.py (480x270, 75 frames)


@pytest.fixture(scope="module")
def crossing():
    return np.load(CLIP.with_name("cross_behind_gt.npz"))


@pytest.fixture(scope="module")
def model():
    from video_mocap.inference.detector import BlazePose

    return BlazePose("cpu")


@pytest.mark.parametrize("who, other", [("a", "b"), ("b", "a")])
def test_a_crossing_never_switches_to_the_other_person(crossing, model, who, other):
    """Two people cross (B walks behind A). Whichever is picked by a pixel on the first frame, no frame
    is captured on the other one; B, hidden for a moment, is left unseen and found again."""
    from video_mocap.models.synth.identity import label, switches, track

    pick = crossing[f"uv_{who}"][0, 0]
    tracked, tracker, _ = track(CLIP, PersonChoice(point=(float(pick[0]), float(pick[1]))), model)
    labels = label(tracked, crossing[f"uv_{who}"], crossing[f"uv_{other}"])
    assert "B" not in labels and switches(labels) == 0, "".join(labels)
    assert (labels == "A").mean() > 0.8 and (labels[-15:] == "A").all(), "".join(labels)
    assert tracker.lost_frames == (labels == "-").sum()
    if who == "b":
        assert tracker.lost_frames > 0 and tracker.refound >= 1


def test_capture_records_the_choice_and_refuses_a_missing_person(tmp_path):
    from video_mocap.inference.pipeline import CaptureOptions, capture

    opts = CaptureOptions(lifter="single", device="cpu", person="1", stop=30)
    result = capture(CLIP, opts)
    who = result.motion.meta["person"]
    assert who["choice"] == "person 1" and who["box"][0] > 240, who  # numbered left to right: the right one
    with pytest.raises(PersonError, match="--person 2 asked for, but 2 people found on frame 0"):
        capture(CLIP, CaptureOptions(lifter="single", device="cpu", person="2", stop=5))


def test_one_detection_per_body():
    from video_mocap.inference.person import distinct

    a, b = _det(150), _det(300)
    merged = _det(225, r=180)  # the whole-frame detector's view of a and b close together
    merged.score = 0.7
    assert distinct([a, b], [merged]) == [a, b], "a detection spanning two people is a merge"
    whole, tile = _det(150), _det(152, r=120)  # one big body: the tile cut it
    assert distinct([tile], [whole]) == [whole], "the whole frame's view of a large body is kept"
    tile.score = 0.93
    assert distinct([tile], [whole]) == [whole], "a tile wins only when clearly more confident ..."
    tile.score = 0.99
    assert distinct([tile], [whole]) == [tile], "... as here"


def test_people_command_lists_and_draws_who_is_there(tmp_path, capsys):
    from video_mocap.inference.cli import main

    assert main(["people", str(CLIP), "--image", str(tmp_path / "people.png"), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 people on frame 0") and "0: x" in out and "1: x" in out
    assert (tmp_path / "people.png").stat().st_size > 1000


def test_alone_the_person_is_kept_when_the_light_changes(model, tmp_path):
    """One person whose clothes change colour half way (the light): nobody else is there and the body did not
    jump, so no frame is dropped."""
    import cv2

    from video_mocap.inference.person import Tracker
    from video_mocap.inference.video import frames

    from footage import write_clip

    clip = write_clip(tmp_path / "one.mp4", frames=16, size=(360, 640))
    tracker = Tracker(model)
    poses = []
    for i, _, rgb in frames(clip):
        if i >= 8:  # a colour cast from frame 8 on
            hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
            hsv[..., 0] = (hsv[..., 0].astype(int) + 60) % 180
            rgb = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
        poses.append(tracker(rgb))
    assert all(p is not None for p in poses) and tracker.lost_frames == 0
