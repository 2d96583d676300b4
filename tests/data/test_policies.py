"""yolo3.data.policies: each named policy asks for its partners and makes the example
its augmentation module makes, from the same random numbers."""

from __future__ import annotations

import numpy as np
import pytest

from yolo3.data import augment, mosaic
from yolo3.data.policies import KERAS_YOLO3, LETTERBOX, MosaicThenSingle

SIZE = (64, 96)


def samples(count):
    rng = np.random.default_rng(5)
    return [(rng.integers(0, 255, (50 + 7 * i, 80, 3), dtype=np.uint8),
             np.array([[5, 6, 40, 30 + i, i % 2]], np.float32)) for i in range(count)]


def same(a, b):
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_partners_by_epoch():
    assert [LETTERBOX.partners(0), KERAS_YOLO3.partners(0)] == [0, 0]
    policy = MosaicThenSingle(until=3)
    assert [policy.partners(e) for e in range(5)] == [3, 3, 3, 0, 0]
    assert {LETTERBOX.name, KERAS_YOLO3.name, policy.name} == {"letterbox", "keras-yolo3",
                                                               "mosaic"}


def test_each_policy_is_its_augmentation():
    one, four = samples(1), samples(4)
    same(LETTERBOX.apply(one, SIZE, None), augment.plain(*one[0], SIZE))
    same(KERAS_YOLO3.apply(one, SIZE, np.random.default_rng(1)),
         augment.random(*one[0], SIZE, np.random.default_rng(1)))
    policy = MosaicThenSingle(until=2)
    same(policy.apply(four, SIZE, np.random.default_rng(2)),
         mosaic.mosaic(four, SIZE, np.random.default_rng(2)))
    same(policy.apply(one, SIZE, np.random.default_rng(3)),
         mosaic.single(*one[0], SIZE, np.random.default_rng(3)))


@pytest.mark.parametrize("policy", [LETTERBOX, KERAS_YOLO3, MosaicThenSingle(until=1)])
def test_examples_are_8_bit_images(policy):
    pixels, boxes = policy.apply(samples(1), SIZE, np.random.default_rng(0))
    assert pixels.shape == (*SIZE, 3) and pixels.dtype == np.uint8 and boxes.shape[1] == 5
