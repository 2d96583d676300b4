"""yolo3.evaluation.metrics: VOC AP against a plain devkit-style implementation (COCO AP:
test_coco_ap.py)."""

from __future__ import annotations

import numpy as np
import pytest

from yolo3.evaluation.metrics import (
    ImageResult,
    average_precision,
    box_iou,
    voc_metrics,
)


def random_results(seed, images=40, classes=4, empty_every=7):
    rng = np.random.default_rng(seed)
    results = []
    for i in range(images):
        g = 0 if i % empty_every == 0 else int(rng.integers(1, 6))
        xy = rng.uniform(0, 300, (g, 2))
        gt = np.concatenate([xy, xy + rng.uniform(5, 150, (g, 2))], 1)
        gt_classes = rng.integers(0, classes - 1, g)  # the last class never has ground truth
        d = int(rng.integers(0, 25))
        if g:
            source = rng.integers(0, g, d)
            boxes = gt[source] + rng.normal(0, 12, (d, 4))
            det_classes = np.where(rng.random(d) < 0.75, gt_classes[source],
                                   rng.integers(0, classes, d))
        else:
            xy = rng.uniform(0, 300, (d, 2))
            boxes = np.concatenate([xy, xy + 20], 1)
            det_classes = rng.integers(0, classes, d)
        boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 1)
        results.append(ImageResult.from_lists(gt, gt_classes, boxes, rng.random(d), det_classes))
    return results


def plain_iou(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def plain_voc_ap(results, c):
    """The VOC devkit's loop, written out plainly."""
    dets = [(score, i, box) for i, r in enumerate(results)
            for box, score, k in zip(r.det_boxes, r.det_scores, r.det_classes) if k == c]
    dets.sort(key=lambda d: -d[0])
    gts = {i: [box for box, k in zip(r.gt_boxes, r.gt_classes) if k == c]
           for i, r in enumerate(results)}
    used = {i: [False] * len(g) for i, g in gts.items()}
    npos = sum(len(g) for g in gts.values())
    tp, fp = [], []
    for _, i, box in dets:
        overlaps = [plain_iou(box, g) for g in gts[i]]
        best = max(overlaps) if overlaps else -1
        j = overlaps.index(best) if overlaps else -1
        hit = best > 0.5 and not used[i][j]
        if hit:
            used[i][j] = True
        tp.append(1 if hit else 0)
        fp.append(0 if hit else 1)
    ctp = np.cumsum(tp).astype(float)
    cfp = np.cumsum(fp).astype(float)
    rec = list(ctp / npos)
    prec = list(ctp / np.maximum(ctp + cfp, 1e-12))
    mrec, mpre = [0.0] + rec + [1.0], [0.0] + prec + [0.0]
    for k in range(len(mpre) - 2, -1, -1):
        mpre[k] = max(mpre[k], mpre[k + 1])
    return sum((mrec[k + 1] - mrec[k]) * mpre[k + 1] for k in range(len(mrec) - 1)
               if mrec[k + 1] != mrec[k])


@pytest.mark.parametrize("seed", range(6))
def test_voc_ap_equals_a_plain_implementation(seed):
    results = random_results(seed)
    metrics = voc_metrics(results, 4)
    assert metrics.without_gt == [3]
    for c, curve in metrics.curves.items():
        assert curve.ap == pytest.approx(plain_voc_ap(results, c), abs=1e-6)
    assert metrics.mean_ap == pytest.approx(np.mean([plain_voc_ap(results, c)
                                                     for c in range(3)]), abs=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_voc_ap_with_ties_equals_a_plain_implementation(seed):
    """Equal scores, repeated detections (equal overlaps), two boxes in one place, an
    image with 130 detections of a class: the array matching agrees with the loop."""
    from test_coco_ap import awkward_results

    results = awkward_results(seed)
    metrics = voc_metrics(results, 4)
    for c, curve in metrics.curves.items():
        assert curve.ap == pytest.approx(plain_voc_ap(results, c), abs=1e-12)


def test_no_detections_at_all():
    results = [ImageResult.from_lists([[0, 0, 10, 10]], [0], [], [], [])]
    assert voc_metrics(results, 1).mean_ap == 0.0


def test_detections_near_their_boxes_but_none_overlapping_enough():
    """Boxes of their class in their images, every overlap at most 0.5: all false
    positives (this stopped a from-scratch training run's validation once)."""
    results = [ImageResult.from_lists([[0, 0, 10, 10]], [0], [[5, 0, 15, 10]], [0.9], [0]),
               ImageResult.from_lists([[0, 0, 10, 10]], [0], [[50, 50, 60, 60]], [0.4], [0])]
    metrics = voc_metrics(results, 1)
    assert metrics.curves[0].ap == 0.0 == plain_voc_ap(results, 0)
    from yolo3.evaluation.coco_ap import coco_metrics

    assert coco_metrics(results, 1)["coco_map"] == 0.0


def test_perfect_and_half_recall():
    results = [ImageResult.from_lists([[0, 0, 10, 10], [20, 20, 30, 30]], [0, 0],
                                      [[0, 0, 10, 10]], [0.9], [0])]
    assert voc_metrics(results, 1).curves[0].ap == pytest.approx(0.5)
    assert average_precision(np.array([0.5, 1.0]), np.array([1.0, 1.0])) == 1.0


def test_box_iou():
    iou = box_iou(np.array([[0.0, 0, 10, 10]]), np.array([[5.0, 5, 15, 15], [20, 20, 30, 30]]))
    np.testing.assert_allclose(iou, [[25 / 175, 0.0]])


def _pairs_by_exhaustion(result, score_threshold, iou_threshold=0.5):
    """Confusion pairs the slow way: repeatedly take the globally best remaining
    (detection, ground truth) pair by IoU (pure Python IoU), as the docstring says."""
    dets = [d for d in range(len(result.det_scores))
            if result.det_scores[d] >= score_threshold]
    gts = list(range(len(result.gt_boxes)))
    pairs = []
    while True:
        best = max(((plain_iou(result.det_boxes[d], result.gt_boxes[g]), -d, -g) for d in dets
                    for g in gts), default=None)
        if best is None or best[0] <= iou_threshold:
            break
        d, g = -best[1], -best[2]
        pairs.append((d, g))
        dets.remove(d)
        gts.remove(g)
    return pairs, dets, gts


def test_confusion_matrix_pairs_boxes_best_iou_first():
    from yolo3.evaluation.metrics import confusion_matrix

    results = random_results(5)
    classes = 4
    expected = np.zeros((classes + 1, classes + 1), int)
    for r in results:
        pairs, lone_dets, lone_gts = _pairs_by_exhaustion(r, 0.3)
        for d, g in pairs:
            expected[r.det_classes[d], r.gt_classes[g]] += 1
        for d in lone_dets:
            expected[r.det_classes[d], classes] += 1
        for g in lone_gts:
            expected[classes, r.gt_classes[g]] += 1
    matrix = confusion_matrix(results, classes, 0.3)
    np.testing.assert_array_equal(matrix, expected)
    # every ground-truth box lands in its column once; every kept detection in its row once
    gt_total = sum(len(r.gt_classes) for r in results)
    kept = sum(int((r.det_scores >= 0.3).sum()) for r in results)
    assert matrix[:, :classes].sum() == gt_total
    assert matrix[:classes, :].sum() == kept
    assert np.trace(matrix[:classes, :classes]) > 0


def test_confidence_curves_match_counting_at_each_threshold():
    from yolo3.evaluation.metrics import confidence_curves, counts_at, precision_recall_f1

    voc = voc_metrics(random_results(6), 4)
    thresholds = np.array([0.0, 0.05, 0.3, 0.5, 0.77, 0.99, 1.0])
    for curve in voc.curves.values():
        precision, recall, f1 = confidence_curves(curve, thresholds)
        for k, t in enumerate(thresholds):
            tp, fp, gt = counts_at(curve, t)
            p, r, f = precision_recall_f1(tp, fp, gt)
            if tp + fp == 0:
                p = 1.0  # nothing kept: no false alarm (the curve's convention)
            assert (precision[k], recall[k]) == pytest.approx((p, r))
            assert f1[k] == pytest.approx(2 * p * r / (p + r) if p + r else 0.0)
