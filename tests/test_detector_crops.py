"""The crops the detector's networks see, made as MediaPipe makes them (inference/detector.py)."""
import numpy as np

from video_mocap.inference.detector import Roi


def test_a_crop_past_the_pictures_edge_repeats_the_edge_pixels():
    # MediaPipe's ImageToTensorCalculator repeats edge pixels for the landmark models; on a black border the pose
    # model loses a body half out of the picture (rendered benchmark 16_07: 14 frames lost at the edge).
    rgb = np.zeros((100, 200, 3), np.uint8)
    rgb[:, :, 0] = np.arange(200)[None] // 2  # a ramp across, so every column is told apart
    rgb[:, -1] = (250, 40, 90)  # the right edge's colour
    x, m = Roi(cx=190.0, cy=50.0, size=80.0, angle=0.0).crop(rgb, out=64)
    crop = x[0] * 255
    cols = np.arange(64) * m[0, 0] + m[0, 2]  # each crop column's image x
    outside = crop[:, cols > 200.5]
    assert outside.size, "the crop reaches past the right edge"
    np.testing.assert_allclose(outside.reshape(-1, 3), np.tile([250, 40, 90], (outside.shape[0] * outside.shape[1], 1)), atol=1)
    inside = crop[:, cols < 195]
    assert np.all(inside[..., 0] < 100) and np.all(inside[..., 1] == 0), "inside, the picture as it is"
