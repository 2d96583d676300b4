"""Evaluate a detector (or saved detections) on a training list: metrics, report, plots.

Used by evaluate.py and, at the end of training, by project/train_azureml.py.
Detection for evaluation keeps almost everything (score ≥ 0.001, up to 100 boxes per
class and image) so the precision-recall curves reach far; precision, recall and F1 are
also given at the usual ``score_threshold``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np

from yolo3.annotations import Annotation
from yolo3.errors import YoloError
from yolo3.files import atomic_output, write_text_atomic
from yolo3.metrics import ImageResult, coco_metrics, counts_at, precision_recall_f1, voc_metrics
from yolo3.postprocess import NmsSettings

EVAL_NMS = NmsSettings(score=0.001, iou=0.45, max_per_class=100)


def detect_annotations(detector, annotations: list[Annotation], batch_size: int = 8,
                       progress: bool = True) -> tuple[dict[str, list[dict]], list[str]]:
    """Run ``detector`` over the annotated images: {path: detections}, unreadable paths."""
    from tqdm import tqdm

    found: dict[str, list[dict]] = {}
    unreadable: list[str] = []
    paths = [annotation.path for annotation in annotations]
    with tqdm(total=len(paths), unit="image", disable=not progress,
              file=sys.stderr, desc="detecting") as bar:
        for path, image, result in detector.detect_files(paths, batch_size):
            if image is None:
                unreadable.append(path)
            else:
                found[path] = result
            bar.update(1)
    return found, unreadable


def image_results(annotations: list[Annotation], detections: dict[str, list[dict]],
                  num_classes: int) -> list[ImageResult]:
    """Pair each annotated image with its detections (none when it has no entry)."""
    results = []
    for annotation in annotations:
        if annotation.boxes.size and annotation.boxes[:, 4].max() >= num_classes:
            raise YoloError(f"{annotation.path}: class id {annotation.boxes[:, 4].max()} is "
                            f"not among the {num_classes} classes")
        dets = detections.get(annotation.path, [])
        results.append(ImageResult.from_lists(
            annotation.boxes[:, :4], annotation.boxes[:, 4], [d["box"] for d in dets],
            [d["score"] for d in dets], [d["class_id"] for d in dets]))
    return results


def evaluate(annotations: list[Annotation], detections: dict[str, list[dict]],
             class_names: list[str], score_threshold: float = 0.3) -> tuple[dict, object]:
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
    }
    return metrics, voc


def read_detections_json(path: str | Path) -> dict[str, list[dict]]:
    """A detections file as yolo_video.py --json writes it: {image path: [detections]}."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        for dets in data.values():
            for d in dets:
                int(d["class_id"]), float(d["score"])
                if len(d["box"]) != 4:
                    raise ValueError("a box needs 4 numbers")
    except (json.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError) as error:
        raise YoloError(f"{path}: not a detections file ({error})") from None
    return data


def match_paths(annotations: list[Annotation], detections: dict[str, list[dict]]
                ) -> dict[str, list[dict]]:
    """Key detections by the annotation paths, matching resolved paths when spelt otherwise."""
    by_resolved = {str(Path(p).resolve()): dets for p, dets in detections.items()}
    return {a.path: detections.get(a.path, by_resolved.get(str(Path(a.path).resolve()), []))
            for a in annotations}


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


def write_report(metrics: dict, voc, class_names: list[str], output_dir: str | Path) -> None:
    """metrics.json and one precision-recall curve PNG per class under ``output_dir``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    output_dir = Path(output_dir)
    write_text_atomic(output_dir / "metrics.json", json.dumps(metrics, indent=1) + "\n")
    for c, curve in voc.curves.items():
        name = class_names[c]
        figure, axes = plt.subplots(figsize=(5, 4))
        axes.plot(curve.recall, curve.precision, lw=1.5)
        axes.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="recall", ylabel="precision",
                 title=f"{name}: AP50 {curve.ap:.3f} ({curve.num_gt} objects)")
        axes.grid(alpha=0.3)
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
        with atomic_output(output_dir / "pr_curves" / f"{c:03d}_{safe}.png") as tmp:
            figure.savefig(tmp, format="png", dpi=80)
        plt.close(figure)
