"""yolo3.data.voc on exports written in code with the quirks of real exporters (tests/exports.py)
and on hand-made broken ones. The same converters on the real files: test_real_exports.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

import exports
from yolo3.data.voc import convert_export, read_voc_xml
from yolo3.errors import YoloError


def lines(result, set_name):
    return [a.to_line() for a in result[set_name]]


def test_vott1_extensionless_filenames_no_difficult_and_class_image_sets(tmp_path):
    root = exports.vott1(tmp_path / "vott1")
    result, classes, report = convert_export(root, ["train", "val"], None, progress=False)
    assert classes == ["helmet", "vest"]
    assert lines(result, "train") == [
        f"{root}/JPEGImages/img_0.jpg 345,197,360,209,0 390,206,404,220,0",
        f"{root}/JPEGImages/img_1.jpg",  # an empty XML: a negative
        f"{root}/JPEGImages/img_2.jpg 10,20,110,220,1 30,5,60,25,0"]  # in two class files, once
    assert lines(result, "val") == [f"{root}/JPEGImages/img_3.jpg 1,2,50,60,1"]
    assert not report.counts


def test_vott2_percent_encoded_names_float_boxes_and_prefixes(tmp_path):
    root = exports.vott2(tmp_path / "vott2")
    result, classes, report = convert_export(root, ["train", "val"], None, progress=False)
    assert classes == ["H", "car"]
    first = result["train"][0]
    assert first.path == str(root / "JPEGImages" / f"{exports.VOTT2_STEM}.jpg")
    # 64.10395838850636, 74.73898125772422, 356.47910321769064, 359.12317101430085 → half up
    assert first.boxes.tolist() == [[64, 75, 356, 359, 1]]
    assert result["train"][1].boxes.tolist() == [[0, 10, 416, 201, 0]]  # clipped, half up
    assert lines(result, "val") == [f"{root}/JPEGImages/street.jpg 6,6,101,90,1"]  # data%2F
    assert report.counts == {"boxes clipped to the image": 1}


def test_vocdevkit_zero_area_duplicates_readmes_and_appledouble(tmp_path):
    root = exports.vocdevkit(tmp_path / "VOC2007")
    result, classes, report = convert_export(root, ["train", "val"], None, progress=False)
    assert classes == ["cat", "dog"]
    assert (len(result["train"]), len(result["val"])) == (3, 2)  # val: no final newline
    assert [a.boxes.tolist() for a in result["train"]] == [
        [[5, 5, 60, 50, 0]], [[1, 1, 30, 30, 1]], [[4, 4, 40, 44, 1], [4, 4, 40, 44, 1]]]
    assert report.counts["zero-area boxes dropped"] == 2
    assert all(Path(a.path).suffix == ".jpg" for a in result["train"])  # README.md ignored
    (root / "ImageSets" / "Main" / "train.txt").unlink()
    (root / "ImageSets" / "Main" / "val.txt").unlink()
    junk = convert_export(root, ["train"], None, progress=False)[2]  # every XML, junk too
    assert junk.counts["malformed XML files skipped"] == 1
    assert junk.examples["malformed XML files skipped"] == ["._000001.xml"]


def test_given_classes_drop_unknown_names_and_keep_the_order(tmp_path):
    root = exports.labelimg(tmp_path / "labelimg")
    result, classes, report = convert_export(root, ["train"], ["yolo_face", "person"],
                                             progress=False)
    assert classes == ["yolo_face", "person"]
    assert report.counts["objects of classes not in the classes file"] == 1  # dog
    assert report.counts["difficult objects dropped"] == 1
    assert [a.boxes.tolist() for a in result["train"]] == [[[10, 10, 60, 70, 1]],
                                                           [[1, 1, 30, 50, 1]]]


def test_labelimg_folder_and_class_names_with_spaces(tmp_path):
    root = exports.spaced_class(tmp_path / "shadow")
    result, classes, _ = convert_export(root, ["train", "val"], None, progress=False)
    assert classes == ["motorcycle", "other vehicles"]
    assert lines(result, "train") == [
        f"{root}/JPEGImages/20210501_150607_frame_5580.jpg "
        "603,303,653,398,0 807,325,831,380,0 852,303,912,393,1"]
    result, classes, _ = convert_export(exports.labelimg(tmp_path / "labelimg"), ["train"],
                                        None, progress=False)
    assert classes == ["dog", "person"]  # yolo_face only on a difficult object
    assert len(result["train"]) == 2 and sum(len(a.boxes) for a in result["train"]) == 3


def test_video_frame_names_with_hash(tmp_path):
    root = exports.video_frames(tmp_path / "purdue")
    result, classes, _ = convert_export(root, ["train"], None, progress=False)
    assert classes == ["left_turn", "straight"]
    frame = next(a for a in result["train"] if a.path.endswith("#t=180.1.jpg"))
    assert frame.boxes.tolist() == [[837, 588, 965, 645, 1], [507, 590, 668, 646, 0]]
    assert sum(len(a.boxes) == 0 for a in result["train"]) == 1


def test_datumaro_layout_hazards(tmp_path):
    first, second = exports.datumaro(tmp_path / "datumaro")
    # an image set with a comment and a blank line; an id without XML
    result, _, report = convert_export(first, ["train", "test"], None, progress=False)
    assert report.counts["ids without an XML file"] == 1
    assert [Path(a.path).name for a in result["train"]] == ["2007_000001.jpg"]
    # XMLs without <size> and without any JPEGImages folder: images not found
    _, _, report = convert_export(second, ["trainval"], None, progress=False)
    assert report.counts["images not found"] == 2


def test_copied_export_keeps_relative_paths(tmp_path, monkeypatch):
    shutil.copytree(exports.spaced_class(tmp_path / "shadow"), tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    result, _, _ = convert_export(Path("data"), ["train"], None, progress=False)
    assert result["train"][0].path == "data/JPEGImages/20210501_150607_frame_5580.jpg"


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
        "image paths with spaces (kept; read them with yolo3.data.annotations)": 1}
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


def test_a_public_sets_own_layout(tmp_path):
    """images/ beside annotations/, <path> on the labeller's disk, train.txt/test.txt: the
    set's own split; the annotations folder given itself finds the sibling images."""
    root = exports.public_set(tmp_path / "raccoon")
    per_set, classes, report = convert_export(root, ["train", "val", "test"], None)
    assert classes == ["raccoon"] and not report.lines()
    assert [Path(a.path).name for a in per_set["train"]] == ["raccoon-1.jpg", "raccoon-3.jpg"]
    assert [Path(a.path).name for a in per_set["test"]] == ["raccoon-2.jpg"]
    assert "val" not in per_set
    assert all(Path(a.path).parent == root / "images" for a in per_set["train"])
    whole, _, report = convert_export(root / "annotations", ["train"], None)
    assert len(whole["train"]) == 3 and not report.lines()
