"""Detection quality: Pascal VOC AP@0.5, P/R/F1 and the confusion matrix (COCO AP is
yolo3.evaluation.coco_ap's).

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
    return true_positives([result], iou_threshold)


def true_positives(results: list[ImageResult], iou_threshold: float = 0.5) -> np.ndarray:
    """True-positive flags of all detections, image after image (D_total,), VOC rule:
    within an image and class, detections by score (ties in order); each one's best box
    is the ground truth of its class it overlaps most (the first of equals); it is a true
    positive when that overlap exceeds ``iou_threshold`` and no higher-ranked detection
    took the box. Computed over arrays for all images at once."""
    det_image, det_class, det_score, det_box = flattened(results, "det")
    gt_image, gt_class, _, gt_box = flattened(results, "gt")
    tp = np.zeros(len(det_image), bool)
    if not len(det_image) or not len(gt_image):
        return tp
    classes = int(max(det_class.max(), gt_class.max())) + 1
    det_key, gt_key = det_image * classes + det_class, gt_image * classes + gt_class
    gt_order = np.argsort(gt_key, kind="stable")
    keys, starts, counts = np.unique(gt_key[gt_order], return_index=True, return_counts=True)
    at = np.minimum(np.searchsorted(keys, det_key), len(keys) - 1)
    n_gt = np.where(keys[at] == det_key, counts[at], 0)
    with_gt = np.flatnonzero(n_gt)
    if not len(with_gt):
        return tp
    # every (detection, box of its class in its image) pair, detection-major
    n_pairs = n_gt[with_gt]
    pair_det = np.repeat(with_gt, n_pairs)
    first_pair = np.cumsum(n_pairs) - n_pairs
    within = np.arange(len(pair_det)) - np.repeat(first_pair, n_pairs)
    pair_gt = gt_order[np.repeat(starts[at[with_gt]], n_pairs) + within]
    iou = _pair_iou(det_box[pair_det], gt_box[pair_gt])
    best_iou = np.maximum.reduceat(iou, first_pair)
    is_best = iou == np.repeat(best_iou, n_pairs)
    best_pair = np.minimum.reduceat(np.where(is_best, np.arange(len(iou)), len(iou)), first_pair)
    hit = best_iou > iou_threshold
    candidates, their_gt = with_gt[hit], pair_gt[best_pair[hit]]
    if not len(candidates):  # boxes of their class nearby, none overlapping enough
        return tp
    # a box goes to the best-ranked of the detections that chose it
    rank = np.empty(len(det_image), np.int64)
    rank[np.lexsort((np.arange(len(det_key)), -det_score, det_key))] = np.arange(len(det_key))
    by_box = np.lexsort((rank[candidates], their_gt))
    first = np.r_[True, their_gt[by_box][1:] != their_gt[by_box][:-1]]
    tp[candidates[by_box[first]]] = True
    return tp


def flattened(results: list[ImageResult], kind: str):
    """(image index (N,), class (N,), score (N,), xyxy box (N, 4)) over all images' "det"
    detections or "gt" ground truth, image after image; scores 0 for ground truth."""
    boxes = [r.det_boxes if kind == "det" else r.gt_boxes for r in results]
    classes = [r.det_classes if kind == "det" else r.gt_classes for r in results]
    scores = [r.det_scores if kind == "det" else np.zeros(len(b)) for r, b in
              zip(results, boxes)]
    image = np.repeat(np.arange(len(results)), [len(b) for b in boxes])
    if not len(image):
        return image, np.zeros(0, np.int64), np.zeros(0), np.zeros((0, 4))
    return image, np.concatenate(classes), np.concatenate(scores), np.concatenate(boxes)


def _pair_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of boxes paired row by row (N, 4) and (N, 4) → (N,), with yolo3.boxes.box_iou's
    arithmetic (the same numbers to the last bit)."""
    wh = np.clip(np.minimum(a[:, 2:], b[:, 2:]) - np.maximum(a[:, :2], b[:, :2]), 0, None)
    inter = wh[:, 0] * wh[:, 1]
    union = ((a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]) + (b[:, 2] - b[:, 0])
             * (b[:, 3] - b[:, 1]) - inter)
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


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
    tp = true_positives(results, iou_threshold)
    _, classes, scores, _ = flattened(results, "det")
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
