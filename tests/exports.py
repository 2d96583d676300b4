"""Small labelled exports, written in code, that reproduce what real exporters write.

Each builder makes one folder with the quirks of one real source; where each quirk was
seen is said beside it (the real files are the opt-in check in test_real_exports.py).
Images are flat grey JPEGs of the size the XML states, as small as the boxes allow.
"""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image


def voc_xml(filename: str | None, objects=(), size: tuple[int, int] | None = (100, 80),
            difficult: bool = True, declaration: bool = False, newline: str = "\n") -> str:
    """A Pascal VOC annotation. ``objects``: (name, (x0, y0, x1, y1)[, difficult]) tuples;
    coordinates are written as given (ints or floats). ``difficult=False`` leaves the
    ``<difficult>`` element out (VoTT v1's pre-1.5 template)."""
    parts = ['<?xml version="1.0" encoding="utf-8"?>'] if declaration else []
    parts.append("<annotation>")
    if filename is not None:
        parts.append(f"  <filename>{filename}</filename>")
    if size:
        parts.append(f"  <size><width>{size[0]}</width><height>{size[1]}</height>"
                     "<depth>3</depth></size>")
    for name, box, *flag in objects:
        hard = f"<difficult>{flag[0] if flag else 0}</difficult>" if difficult else ""
        parts.append(f"  <object><name>{name}</name>{hard}<bndbox><xmin>{box[0]}</xmin>"
                     f"<ymin>{box[1]}</ymin><xmax>{box[2]}</xmax><ymax>{box[3]}</ymax>"
                     "</bndbox></object>")
    parts.append("</annotation>")
    return newline.join(parts)


def image(path: Path, size: tuple[int, int]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (128, 128, 128)).save(path, quality=30)
    return path


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))


def vott1(root: Path) -> Path:
    """VoTT v1 "Tensorflow Pascal VOC" (seen in armanrahman22/openhack_toronto):
    ``<filename>`` without extension, no ``<difficult>``, empty XMLs for negatives,
    ``<class>_<set>.txt`` image sets with extension-less ids, an image listed in several
    class files."""
    for stem, objects, size in [
        ("img_0", [("helmet", (345, 197, 360, 209)), ("helmet", (390, 206, 404, 220))],
         (800, 544)),
        ("img_1", [], (640, 420)),
        ("img_2", [("vest", (10, 20, 110, 220)), ("helmet", (30, 5, 60, 25))], (320, 240)),
        ("img_3", [("vest", (1, 2, 50, 60))], (200, 150)),
    ]:
        _write(root / "Annotations" / f"{stem}.xml", voc_xml(stem, objects, size,
                                                             difficult=False))
        image(root / "JPEGImages" / f"{stem}.jpg", size)
    main = root / "ImageSets" / "Main"
    _write(main / "helmet_train.txt", "img_0 1\nimg_1 -1\nimg_2 1\n")
    _write(main / "vest_train.txt", "img_0 -1\nimg_1 -1\nimg_2 1\n")
    _write(main / "helmet_val.txt", "img_3 -1\n")
    _write(main / "vest_val.txt", "img_3 1\n")
    return root


VOTT2_STEM = "%20(1)%20(%E5%A4%8D%E5%88%B6)"


def vott2(root: Path) -> Path:
    """VoTT v2 Pascal VOC (seen in dwdwdw37/voc_dataset): percent-encoded file names on
    disk and in the XML, float coordinates, a box past the image edge, image-set ids
    carrying the extension; (seen in VoTT exports of uploaded folders) ``data%2F``
    prefixes in ``<filename>``."""
    entries = [
        (VOTT2_STEM, [("car", (64.10395838850636, 74.73898125772422, 356.47910321769064,
                               359.12317101430085))]),
        ("%20(2)%20(%E5%A4%8D%E5%88%B6)", [("H", (-3.5, 10.2, 420.9, 200.5))]),
        ("data%2Fstreet", [("car", (5.5, 6.49, 100.5, 90))]),
    ]
    for stem, objects in entries:
        _write(root / "Annotations" / f"{stem}.xml", voc_xml(f"{stem}.jpg", objects,
                                                             (416, 416)))
    image(root / "JPEGImages" / f"{VOTT2_STEM}.jpg", (416, 416))
    image(root / "JPEGImages" / "%20(2)%20(%E5%A4%8D%E5%88%B6).jpg", (416, 416))
    image(root / "JPEGImages" / "street.jpg", (416, 416))  # written without the prefix
    main = root / "ImageSets" / "Main"
    for name in ("H", "car"):
        _write(main / f"{name}_train.txt", "".join(
            f"{stem}.jpg {1 if any(o[0] == name for o in objects) else -1}\n"
            for stem, objects in entries[:2]))
        _write(main / f"{name}_val.txt", f"data%2Fstreet.jpg {1 if name == 'car' else -1}\n")
    return root


def vocdevkit(root: Path) -> Path:
    """A VOCdevkit year folder as keras-yolo3 forks commit it (seen in yddcode/yolo-keras):
    CRLF XML, zero-area boxes, a duplicated object, README.md files in every folder, a
    val.txt repeating ids of train.txt without a final newline; (seen in
    hirotaka001/keras-yolo3) a macOS AppleDouble ``._000001.xml`` that is not XML."""
    objects = {
        "000001": [("cat", (10, 10, 10, 40)), ("cat", (5, 5, 60, 50))],  # zero width
        "000002": [("dog", (20, 30, 70, 30)), ("dog", (1, 1, 30, 30))],  # zero height
        "000003": [("dog", (4, 4, 40, 44)), ("dog", (4, 4, 40, 44))],    # duplicate
    }
    for stem, objs in objects.items():
        _write(root / "Annotations" / f"{stem}.xml",
               voc_xml(f"{stem}.jpg", objs, declaration=True, newline="\r\n"))
        image(root / "JPEGImages" / f"{stem}.jpg", (100, 80))
    (root / "Annotations" / "._000001.xml").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac")
    for folder in ("Annotations", "JPEGImages", "ImageSets/Main"):
        _write(root / folder / "README.md", "# keep this folder\n")
    _write(root / "ImageSets" / "Main" / "train.txt", "000001\r\n000002\r\n000003\r\n")
    _write(root / "ImageSets" / "Main" / "val.txt", "000001\r\n000002")
    return root


def labelimg(root: Path) -> Path:
    """LabelImg (seen in HumanSignal/labelImg test_images): XML beside its image, no
    Annotations/ or ImageSets/, difficult objects."""
    _write(root / "demo.xml", voc_xml("demo.jpg", [("person", (10, 10, 60, 70)),
                                                   ("yolo_face", (20, 12, 40, 30), 1),
                                                   ("dog", (60, 40, 90, 75))]))
    image(root / "demo.jpg", (100, 80))
    _write(root / "demo2.xml", voc_xml("demo2.jpg", [("person", (1, 1, 30, 50))]))
    image(root / "demo2.jpg", (100, 80))
    return root


def public_set(root: Path) -> Path:
    """A public set's own layout (seen in datitran/raccoon_dataset): ``images/`` beside
    ``annotations/`` (LabelImg XML whose ``<path>`` is the labeller's disk) and the set's
    split as ``train.txt`` / ``test.txt`` of ids beside them."""
    for number, box in ((1, (5, 6, 50, 60)), (2, (10, 10, 90, 70)), (3, (1, 2, 30, 40))):
        text = voc_xml(f"raccoon-{number}.jpg", [("raccoon", box)])
        text = text.replace("<annotation>", "<annotation>\n  <path>/Users/someone/Desktop/"
                                            f"raccoon/images/raccoon-{number}.jpg</path>")
        _write(root / "annotations" / f"raccoon-{number}.xml", text)
        image(root / "images" / f"raccoon-{number}.jpg", (100, 80))
    _write(root / "train.txt", "raccoon-1\nraccoon-3\n")
    _write(root / "test.txt", "raccoon-2\n")
    return root


def spaced_class(root: Path) -> Path:
    """A class name with a space (seen in shadow17t/Object-Tagging-PascalVOC-export: its
    image-set file is ``ImageSets/Main/other vehicles_train.txt``)."""
    name = "20210501_150607_frame_5580"
    _write(root / "Annotations" / f"{name}.xml", voc_xml(f"{name}.jpg", [
        ("motorcycle", (603, 303, 653, 398)), ("motorcycle", (807, 325, 831, 380)),
        ("other vehicles", (852, 303, 912, 393))], (1280, 720)))
    image(root / "JPEGImages" / f"{name}.jpg", (1280, 720))
    _write(root / "ImageSets" / "Main" / "motorcycle_train.txt", f"{name}.jpg 1\n")
    _write(root / "ImageSets" / "Main" / "other vehicles_train.txt", f"{name}.jpg 1\n")
    return root


def video_frames(root: Path) -> Path:
    """VoTT v2 video labelling (seen in Purdue-SIMPLE-Lab/dataset): frames named
    ``<video>.MP4#t=<seconds>.jpg``, float boxes, no image sets."""
    frames = {
        "20200925_181149_911.MP4#t=180.1": [
            ("straight", (837.0601336302897, 588.2524752475248, 965.3452115812919,
                          644.9257425742575)),
            ("left_turn", (506.72605790645883, 590.3910891089109, 668.15144766147,
                           645.9950495049505))],
        "20200925_181149_911.MP4#t=0.7": [],
    }
    for stem, objects in frames.items():
        _write(root / "Annotations" / f"{stem}.xml", voc_xml(f"{stem}.jpg", objects,
                                                             (1920, 1080)))
        image(root / "JPEGImages" / f"{stem}.jpg", (1920, 1080))
    return root


def datumaro(root: Path) -> tuple[Path, Path]:
    """Two layouts from datumaro's VOC test assets: (1) an image set with a blank first
    line and a ``# comment``, and an id that has a JPEG but no XML; (2) XMLs without
    ``<size>``, no JPEGImages folder at all, and empty class image-set files."""
    first = root / "voc_dataset1"
    _write(first / "Annotations" / "2007_000001.xml",
           voc_xml("2007_000001.jpg", [("cat", (1, 2, 3, 4))], (10, 20), declaration=True))
    image(first / "JPEGImages" / "2007_000001.jpg", (10, 20))
    image(first / "JPEGImages" / "2007_000002.jpg", (10, 20))
    _write(first / "ImageSets" / "Main" / "train.txt", "\n# a comment\n2007_000001\n")
    _write(first / "ImageSets" / "Main" / "test.txt", "2007_000002\n")
    second = root / "voc_dataset2"
    for stem in ("a", "b"):
        _write(second / "Annotations" / f"{stem}.xml",
               voc_xml(f"{stem}.jpg", [("cow", (1.0, 2.0, 3.5, 4.5))], size=None))
    _write(second / "ImageSets" / "Main" / "trainval.txt", "a\nb\n")
    _write(second / "ImageSets" / "Main" / "cow_trainval.txt", "")
    return first, second


def coco(root: Path) -> tuple[Path, Path]:
    """A COCO instances file (as datumaro's and mmdetection's test assets): category ids
    with a gap (1, 2, 4), a crowd region, an image without annotations (a negative).
    Returns (json path, images folder)."""
    images = root / "images"
    for name, size in (("a.jpg", (10, 5)), ("b.jpg", (10, 5)), ("empty.jpg", (8, 8))):
        image(images / name, size)
    data = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 5},
                   {"id": 2, "file_name": "b.jpg", "width": 10, "height": 5},
                   {"id": 3, "file_name": "empty.jpg", "width": 8, "height": 8}],
        "categories": [{"id": 4, "name": "c"}, {"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 2, "bbox": [2, 2, 3, 1], "iscrowd": 0},
            {"id": 2, "image_id": 2, "category_id": 1, "bbox": [0, 0, 1, 2], "iscrowd": 0},
            {"id": 3, "image_id": 2, "category_id": 4, "bbox": [1, 1, 2, 2], "iscrowd": 1},
        ],
    }
    path = root / "instances.json"
    _write(path, json.dumps(data))
    return path, images
