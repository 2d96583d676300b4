"""COCO instances JSON → training-list annotations.

Category ids (1–90 with gaps in COCO itself) map to contiguous class ids in the order of
their ids; crowd regions (``iscrowd: 1``) are not objects to detect and are dropped.
COCO boxes are ``[x, y, width, height]`` floats; they become clipped, rounded xyxy.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from yolo3.annotations import Annotation
from yolo3.errors import YoloError
from yolo3.voc import Report, convert_box


def convert_coco(json_path: Path, images_dir: Path) -> tuple[list[Annotation], list[str], Report]:
    """Annotations for every image of the JSON, the class names, and the problems met."""
    try:
        data = json.loads(Path(json_path).read_text(encoding="utf-8-sig"))
        categories = sorted(data["categories"], key=lambda c: c["id"])
        images = data["images"]
        objects = data.get("annotations", [])
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise YoloError(f"{json_path}: not a COCO instances file ({error})") from None
    report = Report()
    class_of = {c["id"]: i for i, c in enumerate(categories)}
    names = [str(c["name"]).strip() for c in categories]
    by_image: dict[int, list[dict]] = {}
    for obj in objects:
        by_image.setdefault(obj.get("image_id"), []).append(obj)
    result = []
    for image in images:
        path = Path(images_dir) / image["file_name"]
        if not path.is_file():
            report.add("images not found", image["file_name"])
            continue
        size = (int(image["width"]), int(image["height"]))
        boxes = []
        for obj in by_image.get(image["id"], []):
            if obj.get("iscrowd"):
                report.add("crowd regions dropped", image["file_name"])
                continue
            if obj.get("category_id") not in class_of or len(obj.get("bbox") or []) != 4:
                report.add("annotations without a known category or bbox", image["file_name"])
                continue
            x, y, w, h = (float(v) for v in obj["bbox"])
            box = convert_box((x, y, x + w, y + h), size, report, image["file_name"])
            if box is not None:
                boxes.append(box + [class_of[obj["category_id"]]])
        result.append(Annotation(str(path), np.array(boxes, dtype=np.int64).reshape(-1, 5)))
    return result, names, report
