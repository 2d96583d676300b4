"""COCO instances JSON → training-list annotations.

Category ids (1–90 with gaps in COCO itself) map to contiguous class ids in the order of
their ids; crowd regions (``iscrowd: 1``) are not objects to detect and are dropped.
COCO boxes are ``[x, y, width, height]`` floats; they become clipped, rounded xyxy.
The file's structure is checked first: anything that does not follow the COCO schema is
one error naming the entry, never a silently wrong list.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from yolo3.data.annotations import Annotation
from yolo3.data.conversion import Report, convert_box
from yolo3.errors import YoloError
from yolo3.files import read_json
from yolo3.numbers import finite_number


class _Schema:
    """Reads typed fields of one JSON entry, or says which entry is wrong and how."""

    def __init__(self, path: Path):
        self.path = path

    def error(self, where: str, problem: str) -> YoloError:
        return YoloError(f"{self.path}: {where}: {problem} (not a COCO instances file)")

    def entries(self, data: dict, key: str, required: bool = True) -> list[dict]:
        value = data.get(key, None if required else [])
        if not isinstance(value, list):
            raise self.error(f'"{key}"', "expected a list" if key in data else "missing")
        for i, entry in enumerate(value):
            if not isinstance(entry, dict):
                raise self.error(f'"{key}"[{i}]', "expected an object")
        return value

    def number(self, entry: dict, key: str, where: str, positive: bool = False) -> float:
        value = entry.get(key)
        if not finite_number(value):
            raise self.error(where, f'"{key}" must be a number, got {value!r}')
        if positive and value <= 0:
            raise self.error(where, f'"{key}" must be above 0, got {value!r}')
        return value

    def text(self, entry: dict, key: str, where: str) -> str:
        value = entry.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.error(where, f'"{key}" must be a non-empty string, got {value!r}')
        return value


def convert_coco(json_path: Path, images_dir: Path) -> tuple[list[Annotation], list[str], Report]:
    """Annotations for every image of the JSON, the class names, and the problems met."""
    json_path = Path(json_path)
    schema = _Schema(json_path)
    data = read_json(json_path)
    if not isinstance(data, dict):
        raise schema.error("top level", "expected an object")
    categories = schema.entries(data, "categories")
    images = schema.entries(data, "images")
    objects = schema.entries(data, "annotations", required=False)
    class_of: dict[int, int] = {}
    names: list[str] = []
    for _, category in sorted(enumerate(categories),
                              key=lambda item: schema.number(item[1], "id", f"category {item[0]}")):
        where = f"category {category['id']}"
        if category["id"] in class_of:
            raise schema.error(where, "the id repeats")
        class_of[category["id"]] = len(names)
        names.append(schema.text(category, "name", where).strip())
    by_image: dict[int, list[dict]] = {}
    for obj in objects:
        by_image.setdefault(obj.get("image_id"), []).append(obj)
    report = Report()
    result = []
    for i, image in enumerate(images):
        where = f"image {image.get('id', f'#{i}')}"
        file_name = schema.text(image, "file_name", where)
        size = (schema.number(image, "width", where, positive=True),
                schema.number(image, "height", where, positive=True))
        path = Path(images_dir) / file_name
        if not path.is_file():
            report.add("images not found", file_name)
            continue
        boxes = []
        for obj in by_image.get(image.get("id"), []):
            box = _box(schema, obj, class_of)
            if box is None:
                report.add("crowd regions dropped", file_name)
                continue
            converted = convert_box(box[:4], (int(size[0]), int(size[1])), report, file_name)
            if converted is not None:
                boxes.append(converted + [box[4]])
        result.append(Annotation(str(path), np.array(boxes, dtype=np.int64).reshape(-1, 5)))
    return result, names, report


def _box(schema: _Schema, obj: dict, class_of: dict[int, int]) -> tuple | None:
    """(x0, y0, x1, y1, class id) of an annotation; None for a crowd region."""
    where = f"annotation {obj.get('id', '?')}"
    if obj.get("iscrowd"):
        return None
    if obj.get("category_id") not in class_of:
        raise schema.error(where, f"category_id {obj.get('category_id')!r} is not among the "
                                  "categories")
    bbox = obj.get("bbox")
    if (not isinstance(bbox, list) or len(bbox) != 4
            or not all(map(finite_number, bbox))):
        raise schema.error(where, f'"bbox" must be 4 numbers [x, y, width, height], got {bbox!r}')
    x, y, w, h = (float(v) for v in bbox)
    return x, y, x + w, y + h, class_of[obj["category_id"]]
