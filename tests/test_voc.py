"""yolo3.voc on the real exports in shared/fixtures and on hand-made broken ones."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from yolo3.errors import YoloError
from yolo3.voc import convert_export, read_voc_xml

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "annotations"
OPENHACK = FIXTURES / "vott1__armanrahman22__openhack_toronto" / "images_output"
VOTT2 = FIXTURES / "vott2__dwdwdw37__voc_dataset"
YDDCODE = FIXTURES / "keras-yolo3-fork__yddcode__yolo-keras" / "VOCdevkit" / "VOC2007"
HIROTAKA = FIXTURES / "keras-yolo3-fork__hirotaka001__keras-yolo3" / "VOCdevkit" / "VOC2007"
LABELIMG = FIXTURES / "labelimg__HumanSignal__labelImg" / "test_images"
DATUMARO = FIXTURES / "openvinotoolkit__datumaro" / "tests" / "assets" / "voc_dataset"
PURDUE = FIXTURES / "vott2__Purdue-SIMPLE-Lab__dataset"
SHADOW = FIXTURES / "vott2__shadow17t__Object-Tagging-PascalVOC-export"


def lines(result, set_name):
    return [a.to_line() for a in result[set_name]]


def test_vott1_export():
    result, classes, report = convert_export(OPENHACK, ["train", "val"], None, progress=False)
    assert classes == ["helmet"]
    assert (len(result["train"]), len(result["val"])) == (233, 17)
    boxes = sum(len(a.boxes) for s in result.values() for a in s)
    negatives = sum(len(a.boxes) == 0 for s in result.values() for a in s)
    assert (boxes, negatives) == (118, 163)  # every object and every empty XML of the export
    assert f"{OPENHACK}/JPEGImages/img_0.jpg 345,197,360,209,0 390,206,404,220,0" in lines(
        result, "train")
    assert f"{OPENHACK}/JPEGImages/img_1.jpg" in lines(result, "train")  # a negative
    for set_lines in result.values():
        paths = [a.path for a in set_lines]
        assert len(paths) == len(set(paths))  # listed in several class files, once per set
    assert not report.counts


def test_vott2_export_with_percent_encoded_names_and_float_boxes():
    result, classes, report = convert_export(VOTT2, ["train", "val"], None, progress=False)
    assert classes == ["H", "W", "car", "circle"]
    assert (len(result["train"]), len(result["val"])) == (157, 43)
    assert sum(len(a.boxes) for s in result.values() for a in s) == 206
    first = next(a for a in result["train"] + result["val"] if "%20(1)%20(" in a.path)
    assert first.path == str(VOTT2 / "JPEGImages" / "%20(1)%20(%E5%A4%8D%E5%88%B6).jpg")
    # 64.10395838850636, 74.73898125772422, 356.47910321769064, 359.12317101430085 → half up
    assert first.boxes.tolist() == [[64, 75, 356, 359, 1]]
    assert report.counts == {"boxes clipped to the image": 2}
    for annotation in result["train"] + result["val"]:
        assert (annotation.boxes[:, 2] <= 416).all() and (annotation.boxes[:, :2] >= 0).all()


def test_vocdevkit_with_zero_area_boxes_repeats_and_junk():
    result, classes, report = convert_export(YDDCODE, ["train", "val"], None, progress=False)
    assert (len(result["train"]), len(result["val"])) == (62, 6)
    assert sum(len(a.boxes) for a in result["train"]) == 258  # 260 objects, 2 without area
    assert report.counts["zero-area boxes dropped"] == 2
    assert all(Path(a.path).suffix == ".jpg" for a in result["train"])  # README.md ignored
    junk = convert_export(HIROTAKA, ["train"], None, progress=False)[2]
    assert junk.counts == {"malformed XML files skipped": 1}
    assert junk.examples["malformed XML files skipped"] == ["._000001.xml"]


def test_given_classes_drop_unknown_names_and_keep_the_order():
    result, classes, report = convert_export(LABELIMG, ["train"], ["person", "yolo_face"],
                                             progress=False)
    assert classes == ["person", "yolo_face"]
    assert report.counts["objects of classes not in the classes file"] > 0
    assert {int(c) for a in result["train"] for c in a.boxes[:, 4]} <= {0, 1}


def test_labelimg_folder_and_class_names_with_spaces():
    result, classes, _ = convert_export(SHADOW, ["train", "val"], None, progress=False)
    assert classes == ["motorcycle", "other vehicles"]
    assert lines(result, "train") == [
        f"{SHADOW}/JPEGImages/20210501_150607_frame_5580.jpg "
        "603,303,653,398,0 807,325,831,380,0 852,303,912,393,1"]
    result, classes, _ = convert_export(LABELIMG, ["train"], None, progress=False)
    assert len(result["train"]) == 2 and sum(len(a.boxes) for a in result["train"]) == 51


def test_video_frame_names_with_hash():
    result, classes, _ = convert_export(PURDUE, ["train"], None, progress=False)
    assert classes == ["left_turn", "straight"]
    frame = next(a for a in result["train"] if a.path.endswith("#t=180.1.jpg"))
    assert frame.boxes.tolist() == [[837, 588, 965, 645, 1], [507, 590, 668, 646, 0]]


def test_datumaro_layout_hazards():
    # an image set with a comment and a blank line; an id without XML
    result, _, report = convert_export(DATUMARO / "voc_dataset1", ["train", "test"], None,
                                       progress=False)
    assert report.counts["ids without an XML file"] == 1
    assert [Path(a.path).name for a in result["train"]] == ["2007_000001.jpg"]
    # XMLs without <size> and without any JPEGImages folder: images not found
    _, _, report = convert_export(DATUMARO / "voc_dataset2", ["trainval"], None, progress=False)
    assert report.counts["images not found"] > 0


def make_export(tmp_path, xmls: dict[str, str], images: dict[str, tuple[int, int]]):
    root = tmp_path / "export"
    (root / "Annotations").mkdir(parents=True)
    (root / "JPEGImages").mkdir()
    for name, text in xmls.items():
        (root / "Annotations" / name).write_text(text)
    for name, size in images.items():
        Image.new("RGB", size).save(root / "JPEGImages" / name)
    return root


def xml(filename, *objects, size=(100, 80), difficult=None):
    parts = [f"<annotation><filename>{filename}</filename>"]
    if size:
        parts.append(f"<size><width>{size[0]}</width><height>{size[1]}</height></size>")
    for name, box, *rest in objects:
        flag = f"<difficult>{rest[0]}</difficult>" if rest else ""
        parts.append(f"<object><name>{name}</name>{flag}<bndbox><xmin>{box[0]}</xmin>"
                     f"<ymin>{box[1]}</ymin><xmax>{box[2]}</xmax><ymax>{box[3]}</ymax>"
                     "</bndbox></object>")
    return "".join(parts) + "</annotation>"


def test_every_bad_case_is_counted_and_the_rest_goes_on(tmp_path):
    root = make_export(tmp_path, {
        "ok.xml": xml("ok.jpg", ("cat", (10.4, 10.5, 50.5, 60.49))),
        "broken.xml": "<annotation><object>",
        "noimage.xml": xml("gone.jpg", ("cat", (1, 1, 5, 5))),
        "outside.xml": xml("outside.jpg", ("cat", (-5, -3, 120, 90))),
        "flat.xml": xml("flat.jpg", ("cat", (10, 10, 10, 40)), ("cat", (5, 5, 9, 9))),
        "hard.xml": xml("hard.jpg", ("cat", (1, 1, 9, 9), 1), ("dog", (2, 2, 8, 8), 0)),
        "nosize.xml": xml("nosize.jpg", ("dog", (40, 40, 500, 500)), size=None),
        "data%2Fprefixed.xml": xml("data%2Fprefixed.jpg", ("dog", (1, 1, 20, 20))),
        "my photo.xml": xml("my photo.jpg", ("dog", (1, 1, 20, 20))),
    }, {"ok.jpg": (100, 80), "outside.jpg": (100, 80), "flat.jpg": (100, 80),
        "hard.jpg": (100, 80), "nosize.jpg": (64, 48), "prefixed.jpg": (100, 80),
        "my photo.jpg": (100, 80)})
    result, classes, report = convert_export(root, ["train"], None, progress=False)
    got = {Path(a.path).name: a.boxes.tolist() for a in result["train"]}
    assert classes == ["cat", "dog"]
    assert got == {
        "ok.jpg": [[10, 11, 51, 60, 0]],  # half up: 10.4→10, 10.5→11, 50.5→51, 60.49→60
        "outside.jpg": [[0, 0, 100, 80, 0]],
        "flat.jpg": [[5, 5, 9, 9, 0]],
        "hard.jpg": [[2, 2, 8, 8, 1]],
        "nosize.jpg": [[40, 40, 64, 48, 1]],  # clipped to the size read from the image
        "prefixed.jpg": [[1, 1, 20, 20, 1]],
        "my photo.jpg": [[1, 1, 20, 20, 1]],
    }
    assert report.counts == {
        "malformed XML files skipped": 1, "images not found": 1,
        "boxes clipped to the image": 2, "zero-area boxes dropped": 1,
        "difficult objects dropped": 1,
        "image paths with spaces (kept; read them with yolo3.annotations)": 1}
    kept, _, _ = convert_export(root, ["train"], None, keep_difficult=True, progress=False)
    hard = next(a for a in kept["train"] if a.path.endswith("hard.jpg"))
    assert hard.boxes.tolist() == [[1, 1, 9, 9, 0], [2, 2, 8, 8, 1]]


def test_read_voc_xml_rejects_non_voc(tmp_path):
    path = tmp_path / "x.xml"
    path.write_text("<svg></svg>")
    with pytest.raises(YoloError, match="not a VOC annotation"):
        read_voc_xml(path)


def test_missing_folder(tmp_path):
    with pytest.raises(YoloError, match="no such folder"):
        convert_export(tmp_path / "nope", ["train"], None)
    (tmp_path / "empty").mkdir()
    with pytest.raises(YoloError, match="no Annotations/ folder and no .xml files"):
        convert_export(tmp_path / "empty", ["train"], None)


def test_copied_export_keeps_relative_paths(tmp_path, monkeypatch):
    shutil.copytree(SHADOW, tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    result, _, _ = convert_export(Path("data"), ["train"], None, progress=False)
    assert result["train"][0].path == "data/JPEGImages/20210501_150607_frame_5580.jpg"
