"""yolo3.data.mosaic: boxes follow the pixels through the mosaic, the scale and shift
and the flip; filters; reproducibility."""

from __future__ import annotations

import numpy as np
import pytest

from yolo3.data import mosaic

COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]


def picture(class_id: int, height=150, width=220):
    """A dark image with one patch of the class's colour, and its box."""
    image = np.full((height, width, 3), 20, np.uint8)
    x0, y0, x1, y1 = 40 + 10 * class_id, 30, 150, 110 + 5 * class_id
    image[y0:y1, x0:x1] = COLOURS[class_id]
    return image, np.array([[x0, y0, x1, y1, class_id]], np.float32)


def assert_boxes_on_their_colour(pixels, boxes):
    pixels = pixels / 255.0
    for x0, y0, x1, y1, class_id in boxes.round().astype(int):
        assert 0 <= x0 < x1 <= pixels.shape[1] and 0 <= y0 < y1 <= pixels.shape[0]
        inside = pixels[y0 + 1:y1 - 1, x0 + 1:x1 - 1].reshape(-1, 3)
        if not len(inside):
            continue
        wanted = np.array(COLOURS[class_id]) > 0
        mean = inside.mean(axis=0)
        # the patch's channels are bright and the others dark, whatever the colour jitter
        assert mean[wanted].min() > mean[~wanted].max() + 0.25 if (~wanted).any() \
            else mean.min() > 0.5


@pytest.mark.parametrize("seed", range(10))
def test_mosaic_boxes_follow_the_pixels(seed):
    rng = np.random.default_rng(seed)
    samples = [picture(c, 150 + 20 * c, 220 - 30 * c) for c in range(4)]
    pixels, boxes = mosaic.mosaic(samples, (160, 192), rng)
    assert pixels.shape == (160, 192, 3) and pixels.dtype == np.uint8
    assert boxes.shape[1] == 5 and len(boxes) <= 4
    assert_boxes_on_their_colour(pixels, boxes)


def test_mosaic_usually_shows_several_images():
    counts = [len(mosaic.mosaic([picture(c) for c in range(4)], (256, 256),
                                np.random.default_rng(seed))[1]) for seed in range(20)]
    assert np.mean(counts) >= 2


@pytest.mark.parametrize("seed", range(6))
def test_single_boxes_follow_the_pixels(seed):
    image, boxes = picture(2)
    pixels, moved = mosaic.single(image, boxes, (128, 160), np.random.default_rng(seed))
    assert pixels.shape == (128, 160, 3)
    assert_boxes_on_their_colour(pixels, moved)


def test_boxes_mostly_cut_away_are_dropped():
    image = np.full((100, 100, 3), 20, np.uint8)
    # a box on the image's very edge: after any shift most of it may leave the input
    boxes = np.array([[0, 0, 4, 100, 0], [30, 30, 70, 70, 1]], np.float32)
    for seed in range(20):
        _, moved = mosaic.single(image, boxes, (64, 64), np.random.default_rng(seed))
        size = moved[:, 2:4] - moved[:, 0:2]
        assert (size > mosaic.MIN_SIDE).all()
        assert (np.maximum(size[:, 0] / size[:, 1], size[:, 1] / size[:, 0])
                < mosaic.MAX_ASPECT).all()


def test_reproducible_and_varied():
    samples = [picture(c) for c in range(4)]
    a = mosaic.mosaic(samples, (128, 128), np.random.default_rng(1))
    b = mosaic.mosaic(samples, (128, 128), np.random.default_rng(1))
    c = mosaic.mosaic(samples, (128, 128), np.random.default_rng(2))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    with pytest.raises(ValueError):
        mosaic.mosaic(samples[:3], (128, 128), np.random.default_rng(1))
