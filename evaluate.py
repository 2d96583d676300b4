#!/usr/bin/env python
"""Measure detection quality on a labelled list: VOC mAP@0.5, COCO AP, PR curves.

    python evaluate.py --annot_file project/val_list.txt --classes_path project/classes.txt \\
        --model_path outputs/trained_model.h5 --output_dir eval/
    python evaluate.py --annot_file project/val_list.txt --classes_path project/classes.txt \\
        --detections detections.json --output_dir eval/

Writes <output_dir>/metrics.json (voc_map50, per_class_ap50, coco_map, ap50, ap75,
per-class precision/recall/F1, ...) and <output_dir>/pr_curves.png, and prints a table.
Detection for evaluation keeps boxes from score 0.001 (100 per class and image); --score
sets the threshold for precision, recall and F1.

A listed image and an entry of --detections are the same image when their paths are
spelt alike, when they name the same file (relative paths taken from --image_root, default
the current folder), or when the entry is the only one ending in the same file name and
folders. Listed images without an entry are warned about; none matching is an error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from yolo3.cli import (
    ArgumentParser,
    add_max_pixels,
    add_runtime,
    apply_max_pixels,
    fraction,
    image_size,
    inference_only_process,
    run,
)
from yolo3.defaults import DEFAULT_INPUT_SIZE, NmsSettings
from yolo3.errors import YoloError


def parse_args(argv):
    parser = ArgumentParser(description=__doc__.split("\n\n")[0],
                            formatter_class=argparse.RawDescriptionHelpFormatter,
                            epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--annot_file", "--annot-file", type=Path, required=True,
                        help="training-list file with the ground truth")
    parser.add_argument("--classes_path", "--classes-path", type=Path, required=True,
                        help="class names, one per line")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model_path", "--model-path", type=Path, help="model file")
    source.add_argument("--detections", type=Path,
                        help="detections JSON as yolo_video.py --json writes it")
    parser.add_argument("--anchors_path", "--anchors-path", type=Path,
                        help="anchors, for models that do not carry them")
    parser.add_argument("--output_dir", "--output-dir", type=Path, required=True)
    defaults = NmsSettings()
    parser.add_argument("--score", type=fraction, default=defaults.score,
                        help=f"score threshold for precision, recall and F1 (default "
                             f"{defaults.score})")
    parser.add_argument("--iou", type=fraction, default=defaults.iou,
                        help=f"NMS IoU (default {defaults.iou})")
    parser.add_argument("--model_image_size", "--model-image-size", type=image_size,
                        help="network input (default: the model's own — an export's, the "
                             f"size a model was trained at, else {DEFAULT_INPUT_SIZE})")
    parser.add_argument("--batch_size", "--batch-size", type=int, default=8)
    add_runtime(parser, "--model_path")
    parser.add_argument("--image_root", "--image-root", type=Path,
                        help="folder the list's relative image paths start from (default: "
                             "the current folder)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_max_pixels(parser)
    args = parser.parse_args(argv)
    if args.anchors_path and not args.model_path:
        parser.error("--anchors_path applies to --model_path")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    apply_max_pixels(args)
    from dataclasses import replace

    from yolo3.classfiles import read_class_names
    from yolo3.data.annotations import Annotation, check_boxes, read_lines
    from yolo3.files import check_writable, refuse_overwriting_inputs

    inputs = [args.annot_file, args.classes_path, args.model_path, args.detections,
              args.anchors_path]
    from yolo3.evaluation.report import EVALUATION_OUTPUTS

    refuse_overwriting_inputs([args.output_dir, *(args.output_dir / name
                                                  for name in EVALUATION_OUTPUTS)], inputs)
    annotations = read_lines(args.annot_file)
    class_names = read_class_names(args.classes_path)
    check_boxes(annotations, len(class_names), str(args.annot_file))
    if not annotations:
        raise YoloError(f"{args.annot_file}: no images listed")
    check_writable(args.output_dir / "metrics.json")
    from yolo3.evaluation.plots import plot_prediction_sample
    from yolo3.evaluation.report import (
        EVAL_NMS,
        detect_annotations,
        evaluate,
        format_table,
        match_paths,
        read_detections_json,
        trained_on_among,
        write_report,
    )

    if args.model_path:  # the only path that needs TensorFlow
        inference_only_process()
        from yolo3.inference.runtime import open_detector

        detector = open_detector(args.model_path, args.model_image_size,
                                 replace(EVAL_NMS, iou=args.iou), args.anchors_path,
                                 args.classes_path, runtime=args.runtime)
        if detector.class_names != class_names:
            raise YoloError(f"{args.model_path} detects {detector.num_classes} classes "
                            f"({', '.join(detector.class_names[:3])}, ...), not those of "
                            f"{args.classes_path}")
        if args.image_root:
            annotations = [Annotation(str(args.image_root / a.path), a.boxes)
                           for a in annotations]
        detections, unreadable = detect_annotations(
            detector, annotations, args.batch_size, progress=not args.quiet,
            on_skip=lambda reason: print(f"skipped: {reason}", file=sys.stderr))
        if len(unreadable) == len(annotations):
            raise YoloError(f"none of the {len(annotations)} images of {args.annot_file} could "
                            "be read" + ("" if args.image_root else
                                         " (relative paths start from the current folder; "
                                         "see --image_root)"))
        skipped = set(unreadable)
        annotations = [a for a in annotations if a.path not in skipped]
        seen = trained_on_among(args.model_path, annotations)
        if seen:
            print(f"note: the model was trained on {seen} of these {len(annotations)} images: "
                  "its scores on them show what it learnt, not how it does on new photos "
                  "(evaluate on the run's val_list.txt)", file=sys.stderr)
    else:
        detections = match_paths(annotations, read_detections_json(args.detections),
                                 args.image_root,
                                 log=lambda message: print(message, file=sys.stderr))
    metrics, voc = evaluate(annotations, detections, class_names, args.score)
    write_report(metrics, voc, class_names, args.output_dir)
    drawn = plot_prediction_sample(annotations, detections, class_names,
                                   args.output_dir / "predictions.png", args.score)
    print(format_table(metrics))
    curves = f"{len(voc.curves)} class{'' if len(voc.curves) == 1 else 'es'}"
    print(f"Wrote {args.output_dir / 'metrics.json'}, pr_curves.png ({curves}), "
          "confidence_curves.png, confusion_matrix.png"
          + (f" and predictions.png ({drawn} images)." if drawn else "."))
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
