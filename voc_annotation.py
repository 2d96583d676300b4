#!/usr/bin/env python
"""Turn a labelled folder into training lists: `path x_min,y_min,x_max,y_max,class_id ...`.

    python voc_annotation.py --data_dir data/Traffic-PascalVOC-export --out_dir project
    python voc_annotation.py --coco instances_train.json --coco_images images/

Reads VoTT v1/v2 Pascal VOC exports, VOCdevkit year folders and LabelImg folders (or a
COCO instances JSON) and writes one list per set, <out_dir>/<set>_list.txt. When the
classes file does not exist yet, the classes are discovered from the annotations (sorted)
and written there. Problems (malformed XML, missing images, boxes outside the image, ...)
are counted in the summary; the command fails only when nothing usable remains.
"""

from __future__ import annotations

import sys
from pathlib import Path

from yolo3.cli import ArgumentParser, add_max_pixels, apply_max_pixels, run


def parse_args(argv):
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data_dir", "--data-dir", type=Path, default=Path("data"),
                        help="the export folder (default: data)")
    parser.add_argument("--classes_path", "--classes-path", type=Path, default=None,
                        help="class names, one per line; discovered and written here when the "
                             "file does not exist (default: <out_dir>/classes.txt)")
    parser.add_argument("--sets", nargs="+", default=["train", "val"],
                        help="image sets to convert (default: train val)")
    parser.add_argument("--out_dir", "--out-dir", type=Path, default=Path("project"),
                        help="where <set>_list.txt go (default: project)")
    parser.add_argument("--keep_difficult", "--keep-difficult", action="store_true",
                        help="keep objects marked difficult (dropped by default, as upstream)")
    parser.add_argument("--coco", type=Path, help="convert this COCO instances JSON instead")
    parser.add_argument("--coco_images", "--coco-images", type=Path,
                        help="folder of the COCO images (default: --data_dir)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_max_pixels(parser)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    from yolo3.classfiles import read_class_names
    from yolo3.data.annotations import write_lines
    from yolo3.data.coco import convert_coco
    from yolo3.data.voc import convert_export
    from yolo3.errors import YoloError
    from yolo3.files import check_writable, refuse_overwriting_inputs, write_text_atomic

    args = parse_args(argv)
    apply_max_pixels(args)
    classes_path = args.classes_path or args.out_dir / "classes.txt"
    given = read_class_names(classes_path) if classes_path.exists() else None
    lists = [args.out_dir / f"{set_name}_list.txt" for set_name in args.sets]
    refuse_overwriting_inputs([*lists, None if given else classes_path],
                              [args.coco, classes_path if given else None])
    if len(set(lists)) < len(lists) or classes_path in lists:
        raise YoloError("--sets repeat a name, or a list would replace the classes file")
    for target in [*lists, None if given else classes_path]:
        if target is not None:
            check_writable(target)
    if args.coco:
        lines, coco_names, report = convert_coco(args.coco, args.coco_images or args.data_dir)
        if given and given != coco_names:
            raise YoloError(f"{classes_path} does not list the JSON's categories in id order")
        per_set, classes = {args.sets[0]: lines}, coco_names
    else:
        per_set, classes, report = convert_export(args.data_dir, args.sets, given,
                                                  args.keep_difficult, not args.quiet)
    if not any(per_set.values()):
        problems = "; ".join(report.lines()) or "no annotations found"
        raise YoloError(f"nothing usable in {args.coco or args.data_dir}: {problems}")
    for set_name, entries in per_set.items():
        target = args.out_dir / f"{set_name}_list.txt"
        write_lines(target, entries)
        boxes = sum(len(a.boxes) for a in entries)
        negatives = sum(len(a.boxes) == 0 for a in entries)
        print(f"{set_name}: {len(entries)} images ({negatives} without objects), "
              f"{boxes} boxes → {target}")
    for set_name in args.sets:
        if set_name not in per_set:
            print(f"{set_name}: not in the export, no list written")
    if given is None:
        write_text_atomic(classes_path, "".join(f"{name}\n" for name in classes))
        print(f"Classes: {len(classes)} discovered, written to {classes_path}")
    else:
        print(f"Classes: {len(classes)} from {classes_path}")
    for line in report.lines():
        print(f"Note: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
