#!/usr/bin/env python
"""Train a custom YOLOv3 detector — the script Azure ML runs, and the same on a laptop.

    python project/train_azureml.py --data_path . --data_dir data/Traffic-PascalVOC-export \\
        --weights model_data/yolo-tiny.h5 --num_clusters 6 --epochs 60 --frozen_epochs 30

Reads a VoTT / Pascal VOC export (or --annotation_file), splits off --val_split for
validation, computes anchors by k-means at --input_size, builds YOLOv3 (9 anchors) or
YOLOv3-tiny (6) for the classes, loads every pretrained layer whose shape fits, trains
with the first --frozen_epochs frozen and the rest at a tenth of the learning rate, and
writes to --output_dir (./outputs, which Azure ML keeps): trained_model.h5 (carries its
anchors and classes), custom_anchors.txt, classes.txt, the lists used, checkpoints,
training_log.csv, training_curves.png, TensorBoard logs and metrics.json (validation mAP).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

try:
    import yolo3  # noqa: F401  (in the Azure ML snapshot the package sits beside this file)
except ImportError:  # run from a checkout: the package is one folder up
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from yolo3.cli import (  # noqa: E402
    ArgumentParser,
    add_max_pixels,
    apply_max_pixels,
    positive_float,
    positive_int,
    quiet_tensorflow,
    run,
)


def parse_args(argv):
    parser = ArgumentParser(description=__doc__.split("\n\n")[0],
                            formatter_class=argparse.RawDescriptionHelpFormatter,
                            epilog=__doc__.split("\n\n", 1)[1])
    add = parser.add_argument
    add("--gpu_num", type=int, default=0, help="GPUs to use (0: all visible)")
    add("--class_path", type=Path, help="class names (default: discovered from the export)")
    add("--data_path", type=Path, default=Path("."),
        help="where the data is mounted (default: current folder)")
    add("--data_dir", default="data", help="the export folder inside --data_path")
    add("--annotation_file", type=Path, help="a training list instead of a VOC export")
    add("--num_clusters", type=int, default=9, choices=(6, 9),
        help="anchors: 9 YOLOv3, 6 tiny (default 9)")
    add("--anchors_path", type=Path, help="anchors to use instead of k-means")
    add("--model_size", choices=("full", "tiny"), help="default: from --num_clusters")
    add("--weights", type=Path, help="pretrained Keras model (convert.py output); none: "
                                     "train from scratch")
    add("--input_size", type=positive_int, default=416, help="network input (default 416)")
    add("--batch_size", type=positive_int, default=8)
    add("--learning_rate", type=positive_float, default=1e-3,
        help="stage-1 learning rate (1e-3)")
    add("--epochs", type=positive_int, default=60, help="epochs in all (default 60)")
    add("--frozen_epochs", type=int, default=None,
        help="how many of them train with --freeze_body frozen (default: half)")
    add("--freeze_body", type=int, default=2, choices=(0, 1, 2),
        help="stage 1 freezes 1: the backbone, 2: all but the heads (default), 0: nothing")
    add("--val_split", type=float, default=0.2, help="share held out (default 0.2)")
    add("--output_dir", type=Path, default=Path("outputs"))
    add("--seed", type=int, default=10101)
    add("--mixed_precision", action="store_true", help="float16 compute (GPUs)")
    add("--resume", action="store_true", help="continue from <output_dir>/checkpoints")
    add("--overwrite", action="store_true",
        help="replace the outputs of an earlier run in --output_dir")
    add("--no_evaluation", dest="evaluate", action="store_false",
        help="skip the final validation mAP")
    add_max_pixels(parser)
    args = parser.parse_args(argv)
    if args.input_size % 32:
        parser.error("--input_size must be a multiple of 32")
    if args.frozen_epochs is not None and not 0 <= args.frozen_epochs <= args.epochs:
        parser.error("--frozen_epochs must be between 0 and --epochs")
    if not 0 <= args.val_split < 1:
        parser.error("--val_split must be at least 0 and below 1")
    if args.gpu_num < 0:
        parser.error("--gpu_num must be 0 (all) or more")
    if args.resume and args.overwrite:
        parser.error("--resume continues the earlier run; --overwrite replaces it: not both")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    apply_max_pixels(args)
    quiet_tensorflow()
    from yolo3.training import TrainSettings, train

    settings = TrainSettings(**{k: v for k, v in vars(args).items() if k != "max_pixels"},
                             log=lambda message: print(message, flush=True))
    summary = train(settings)
    print(f"Done: {summary['epochs_run']} epochs; model {summary['model']}"
          + (f"; validation mAP@0.5 {summary['voc_map50']:.4f}" if "voc_map50" in summary
             else ""))
    return 0


if __name__ == "__main__":
    sys.exit(run(main, prog="train_azureml.py"))
