"""Detection quality: Pascal VOC AP@0.5, P/R/F1 and the confusion matrix (COCO AP is
yolo3.evaluation.coco's).

Inputs, per image: ground truth boxes (G, 4) with classes (G,), and detections (D, 4) with
scores (D,) and classes (D,); boxes are [x_min, y_min, x_max, y_max] in image pixels.
IoU uses continuous areas (no "+1 pixel" as in the old VOC devkit), as COCO does.

VOC AP follows the VOC2010+ devkit: detections of a class are ranked by score; each one
is matched to the ground-truth box it overlaps most; it is a true positive when that IoU
exceeds 0.5 and the box was not matched before, otherwise a false positive. AP is the area
under the precision envelope over all recall points.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from yolo3.boxes import box_iou


@dataclass
class ImageResult:
    """Ground truth and detections of one image (see the module doc for shapes)."""

    gt_boxes: np.ndarray
    gt_classes: np.ndarray
    det_boxes: np.ndarray
    det_scores: np.ndarray
    det_classes: np.ndarray

    @classmethod
    def from_lists(cls, gt_boxes, gt_classes, det_boxes, det_scores, det_classes):
        return cls(np.asarray(gt_boxes, np.float64).reshape(-1, 4),
                   np.asarray(gt_classes, np.int64).reshape(-1),
                   np.asarray(det_boxes, np.float64).reshape(-1, 4),
                   np.asarray(det_scores, np.float64).reshape(-1),
                   np.asarray(det_classes, np.int64).reshape(-1))


def match_image(result: ImageResult, iou_threshold: float = 0.5) -> np.ndarray:
    """True-positive flags (D,) for one image's detections, VOC rule, class by class."""
    tp = np.zeros(len(result.det_scores), dtype=bool)
    for c in np.unique(result.det_classes):
        dets = np.flatnonzero(result.det_classes == c)
        gts = np.flatnonzero(result.gt_classes == c)
        if not len(gts):
            continue
        dets = dets[np.argsort(-result.det_scores[dets], kind="stable")]
        iou = box_iou(result.det_boxes[dets], result.gt_boxes[gts])
        best = iou.argmax(axis=1)
        taken = np.zeros(len(gts), dtype=bool)
        for row, det in enumerate(dets):
            j = best[row]
            if iou[row, j] > iou_threshold and not taken[j]:
                tp[det] = taken[j] = True
    return tp


def average_precision(recall: np.ndarray, precision: np.ndarray) -> float:
    """VOC2010+ all-point interpolated AP from a ranked list's recall and precision."""
    r = np.concatenate([[0.0], recall, [1.0]])
    p = np.concatenate([[0.0], precision, [0.0]])
    p = np.maximum.accumulate(p[::-1])[::-1]
    changes = np.flatnonzero(r[1:] != r[:-1])
    return float(np.sum((r[changes + 1] - r[changes]) * p[changes + 1]))


@dataclass
class ClassCurve:
    """Ranked detections of one class: precision and recall after each, and its AP."""

    ap: float
    precision: np.ndarray
    recall: np.ndarray
    scores: np.ndarray
    num_gt: int
    num_det: int


@dataclass
class VocMetrics:
    curves: dict[int, ClassCurve] = field(default_factory=dict)
    without_gt: list[int] = field(default_factory=list)

    @property
    def mean_ap(self) -> float:
        return float(np.mean([c.ap for c in self.curves.values()])) if self.curves else 0.0


def voc_metrics(results: list[ImageResult], num_classes: int,
                iou_threshold: float = 0.5) -> VocMetrics:
    """Per-class AP@iou_threshold; classes without ground truth are left out of the mean."""
    flags = [match_image(r, iou_threshold) for r in results]
    scores = np.concatenate([r.det_scores for r in results] or [np.zeros(0)])
    classes = np.concatenate([r.det_classes for r in results] or [np.zeros(0, np.int64)])
    tp = np.concatenate(flags or [np.zeros(0, bool)])
    gt_counts = np.bincount(np.concatenate([r.gt_classes for r in results] or
                                           [np.zeros(0, np.int64)]), minlength=num_classes)
    metrics = VocMetrics()
    for c in range(num_classes):
        if gt_counts[c] == 0:
            metrics.without_gt.append(c)
            continue
        mine = np.flatnonzero(classes == c)
        order = mine[np.argsort(-scores[mine], kind="stable")]
        hits = np.cumsum(tp[order])
        precision = hits / np.arange(1, len(order) + 1)
        recall = hits / gt_counts[c]
        metrics.curves[c] = ClassCurve(average_precision(recall, precision), precision,
                                       recall, scores[order], int(gt_counts[c]), len(order))
    return metrics


def counts_at(curve: ClassCurve, threshold: float) -> tuple[int, int, int]:
    """(true positives, false positives, ground truths) among detections ≥ threshold."""
    kept = int(np.sum(curve.scores >= threshold))
    tp = int(round(curve.recall[kept - 1] * curve.num_gt)) if kept else 0
    return tp, kept - tp, curve.num_gt


def precision_recall_f1(tp: int, fp: int, num_gt: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / num_gt if num_gt else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def confusion_matrix(results: list[ImageResult], num_classes: int, score_threshold: float,
                     iou_threshold: float = 0.5) -> np.ndarray:
    """Counts (C + 1, C + 1): row = predicted class, column = true class, index C =
    background. Detections scoring ≥ ``score_threshold`` are paired with ground truth of
    any class, highest IoU first, each box at most once, while the IoU exceeds
    ``iou_threshold``; a ground-truth box left unpaired is a missed object (row C), a
    detection left unpaired a false alarm (column C)."""
    matrix = np.zeros((num_classes + 1, num_classes + 1), np.int64)
    for r in results:
        kept = r.det_scores >= score_threshold
        boxes, classes = r.det_boxes[kept], r.det_classes[kept]
        iou = box_iou(boxes, r.gt_boxes)
        det_done = np.zeros(len(boxes), bool)
        gt_done = np.zeros(len(r.gt_boxes), bool)
        rows, cols = np.nonzero(iou > iou_threshold)
        for k in np.argsort(-iou[rows, cols], kind="stable"):
            d, g = rows[k], cols[k]
            if not det_done[d] and not gt_done[g]:
                det_done[d] = gt_done[g] = True
                matrix[classes[d], r.gt_classes[g]] += 1
        np.add.at(matrix, (num_classes, r.gt_classes[~gt_done]), 1)
        np.add.at(matrix, (classes[~det_done], num_classes), 1)
    return matrix


def confidence_curves(curve: ClassCurve, thresholds: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and F1 of one class when detections scoring ≥ each threshold are
    kept (arrays like ``thresholds``); precision is 1 where nothing is kept."""
    kept = np.searchsorted(-curve.scores, -np.asarray(thresholds, np.float64), side="right")
    hits = np.where(kept > 0, curve.recall[np.maximum(kept - 1, 0)] * curve.num_gt, 0.0) \
        if len(curve.scores) else np.zeros(len(kept))
    precision = np.where(kept > 0, hits / np.maximum(kept, 1), 1.0)
    recall = hits / curve.num_gt
    total = precision + recall
    f1 = np.where(total > 0, 2 * precision * recall / np.where(total > 0, total, 1), 0.0)
    return precision, recall, f1
