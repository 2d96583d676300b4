"""yolo3.evaluation.coco: the same numbers as the COCO API (pycocotools) and as
faster-coco-eval (which computed them before), on random reports and on the cases where
the rules are easy to get subtly wrong: equal scores, equal overlaps, boxes on the size
limits, more than 100 detections of a class in an image, classes and sizes without
ground truth."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from yolo3.evaluation import coco_ap as coco
from yolo3.evaluation.coco_ap import COCO_KEYS, coco_metrics
from yolo3.evaluation.metrics import ImageResult


def coco_dicts(results, num_classes):
    """The report in the COCO API's JSON layout (image ids = list positions)."""
    images, annotations, detections = [], [], []
    for image_id, r in enumerate(results):
        images.append({"id": image_id})
        for box, c in zip(r.gt_boxes, r.gt_classes):
            w, h = float(box[2] - box[0]), float(box[3] - box[1])
            annotations.append({"id": len(annotations) + 1, "image_id": image_id,
                                "category_id": int(c), "bbox": [float(box[0]), float(box[1]),
                                                                w, h],
                                "area": w * h, "iscrowd": 0})
        for box, score, c in zip(r.det_boxes, r.det_scores, r.det_classes):
            detections.append({"image_id": image_id, "category_id": int(c), "score": float(score),
                               "bbox": [float(box[0]), float(box[1]), float(box[2] - box[0]),
                                        float(box[3] - box[1])]})
    categories = [{"id": c, "name": str(c)} for c in range(num_classes)]
    return {"images": images, "annotations": annotations, "categories": categories}, detections


def pycocotools_stats(results, num_classes):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    ground_truth, detections = coco_dicts(results, num_classes)
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = ground_truth
        gt.createIndex()
        evaluator = COCOeval(gt, gt.loadRes(detections), "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return evaluator.stats[:6]


def faster_coco_eval_stats(results, num_classes):
    from faster_coco_eval import COCO, COCOeval_faster

    ground_truth, detections = coco_dicts(results, num_classes)
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(ground_truth)
        evaluator = COCOeval_faster(gt, gt.loadRes(detections), "bbox",
                                    print_function=lambda *args, **kwargs: None)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return evaluator.stats[:6]


def awkward_results(seed, images=50, classes=4):
    """Reports full of ties and limits: scores on a coarse grid, detections repeated
    exactly (equal overlaps), ground truth of exactly 32² and 96² pixels, an image with
    130 detections of one class, detections with no ground truth of their class, boxes of
    every size, and the last class never in the ground truth."""
    rng = np.random.default_rng(seed)
    results = []
    for i in range(images):
        g = 0 if i % 9 == 0 else int(rng.integers(1, 12))
        xy = rng.uniform(0, 400, (g, 2)).round(1)
        side = rng.choice([8.0, 32.0, 40.0, 96.0, 150.0, 300.0], (g, 2))
        gt = np.concatenate([xy, xy + side], 1)
        gt_classes = rng.integers(0, classes - 1, g)
        if g and i % 5 == 1:  # two boxes of the same class in the same place
            gt[-1], gt_classes[-1] = gt[0], gt_classes[0]
        d = 130 if i == 3 else int(rng.integers(0, 40))
        if g:
            source = rng.integers(0, g, d)
            boxes = gt[source] + rng.normal(0, 6, (d, 4)).round(0)
            det_classes = np.where(rng.random(d) < 0.8, gt_classes[source],
                                   rng.integers(0, classes, d))
            det_classes[:130 if i == 3 else 0] = gt_classes[0]
        else:
            xy = rng.uniform(0, 300, (d, 2))
            boxes = np.concatenate([xy, xy + rng.uniform(1, 200, (d, 2))], 1)
            det_classes = rng.integers(0, classes, d)
        if d > 4:  # exact repeats: equal overlaps and, on the coarse grid, equal scores
            boxes[1] = boxes[0]
        boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 1)
        scores = rng.integers(1, 20, d) / 20  # many equal scores, within and across images
        results.append(ImageResult.from_lists(gt, gt_classes, boxes, scores, det_classes))
    return results


def spread_results(seed, images=60, classes=4):
    """Plain random reports: distinct scores, boxes of all sizes."""
    rng = np.random.default_rng(seed)
    results = []
    for i in range(images):
        g = 0 if i % 7 == 0 else int(rng.integers(1, 6))
        xy = rng.uniform(0, 300, (g, 2))
        gt = np.concatenate([xy, xy + rng.uniform(5, 150, (g, 2))], 1)
        gt_classes = rng.integers(0, classes - 1, g)
        d = int(rng.integers(0, 25))
        source = rng.integers(0, max(g, 1), d)
        boxes = (gt[source] if g else np.full((d, 4), 50.0)) + rng.normal(0, 12, (d, 4))
        boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 1)
        det_classes = np.where(rng.random(d) < 0.75, gt_classes[source] if g else 0,
                               rng.integers(0, classes, d))
        results.append(ImageResult.from_lists(gt, gt_classes, boxes, rng.random(d),
                                              det_classes))
    return results


@pytest.mark.parametrize("make, seed", [(spread_results, s) for s in range(3)]
                         + [(awkward_results, s) for s in range(4)])
def test_numbers_equal_pycocotools_and_faster_coco_eval(make, seed):
    results = make(seed)
    ours = list(coco_metrics(results, 4).values())
    np.testing.assert_allclose(ours, pycocotools_stats(results, 4), rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours, faster_coco_eval_stats(results, 4), rtol=0, atol=1e-12)


def test_awkward_reports_reach_every_rule():
    """The awkward reports hold what they claim to (so the test above covers it)."""
    results = awkward_results(0)
    assert max(np.bincount(r.det_classes).max() for r in results if len(r.det_classes)) > 100
    areas = np.concatenate([np.prod(r.gt_boxes[:, 2:] - r.gt_boxes[:, :2], axis=1)
                            for r in results])
    assert {32.0 ** 2, 96.0 ** 2} <= set(areas)
    scores = np.concatenate([r.det_scores for r in results])
    assert len(np.unique(scores)) < len(scores) / 10


def test_small_blocks_give_the_same_numbers(monkeypatch):
    """Matching in many small blocks (as a report with many boxes per image is) changes
    nothing."""
    results = awkward_results(5)
    whole = coco_metrics(results, 4)
    monkeypatch.setattr(coco, "_CHUNK_ELEMENTS", 50)
    assert coco_metrics(results, 4) == whole


def test_perfect_detections_score_one_and_absent_sizes_minus_one():
    results = [ImageResult.from_lists([[0, 0, 50, 50], [100, 100, 300, 300]], [0, 1],
                                      [[0, 0, 50, 50], [100, 100, 300, 300]], [0.9, 0.8],
                                      [0, 1])]
    metrics = coco_metrics(results, 2)
    # 1 less COCO's guard against 0/0 (tp / (tp + fp + 2.2e-16))
    assert metrics == pytest.approx({"coco_map": 1.0, "ap50": 1.0, "ap75": 1.0,
                                     "ap_small": -1.0, "ap_medium": 1.0, "ap_large": 1.0},
                                    abs=1e-15)
    np.testing.assert_allclose(list(metrics.values()), pycocotools_stats(results, 2))


def test_half_the_objects_found():
    """Recall 0.5 at precision 1: precision 1 at the 51 recall points up to 0.5, 0 beyond."""
    results = [ImageResult.from_lists([[0, 0, 50, 50], [100, 100, 150, 150]], [0, 0],
                                      [[0, 0, 50, 50]], [0.9], [0])]
    assert coco_metrics(results, 1)["ap50"] == pytest.approx(51 / 101)


def test_nothing_to_score_is_zero():
    no_detections = [ImageResult.from_lists([[0, 0, 10, 10]], [0], [], [], [])]
    no_ground_truth = [ImageResult.from_lists([], [], [[0, 0, 10, 10]], [0.5], [0])]
    for results in (no_detections, no_ground_truth, []):
        assert coco_metrics(results, 1) == dict.fromkeys(COCO_KEYS, 0.0)
