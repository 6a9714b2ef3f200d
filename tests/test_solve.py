"""The clip-level solve on synthetic projections of real mocap: a known skeleton, camera and contacts are
recovered from noisy 2D and a noisy, mis-scaled first placement; wrong contacts and missing feet stay safe."""
import numpy as np
import pytest

from video_mocap.inference.bones import clip_bone_lengths, with_bone_lengths
from video_mocap.inference.camera import pitch, place_in_camera, world_rotation
from video_mocap.inference.contacts import ANKLES
from video_mocap.inference.solve import SolveOptions, solve
from video_mocap.skeleton import load_skeleton

from mocap_fixture import cmu_walk

BODY = load_skeleton("h36m17")
F, CENTRE, FPS = 1000.0, np.array([640.0, 360.0]), 50.0


def _scene(cmu_file, pitch_deg=-15.0, frames=140):
    """CMU 02_01 (a walk, 143 frames at 50 fps) seen by a camera 1.5 m up, pitched down, 5 m from the walk's middle."""
    m = cmu_walk(cmu_file, frames)
    world = m.positions()[:, :17].astype(np.float64)  # Y up, floor at 0
    world = world[:, :, [0, 2, 1]] * [1, -1, 1]  # Z up
    world = with_bone_lengths(world, clip_bone_lengths(world, np.ones(world.shape[:2]), BODY), BODY)  # rigid, symmetric
    middle = world[:, 0].mean(0)
    a = np.radians(pitch_deg)
    fwd = np.array([0.0, np.cos(a), np.sin(a)])
    pos = np.array([middle[0], middle[1], 0.0]) - 5.0 * np.array([0, np.cos(a), 0]) + [0, 0, 1.5]
    right = np.cross(fwd, [0, 0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(fwd, right)
    R = np.stack([right, down, fwd])  # world -> camera rows
    cam = (world - pos) @ R.T
    uv = cam[..., :2] / cam[..., 2:] * F + CENTRE
    up = R @ [0, 0, 1.0]
    z = world[:, list(ANKLES), 2]
    speed = np.linalg.norm(np.gradient(world[:, list(ANKLES)], axis=0), axis=-1) * FPS
    contact = ((z < z.min() + 0.06) & (speed < 0.25)).astype(float)
    return cam, uv, up, contact


def _noisy_inputs(cam, uv, up, rng):
    """A lifter's 3D (3 cm per joint off), the capture's first placement from it (depth from 3D vs 2D size)
    jittered by 8 cm, 2 px detector noise and a first "up" 8 deg off in pitch and roll."""
    rel = cam - cam[:, :1] + rng.normal(0, 0.03, cam.shape)
    rel -= rel[:, :1]
    px = uv + rng.normal(0, 2.0, uv.shape)
    root0 = place_in_camera(rel, px, np.ones(px.shape[:2]), F, CENTRE) + rng.normal(0, 0.08, (len(cam), 3))
    up0 = up + [0.08, 0.0, 0.12]
    return rel, root0, px, up0 / np.linalg.norm(up0)


def _angle(a, b):
    return np.degrees(np.arccos(np.clip(a @ b / np.linalg.norm(a) / np.linalg.norm(b), -1, 1)))


def test_solve_recovers_camera_contacts_and_depth(cmu_file):
    cam, uv, up, contact = _scene(cmu_file)
    rng = np.random.default_rng(0)
    rel, root0, px, up0 = _noisy_inputs(cam, uv, up, rng)
    conf = np.ones(px.shape[:2])
    lengths = clip_bone_lengths(cam - cam[:, :1], conf, BODY)  # the clip's true bones
    sol = solve(rel, root0, lengths, BODY, px, conf, F, CENTRE, FPS, contact, up0)
    assert np.isfinite(sol.joints).all()
    assert _angle(up0, up) > 6 and _angle(np.median(sol.up, 0), up) < 2.5, "up (the camera's pitch and roll) from the floor"
    assert abs(pitch(world_rotation(np.median(sol.up, 0))) - -15.0) < 2.5
    before = np.linalg.norm(root0 - cam[:, 0], axis=1).mean()
    after = np.linalg.norm(sol.joints[:, 0] - cam[:, 0], axis=1).mean()
    assert before > 0.12 and after < 0.6 * before, f"root error {before:.2f} -> {after:.2f} m: depth from 2D, bones and the floor"
    ankles = sol.joints[:, list(ANKLES)]
    still = (contact[1:] > 0.5) & (contact[:-1] > 0.5)
    speed = np.linalg.norm(np.diff(ankles, axis=0), axis=-1) * FPS
    assert speed[still].mean() < 0.05, "contact feet do not slide (the target: 5 cm/s)"
    height = ankles @ np.median(sol.up, 0) - sol.plane[:, None]
    assert np.abs(height[contact > 0.5]).mean() < 0.02, "contact ankles on the plane"
    assert height.min() > -0.05, "no ankle through the floor"
    err_before = np.linalg.norm(rel - (cam - cam[:, :1]), axis=-1).mean()
    err_after = np.linalg.norm(sol.joints - sol.joints[:, :1] - (cam - cam[:, :1]), axis=-1).mean()
    assert err_after < 0.8 * err_before, "the 2D corrects the lifter's shape"


def test_solved_again_from_an_earlier_solution(cmu_file):
    """A clip solved again (as with a pan read from its feet) from its first solution runs only the pass with
    contacts, and places the body and its contacts as the full solve did."""
    cam, uv, up, contact = _scene(cmu_file, frames=100)
    rel, root0, px, up0 = _noisy_inputs(cam, uv, up, np.random.default_rng(2))
    conf = np.ones(px.shape[:2])
    lengths = clip_bone_lengths(cam - cam[:, :1], conf, BODY)
    full = solve(rel, root0, lengths, BODY, px, conf, F, CENTRE, FPS, contact, up0)
    again = solve(rel, root0, lengths, BODY, px, conf, F, CENTRE, FPS, contact, up0, earlier=full.joints)
    assert again.iterations <= SolveOptions().max_nfev < full.iterations
    root = lambda s: np.linalg.norm(s.joints[:, 0] - cam[:, 0], axis=1).mean()  # noqa: E731
    assert root(again) < root(full) + 0.01 and np.array_equal(again.contact, full.contact)


def test_wrong_contacts_and_no_contacts_stay_bounded(cmu_file):
    """Contacts claimed on every frame of a walk (the feet do move) or none at all: no explosion, no NaN."""
    cam, uv, up, contact = _scene(cmu_file, pitch_deg=-5.0, frames=100)
    rng = np.random.default_rng(1)
    rel, root0, px, up0 = _noisy_inputs(cam, uv, up, rng)
    conf = np.ones(px.shape[:2])
    lengths = clip_bone_lengths(cam - cam[:, :1], conf, BODY)
    for claimed in (np.ones_like(contact), None):
        sol = solve(rel, root0, lengths, BODY, px, conf, F, CENTRE, FPS, claimed, up0)
        assert np.isfinite(sol.joints).all()
        err = np.linalg.norm(sol.joints[:, 0] - cam[:, 0], axis=1)
        assert err.max() < 0.6, f"root error up to {err.max():.2f} m"


@pytest.mark.parametrize("frames", [1, 3])
def test_tiny_clips_and_unseen_frames(cmu_file, frames):
    cam, uv, up, contact = _scene(cmu_file, frames=20)
    cam, uv = cam[:frames], uv[:frames]
    conf = np.ones(uv.shape[:2])
    conf[:, [3, 6]] = 0.0  # no ankles seen
    rel = cam - cam[:, :1]
    lengths = clip_bone_lengths(rel, np.ones_like(conf), BODY)
    sol = solve(rel, cam[:, 0] * 1.05, lengths, BODY, uv, conf, F, CENTRE, FPS, None, up)
    assert sol.joints.shape == cam.shape and np.isfinite(sol.joints).all()
    assert not sol.contact.any()


def test_a_tumbling_torso_says_nothing_about_up():
    """A cartwheel's torso points every way: the first "up" is a typical camera's, not the torso's mean."""
    from video_mocap.inference.camera import TYPICAL_PITCH, level_up, torso_up

    angles = np.linspace(0, 2 * np.pi, 60, endpoint=False)
    cam = np.zeros((60, 17, 3))
    cam[:, 8] = np.stack([np.sin(angles), -np.cos(angles), np.zeros(60)], 1) * 0.5  # the torso turns right round
    np.testing.assert_allclose(torso_up(cam), level_up())
    assert abs(pitch(world_rotation(level_up())) - TYPICAL_PITCH) < 1e-9
    cam[:, 8] = [0.0, -0.5, -0.1]  # upright, leaning back a little in the picture: the torso is trusted
    np.testing.assert_allclose(torso_up(cam), np.array([0.0, -0.5, -0.1]) / np.linalg.norm([0.0, -0.5, -0.1]))


def test_pitch_over_the_feet():
    """Feet on the floor seen by a camera at the typical height give its pitch; a camera higher up reads less
    steep (the prior's limit); unseen feet give nothing."""
    from video_mocap.inference.camera import TYPICAL_HEIGHT, level_up, pitch_over_feet

    rng = np.random.default_rng(0)
    for true_pitch in (-5.0, -15.0, -25.0):
        a = np.radians(-true_pitch)
        rot = np.array([[1, 0, 0], [0, -np.sin(a), -np.cos(a)], [0, np.cos(a), -np.sin(a)]])  # world -> camera
        feet = np.stack([rng.uniform(-1, 1, 50), rng.uniform(3, 6, 50), np.full(50, 0.08)], 1)  # on the floor
        ankles = np.stack([feet, feet + [0.2, 0.1, 0.3]], 1)  # one foot lifted
        seen = np.ones((50, 2), bool)
        at = {h: (ankles - [0, 0, h]) @ rot.T for h in (TYPICAL_HEIGHT, 2.5)}  # camera axes
        assert abs(pitch_over_feet(at[TYPICAL_HEIGHT], seen, level_up(true_pitch)) - true_pitch) < 0.3
        assert pitch_over_feet(at[2.5], seen, level_up(true_pitch)) > true_pitch + 3
        assert pitch_over_feet(at[2.5], np.zeros((50, 2), bool), level_up(true_pitch)) is None
        assert pitch_over_feet(at[2.5] * 0.15, seen, level_up(true_pitch)) is None  # feet nearer than it is high


def test_a_turning_camera(cmu_file):
    """The walk seen by a camera panning +-8 deg (and tilting, rolling) to follow it: solved in the reference
    view with each frame's turn, the feet stay planted, the root and the camera's up are found as for a
    still camera."""
    from video_mocap.inference.camera_motion import from_reference, to_reference
    from video_mocap.models.real.pan import operator_turns

    cam, _, up, contact = _scene(cmu_file)  # the reference view's axes
    turns = operator_turns(len(cam), 8.0)
    seen = from_reference(cam, turns)  # each frame's camera axes
    uv = seen[..., :2] / seen[..., 2:] * F + CENTRE
    rng = np.random.default_rng(2)
    rel, root0, px, up0 = _noisy_inputs(seen, uv, up, rng)
    conf = np.ones(px.shape[:2])
    lengths = clip_bone_lengths(cam - cam[:, :1], conf, BODY)
    sol = solve(to_reference(rel, turns), to_reference(root0, turns), lengths, BODY, px, conf, F, CENTRE, FPS, contact,
                up0, turn=turns)
    assert np.isfinite(sol.joints).all()
    assert _angle(np.median(sol.up, 0), up) < 2.5
    before = np.linalg.norm(root0 - seen[:, 0], axis=1).mean()
    after = np.linalg.norm(sol.joints[:, 0] - cam[:, 0], axis=1).mean()
    assert after < 0.6 * before, f"root error {before:.2f} -> {after:.2f} m"
    still = (contact[1:] > 0.5) & (contact[:-1] > 0.5)
    speed = np.linalg.norm(np.diff(sol.joints[:, list(ANKLES)], axis=0), axis=-1) * FPS
    assert speed[still].mean() < 0.05, "contact feet do not slide in the world"
    reprojected = from_reference(sol.joints, turns)
    px_err = np.linalg.norm(reprojected[..., :2] / reprojected[..., 2:] * F + CENTRE - uv, axis=-1)
    assert np.median(px_err) < 4.0, "each frame seen through its own turn"


def test_a_foot_still_in_the_picture_keeps_its_contact_when_the_lifter_drifts_in_depth(cmu_file):
    """The lifter swings the ankles back and forth in depth (a crouch seen side-on drifts like this): the
    solution without contacts moves them faster than ``contact_speed``, yet the 2D says they stand still, so
    the network's contacts are kept and the planted ankles hold (with the 2D gate off they slide)."""
    from video_mocap.inference.solve import SolveOptions

    cam, uv, up, contact = _scene(cmu_file)
    rng = np.random.default_rng(4)
    rel, root0, px, up0 = _noisy_inputs(cam, uv, up, rng)
    wobble = 0.35 * np.sin(2 * np.pi * 2.5 * np.arange(len(rel)) / FPS)  # m, 2.5 Hz: about 5 m/s at its fastest
    for leg in ((1, 2, 3), (4, 5, 6)):
        rel[:, list(leg), 2] += wobble[:, None]
    conf = np.ones(px.shape[:2])
    lengths = clip_bone_lengths(cam - cam[:, :1], conf, BODY)
    planted = (contact[1:] > 0.5) & (contact[:-1] > 0.5)

    def slide(opts):
        sol = solve(rel, root0, lengths, BODY, px, conf, F, CENTRE, FPS, contact, up0, opts)
        return (np.linalg.norm(np.diff(sol.joints[:, list(ANKLES)], axis=0), axis=-1) * FPS)[planted].mean()

    held, gated = slide(SolveOptions()), slide(SolveOptions(still_2d=0.0))
    assert held < 0.05 and held < 0.5 * gated, f"planted ankles {held:.3f} m/s (2D gate off: {gated:.3f})"


def test_a_stance_fading_end_is_held_while_the_ankle_stands_still_in_the_picture(cmu_file):
    """The network's probability fades under the hold at each stance's last frames (0.15): where the ankle still
    stands in the picture the contact lasts (``still_hold``); without that rule it ends early."""
    from video_mocap.filters import runs

    cam, uv, up, contact = _scene(cmu_file)
    rel, root0, px, up0 = _noisy_inputs(cam, uv, up, np.random.default_rng(5))
    conf = np.ones(px.shape[:2])
    lengths = clip_bone_lengths(cam - cam[:, :1], conf, BODY)
    faded, ends = contact.copy(), []
    for k in range(2):
        for a, b in runs(contact[:, k] > 0.5):
            if b - a > 6:
                faded[b - 3 : b, k] = 0.15
                ends.append((slice(b - 3, b), k))
    assert len(ends) >= 4

    def held_at_ends(opts):
        sol = solve(rel, root0, lengths, BODY, px, conf, F, CENTRE, FPS, faded, up0, opts)
        return sum(int(sol.contact[sl, k].sum()) for sl, k in ends)

    assert held_at_ends(SolveOptions(still_hold=0.0, still_start=0.0)) == 0
    assert held_at_ends(SolveOptions()) >= 0.8 * 3 * len(ends)


def test_an_unseen_foot_the_network_is_sure_of_is_held_but_does_not_tilt_the_floor(cmu_file):
    """The legs leave the picture for 60 frames (knees and ankles unseen) while the lifter's guess of the ankles
    swings in depth and sinks: the free solution moves them faster than ``contact_speed`` and nothing in 2D says
    they stand still, so only the network's sure contacts hold them (with ``unseen_contact`` off they slide);
    their guessed heights stay out of the floor terms, and the camera's pitch is still the walk's."""
    from video_mocap.inference.solve import SolveOptions

    cam, uv, up, contact = _scene(cmu_file)
    rng = np.random.default_rng(5)
    rel, root0, px, up0 = _noisy_inputs(cam, uv, up, rng)
    out, shins = slice(40, 100), [2, 3, 5, 6]  # knees and ankles out of the picture
    rel[out, list(ANKLES), 2] += 0.35 * np.sin(2 * np.pi * 2.5 * np.arange(60) / FPS)[:, None]
    rel[out, :, 1] += np.linspace(0.0, 0.4, 60)[:, None] * np.isin(np.arange(17), shins)  # ever lower: a sloping floor
    conf = np.ones(px.shape[:2])
    conf[out, 2:7] = 0.0
    conf[out, 4] = 1.0  # the left hip is seen
    lengths = clip_bone_lengths(cam - cam[:, :1], np.ones(px.shape[:2]), BODY)
    sure = contact * 0.95
    planted = (contact[1:] > 0.5) & (contact[:-1] > 0.5)
    planted[:40] = planted[99:] = False

    def run(opts):
        sol = solve(rel, root0, lengths, BODY, px, conf, F, CENTRE, FPS, sure, up0, opts)
        slide = (np.linalg.norm(np.diff(sol.joints[:, list(ANKLES)], axis=0), axis=-1) * FPS)[planted].mean()
        return slide, pitch(world_rotation(np.median(sol.up, 0)))

    (held, tilt), (slid, _) = run(SolveOptions()), run(SolveOptions(unseen_contact=0.0))
    assert held < 0.05 and held < 0.3 * slid, f"unseen planted ankles {held:.3f} m/s (not held: {slid:.3f})"
    assert abs(tilt - -15.0) < 2.5, tilt


def test_a_lost_person_holds_no_contacts(cmu_file):
    """Where the person is lost (no joint seen: walked out of the picture), the contact network reads nothing
    real: its sure contacts there are not held (a hidden foot on a seen body still is, above)."""
    cam, uv, up, contact = _scene(cmu_file)
    rel, root0, px, up0 = _noisy_inputs(cam, uv, up, np.random.default_rng(6))
    conf = np.ones(px.shape[:2])
    conf[110:] = 0.0  # lost for the last 30 frames
    sure = np.where(np.arange(len(cam))[:, None] >= 100, 0.95, contact)
    lengths = clip_bone_lengths(cam - cam[:, :1], np.ones(px.shape[:2]), BODY)
    sol = solve(rel, root0, lengths, BODY, px, conf, F, CENTRE, FPS, sure, up0)
    assert not sol.contact[110:].any(), "contacts held on frames with no one seen"
    planted = contact[100:110] > 0.5
    assert planted.any() and sol.contact[100:110][planted].all(), "the seen frames' planted feet are held"
    assert sol.contact[:100].sum() > 0.5 * (contact[:100] > 0.5).sum()


def test_feet_leave_and_land_without_a_jolt(cmu_file):
    """Where a contact starts or ends the held ankle meets the free one; the release term spreads that meeting
    over the frames next to it instead of one jolt: the ankles' acceleration there (90th percentile) falls, their
    position stays as close to the truth."""
    cam, uv, up, contact = _scene(cmu_file)
    rel, root0, px, up0 = _noisy_inputs(cam, uv, up, np.random.default_rng(6))
    conf = np.ones(px.shape[:2])
    lengths = clip_bone_lengths(cam - cam[:, :1], conf, BODY)
    held = contact > 0.5
    near = np.zeros(held.shape, bool)  # (T, 2) the frames next to a change of contact
    for t, k in zip(*np.nonzero(held[1:] != held[:-1])):
        near[t : t + 2, k] = True
    assert near.sum() >= 12
    truth = cam[:, list(ANKLES)]

    def jolt_and_error(opts):
        ankles = solve(rel, root0, lengths, BODY, px, conf, F, CENTRE, FPS, contact, up0, opts).joints[:, list(ANKLES)]
        acc = np.zeros(held.shape)
        acc[1:-1] = np.linalg.norm(np.diff(ankles, 2, axis=0), axis=-1) * FPS**2
        return np.percentile(acc[near], 90), np.linalg.norm(ankles - truth, axis=-1)[near].mean()

    (jolt_on, err_on), (jolt_off, err_off) = jolt_and_error(SolveOptions()), jolt_and_error(SolveOptions(release=0.0))
    assert jolt_on < 0.7 * jolt_off, f"ankle acceleration next to contact changes {jolt_on:.1f} vs {jolt_off:.1f} m/s^2"
    assert err_on < 1.1 * err_off, f"ankle position error there {err_on:.3f} vs {err_off:.3f} m"


def _knee_bend(joints):
    """(T, 2) sine of each knee's bend about the hips' left-right axis (left, right leg): positive forward."""
    from video_mocap.inference.solve import L_HIP, LEGS, R_HIP

    left = joints[:, L_HIP] - joints[:, R_HIP]
    left /= np.linalg.norm(left, axis=-1, keepdims=True)
    out = []
    for h, k, a in LEGS:
        thigh, shin = joints[:, k] - joints[:, h], joints[:, a] - joints[:, k]
        out.append((np.cross(thigh, shin) * left).sum(-1) / np.linalg.norm(thigh, axis=-1) / np.linalg.norm(shin, axis=-1))
    return np.stack(out, 1)


def test_knees_bend_only_forward(cmu_file):
    """The lifter bends the left knee backwards on the swing's frames (the knee mirrored across the hip-ankle line,
    some 30 deg back) where the picture does not show the knee: the solve brings it to within some 15 deg of
    straight (the limit is soft beyond 12 deg); without the limit it stays."""
    from video_mocap.inference.solve import LEGS

    cam, uv, up, contact = _scene(cmu_file)
    rel, root0, px, up0 = _noisy_inputs(cam, uv, up, np.random.default_rng(3))
    truth = _knee_bend(cam)
    assert truth.min() > -0.1
    bent = np.flatnonzero(truth[:, 0] > 0.5)  # the left knee clearly bent
    assert len(bent) >= 10
    h, k, a = LEGS[0]
    line = rel[bent, a] - rel[bent, h]
    line /= np.linalg.norm(line, axis=-1, keepdims=True)
    foot = rel[bent, h] + ((rel[bent, k] - rel[bent, h]) * line).sum(-1, keepdims=True) * line
    rel[bent, k] = 2 * foot - rel[bent, k]  # same bone lengths, bent backwards
    assert np.median(_knee_bend(rel)[bent, 0]) < -0.4
    conf = np.ones(px.shape[:2])
    conf[bent, k] = 0.0  # the knee unseen there: only the limit can tell
    lengths = clip_bone_lengths(cam - cam[:, :1], np.ones(px.shape[:2]), BODY)

    def bend(opts):
        return _knee_bend(solve(rel, root0, lengths, BODY, px, conf, F, CENTRE, FPS, contact, up0, opts).joints)[bent, 0]

    off, on = bend(SolveOptions(sigma_knee=0.0)), bend(SolveOptions())
    assert np.median(off) < -0.4, "without the limit the lifter's backward knee stays"
    assert on.min() > -0.36 and np.median(on) > -0.28, f"bend sines {np.median(on):.2f}, min {on.min():.2f}"


def test_a_stance_the_network_doubts_is_held_where_the_ankle_stands_still_and_slow(cmu_file):
    """A far body: the network reads every stance at 0.1 (under the 0.5 a contact needs), and one stance of each
    foot not at all. Where the ankle stands still in the picture and the free solution moves it slowly, the stance
    is held (``still_start``); without that rule nothing is; the stances the network gives nothing stay free,
    and no swinging foot is held."""
    from video_mocap.filters import runs
    from video_mocap.inference.solve import SolveOptions

    cam, uv, up, contact = _scene(cmu_file)
    rel, root0, px, up0 = _noisy_inputs(cam, uv, up, np.random.default_rng(6))
    conf = np.ones(px.shape[:2])
    lengths = clip_bone_lengths(cam - cam[:, :1], conf, BODY)
    planted = contact > 0.5
    doubted = np.where(planted, 0.1, 0.0)
    for k in range(2):  # the first stance of each foot: nothing from the network
        a, b = next(iter(runs(planted[:, k])))
        assert b - a > 6
        doubted[a:b, k] = 0.0
    sol = solve(rel, root0, lengths, BODY, px, conf, F, CENTRE, FPS, doubted, up0, SolveOptions())
    off = solve(rel, root0, lengths, BODY, px, conf, F, CENTRE, FPS, doubted, up0, SolveOptions(still_start=0.0))
    doubted_stance = doubted >= 0.1
    assert not off.contact.any()
    assert sol.contact[doubted_stance].mean() > 0.7, f"{sol.contact[doubted_stance].mean():.2f} of doubted stance frames held"
    assert not sol.contact[planted & ~doubted_stance].any(), "a stance the network gives nothing is not held"
    assert sol.contact[~planted].mean() < 0.05, "swinging feet stay free"


def test_a_stance_the_network_doubts_after_its_start_is_held_as_firmly(cmu_file):
    """Each stance starts sure (probability above 0.5) and the network then doubts it (0.25, still held by the
    hysteresis) while the lifter's ankle creeps 0.4 m/s in depth: a held ankle stays put however sure the
    network is (weighted by the probability it crept 2.7 cm/s with the lifter)."""
    from video_mocap.filters import runs

    cam, uv, up, contact = _scene(cmu_file)
    rel, root0, px, up0 = _noisy_inputs(cam, uv, up, np.random.default_rng(6))
    conf = np.ones(px.shape[:2])
    lengths = clip_bone_lengths(cam - cam[:, :1], conf, BODY)
    doubted = contact.copy()
    for k, leg in enumerate(((4, 5, 6), (1, 2, 3))):  # left, right leg (h36m order) of contact columns 0, 1
        for a, b in runs(contact[:, k] > 0.5):
            doubted[a + 2 : b, k] = 0.25
            rel[a:b, list(leg), 2] += 0.4 * np.arange(b - a)[:, None] / FPS
    sol = solve(rel, root0, lengths, BODY, px, conf, F, CENTRE, FPS, doubted, up0)
    planted = (contact[1:] > 0.5) & (contact[:-1] > 0.5)
    speed = (np.linalg.norm(np.diff(sol.joints[:, list(ANKLES)], axis=0), axis=-1) * FPS)[planted].mean()
    assert sol.contact[contact > 0.5].mean() > 0.95
    assert speed < 0.015, f"planted ankles {speed:.3f} m/s"
