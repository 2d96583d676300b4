#!/usr/bin/env python
"""Detect objects in images, folders, video files or a webcam with a Keras YOLOv3 model.

    python yolo_video.py --image --input photo.jpg --output out.jpg --json detections.json
    python yolo_video.py --image --input "photos/*.jpg" --output annotated/
    python yolo_video.py --image                         # asks for file names
    python yolo_video.py --input video.mp4 --output out.mp4
    python yolo_video.py --input 0                       # webcam 0

Model files written by convert.py or by training carry their anchors and classes;
--anchors_path and --classes_path override them (and are needed for models from the
original keras-yolo3). Options take underscores or hyphens (--model_path, --model-path).
"""

from __future__ import annotations

import argparse
import sys

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

YOLO_OPTIONS = ("model_path", "anchors_path", "classes_path", "gpu_num", "score", "iou",
                "model_image_size", "max_per_class", "class_agnostic", "runtime")


def parse_args(argv):
    parser = ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False,
                            argument_default=argparse.SUPPRESS,
                            formatter_class=argparse.RawDescriptionHelpFormatter,
                            epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--model_path", "--model-path", "--model", dest="model_path",
                        help="model file (default model_data/yolo.h5)")
    parser.add_argument("--anchors_path", "--anchors-path", "--anchors", dest="anchors_path",
                        help="anchors file (default: from the model, else "
                             "model_data/yolo_anchors.txt)")
    parser.add_argument("--classes_path", "--classes-path", "--classes", dest="classes_path",
                        help="class names file (default: from the model, else "
                             "model_data/coco_classes.txt)")
    parser.add_argument("--gpu_num", "--gpu-num", dest="gpu_num", type=int,
                        help="number of GPUs (kept for keras-yolo3 compatibility)")
    parser.add_argument("--score", "--conf", dest="score", type=fraction,
                        help=f"minimum detection score (default {NmsSettings().score})")
    parser.add_argument("--iou", type=fraction,
                        help=f"NMS IoU threshold (default {NmsSettings().iou})")
    parser.add_argument("--model_image_size", "--model-image-size", dest="model_image_size",
                        type=image_size,
                        help="network input, e.g. 416 or 320,608 (default: the model's own — "
                             "an export's, the size a model was trained at, else "
                             f"{DEFAULT_INPUT_SIZE})")
    parser.add_argument("--max_per_class", "--max-per-class", dest="max_per_class", type=int,
                        help=f"boxes kept per class (default {NmsSettings().max_per_class})")
    add_runtime(parser, "the model")
    parser.add_argument("--class_agnostic", "--class-agnostic", dest="class_agnostic",
                        action="store_true", help="suppress overlapping boxes across classes")
    parser.add_argument("--image", action="store_true", default=False,
                        help="image mode (otherwise video mode)")
    parser.add_argument("--input", nargs="?", default=None,
                        help="image file, folder or glob (image mode); video file or camera "
                             "index (video mode, default 0)")
    parser.add_argument("--output", nargs="?", default=None,
                        help="annotated image file or folder; output video file")
    parser.add_argument("--json", default=None,
                        help="image mode: write {image path: detections} to this file")
    parser.add_argument("--batch_size", "--batch-size", dest="batch_size", type=int, default=8,
                        help="images per forward pass in image mode (default 8)")
    parser.add_argument("--no_window", "--no-window", dest="show", action="store_false",
                        default=None, help="video mode: never open a display window")
    add_max_pixels(parser)
    args = parser.parse_args(argv)
    if args.json and not args.image:
        parser.error("--json applies to image mode (--image)")
    if args.batch_size < 1:
        parser.error("--batch_size must be at least 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    apply_max_pixels(args)
    inference_only_process()
    from yolo3.inference import image_files as detect_files

    plan = None
    # the model and its files (flags left out are not in args: YOLO takes its defaults)
    model_files = tuple(getattr(args, name, None)
                        for name in ("model_path", "classes_path", "anchors_path"))
    if not args.image:  # a video or webcam: its output must not be the model or its files
        from yolo3.files import refuse_overwriting_inputs

        refuse_overwriting_inputs([args.output], model_files)
    if args.image and args.input is not None:
        plan = detect_files.plan_images(args.input, args.output, args.json, model_files)
    from yolo import YOLO

    yolo = YOLO(**{k: getattr(args, k) for k in YOLO_OPTIONS if hasattr(args, k)})
    if args.image and args.input is None:
        return detect_files.interactive(yolo.detector, sys.stdin)
    if args.image:
        return detect_files.detect_images(yolo.detector, plan, args.json, args.batch_size)
    from yolo3.inference.video import detect_video

    frames = detect_video(yolo.detector, "0" if args.input is None else args.input, args.output,
                          show=args.show)
    print(f"Processed {frames} frames" + (f"; wrote {args.output}" if args.output else "") + ".")
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
