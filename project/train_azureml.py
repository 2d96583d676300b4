#!/usr/bin/env python
"""Train a custom YOLOv3 detector — the script Azure ML runs, and the same on a laptop.

    python project/train_azureml.py --data_path . --data_dir data/Traffic-PascalVOC-export \\
        --weights model_data/yolo-tiny.h5 --num_clusters 6 --epochs 60 --frozen_epochs 30

Reads a VoTT / Pascal VOC export (or --annotation_file, with --val_list for its validation
images), keeps the data's own train/val split (else splits off --val_split for
validation), computes anchors by k-means
at --input_size, builds YOLOv3 (9 anchors) or YOLOv3-tiny (6) for the classes, loads
every pretrained layer whose shape fits, trains with the first --frozen_epochs frozen —
the modern recipe (default) on one warm-up + cosine schedule across both stages,
--recipe keras-yolo3 with the rest at a tenth of the learning rate — and writes to
--output_dir (./outputs, which Azure ML keeps): trained_model.h5 (carries its anchors,
classes, input size and the digests of its training images), custom_anchors.txt,
classes.txt, the lists used, checkpoints, results.csv and results.png (losses, validation
precision, recall, mAP50 and mAP50-95 per epoch), labels.png, TensorBoard logs,
metrics.json, val_predictions.png and evaluation/ (curves, confusion matrix). On a
terminal each epoch shows a progress bar; every epoch ends with one line of its numbers.
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
    quiet_tensorflow,
    run,
)


def parse_args(argv):
    from yolo3.training.settings import TrainSettings, add_arguments

    parser = ArgumentParser(description=__doc__.split("\n\n")[0],
                            formatter_class=argparse.RawDescriptionHelpFormatter,
                            epilog=__doc__.split("\n\n", 1)[1])
    add_arguments(parser)
    add_max_pixels(parser)
    args = parser.parse_args(argv)
    values = {k: v for k, v in vars(args).items() if k != "max_pixels"}
    for name, problem in TrainSettings(**values).problems().items():
        parser.error(f"--{name} {problem}")
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
