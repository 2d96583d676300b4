#!/usr/bin/env python
"""Export a Keras model (convert.py output or a trained model) for other runtimes.

    python export.py MODEL OUTPUT.onnx [--input_size 416] [--raw] [--opset 17]
    python export.py MODEL OUTPUT.onnx --quantize int8 --calibration train_list.txt
    python export.py MODEL OUTPUT.onnx --quantize fp16
    python export.py MODEL OUTPUT.tflite [--input_size 416] [--quantize fp16|int8 ...]
    python export.py MODEL OUTPUT_FOLDER [--input_size 416]         # a SavedModel

The default export holds the whole detection graph, the same one the TensorFlow detector
compiles: letterboxed uint8 images and their letterbox geometry (and the score and IoU
thresholds) in; boxes in original-image pixels, scores, class ids and counts out. The
file carries its classes, anchors, input size, letterbox convention and NMS defaults, so
`python yolo_video.py --model_path OUTPUT.onnx` and `evaluate.py --model_path` run it in
ONNX Runtime without TensorFlow. --raw exports only the network's head outputs (float32
RGB in [0, 1] in), as upstream's keras2onnx export did, for runtimes that decode
themselves (OpenCV DNN, for one). --quantize int8 quantizes the convolutions with ranges
measured on up to --calibration_images images of a training-list file (letterboxed as
inference does): about 0.6× the fp32 time on CPUs with VNNI. --quantize fp16 halves the
file for accelerators with float16 units (CPUs without them run it slower). A .tflite
output is the same detection graph for one image at a time, TFLite builtin ops only (LiteRT
runs it without the Flex delegate); --quantize int8 quantizes its network likewise (for
XNNPACK's integer kernels), --quantize fp16 stores its weights in float16. An
output without a suffix is a TensorFlow SavedModel folder for TF Serving: its
serving_default signature takes encoded image bytes, its detect signature the ONNX
export's inputs.
"""

from __future__ import annotations

import sys
from pathlib import Path

from yolo3.cli import ArgumentParser, image_size, positive_int, quiet_tensorflow, run
from yolo3.errors import YoloError
from yolo3.formats import (
    DEFAULT_OPSET,
    EXPORTED,
    INT8,
    ONNX_OPSETS,
    OPSET,
    RAW,
    ExportOptions,
    export_format_of,
    exports_allowing,
    format_of,
)

QUANTIZATIONS = tuple(sorted({q for fmt in EXPORTED for q in fmt.quantizations}))


def parse_args(argv):
    names = [fmt.name for fmt in EXPORTED]
    parser = ArgumentParser(description=__doc__.split("\n\n")[0],
                            usage=f"%(prog)s [-h] [--format {'|'.join(names)}] "
                                  "[--input_size SIZE] [--raw] [--opset N] "
                                  "[--quantize fp16 | --quantize int8 --calibration LIST] "
                                  "model output")
    parser.add_argument("model", type=Path, help="Keras model file (.h5, .keras)")
    parser.add_argument("output", type=Path, help="the exported file or folder: " + ", ".join(
        f"{fmt.output_name()} ({fmt.label})" for fmt in EXPORTED))
    parser.add_argument("--format", choices=names, help="default: from the output's suffix")
    parser.add_argument("--input_size", "--input-size", type=image_size,
                        help="network input, e.g. 416 or 320,608 (default: the size the "
                             "model was trained at, else 416)")
    parser.add_argument("--raw", action="store_true",
                        help="only the raw head outputs, no decode or NMS")
    parser.add_argument("--opset", type=positive_int, default=None,
                        help=f"ONNX opset, {ONNX_OPSETS[0]}-{ONNX_OPSETS[-1]} (default "
                             f"{DEFAULT_OPSET})")
    parser.add_argument("--quantize", choices=QUANTIZATIONS,
                        help="int8: quantize the convolutions (needs --calibration); fp16: "
                             "the network in float16 (half the file, for GPUs/NPUs)")
    parser.add_argument("--calibration", type=Path,
                        help="training-list file whose images calibrate --quantize int8")
    parser.add_argument("--calibration_images", "--calibration-images", type=positive_int,
                        default=100, help="at most this many of them (default 100)")
    parser.add_argument("--classes_path", "--classes-path", type=Path,
                        help="class names, for models that do not carry them")
    parser.add_argument("--anchors_path", "--anchors-path", type=Path,
                        help="anchors, for models that do not carry them")
    args = parser.parse_args(argv)
    if args.quantize == INT8 and not args.calibration:
        parser.error("--quantize int8 needs --calibration (a training-list file of images "
                     "like those the model will see)")
    if args.calibration and args.quantize != INT8:
        parser.error("--calibration applies to --quantize int8")
    if args.quantize and args.raw:
        parser.error("--quantize applies to the detection graph, not --raw")
    fmt = (next(f for f in EXPORTED if f.name == args.format) if args.format
           else export_format_of(args.output))
    if fmt is None:
        parser.error(f"{args.output}: unsupported format {args.output.suffix}; supported: "
                     + ", ".join(f"{f.output_name()} for {f.label}" for f in EXPORTED))
    if args.opset is not None and args.opset not in ONNX_OPSETS:
        parser.error(f"--opset must be between {ONNX_OPSETS[0]} and {ONNX_OPSETS[-1]}, not "
                     f"{args.opset}")
    named = export_format_of(args.output)
    if named is not None and named is not fmt:  # a file whose name says another format
        parser.error(f"--format {fmt.name} writes {fmt.output_name()}, but {args.output} is "
                     f"named as {named.label} ({named.output_name()}): name the output for "
                     "the format, or leave --format out")
    args.format = fmt
    given = {RAW: args.raw, OPSET: args.opset is not None}
    if any(on and option not in fmt.export_options for option, on in given.items()):
        others = [option for option in given if option not in fmt.export_options]
        parser.error(f"{' and '.join('--' + o for o in others)} apply to "
                     f"{exports_allowing(others[0])} exports, not {fmt.label}")
    if args.quantize and args.quantize not in fmt.quantizations:
        parser.error(f"--quantize {args.quantize} applies to "
                     f"{exports_allowing(args.quantize)} exports, not {fmt.label}")
    return args


def calibration_batches(path: Path, limit: int, input_size: tuple[int, int]) -> list[tuple]:
    """Up to ``limit`` images of a training list, spread over it, letterboxed as inference
    letterboxes them: (uint8 (1, h, w, 3), letterbox (1, 6)) each."""
    import numpy as np

    from yolo3.data.annotations import read_lines
    from yolo3.images import load_image
    from yolo3.inference.base import letterbox_batch

    lines = read_lines(path)
    if not lines:
        raise YoloError(f"{path} lists no images to calibrate with")
    picks = np.unique(np.linspace(0, len(lines) - 1, min(limit, len(lines))).astype(int))
    batches, unreadable = [], 0
    for index in picks:
        try:
            batches.append(letterbox_batch([load_image(lines[index].path)], input_size))
        except YoloError:
            unreadable += 1
    if not batches:
        raise YoloError(f"none of the {len(picks)} images chosen from {path} could be read")
    if unreadable:
        print(f"note: {unreadable} calibration images could not be read and were left out",
              file=sys.stderr)
    return batches


def main(argv=None) -> int:
    args = parse_args(argv)
    from yolo3.files import check_writable, refuse_overwriting_inputs

    refuse_overwriting_inputs([args.output], [args.model, args.classes_path,
                                               args.anchors_path, args.calibration])
    if not args.format.suffixes and args.output.exists():
        raise YoloError(f"{args.output} already exists: choose another folder or remove it")
    check_writable(args.output)
    if format_of(args.model).exported:
        raise YoloError(f"{args.model} is already exported: export.py reads Keras models")
    if args.model.is_dir():
        raise YoloError(f"{args.model} is a folder, not a Keras model file (.h5, .keras)")
    quiet_tensorflow()
    from yolo3.defaults import NmsSettings
    from yolo3.inference.detector import open_model, own_input_size

    loaded = open_model(args.model, args.anchors_path, args.classes_path)
    size = args.input_size or own_input_size(loaded)  # the size it was trained at
    calibration = (calibration_batches(args.calibration, args.calibration_images, size)
                   if args.quantize == INT8 else None)
    options = ExportOptions(source=args.model.name, raw=args.raw, opset=args.opset,
                            quantize=args.quantize, calibration=calibration,
                            calibration_source=str(args.calibration))
    print(args.format.writer()(loaded, args.output, size, NmsSettings(), options))
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
