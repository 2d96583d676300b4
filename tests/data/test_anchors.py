"""yolo3.data.anchors: IoU k-means quality, reproducibility, units and edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from yolo3.data.anchors import (
    _lloyd,
    best_possible_recall,
    box_shapes,
    cluster_anchors,
    letterbox_scale,
    mean_best_iou,
    shape_iou,
)
from yolo3.data.annotations import Annotation
from yolo3.errors import YoloError


def plain_kmeans(shapes, k, seed):
    """keras-yolo3's k-means: k random boxes to start, median updates, one run."""
    rng = np.random.default_rng(seed)
    centres = shapes[rng.choice(len(shapes), k, replace=False)].astype(float)
    assign = None
    for _ in range(1000):
        new = shape_iou(shapes, centres).argmax(axis=1)
        if assign is not None and (new == assign).all():
            break
        assign = new
        for j in range(k):
            if (assign == j).any():
                centres[j] = np.median(shapes[assign == j], axis=0)
    return centres


def synthetic_shapes(seed, n=3000):
    rng = np.random.default_rng(seed)
    groups = [rng.normal(m, s, size=(n // 3, 2)) for m, s in
              [((20, 30), 5), ((80, 60), 15), ((200, 260), 40)]]
    return np.abs(np.concatenate(groups)).round().clip(1, 416)


def test_shape_iou():
    iou = shape_iou(np.array([[10.0, 10.0], [20.0, 5.0]]), np.array([[10.0, 10.0],
                                                                     [5.0, 20.0]]))
    np.testing.assert_allclose(iou, [[1.0, 50 / 150], [50 / 150, 25 / 175]])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_at_least_as_good_as_a_plain_single_start_kmeans(seed):
    shapes = synthetic_shapes(seed)
    ours = cluster_anchors(shapes, 9, seed=seed)
    weights = np.ones(len(shapes))
    plain = max(mean_best_iou(shapes, weights, plain_kmeans(shapes, 9, s)) for s in range(3))
    assert mean_best_iou(shapes, weights, ours.anchors) >= plain - 1e-9
    assert ours.mean_iou == pytest.approx(mean_best_iou(shapes, weights, ours.anchors))


def test_reproducible_and_ascending():
    shapes = synthetic_shapes(4)
    first, again = cluster_anchors(shapes, 6, seed=7), cluster_anchors(shapes, 6, seed=7)
    np.testing.assert_array_equal(first.anchors, again.anchors)
    areas = first.anchors.prod(axis=1)
    assert (np.diff(areas) >= 0).all()
    assert (first.anchors == first.anchors.round()).all()  # whole pixels, as written


def test_too_few_distinct_boxes():
    with pytest.raises(YoloError, match="2 distinct box shapes cannot make 3 clusters"):
        cluster_anchors(np.array([[10, 10], [10, 10], [20, 30]]), 3)
    assert len(cluster_anchors(np.array([[10, 10], [20, 30], [40, 40]]), 3).anchors) == 3


def test_empty_clusters_are_reseeded():
    shapes = synthetic_shapes(5, 300)
    far = np.array([[5000.0, 5000.0], [20, 30], [80, 60], [6000, 10]])
    centres = _lloyd(shapes, np.ones(len(shapes)), far)
    assert np.isfinite(centres).all() and (centres < 1000).all()


def test_best_possible_recall():
    shapes = np.array([[10.0, 10.0], [100.0, 10.0], [39.0, 39.0], [41.0, 41.0]])
    anchors = np.array([[10.0, 10.0]])  # within 4x: the first and the third
    assert best_possible_recall(shapes, np.ones(4), anchors) == pytest.approx(0.5)


def test_box_shapes_use_the_letterbox_scale(tmp_path):
    Image.new("RGB", (832, 416)).save(tmp_path / "wide.jpg")
    annotations = [Annotation(str(tmp_path / "wide.jpg"), np.array([[0, 0, 100, 50, 0]])),
                   Annotation(str(tmp_path / "missing.jpg"), np.array([[0, 0, 9, 9, 0]])),
                   Annotation(str(tmp_path / "negative.jpg"), np.zeros((0, 5)))]
    shapes, skipped = box_shapes(annotations, (416, 416))
    np.testing.assert_allclose(shapes, [[50, 25]])  # 832 wide → scale 0.5
    assert len(skipped) == 1 and "missing.jpg" in skipped[0]
    original, _ = box_shapes(annotations, None)
    np.testing.assert_allclose(original, [[100, 50], [9, 9]])
    np.testing.assert_allclose(letterbox_scale([[832, 416], [200, 400]], (416, 416)),
                               [0.5, 1.04])


def test_letterbox_scale_reads_height_then_width():
    # a 832×416 image onto a 320-high, 608-wide input: the width limits (608 / 832)
    np.testing.assert_allclose(letterbox_scale([[832, 416]], (320, 608)), [608 / 832])
    np.testing.assert_allclose(letterbox_scale([[416, 832]], (320, 608)), [320 / 832])
