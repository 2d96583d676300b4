#!/usr/bin/env python
"""Anchors for a training list by IoU k-means, in network-input pixels.

    python kmeans.py --annot_file project/train_list.txt --out_file project/custom_anchors.txt \\
        --num_clusters 9

Each image's boxes are scaled the way letterboxing to --input_size scales them (the units
the model reads anchors in); --input_size 0 clusters original-image pixels as
keras-yolo3 did. The output keeps keras-yolo3's format: one line `w,h, w,h, ...`,
ascending by area. Prints the mean IoU and the best possible recall (share of boxes with
an anchor within 4× in width and height).
"""

from __future__ import annotations

import sys
from pathlib import Path

from yolo3.cli import ArgumentParser, add_max_pixels, apply_max_pixels, run
from yolo3.errors import YoloError


def parse_args(argv):
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--annot_file", "--annot-file", type=Path, required=True,
                        help="training list (path x_min,y_min,x_max,y_max,class ...)")
    parser.add_argument("--out_file", "--out-file", type=Path,
                        default=Path("yolo_anchors_custom.txt"),
                        help="anchors file to write (default: yolo_anchors_custom.txt)")
    parser.add_argument("--num_clusters", "--num-clusters", type=int, default=9,
                        help="anchors: 9 for YOLOv3, 6 for YOLOv3-tiny (default 9)")
    parser.add_argument("--input_size", "--input-size", type=int, default=416,
                        help="network input size the anchors are for (default 416; 0 = "
                             "original-image pixels)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--restarts", type=int, default=10,
                        help="k-means runs, the best is kept (default 10)")
    parser.add_argument("--plot", type=Path, help="draw boxes and anchors to this PNG")
    add_max_pixels(parser)
    args = parser.parse_args(argv)
    if args.num_clusters < 1 or args.restarts < 1 or args.input_size < 0:
        parser.error("--num_clusters and --restarts must be ≥ 1, --input_size ≥ 0")
    if args.input_size % 32:
        parser.error("--input_size must be a multiple of 32 (or 0)")
    return args


def main(argv=None) -> int:
    from yolo3.classfiles import format_anchors
    from yolo3.data.anchors import box_shapes, cluster_anchors, plot_anchors
    from yolo3.data.annotations import check_boxes, read_lines
    from yolo3.files import check_writable, refuse_overwriting_inputs, write_text_atomic

    args = parse_args(argv)
    apply_max_pixels(args)
    refuse_overwriting_inputs([args.out_file, args.plot], [args.annot_file])
    if args.plot is not None and args.plot == args.out_file:
        raise YoloError("--plot and --out_file name the same file")
    annotations = read_lines(args.annot_file)
    check_boxes(annotations, source=str(args.annot_file))
    for path in filter(None, (args.out_file, args.plot)):
        check_writable(path)
    input_hw = (args.input_size, args.input_size) if args.input_size else None
    shapes, skipped = box_shapes(annotations, input_hw)
    for note in skipped:
        print(f"Note: {note}", file=sys.stderr)
    result = cluster_anchors(shapes, args.num_clusters, seed=args.seed, restarts=args.restarts)
    units = (f"network-input pixels at {args.input_size}" if args.input_size
             else "original-image pixels")
    write_text_atomic(args.out_file, format_anchors(result.anchors))
    print(f"{len(shapes)} boxes → {args.num_clusters} anchors ({units}): "
          f"{format_anchors(result.anchors)}")
    print(f"Mean IoU: {100 * result.mean_iou:.2f}%")
    print(f"Best possible recall (an anchor within 4x in width and height): "
          f"{100 * result.recall:.2f}%")
    print(f"Wrote {args.out_file}")
    if args.plot:
        plot_anchors(shapes, result.anchors, args.plot, units)
        print(f"Plotted boxes and anchors to {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
