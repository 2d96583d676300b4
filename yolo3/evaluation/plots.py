"""Pictures of a data set and of a detector's results on it (matplotlib, written
atomically): precision-recall and confidence curves, the confusion matrix, validation
images with predictions beside their labels, and label statistics.

evaluate.py and training write them; boxes are [x_min, y_min, x_max, y_max] in image
pixels throughout, classes are indices into ``class_names``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from yolo3.evaluation.metrics import VocMetrics, confidence_curves
from yolo3.figures import pyplot, save_figure
from yolo3.images import class_colors

THRESHOLDS = np.linspace(0.0, 1.0, 101)
RECALL_POINTS = np.linspace(0.0, 1.0, 101)
LABELLED_CLASSES = 10  # curves get a legend entry each up to this many classes


def rgb(colour: tuple[int, int, int]) -> tuple[float, float, float]:
    """An 8-bit colour of yolo3.images.class_colors as matplotlib takes it."""
    return tuple(c / 255 for c in colour)


def plot_pr_curves(voc: VocMetrics, class_names: list[str], path: Path) -> None:
    """The precision-recall curves of all classes with ground truth in one picture: a
    thin line per class (labelled with its AP50 up to :data:`LABELLED_CLASSES` classes)
    and, bold, the mean over classes of the interpolated precision (the precision
    envelope VOC's AP integrates), titled with mAP50. One figure, as Ultralytics draws
    it: a file per class took a second for 20 classes."""
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(6.5, 5))
    colours = class_colors(len(class_names))
    labelled = len(voc.curves) <= LABELLED_CLASSES
    for c, curve in voc.curves.items():
        axes.plot(*curve_corners(curve.recall, curve.precision), lw=0.8,
                  color=rgb(colours[c]),
                  label=f"{class_names[c]} {curve.ap:.3f}" if labelled else None)
    if voc.curves:
        mean = np.mean([envelope_at(curve.recall, curve.precision, RECALL_POINTS)
                        for curve in voc.curves.values()], axis=0)
        axes.plot(RECALL_POINTS, mean, lw=2.5, color="black",
                  label=f"all classes mAP50 {voc.mean_ap:.3f}")
        axes.legend(loc="lower left", fontsize=8)
    axes.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="recall", ylabel="precision",
             title=f"Precision-recall (IoU > 0.5), {len(voc.curves)} "
                   f"class{'' if len(voc.curves) == 1 else 'es'}")
    axes.grid(alpha=0.3)
    save_figure(figure, path)


def envelope_at(recall: np.ndarray, precision: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The interpolated precision (the best precision at this recall or beyond) at each
    recall of ``points``; 0 beyond the list's last recall."""
    if not len(recall):
        return np.zeros(len(points))
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    at = np.searchsorted(recall, points, side="left")
    return np.where(at < len(recall), envelope[np.minimum(at, len(recall) - 1)], 0.0)


def curve_corners(recall: np.ndarray, precision: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The points of a ranked list's precision-recall curve where it turns: between two
    true positives recall stands still while precision falls, a vertical run whose inner
    points the line passes through anyway (25,000 points become about twice the true
    positives; the drawing is the same)."""
    if len(recall) < 3:
        return recall, precision
    moves = recall[1:] != recall[:-1]
    keep = np.r_[True, moves] | np.r_[moves, True]
    return recall[keep], precision[keep]


def plot_confidence_curves(voc: VocMetrics, class_names: list[str], path: Path) -> None:
    """Precision, recall and F1 against the score threshold: a thin line per class, the
    mean over classes bold, with the threshold of best mean F1 marked."""
    plt = pyplot()
    figure, panels = plt.subplots(1, 3, figsize=(15, 4.5))
    curves = {c: confidence_curves(curve, THRESHOLDS) for c, curve in voc.curves.items()}
    colours = class_colors(len(class_names))
    for k, (axes, label) in enumerate(zip(panels, ("precision", "recall", "F1"))):
        for c, values in curves.items():
            axes.plot(THRESHOLDS, values[k], lw=0.8, color=rgb(colours[c]),
                      label=class_names[c] if len(curves) <= LABELLED_CLASSES else None)
        if curves:
            mean = np.mean([values[k] for values in curves.values()], axis=0)
            best = int(np.argmax(np.mean([v[2] for v in curves.values()], axis=0)))
            axes.plot(THRESHOLDS, mean, lw=2.5, color="black",
                      label=f"all classes {mean[best]:.2f} at {THRESHOLDS[best]:.2f}")
            axes.axvline(THRESHOLDS[best], color="grey", lw=0.8, ls="--")
        axes.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="score threshold", ylabel=label,
                 title=f"{label} against score threshold")
        axes.grid(alpha=0.3)
        axes.legend(loc="lower left" if k != 1 else "upper right", fontsize=8)
    save_figure(figure, path)


def plot_confusion_matrix(matrix: np.ndarray, class_names: list[str], path: Path,
                          score_threshold: float) -> None:
    """The (C + 1)² matrix of metrics.confusion_matrix, each true-class column normalised
    to 1 (counts written in the cells when there is room). Only the classes that occur
    (as truth or prediction) are drawn: an 80-class COCO model scored on a one-class set
    would otherwise be an unlabelled 81² grid; metrics.json keeps the whole matrix."""
    plt = pyplot()
    names = [*class_names, "background"]
    occurring = np.flatnonzero(matrix.any(axis=0) | matrix.any(axis=1))
    kept = np.union1d(occurring, [len(class_names)])  # background always
    title_note = (f", {len(kept) - 1} of {len(class_names)} classes occur"
                  if len(kept) < len(names) else "")
    matrix, names = matrix[np.ix_(kept, kept)], [names[i] for i in kept]
    size = len(names)
    totals = matrix.sum(axis=0, keepdims=True)
    shares = np.divide(matrix, totals, out=np.zeros(matrix.shape), where=totals > 0)
    side = min(16.0, 3.0 + 0.45 * size)
    figure, axes = plt.subplots(figsize=(side + 1.5, side))
    image = axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="share of the true class")
    if size <= 30:
        for i, j in zip(*np.nonzero(matrix)):
            axes.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=8,
                      color="white" if shares[i, j] > 0.5 else "black")
    ticks = np.arange(size)
    shown = names if size <= 60 else [""] * size
    axes.set_xticks(ticks, shown, rotation=90, fontsize=8)
    axes.set_yticks(ticks, shown, fontsize=8)
    axes.set(xlabel="true class", ylabel="predicted class",
             title=f"Confusion matrix (score ≥ {score_threshold:g}, IoU > 0.5"
                   f"{title_note})")
    save_figure(figure, path)


def plot_predictions(samples: list[tuple[np.ndarray, np.ndarray, list[dict]]],
                     class_names: list[str], path: Path, score_threshold: float,
                     columns: int = 2) -> None:
    """Images with their labels (left) beside the detections scoring ≥
    ``score_threshold`` (right). ``samples``: (RGB image (H, W, 3), ground truth (G, 5)
    [x_min, y_min, x_max, y_max, class], detections as yolo_video.py --json writes them)."""
    if not samples:
        return
    plt = pyplot()
    colours = [rgb(c) for c in class_colors(len(class_names))]
    rows = -(-len(samples) // columns)
    figure, grid = plt.subplots(rows, 2 * columns, figsize=(5 * columns, 2.6 * rows),
                                squeeze=False)
    for axes in grid.flat:
        axes.axis("off")
    for k, (image, truth, detections) in enumerate(samples):
        left, right = grid[k // columns, 2 * (k % columns)], grid[k // columns,
                                                                  2 * (k % columns) + 1]
        kept = [d for d in detections if d["score"] >= score_threshold]
        for axes, boxes, title in (
                (left, [(b[:4], int(b[4]), None) for b in truth], f"labels ({len(truth)})"),
                (right, [(d["box"], d["class_id"], d["score"]) for d in kept],
                 f"predictions ({len(kept)})")):
            axes.imshow(image)
            axes.set_title(title, fontsize=8)
            for box, class_id, score in boxes:
                _draw_box(axes, box, class_id, class_names, colours, score)
    figure.suptitle(f"Images evaluated: labels | predictions (score ≥ {score_threshold:g})",
                    fontsize=10)
    save_figure(figure, path)


def _draw_box(axes, box, class_id: int, class_names: list[str], colours, score) -> None:
    """A box and its label in the class's colour, black text as yolo_video.py draws."""
    from matplotlib.patches import Rectangle

    x0, y0, x1, y1 = (float(v) for v in box)
    known = 0 <= class_id < len(class_names)
    colour = colours[class_id] if known else (0.5, 0.5, 0.5)
    axes.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, lw=1.2, color=colour))
    name = class_names[class_id] if known else str(class_id)
    axes.text(x0, y0, name if score is None else f"{name} {score:.2f}", fontsize=6,
              color="black", va="bottom", bbox={"facecolor": colour, "pad": 0.5, "lw": 0})


def plot_labels(boxes: list[np.ndarray], sizes: list[tuple[int, int]],
                class_names: list[str], path: Path) -> None:
    """Label statistics of a training list: objects per class, where box centres fall and
    how large boxes are, relative to their image. ``boxes``: one (G, 5) array per image;
    ``sizes``: each image's (width, height)."""
    plt = pyplot()
    rows = [b for b in boxes if len(b)]
    every = np.concatenate(rows) if rows else np.zeros((0, 5))
    scale = np.concatenate([np.tile([w, h, w, h], (len(b), 1))
                            for b, (w, h) in zip(boxes, sizes) if len(b)] or [np.ones((0, 4))])
    relative = every[:, :4] / scale
    centres = (relative[:, :2] + relative[:, 2:]) / 2
    extents = relative[:, 2:] - relative[:, :2]
    counts = np.bincount(every[:, 4].astype(np.int64), minlength=len(class_names))
    figure, (bars, where, shapes) = plt.subplots(1, 3, figsize=(15, 4.5))
    positions = np.arange(len(class_names))
    bars.bar(positions, counts, color=[rgb(c) for c in class_colors(len(class_names))])
    bars.set_xticks(positions, class_names if len(class_names) <= 40 else [""] * len(positions),
                    rotation=90 if len(class_names) > 6 else 0, fontsize=8)
    bars.set(ylabel="objects", title=f"{len(every)} objects in {len(boxes)} images")
    for axes, xy, labels, title in (
            (where, centres, ("x centre", "y centre"), "where box centres fall"),
            (shapes, extents, ("width", "height"), "box size")):
        # points, fainter the more there are, so a few objects and many both read
        axes.scatter(xy[:, 0], xy[:, 1], s=6, lw=0, color="tab:blue",
                     alpha=float(np.clip(150 / max(len(xy), 1), 0.03, 0.8)))
        axes.set(xlim=(0, 1), ylim=(0, 1), xlabel=f"{labels[0]} (share of the image)",
                 ylabel=f"{labels[1]} (share of the image)", title=title, aspect="equal")
    where.invert_yaxis()  # as in the image: y grows downwards
    save_figure(figure, path)


def plot_prediction_sample(annotations, detections: dict[str, list[dict]],
                           class_names: list[str], path: Path, score_threshold: float,
                           count: int = 8) -> int:
    """:func:`plot_predictions` for the first ``count`` readable images of ``annotations``
    (yolo3.data.annotations.Annotation) with their ``detections`` ({path: [...]}); returns
    how many it drew (0: no picture, none could be read)."""
    from yolo3.errors import YoloError
    from yolo3.images import load_image

    samples = []
    for annotation in annotations:
        if len(samples) == count:
            break
        try:
            image = np.asarray(load_image(annotation.path))
        except YoloError:
            continue
        samples.append((image, annotation.boxes, detections.get(annotation.path, [])))
    plot_predictions(samples, class_names, path, score_threshold)
    return len(samples)
