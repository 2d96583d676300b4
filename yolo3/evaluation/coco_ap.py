"""COCO box AP (AP@[.5:.95], AP50, AP75, AP small/medium/large) in NumPy, over arrays.

The rules are the COCO API's (pycocotools ``COCOeval`` with ``iouType="bbox"``), step for
step, so the numbers equal it (the tests check against pycocotools and faster-coco-eval);
what changes is the form: no list of dicts per detection, no Python loop per image and
class, so 500,000 detections take about a second instead of five.

Inputs are yolo3.evaluation.metrics.ImageResult (boxes [x_min, y_min, x_max, y_max] in
image pixels). As COCO, per image and class: detections ranked by score (ties keep their
order) and cut to the 100 best; each is matched, at each IoU threshold 0.50:0.05:0.95, to
the not yet matched ground-truth box it overlaps most with IoU ≥ the threshold, boxes of
the area range in hand before those outside it (which are "ignored": a detection
matched to one, or unmatched and itself outside the range, counts neither way). Over all
images of a class, detections ranked by score give precision at 101 recall points; AP is
their mean over thresholds, points and classes with ground truth.
"""

from __future__ import annotations

import numpy as np

from yolo3.evaluation.metrics import flattened

COCO_KEYS = ("coco_map", "ap50", "ap75", "ap_small", "ap_medium", "ap_large")

IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
RECALL_POINTS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
# all, small, medium, large: areas in pixels², bounds included as COCO includes them
AREA_RANGES = np.array([[0, 1e5 ** 2], [0, 32 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]])
MAX_DETECTIONS = 100  # per image and class
_CHUNK_ELEMENTS = 1 << 22  # detections × boxes of the padded IoU blocks matched at once


def coco_metrics(results, num_classes: int) -> dict[str, float]:
    """COCO AP@[.5:.95], AP50, AP75 and AP by object size (-1 where a size has no boxes);
    all 0.0 when there are no detections or no ground truth at all."""
    gts = _flatten(results, "gt")
    dets = _flatten(results, "det")
    if not len(dets["image"]) or not len(gts["image"]):
        return dict.fromkeys(COCO_KEYS, 0.0)
    dets = _best_per_image_and_class(dets, num_classes)
    matched, ignored = _match(dets, gts, num_classes)
    precision = _precision(dets, gts, matched, ignored, num_classes)
    return dict(zip(COCO_KEYS, _summary(precision)))


def _flatten(results, kind: str) -> dict[str, np.ndarray]:
    """metrics.flattened's arrays by name, boxes as COCO holds them ([x, y, w, h])."""
    image, classes, scores, xyxy = flattened(results, kind)
    xywh = np.column_stack([xyxy[:, 0], xyxy[:, 1], xyxy[:, 2] - xyxy[:, 0],
                            xyxy[:, 3] - xyxy[:, 1]])
    return {"image": image, "class": classes.astype(np.int64), "score": scores, "box": xywh,
            "area": xywh[:, 2] * xywh[:, 3]}


def _best_per_image_and_class(dets: dict, num_classes: int) -> dict[str, np.ndarray]:
    """Detections grouped by (image, class), each group ranked by score (stable) and cut
    to :data:`MAX_DETECTIONS`; adds ``group`` and ``rank``."""
    group = dets["image"] * num_classes + dets["class"]
    order = np.lexsort((np.arange(len(group)), -dets["score"], group))
    group = group[order]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    rank = np.arange(len(group)) - np.repeat(starts, np.diff(np.r_[starts, len(group)]))
    keep = order[rank < MAX_DETECTIONS]
    out = {key: value[keep] for key, value in dets.items()}
    out["group"] = group[rank < MAX_DETECTIONS]
    out["rank"] = rank[rank < MAX_DETECTIONS]
    return out


def _outside(area: np.ndarray) -> np.ndarray:
    """(areas, ...) whether each area falls outside each of :data:`AREA_RANGES`."""
    low, high = (AREA_RANGES[:, i].reshape((-1,) + (1,) * area.ndim) for i in (0, 1))
    return (area[None] < low) | (area[None] > high)


def _iou(dets: np.ndarray, gts: np.ndarray) -> np.ndarray:
    """IoU of [x, y, w, h] boxes (..., D, 4) × (..., G, 4) → (..., D, G), computed as the
    COCO API's C code computes it (from x + w, so the last bits agree too)."""
    d, g = dets[..., :, None, :], gts[..., None, :, :]
    w = np.minimum(d[..., 0] + d[..., 2], g[..., 0] + g[..., 2]) - np.maximum(d[..., 0],
                                                                           g[..., 0])
    h = np.minimum(d[..., 1] + d[..., 3], g[..., 1] + g[..., 3]) - np.maximum(d[..., 1],
                                                                           g[..., 1])
    inter = np.where((w > 0) & (h > 0), w * h, 0.0)
    union = d[..., 2] * d[..., 3] + g[..., 2] * g[..., 3] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(inter > 0, inter / union, 0.0)


def _match(dets: dict, gts: dict, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(areas, thresholds, detections) flags: matched to a ground-truth box, and ignored
    (matched to a box outside the area range, or unmatched and outside it itself)."""
    shape = (len(AREA_RANGES), len(IOU_THRESHOLDS), len(dets["group"]))
    matched = np.zeros(shape, bool)
    matched_ignored = np.zeros(shape, bool)
    gt_group = gts["image"] * num_classes + gts["class"]
    gt_order = np.argsort(gt_group, kind="stable")
    gt_groups, gt_starts, gt_counts = np.unique(gt_group[gt_order], return_index=True,
                                                return_counts=True)
    det_groups, det_starts, det_counts = np.unique(dets["group"], return_index=True,
                                                   return_counts=True)
    both, in_dets, in_gts = np.intersect1d(det_groups, gt_groups, assume_unique=True,
                                           return_indices=True)
    if len(both):
        n_det, n_gt = det_counts[in_dets], gt_counts[in_gts]
        # groups with as many boxes together (up to 8; then up to twice as many), most
        # detections first, in chunks of bounded size
        width_class = np.where(n_gt <= 8, n_gt, 1 << np.ceil(np.log2(n_gt)).astype(np.int64))
        for width in np.unique(width_class):
            mine = np.flatnonzero(width_class == width)
            mine = mine[np.argsort(-n_det[mine], kind="stable")]
            size = max(1, _CHUNK_ELEMENTS // int(n_det[mine[0]] * width))
            for chunk in np.array_split(mine, range(size, len(mine), size)):
                _match_chunk(dets, gts, gt_order, det_starts[in_dets[chunk]], n_det[chunk],
                             gt_starts[in_gts[chunk]], n_gt[chunk], matched, matched_ignored)
    outside = _outside(dets["area"])[:, None, :]
    return matched, np.where(matched, matched_ignored, outside)


def _match_chunk(dets, gts, gt_order, det_start, n_det, gt_start, n_gt, matched,
                 matched_ignored) -> None:
    """Greedy matching, as COCO's, for groups sorted by detection count (descending):
    rank by rank, every group's detection of that rank at once."""
    groups, depth, width = len(n_det), int(n_det[0]), int(n_gt.max())
    det_index = det_start[:, None] + np.arange(depth)[None]
    det_valid = np.arange(depth)[None] < n_det[:, None]
    det_index = np.where(det_valid, det_index, 0)
    gt_slot = np.arange(width)[None]
    gt_valid = gt_slot < n_gt[:, None]
    gt_index = gt_order[np.where(gt_valid, gt_start[:, None] + gt_slot, 0)]
    iou = _iou(dets["box"][det_index], gts["box"][gt_index])  # (groups, depth, width)
    iou[~np.broadcast_to(gt_valid[:, None, :], iou.shape)] = -1.0
    gt_ignored = _outside(gts["area"][gt_index])[:, None]  # (areas, 1, groups, width)
    thresholds = np.minimum(IOU_THRESHOLDS, 1 - 1e-10)[None, :, None, None]
    taken = np.zeros((len(AREA_RANGES), len(IOU_THRESHOLDS), groups, width), bool)
    active = groups
    for rank in range(depth):
        while n_det[active - 1] <= rank:
            active -= 1
        row = iou[:active, rank][None, None]  # (1, 1, active, width)
        free = (row >= thresholds) & ~taken[:, :, :active]
        ignored_here = np.broadcast_to(gt_ignored[..., :active, :], free.shape)
        first, found_first = _last_best(np.where(free & ~ignored_here, row, -1.0))
        then, found_then = _last_best(np.where(free & ignored_here, row, -1.0))
        found = found_first | found_then
        chosen = np.where(found_first, first, then)
        a, t, g = np.nonzero(found)
        taken[a, t, g, chosen[a, t, g]] = True
        index = det_index[:active, rank]
        matched[:, :, index] = found
        matched_ignored[:, :, index] = ~found_first & found_then


def _last_best(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the largest of the last axis (the last of equals, as COCO's loop keeps
    the later of two equal overlaps) and whether it is a candidate (≥ 0)."""
    width = scores.shape[-1]
    if width == 1:  # the usual case: one box of the class in the image
        return np.zeros(scores.shape[:-1], np.int64), scores[..., 0] >= 0
    best = width - 1 - np.argmax(scores[..., ::-1], axis=-1)
    return best, np.take_along_axis(scores, best[..., None], -1)[..., 0] >= 0


def _precision(dets, gts, matched, ignored, num_classes: int) -> np.ndarray:
    """(thresholds, recall points, classes, areas) interpolated precision; -1 for a class
    without ground truth in an area range."""
    precision = -np.ones((len(IOU_THRESHOLDS), len(RECALL_POINTS), num_classes,
                          len(AREA_RANGES)))
    gt_counted = ~_outside(gts["area"])  # (areas, gts)
    # COCO ranks a class's detections image by image and then by score, stably
    order = np.lexsort((dets["rank"], dets["image"], -dets["score"], dets["class"]))
    bounds = np.searchsorted(dets["class"][order], np.arange(num_classes + 1))
    counted = ~ignored[:, :, order]
    # running counts over all classes at once (in place on int32: several times faster
    # than numpy's cumsum from bool); a class's counts are differences from its start
    hits = (matched[:, :, order] & counted).astype(np.int32)
    seen = counted.astype(np.int32)
    np.cumsum(hits, axis=2, out=hits)
    np.cumsum(seen, axis=2, out=seen)
    for c in range(num_classes):
        positives = gt_counted[:, gts["class"] == c].sum(axis=1)  # (areas,)
        start, stop = bounds[c], bounds[c + 1]
        hits_before = hits[:, :, start - 1, None] if start else 0
        seen_before = seen[:, :, start - 1, None] if start else 0
        tp = (hits[:, :, start:stop] - hits_before).astype(np.float64)
        fp = (seen[:, :, start:stop] - seen_before) - tp
        for a in np.flatnonzero(positives):
            if stop == start:  # no detections: precision 0 at every recall point
                precision[:, :, c, a] = 0.0
                continue
            recall = tp[a] / positives[a]
            ranked = tp[a] / (fp[a] + tp[a] + np.spacing(1))
            envelope = np.maximum.accumulate(ranked[:, ::-1], axis=1)[:, ::-1]
            for t in range(len(IOU_THRESHOLDS)):
                at = np.searchsorted(recall[t], RECALL_POINTS, side="left")
                precision[t, :, c, a] = np.where(at < stop - start,
                                                 envelope[t, np.minimum(at, stop - start - 1)],
                                                 0.0)
    return precision


def _summary(precision: np.ndarray) -> list[float]:
    """The first six numbers of COCO's summary, from :func:`_precision`'s array."""

    def mean(values: np.ndarray) -> float:
        kept = values[values > -1]
        return float(np.mean(kept)) if kept.size else -1.0

    at_50 = np.flatnonzero(IOU_THRESHOLDS == 0.5)
    at_75 = np.flatnonzero(IOU_THRESHOLDS == 0.75)
    return [mean(precision[..., 0]), mean(precision[at_50, ..., 0]),
            mean(precision[at_75, ..., 0]), mean(precision[..., 1]),
            mean(precision[..., 2]), mean(precision[..., 3])]
