"""yolo3.data.cache: when images are cached, at what size, and that caching changes no
example the mosaic recipe or validation makes."""

from __future__ import annotations

import numpy as np
import pytest

from yolo3.data.cache import ImageCache, cache_bytes, fitted, should_cache
from yolo3.defaults import CACHE_BUDGET_BYTES


def test_auto_caches_what_surely_fits():
    fits = CACHE_BUDGET_BYTES // cache_bytes(1, (416, 416), 1.0)
    assert should_cache("auto", fits, (416, 416), 1.0)
    assert not should_cache("auto", fits + 1, (416, 416), 1.0)
    assert not should_cache("auto", fits, (416, 416), 2.0)  # four times the bytes
    assert should_cache("ram", 10 ** 9, (416, 416), 1.0)
    assert not should_cache("none", 1, (416, 416), 1.0)
    with pytest.raises(ValueError, match="auto, ram, none"):
        should_cache("disk", 1, (416, 416), 1.0)


def test_fitted_is_the_letterbox_resize_with_boxes_along():
    image = np.zeros((300, 600, 3), np.uint8)
    boxes = np.array([[60, 30, 600, 300, 1]], np.float32)
    small, moved = fitted(image, boxes, (416, 416), exact=True)
    assert small.shape == (208, 416, 3)
    np.testing.assert_allclose(moved, [[41.6, 20.8, 416, 208, 1]], rtol=1e-6)
    big, _ = fitted(np.zeros((100, 200, 3), np.uint8), boxes, (416, 416), exact=True)
    assert big.shape == (208, 416, 3)  # enlarged as the letterbox enlarges it
    kept, same = fitted(np.zeros((100, 200, 3), np.uint8), boxes, (832, 832), exact=False)
    assert kept.shape == (100, 200, 3) and np.array_equal(same, boxes)  # never enlarged


def test_each_image_is_read_once_when_caching():
    reads = []

    def read(annotation):
        reads.append(annotation)
        return np.zeros((50, 80, 3), np.uint8), np.zeros((0, 5), np.float32)

    cache = ImageCache(read, (64, 64), 1.0, exact=True, enabled=True)
    for _ in range(3):
        assert cache(0, "a")[0].shape == (40, 64, 3)
    assert reads == ["a"]
    plain = ImageCache(read, (64, 64), 1.0, exact=True, enabled=False)
    plain(0, "a"), plain(0, "a")
    assert len(reads) == 3 and plain(0, "a")[0].shape == (50, 80, 3)  # as read


def test_caching_changes_no_example(shapes_export):
    """The mosaic recipe's training batches and validation batches are the same with the
    images in memory as read from disk every time."""
    from test_pipeline import setup

    from yolo3.data.pipeline import make_dataset
    from yolo3.data.policies import MosaicThenSingle
    from yolo3.data.targets import RATIO_AND_NEIGHBOURS

    annotations, config = setup(shapes_export)
    for training in (True, False):
        batches = [list(make_dataset(annotations[:8], config, (96, 128), 4, training=training,
                                     seed=3, assignment=RATIO_AND_NEIGHBOURS,
                                     policy=MosaicThenSingle(until=1), cache=cache).take(4))
                   for cache in ("ram", "none")]
        for cached, read in zip(*batches):
            np.testing.assert_array_equal(cached[0], read[0])
            for a, b in zip(cached[1], read[1]):
                np.testing.assert_array_equal(a, b)
