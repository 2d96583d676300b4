"""yolo3.data.augment: boxes move with the pixels; validation is plain letterboxing."""

from __future__ import annotations

import numpy as np
import pytest

from yolo3.data import augment


def picture():
    image = np.zeros((200, 300, 3), np.uint8)
    image[50:120, 100:180] = 255
    return image, np.array([[100, 50, 180, 120, 0]], np.float32)


def test_plain_is_the_inference_letterbox():
    image, boxes = picture()
    pixels, moved = augment.plain(image, boxes, (416, 416))
    assert pixels.shape == (416, 416, 3) and pixels.dtype == np.uint8
    scale = 416 / 300
    new_h = int(200 * scale)  # 277 rows: the vertical scale is the resized height's
    offset = (416 - new_h) // 2
    np.testing.assert_allclose(moved[0, :4], [100 * scale, 50 * new_h / 200 + offset,
                                              180 * scale, 120 * new_h / 200 + offset],
                               rtol=1e-5)


@pytest.mark.parametrize("seed", range(12))
def test_random_boxes_follow_the_pixels(seed):
    image, boxes = picture()
    rng = np.random.default_rng(seed)
    pixels, moved = augment.random(image, boxes, (256, 256), rng)
    assert pixels.shape == (256, 256, 3) and pixels.dtype == np.uint8
    pixels = pixels / 255.0
    if not len(moved):
        return  # the object left the canvas or became thinner than a pixel
    x0, y0, x1, y1 = moved[0, :4].round().astype(int)
    assert 0 <= x0 < x1 <= 256 and 0 <= y0 < y1 <= 256
    inside = pixels[y0 + 1:y1 - 1, x0 + 1:x1 - 1].mean(axis=2)
    outside = pixels.mean(axis=2).copy()
    outside[max(y0 - 2, 0):y1 + 2, max(x0 - 2, 0):x1 + 2] = np.nan
    if inside.size:
        assert inside.mean() > np.nanmean(outside) + 0.2  # the white patch is where the box is


def test_random_is_reproducible_and_varies():
    image, boxes = picture()
    a = augment.random(image, boxes, (128, 128), np.random.default_rng(5))
    b = augment.random(image, boxes, (128, 128), np.random.default_rng(5))
    c = augment.random(image, boxes, (128, 128), np.random.default_rng(6))
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])


def test_negative_offsets_crop():
    image, boxes = picture()
    for seed in range(40):
        pixels, moved = augment.random(image, boxes, (64, 64), np.random.default_rng(seed))
        assert pixels.shape == (64, 64, 3)
        assert (moved[:, :4] >= 0).all() and (moved[:, 2:4] <= 64).all()


def test_jitter_colour_draws_what_distort_colour_draws_and_stays_close():
    """The 8-bit lookup-table jitter takes the same random numbers as keras-yolo3's
    float HSV and gives nearly the same colours (hue in 256 steps)."""
    image = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    for seed in range(5):
        a, b = np.random.default_rng(seed), np.random.default_rng(seed)
        fast = augment.jitter_colour(image, a, 0.1, 1.5, 1.5)
        slow = augment.distort_colour(image, b, 0.1, 1.5, 1.5) * 255
        assert fast.dtype == np.uint8 and a.random() == b.random()
        assert np.mean(np.abs(fast - slow)) < 3.0
