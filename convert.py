#!/usr/bin/env python
"""Convert Darknet YOLO weights to a Keras model, and a Keras model back to Darknet.

    python convert.py [-w] [-p] [--classes_path FILE] config_path weights_path output_path
    python convert.py --to_darknet [--cfg FILE] keras_model output_weights

The first form reads a Darknet .cfg and .weights and writes a Keras model: a full model
(.h5 or .keras; ``keras.models.load_model`` opens it with no custom objects) or, with -w,
weights only (.h5 in the Keras 2 layout, or .weights.h5). The file carries the cfg, the
class names and the Darknet header, so later tools need nothing else.

A cfg edited for another class count (filters before each [yolo], classes, anchors) can
be converted from 80-class COCO weights: every layer but the detection heads takes the
COCO values; the heads start freshly initialised, ready for training.

The second form writes the model's weights as a Darknet .weights file, and the cfg
stored in the model beside it (same name, .cfg), for Darknet or OpenCV.
"""

from __future__ import annotations

import sys
from pathlib import Path

from yolo3.cli import ArgumentParser, quiet_tensorflow, run


def parse_args(argv):
    parser = ArgumentParser(
        description=__doc__.split("\n\n", 2)[2].split("\n\n")[0],
        usage="%(prog)s [-h] [-w] [-p] [--classes_path FILE] config_path weights_path "
              "output_path\n       %(prog)s --to_darknet [--cfg FILE] keras_model "
              "output_weights")
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="config_path weights_path output_path; with --to_darknet: "
                             "keras_model output_weights")
    parser.add_argument("-w", "--weights_only", action="store_true",
                        help="save weights only (for training) instead of a full model")
    parser.add_argument("-p", "--plot_model", action="store_true",
                        help="also draw the model to <output>.png (needs pydot and graphviz)")
    parser.add_argument("--classes_path", type=Path,
                        help="class names, one per line (default: model_data/"
                             "coco_classes.txt when the cfg has 80 classes)")
    parser.add_argument("--allow_nonfinite", action="store_true",
                        help="convert weights holding NaN/infinite values or negative "
                             "variances (a warning instead of an error)")
    parser.add_argument("--to_darknet", action="store_true",
                        help="export a Keras model to Darknet .weights (and .cfg)")
    parser.add_argument("--cfg", type=Path,
                        help="with --to_darknet: the cfg of a model that does not carry one")
    args = parser.parse_args(argv)
    wanted = 2 if args.to_darknet else 3
    if len(args.paths) != wanted:
        names = ("keras_model output_weights" if args.to_darknet
                 else "config_path weights_path output_path")
        parser.error(f"expected {wanted} paths ({names}), got {len(args.paths)}")
    if args.to_darknet and (args.weights_only or args.plot_model or args.classes_path
                            or args.allow_nonfinite):
        parser.error("-w, -p, --classes_path and --allow_nonfinite apply to Darknet → Keras "
                     "only")
    if not args.to_darknet and args.cfg:
        parser.error("--cfg applies to --to_darknet only")
    args.paths = [Path(p) for p in args.paths]
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    quiet_tensorflow()
    from yolo3.model import convert

    if args.to_darknet:
        convert.keras_to_darknet(*args.paths, cfg_path=args.cfg)
    else:
        convert.darknet_to_keras(*args.paths, weights_only=args.weights_only,
                                 classes_path=args.classes_path, plot=args.plot_model,
                                 allow_nonfinite=args.allow_nonfinite)
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
