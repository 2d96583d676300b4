"""yolo3.data.pipeline: the tf.data pipeline's elements, order, augmentation and reproducibility."""

from __future__ import annotations

import numpy as np

from helpers import CFG
from yolo3.darknet import load_cfg, with_classes
from yolo3.data.pipeline import MAX_BOXES, make_dataset
from yolo3.data.voc import convert_export


def setup(shapes_export):
    per_set, classes, _ = convert_export(shapes_export / "data", ["train", "val"], None,
                                         progress=False)
    config = with_classes(load_cfg(CFG / "yolov3-tiny.cfg"), len(classes))
    return per_set["train"], config


def test_elements(shapes_export):
    annotations, config = setup(shapes_export)
    images, targets = next(iter(make_dataset(annotations, config, (96, 128), 4, training=True)))
    assert images.shape == (4, 96, 128, 3) and images.dtype.name == "uint8"
    assert [tuple(t.shape) for t in targets] == [(4, 3, 4, 3, 8), (4, 6, 8, 3, 8),
                                                 (4, MAX_BOXES, 4)]


def test_validation_is_one_plain_pass_in_order(shapes_export):
    annotations, config = setup(shapes_export)
    dataset = make_dataset(annotations[:6], config, (128, 128), 4, training=False)
    batches = list(dataset)
    assert [b[0].shape[0] for b in batches] == [4, 2]
    again = list(make_dataset(annotations[:6], config, (128, 128), 4, training=False))
    np.testing.assert_array_equal(batches[0][0], again[0][0])
    objects = sum(float(np.sum(t[..., 4])) for t in batches[0][1][:-1])
    assert objects >= 4  # every image has at least one object


def test_training_epochs_differ_and_resume_reproduces(shapes_export):
    annotations, config = setup(shapes_export)
    per_epoch = len(annotations) // 4

    def first_batches(seed, first_epoch=0, count=2 * per_epoch):
        data = make_dataset(annotations, config, (64, 64), 4, training=True, seed=seed,
                            first_epoch=first_epoch)
        return [np.asarray(b[0]) for b in data.take(count)]

    run = first_batches(7)
    assert not np.array_equal(run[0], run[per_epoch])  # epoch 2 is not epoch 1 again
    np.testing.assert_array_equal(run[0], first_batches(7, count=1)[0])  # seeded
    resumed = first_batches(7, first_epoch=1, count=1)
    np.testing.assert_array_equal(resumed[0], run[per_epoch])  # epoch 2, as uninterrupted


def test_modern_recipe_mosaics_then_single_images(shapes_export):
    """mosaic_until: epochs before it gather four images' boxes; later ones one image's;
    the ratio-and-neighbour rule gives several positives per box."""
    from yolo3.data.examples import example
    from yolo3.data.policies import MosaicThenSingle
    from yolo3.data.targets import RATIO_AND_NEIGHBOURS

    annotations, config = setup(shapes_export)
    own = len(annotations[0].boxes)
    boxes_seen = []
    for seed in range(6):
        rng = np.random.default_rng(seed)
        mosaic_example = example(annotations[0], config, (128, 128), rng,
                                 assignment=RATIO_AND_NEIGHBOURS,
                                 partners=annotations[1:4], policy=MosaicThenSingle(1))
        boxes_seen.append(int((mosaic_example[-1].sum(axis=1) > 0).sum()))
        single = example(annotations[0], config, (128, 128), rng,
                         assignment=RATIO_AND_NEIGHBOURS, policy=MosaicThenSingle(1))
        assert int((single[-1].sum(axis=1) > 0).sum()) <= own
        positives = sum(float(t[..., 4].sum()) for t in single[1:-1])
        assert positives >= 2 * int((single[-1].sum(axis=1) > 0).sum())
    assert max(boxes_seen) > own  # other images' objects come in

    def epoch_images(epoch, mosaic_until):
        data = make_dataset(annotations, config, (64, 64), 4, training=True, seed=1,
                            first_epoch=epoch, assignment=RATIO_AND_NEIGHBOURS,
                            policy=MosaicThenSingle(mosaic_until))
        return np.asarray(next(iter(data))[0])

    # the same epoch and seed: mosaics before the switch, single images from it on
    assert not np.array_equal(epoch_images(2, 3), epoch_images(2, 2))
    np.testing.assert_array_equal(epoch_images(2, 2), epoch_images(2, 1))
