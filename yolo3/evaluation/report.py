"""Evaluate a detector (or saved detections) on a training list: metrics, report, plots.

Used by evaluate.py and, at the end of training, by project/train_azureml.py.
Detection for evaluation keeps almost everything (score ≥ 0.001, up to 100 boxes per
class and image) so the precision-recall curves reach far; precision, recall and F1 are
also given at the usual ``score_threshold``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

from yolo3.data.annotations import Annotation
from yolo3.defaults import EVAL_NMS, NmsSettings
from yolo3.errors import YoloError
from yolo3.evaluation.coco_ap import coco_metrics
from yolo3.evaluation.metrics import (
    ImageResult,
    confusion_matrix,
    counts_at,
    precision_recall_f1,
    voc_metrics,
)
from yolo3.files import read_json, write_text_atomic
from yolo3.numbers import finite_number, whole_number


def detect_annotations(detector, annotations: list[Annotation], batch_size: int = 8,
                       progress: bool = True, on_skip=None
                       ) -> tuple[dict[str, list[dict]], list[str]]:
    """Run ``detector`` over the annotated images: {path: detections}, unreadable paths.

    ``on_skip(reason)`` hears why each unreadable image was skipped (not readable, over
    the pixel limit, ...)."""
    from tqdm import tqdm

    found: dict[str, list[dict]] = {}
    unreadable: list[str] = []
    paths = [annotation.path for annotation in annotations]
    with tqdm(total=len(paths), unit="image", disable=not progress,
              file=sys.stderr, desc="detecting") as bar:
        for path, image, result in detector.detect_files(paths, batch_size):
            if image is None:
                unreadable.append(path)
                if on_skip is not None:
                    on_skip(result)
            else:
                found[path] = result
            bar.update(1)
    return found, unreadable


def trained_on_among(model_path: str | Path, annotations: list[Annotation]) -> int | None:
    """How many of the annotated images the Keras model file was trained on, by the
    digests of their files that training records (yolo3.model.files); None when the model
    records none (another format, or a model not trained here)."""
    from yolo3.files import file_digest
    from yolo3.formats import KERAS, format_of

    if format_of(model_path) is not KERAS:
        return None
    from yolo3.model.files import read_metadata

    metadata = read_metadata(model_path)
    if metadata is None or metadata.trained_on is None:
        return None
    seen = set(metadata.trained_on)
    count = 0
    for annotation in annotations:
        try:
            count += file_digest(annotation.path) in seen
        except OSError:
            continue  # unreadable: it was skipped, and said so
    return count


def image_results(annotations: list[Annotation], detections: dict[str, list[dict]],
                  num_classes: int) -> list[ImageResult]:
    """Pair each annotated image with its detections (none when it has no entry)."""
    results = []
    for annotation in annotations:
        if annotation.boxes.size and annotation.boxes[:, 4].max() >= num_classes:
            raise YoloError(f"{annotation.path}: class id {annotation.boxes[:, 4].max()} is "
                            f"not among the {num_classes} classes")
        dets = detections.get(annotation.path, [])
        beyond = [d["class_id"] for d in dets if not 0 <= d["class_id"] < num_classes]
        if beyond:
            raise YoloError(f"{annotation.path}: a detection has class id {beyond[0]}, beyond "
                            f"the {num_classes} classes: the detections and the classes file "
                            "do not belong together")
        results.append(ImageResult.from_lists(
            annotation.boxes[:, :4], annotation.boxes[:, 4], [d["box"] for d in dets],
            [d["score"] for d in dets], [d["class_id"] for d in dets]))
    return results


def evaluate(annotations: list[Annotation], detections: dict[str, list[dict]],
             class_names: list[str], score_threshold: float = NmsSettings().score
             ) -> tuple[dict, object]:
    """All metrics as a JSON-ready dict, and the VOC curves for plotting."""
    num_classes = len(class_names)
    results = image_results(annotations, detections, num_classes)
    voc = voc_metrics(results, num_classes)
    per_class, totals = {}, np.zeros(3, dtype=np.int64)
    for c, curve in voc.curves.items():
        tp, fp, num_gt = counts_at(curve, score_threshold)
        totals += (tp, fp, num_gt)
        precision, recall, f1 = precision_recall_f1(tp, fp, num_gt)
        per_class[class_names[c]] = {"ap50": curve.ap, "precision": precision, "recall": recall,
                                     "f1": f1, "ground_truth": num_gt,
                                     "detections": curve.num_det}
    precision, recall, f1 = precision_recall_f1(*(int(v) for v in totals))
    metrics = {
        "voc_map50": voc.mean_ap,
        "per_class_ap50": {class_names[c]: curve.ap for c, curve in voc.curves.items()},
        **coco_metrics(results, num_classes),
        "precision": precision, "recall": recall, "f1": f1,
        "score_threshold": score_threshold,
        "detection_score_threshold": EVAL_NMS.score,
        "per_class": per_class,
        "classes_without_ground_truth": [class_names[c] for c in voc.without_gt],
        "images": len(annotations),
        "images_without_ground_truth": sum(not len(a.boxes) for a in annotations),
        "detections": sum(len(d) for d in detections.values()),
        # rows predicted, columns true, the last of each background (see confusion_matrix)
        "confusion_matrix": confusion_matrix(results, num_classes, score_threshold).tolist(),
    }
    return metrics, voc


def read_detections_json(path: str | Path) -> dict[str, list[dict]]:
    """A detections file as yolo_video.py --json writes it: {image path: [detections]}.

    Each detection needs an integer ``class_id`` ≥ 0, a finite ``score`` and a ``box`` of
    four finite numbers; anything else is one error naming the image.
    """
    path = Path(path)
    data = read_json(path, "a detections file")
    if not isinstance(data, dict):
        raise YoloError(f"{path}: not a detections file (expected {{image path: [detections]}})")
    for image, dets in data.items():
        if isinstance(dets, list) and _all_well_formed(dets):
            continue
        problems = (["expected a list of detections"] if not isinstance(dets, list)
                    else list(filter(None, map(_detection_problem, dets))))
        if problems:
            raise YoloError(f"{path}: not a detections file ({image}: {problems[0]})")
    return data


_NUMBER_TYPES = {int, float}


def _all_well_formed(dets: list) -> bool:
    """Whether every detection passes :func:`_detection_problem`, checked a column at a
    time (C loops over the 500,000 detections of a 5,000-image report); False sends the
    list through :func:`_detection_problem`, which words the first problem."""
    if not dets:
        return True
    try:
        ids = [d["class_id"] for d in dets]
        scores = [d["score"] for d in dets]
        boxes = [d["box"] for d in dets]
    except (TypeError, KeyError, IndexError):  # not objects, or a key missing
        return False
    # exact types: bool is a subclass of int, and _detection_problem refuses it
    if set(map(type, ids)) != {int} or not set(map(type, scores)) <= _NUMBER_TYPES:
        return False
    if set(map(type, boxes)) != {list} or set(map(len, boxes)) != {4}:
        return False
    coordinates = [v for box in boxes for v in box]
    if not set(map(type, coordinates)) <= _NUMBER_TYPES:
        return False
    try:
        numbers = np.array(scores + coordinates, np.float64)
    except OverflowError:  # an integer too large for a float is not finite
        return False
    return bool(np.isfinite(numbers).all()) and min(ids) >= 0


def _detection_problem(d) -> str | None:
    if not isinstance(d, dict):
        return f"a detection must be an object, got {d!r}"
    class_id, score, box = d.get("class_id"), d.get("score"), d.get("box")
    if not whole_number(class_id) or class_id < 0:
        return f"class_id must be an integer ≥ 0, got {class_id!r}"
    if not finite_number(score):
        return f"score must be a finite number, got {score!r}"
    if not isinstance(box, list) or len(box) != 4 or not all(map(finite_number, box)):
        return f"box must be 4 finite numbers, got {box!r}"
    return None


def match_paths(annotations: list[Annotation], detections: dict[str, list[dict]],
                image_root: str | Path | None = None, log=print
                ) -> dict[str, list[dict]]:
    """Key detections by the annotation paths.

    A listed image and a detections entry are the same image when, in this order: the
    paths are spelt alike; they name the same file once relative paths are taken from
    ``image_root`` (default: the current folder); or the entry is the only one whose path
    ends in the same file name and folders as far as they agree (so lists and reports
    written from different working folders still match). Images without an entry count
    as images without detections, with a warning; when no listed image has an entry the
    run fails, since every score would be 0.
    """
    root = Path(image_root) if image_root is not None else Path.cwd()
    absolute = {_absolute(p, root): p for p in detections}
    by_name: dict[str, list[str]] = {}
    for key in detections:
        by_name.setdefault(Path(key).name, []).append(key)
    matched, missing, used = {}, [], set()
    for annotation in annotations:
        key = (annotation.path if annotation.path in detections
               else absolute.get(_absolute(annotation.path, root))
               or _by_tail(annotation.path, by_name.get(Path(annotation.path).name, [])))
        if key is None:
            missing.append(annotation.path)
            matched[annotation.path] = []
        else:
            used.add(key)
            matched[annotation.path] = detections[key]
    if annotations and len(missing) == len(annotations):
        example = next(iter(detections), None)
        raise YoloError(
            f"no listed image has an entry in the detections (first listed: "
            f"{annotations[0].path}; first in the detections: {example}); check that they "
            "describe the same images, or give --image_root, the folder the list's relative "
            "paths start from")
    if missing:
        log(f"warning: {len(missing)} of {len(annotations)} listed images have no entry in "
            f"the detections and count as detecting nothing (e.g. {missing[0]})")
    unused = len(detections) - len(used)
    if unused:
        log(f"warning: {unused} entries of the detections match no listed image and are "
            "left out")
    return matched


def _absolute(path: str, root: Path) -> str:
    return os.path.normpath(root / path)


def _by_tail(path: str, candidates: list[str]) -> str | None:
    """The one candidate sharing the longest run of trailing path parts with ``path``."""
    if not candidates:
        return None
    parts = Path(path).parts[::-1]

    def shared(candidate: str) -> int:
        count = 0
        for a, b in zip(parts, Path(candidate).parts[::-1]):
            if a != b:
                break
            count += 1
        return count

    scores = sorted(((shared(c), c) for c in candidates), reverse=True)
    if len(scores) > 1 and scores[0][0] == scores[1][0]:
        return None  # ambiguous: the same name in several folders
    return scores[0][1]


def format_table(metrics: dict) -> str:
    lines = [f"{'class':<24}{'AP50':>8}{'P':>8}{'R':>8}{'F1':>8}{'GT':>7}{'dets':>8}"]
    for name, row in metrics["per_class"].items():
        lines.append(f"{name[:23]:<24}{row['ap50']:>8.4f}{row['precision']:>8.3f}"
                     f"{row['recall']:>8.3f}{row['f1']:>8.3f}{row['ground_truth']:>7}"
                     f"{row['detections']:>8}")
    lines.append(f"{'mAP@0.5 (VOC)':<24}{metrics['voc_map50']:>8.4f}{metrics['precision']:>8.3f}"
                 f"{metrics['recall']:>8.3f}{metrics['f1']:>8.3f}")
    lines.append(f"COCO AP@[.5:.95] {metrics['coco_map']:.4f}  AP50 {metrics['ap50']:.4f}  "
                 f"AP75 {metrics['ap75']:.4f}  small {metrics['ap_small']:.4f}  "
                 f"medium {metrics['ap_medium']:.4f}  large {metrics['ap_large']:.4f}")
    lines.append(f"P/R/F1 at score ≥ {metrics['score_threshold']}; detections kept from score "
                 f"{metrics['detection_score_threshold']}")
    missing = metrics["classes_without_ground_truth"]
    if missing:
        shown = ", ".join(missing[:8]) + (f", … ({len(missing)} in all)" if len(missing) > 8
                                         else "")
        lines.append(f"No ground truth (left out of the mean): {shown}")
    return "\n".join(lines)


# what evaluate.py writes under its --output_dir (write_report's, and the sample picture)
EVALUATION_OUTPUTS = ("metrics.json", "pr_curves.png", "confidence_curves.png",
                      "confusion_matrix.png", "predictions.png")


def write_report(metrics: dict, voc, class_names: list[str], output_dir: str | Path,
                 metrics_file: bool = True) -> None:
    """Under ``output_dir``: metrics.json (unless ``metrics_file`` is False: training
    writes its own), the precision-recall curves (pr_curves.png), precision, recall
    and F1 against the score threshold (confidence_curves.png) and the confusion matrix
    (confusion_matrix.png)."""
    from yolo3.evaluation.plots import (
        plot_confidence_curves,
        plot_confusion_matrix,
        plot_pr_curves,
    )

    output_dir = Path(output_dir)
    if metrics_file:
        write_text_atomic(output_dir / "metrics.json", json.dumps(metrics, indent=1) + "\n")
    plot_pr_curves(voc, class_names, output_dir / "pr_curves.png")
    plot_confidence_curves(voc, class_names, output_dir / "confidence_curves.png")
    plot_confusion_matrix(np.asarray(metrics["confusion_matrix"]), class_names,
                          output_dir / "confusion_matrix.png", metrics["score_threshold"])
