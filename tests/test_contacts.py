"""Foot contacts: the shipped contact network on held-out mocap, its inputs, and the floor under contacts."""
import numpy as np

from video_mocap.inference.contacts import ContactModel, contact_features, contact_floor, in_contact, onto_floor
from video_mocap.inference.lifters import FrameLifter
from video_mocap.inference.weights import weight_path
from video_mocap.models import contacts as C
from video_mocap.models import data as D


def test_contact_network_on_held_out_subjects(cmu_file):
    """Windows of the held-out test subjects seen through random cameras with detector-like 2D: the network
    finds true contacts far better than a rule on the 2D speed (shipped card: F1 0.82 vs 0.58 on 1,000 windows)."""
    clips = D.load_clips(cmu_file, "test")
    feats, truth = C.make_set(clips, 96, 64, FrameLifter(weight_path("single"), "cpu"), seed=7)
    model = ContactModel(weight_path("contacts"), "cpu")
    prob = np.stack([model.predict_features(f) for f in feats])
    net = C.precision_recall(prob, truth)
    speed_cols = 102 + np.array([[12, 13], [6, 7]])  # the ankles' 2D speeds (l_ankle 6, r_ankle 3)
    rule = C.precision_recall((np.linalg.norm(feats[..., speed_cols], axis=-1) < 0.3).astype(float), truth)
    assert net["f1"] > 0.78 and net["precision"] > 0.7 and net["recall"] > 0.8, net
    assert net["f1"] > rule["f1"] + 0.15, (net, rule)


def test_contacts_hold_while_the_probability_stays_up():
    """A contact starts at 0.5 and lasts while the probability stays at or above 0.2; a run that never
    reaches 0.5 is no contact. Left and right feet are decided apart; a batch of clips as one."""
    left = [0.1, 0.3, 0.6, 0.9, 0.4, 0.25, 0.1, 0.3, 0.45, 0.3, 0.05]
    right = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.7, 0.7]
    prob = np.array([left, right]).T  # (T, 2)
    held = in_contact(prob)
    assert held[:, 0].tolist() == [False, True, True, True, True, True, False, False, False, False, False]
    assert held[:, 1].tolist() == [False] * 9 + [True, True]
    np.testing.assert_array_equal(in_contact(np.stack([prob, prob[::-1]]))[1], held[::-1])


def test_features_ignore_unseen_joints_and_scale():
    rng = np.random.default_rng(0)
    rel = rng.normal(0, 0.3, (20, 17, 3))
    px = rng.uniform(100, 300, (20, 17, 2))
    conf = np.ones((20, 17))
    conf[:, 5] = 0.0
    f = contact_features(rel, px, conf, 30.0)
    assert f.shape == (20, 187) and np.isfinite(f).all()
    kp = f[:, :51].reshape(20, 17, 3)
    assert (kp[:, 5] == 0).all(), "an unseen joint gives zeros"
    v2 = f[:, 102:136].reshape(20, 17, 2)
    assert (v2[:, 5] == 0).all()
    # The same person twice as large in the picture, moving twice as many pixels: the same 2D inputs.
    g = contact_features(rel, 2 * px, conf, 30.0)
    np.testing.assert_allclose(f[:, :136], g[:, :136], atol=1e-5)


def test_floor_under_contact_feet():
    world = np.zeros((10, 23, 3))
    world[..., 2] = 0.5
    world[:, [3, 18, 20], 2] = [0.07, 0.02, 0.03]  # the right foot down: its lowest point 2 cm up
    contact = np.zeros((10, 2), bool)
    contact[:, 1] = True
    assert abs(contact_floor(world, contact, 25.0) - 0.02) < 1e-9


def test_points_under_the_floor_go_onto_it_along_their_camera_ray():
    camera = np.array([0.0, 0.0, 1.5])
    world = np.zeros((2, 23, 3))
    world[:, :, 1] = 4.0
    world[0, 17] = [0.3, 4.0, -0.05]  # a toe 5 cm under the floor
    world[1, 17] = [0.3, 4.0, 0.02]  # one above it stays
    world[0, 3] = [0.0, 4.0, -0.05]  # not one of the points: stays
    out = onto_floor(world, [17, 18], camera)
    assert abs(out[0, 17, 2]) < 1e-12 and out[0, 17, 1] < 4.0  # on the floor, nearer the camera
    ray, moved = world[0, 17] - camera, out[0, 17] - camera
    assert np.linalg.norm(np.cross(ray, moved)) < 1e-12  # the same pixel
    assert np.array_equal(out[1], world[1]) and out[0, 3, 2] == -0.05
    assert np.array_equal(onto_floor(world, [17], np.array([0.0, 0.0, -0.2])), world)  # camera under the floor
