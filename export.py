#!/usr/bin/env python
"""Export a Keras model (convert.py output or a trained model) for other runtimes.

    python export.py MODEL OUTPUT.onnx [--input_size 416] [--raw] [--opset 17]

The default export holds the whole detection graph, the same one the TensorFlow detector
compiles: letterboxed uint8 images and their letterbox geometry (and the score and IoU
thresholds) in; boxes in original-image pixels, scores, class ids and counts out. The
file carries its classes, anchors, input size, letterbox convention and NMS defaults, so
`python yolo_video.py --model_path OUTPUT.onnx` and `evaluate.py --model_path` run it in
ONNX Runtime without TensorFlow. --raw exports only the network's head outputs (float32
RGB in [0, 1] in), as upstream's keras2onnx export did, for runtimes that decode
themselves (OpenCV DNN, for one).
"""

from __future__ import annotations

import sys
from pathlib import Path

from yolo3.cli import ArgumentParser, image_size, positive_int, quiet_tensorflow, run
from yolo3.errors import YoloError

FORMATS = {".onnx": "onnx"}


def parse_args(argv):
    parser = ArgumentParser(description=__doc__.split("\n\n")[0],
                            usage="%(prog)s [-h] [--format onnx] [--input_size SIZE] [--raw] "
                                  "[--opset N] model output")
    parser.add_argument("model", type=Path, help="Keras model file (.h5, .keras)")
    parser.add_argument("output", type=Path, help="the exported file (.onnx)")
    parser.add_argument("--format", choices=sorted(set(FORMATS.values())),
                        help="default: from the output's suffix")
    parser.add_argument("--input_size", "--input-size", type=image_size,
                        help="network input, e.g. 416 or 320,608 (default 416)")
    parser.add_argument("--raw", action="store_true",
                        help="only the raw head outputs, no decode or NMS")
    parser.add_argument("--opset", type=positive_int, default=None,
                        help="ONNX opset (default 17)")
    parser.add_argument("--classes_path", "--classes-path", type=Path,
                        help="class names, for models that do not carry them")
    parser.add_argument("--anchors_path", "--anchors-path", type=Path,
                        help="anchors, for models that do not carry them")
    args = parser.parse_args(argv)
    if args.format is None:
        args.format = FORMATS.get(args.output.suffix.lower())
        if args.format is None:
            parser.error(f"{args.output}: unsupported format {args.output.suffix or '(none)'}"
                         f"; supported: {', '.join(FORMATS)}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from yolo3.files import check_writable, refuse_overwriting_inputs

    refuse_overwriting_inputs([args.output], [args.model, args.classes_path,
                                               args.anchors_path])
    check_writable(args.output)
    quiet_tensorflow()
    from yolo3.defaults import DEFAULT_INPUT_SIZE, NmsSettings
    from yolo3.export.onnx import DEFAULT_OPSET, export_onnx
    from yolo3.inference.detector import open_model

    if args.model.suffix.lower() == ".onnx":
        raise YoloError(f"{args.model} is already ONNX: export.py reads Keras models")
    loaded = open_model(args.model, args.anchors_path, args.classes_path)
    size = args.input_size or (DEFAULT_INPUT_SIZE, DEFAULT_INPUT_SIZE)
    info = export_onnx(loaded, args.output, size, NmsSettings(), raw=args.raw,
                       opset=args.opset or DEFAULT_OPSET, source=args.model.name)
    what = "raw head outputs" if args.raw else "detection graph"
    print(f"Wrote {args.output} ({what}, {size[0]}x{size[1]}, "
          f"{len(info.class_names)} classes).")
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
