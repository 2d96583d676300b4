"""Anchor boxes by k-means on box shapes, with 1 − IoU as the distance.

Boxes are (width, height) pairs in network-input pixels: each image's boxes are scaled by
its letterbox factor min(input / image_w, input / image_h) first, because the model reads
anchors in those units (keras-yolo3 clustered original-image pixels, giving anchors 2–4×
too large for photos).

Shapes are clustered at 1-pixel resolution: identical (w, h) pairs are counted once with a
weight, which makes a million boxes cheap. Each run starts k-means++-style, moves each
cluster to the weighted median of its members (as keras-yolo3 did), re-seeds empty
clusters with the worst-covered shape, and the best of several seeded restarts (highest
mean IoU of the rounded anchors) wins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from yolo3.boxes import shape_iou
from yolo3.errors import YoloError


def letterbox_scale(image_sizes: np.ndarray, input_hw: tuple[int, int]) -> np.ndarray:
    """Per-image factor (N,) that letterboxing (width, height) images (N, 2) onto the
    network input ``input_hw`` (height, width) applies."""
    sizes = np.asarray(image_sizes, dtype=np.float64).reshape(-1, 2)
    height, width = input_hw
    return np.minimum(width / sizes[:, 0], height / sizes[:, 1])


@dataclass
class AnchorResult:
    """anchors: (K, 2) (w, h) ascending by area; mean_iou: average best IoU over boxes;
    recall: share of boxes with an anchor within 4× in both width and height."""

    anchors: np.ndarray
    mean_iou: float
    recall: float


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2.0)])


def _kmeans_pp(shapes, weights, k, rng) -> np.ndarray:
    centres = [shapes[rng.choice(len(shapes), p=weights / weights.sum())]]
    best = 1 - shape_iou(shapes, np.array(centres))[:, 0]
    for _ in range(1, k):
        score = weights * best ** 2
        if score.sum() <= 0:
            break
        centres.append(shapes[rng.choice(len(shapes), p=score / score.sum())])
        best = np.minimum(best, 1 - shape_iou(shapes, np.array(centres[-1:]))[:, 0])
    return np.array(centres, dtype=np.float64)


def _lloyd(shapes, weights, centres, max_iter=300) -> np.ndarray:
    assign = None
    for _ in range(max_iter):
        iou = shape_iou(shapes, centres)
        new_assign = iou.argmax(axis=1)
        if assign is not None and np.array_equal(new_assign, assign):
            break
        assign = new_assign
        for j in range(len(centres)):
            members = assign == j
            if members.any():
                centres[j] = [_weighted_median(shapes[members, d], weights[members])
                              for d in (0, 1)]
            else:  # empty: take the shape the anchors cover worst
                centres[j] = shapes[int(np.argmin(iou.max(axis=1)))]
                iou[:, j] = shape_iou(shapes, centres[j:j + 1])[:, 0]
    return centres


def mean_best_iou(shapes: np.ndarray, weights: np.ndarray, anchors: np.ndarray) -> float:
    return float(np.average(shape_iou(shapes, anchors).max(axis=1), weights=weights))


def best_possible_recall(shapes: np.ndarray, weights: np.ndarray, anchors: np.ndarray,
                         ratio: float = 4.0) -> float:
    """Share of boxes with some anchor within ``ratio``× in both width and height."""
    r = shapes[:, None, :] / anchors[None, :, :]
    fits = (np.maximum(r, 1 / r).max(axis=2) < ratio).any(axis=1)
    return float(np.average(fits, weights=weights))


def cluster_anchors(box_shapes: np.ndarray, k: int, seed: int = 0, restarts: int = 10,
                    resolution: float = 1.0) -> AnchorResult:
    """k anchors for (N, 2) box shapes (w, h), rounded to ``resolution``, in the shapes' units."""
    shapes = np.asarray(box_shapes, dtype=np.float64).reshape(-1, 2)
    shapes = shapes[(shapes > 0).all(axis=1)]
    if k < 1:
        raise YoloError("the number of clusters must be at least 1")
    steps = np.maximum(np.round(shapes / resolution), 1).astype(np.int64)
    keys, counts = np.unique(steps[:, 0] << 32 | steps[:, 1], return_counts=True)
    unique = np.stack([keys >> 32, keys & 0xFFFFFFFF], axis=1) * resolution
    if len(unique) < k:
        raise YoloError(f"{len(unique)} distinct box shapes cannot make {k} clusters: "
                        "label more boxes or ask for fewer clusters")
    weights = counts.astype(np.float64)
    rng = np.random.default_rng(seed)
    best, best_iou = None, -1.0
    for _ in range(max(1, restarts)):
        centres = _lloyd(unique, weights, _kmeans_pp(unique, weights, k, rng))
        centres = np.maximum(np.round(centres / resolution), 1) * resolution
        score = mean_best_iou(unique, weights, centres)
        if score > best_iou:
            best, best_iou = centres.copy(), score
    order = np.lexsort((best[:, 0], best[:, 0] * best[:, 1]))
    anchors = best[order]
    return AnchorResult(anchors, mean_best_iou(unique, weights, anchors),
                        best_possible_recall(unique, weights, anchors))


def box_shapes(annotations, input_hw: tuple[int, int] | None) -> tuple[np.ndarray, list[str]]:
    """(N, 2) box (w, h) of training-list annotations, letterbox-scaled to the network input
    ``input_hw`` (height, width).

    ``input_hw`` None keeps original-image pixels. Images whose size cannot be read, and
    boxes wholly outside their image, are left out; the second value says so.
    """
    from yolo3.images import image_size

    shapes, sizes, skipped = [], [], []
    outside = 0
    for annotation in annotations:
        boxes = annotation.boxes
        if not len(boxes):
            continue
        if input_hw:
            try:
                width, height = image_size(annotation.path)
            except YoloError as error:
                skipped.append(f"{error}: its boxes left out")
                continue
            inside = ((boxes[:, 0] < width) & (boxes[:, 1] < height) & (boxes[:, 2] > 0)
                      & (boxes[:, 3] > 0))
            outside += int((~inside).sum())
            boxes = boxes[inside]
            sizes.append(np.repeat([(width, height)], len(boxes), axis=0))
        shapes.append(np.stack([boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]], axis=1))
    if outside:
        skipped.append(f"{outside} boxes lie wholly outside their image: left out")
    if not shapes or not sum(len(s) for s in shapes):
        raise YoloError("no boxes to cluster (every image is empty or unreadable)")
    wh = np.concatenate(shapes).astype(np.float64)
    if input_hw:
        wh *= letterbox_scale(np.concatenate(sizes), input_hw)[:, None]
    return wh, skipped


def plot_anchors(shapes: np.ndarray, anchors: np.ndarray, path, units: str) -> None:
    """Scatter of box shapes (at most 20,000 drawn) with the anchors on top, as a PNG."""
    from yolo3.figures import pyplot, save_figure

    plt = pyplot()
    rng = np.random.default_rng(0)
    shown = shapes if len(shapes) <= 20000 else shapes[rng.choice(len(shapes), 20000, False)]
    figure, axes = plt.subplots(figsize=(6, 6))
    axes.scatter(shown[:, 0], shown[:, 1], s=4, alpha=0.3, label=f"boxes ({len(shapes)})")
    axes.scatter(anchors[:, 0], anchors[:, 1], s=80, c="red", marker="x",
                 label=f"anchors ({len(anchors)})")
    axes.set_xlabel(f"width ({units})")
    axes.set_ylabel(f"height ({units})")
    axes.legend()
    save_figure(figure, path)
