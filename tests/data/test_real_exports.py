"""The opt-in second check: the converters on real exports from public repositories.

These read ``../shared/fixtures/annotations`` beside the checkout (this project's own
machines have it; a user's clone does not), so they skip, visibly, where it is absent.
Every quirk they exercise also has a self-contained test on a written-in-code export
(tests/exports.py) in test_voc.py, test_coco.py and test_voc_annotation.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from helpers import run_script
from yolo3.data.coco import convert_coco
from yolo3.data.voc import convert_export
from yolo3.errors import YoloError

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "annotations"
pytestmark = pytest.mark.skipif(
    not FIXTURES.is_dir(),
    reason="../shared/fixtures/annotations is absent (the opt-in check on real exports)")

OPENHACK = FIXTURES / "vott1__armanrahman22__openhack_toronto" / "images_output"
VOTT2 = FIXTURES / "vott2__dwdwdw37__voc_dataset"
YDDCODE = FIXTURES / "keras-yolo3-fork__yddcode__yolo-keras" / "VOCdevkit" / "VOC2007"
HIROTAKA = FIXTURES / "keras-yolo3-fork__hirotaka001__keras-yolo3" / "VOCdevkit" / "VOC2007"
LABELIMG = FIXTURES / "labelimg__HumanSignal__labelImg" / "test_images"
DATUMARO = FIXTURES / "openvinotoolkit__datumaro" / "tests" / "assets" / "voc_dataset"
PURDUE = FIXTURES / "vott2__Purdue-SIMPLE-Lab__dataset"
SHADOW = FIXTURES / "vott2__shadow17t__Object-Tagging-PascalVOC-export"
COCO_DATUMARO = FIXTURES / "openvinotoolkit__datumaro/tests/assets/coco_dataset/coco_instances"
MMDET = FIXTURES / "open-mmlab__mmdetection/tests/data/coco_sample.json"


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


def test_copied_export_keeps_relative_paths(tmp_path, monkeypatch):
    shutil.copytree(SHADOW, tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    result, _, _ = convert_export(Path("data"), ["train"], None, progress=False)
    assert result["train"][0].path == "data/JPEGImages/20210501_150607_frame_5580.jpg"


# COCO

def test_category_id_gaps_and_crowd_regions():
    lines, names, report = convert_coco(COCO_DATUMARO / "annotations/instances_val.json",
                                        COCO_DATUMARO / "images/val")
    assert names == ["a", "b", "c"]  # ids 1, 2, 4 → 0, 1, 2
    assert [a.to_line() for a in lines] == [f"{COCO_DATUMARO}/images/val/b.jpg 0,0,1,2,0"]
    assert report.counts == {"crowd regions dropped": 1}
    lines, _, _ = convert_coco(COCO_DATUMARO / "annotations/instances_train.json",
                               COCO_DATUMARO / "images/train")
    assert [a.to_line() for a in lines] == [f"{COCO_DATUMARO}/images/train/a.jpg 2,2,5,3,1"]


def test_images_without_annotations_are_negatives(tmp_path):
    for name in ("fake1.jpg", "fake2.jpg", "fake3.jpg"):
        Image.new("RGB", (800, 800)).save(tmp_path / name)
    lines, names, report = convert_coco(MMDET, tmp_path)
    assert names == ["bus", "car"]
    assert [a.to_line().replace(f"{tmp_path}/", "") for a in lines] == [
        "fake1.jpg 0,0,20,20,0 0,0,20,20,1", "fake2.jpg 0,0,20,20,0", "fake3.jpg"]
    assert not report.counts


def test_missing_images_and_bad_json(tmp_path):
    lines, _, report = convert_coco(MMDET, tmp_path)
    assert lines == [] and report.counts == {"images not found": 3}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"images": []}))
    with pytest.raises(YoloError, match="not a COCO instances file"):
        convert_coco(bad, tmp_path)


# voc_annotation.py

def test_vott_export_to_lists_and_discovered_classes(tmp_path):
    from test_voc_annotation import check_lists_and_discovered_classes

    check_lists_and_discovered_classes(
        OPENHACK, tmp_path / "project",
        ["train: 233 images (149 without objects), 115 boxes → {out}/train_list.txt",
         "val: 17 images (14 without objects), 3 boxes → {out}/val_list.txt",
         "Classes: 1 discovered, written to {out}/classes.txt"], "helmet\n", 233)


def test_existing_classes_file_is_used_and_problems_are_summarised(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(SHADOW, data)
    (data / "Annotations" / "bad.xml").write_text("<annotation><object>")
    classes = tmp_path / "custom_classes.txt"
    classes.write_text("car\nmotorcycle\n")
    result = run_script("voc_annotation.py", "--classes_path", str(classes), "--sets", "train",
                        "--out_dir", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Classes: 2 from" in result.stdout
    assert "Note: 1 malformed XML files skipped (bad.xml)" in result.stdout
    assert "Note: 1 objects of classes not in the classes file (other vehicles)" in result.stdout
    assert (tmp_path / "train_list.txt").read_text() == (
        "data/JPEGImages/20210501_150607_frame_5580.jpg 603,303,653,398,1 807,325,831,380,1\n")


def test_coco_json(tmp_path):
    result = run_script("voc_annotation.py", "--coco",
                        str(COCO_DATUMARO / "annotations/instances_val.json"), "--coco_images",
                        str(COCO_DATUMARO / "images/val"), "--sets", "val", "--out_dir",
                        str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "classes.txt").read_text() == "a\nb\nc\n"
    assert (tmp_path / "val_list.txt").read_text().endswith("b.jpg 0,0,1,2,0\n")
    assert "Note: 1 crowd regions dropped" in result.stdout


RACCOON = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "raccoon"


@pytest.mark.skipif(not RACCOON.is_dir(),
                    reason="../shared/datasets/raccoon is absent (the opt-in real-photo set)")
def test_the_raccoon_set_as_it_is(tmp_path):
    """200 real photos in images/ beside annotations/ (LabelImg XML whose <path> is the
    labeller's disk), split by train.txt/test.txt: voc_annotation.py lists the 160
    training photos (the 40 test photos only when asked for)."""
    result = run_script("voc_annotation.py", "--data_dir", str(RACCOON), "--out_dir",
                        str(tmp_path), "--sets", "train", "test", "--quiet")
    assert result.returncode == 0, result.stderr
    train = {Path(line.split()[0]).name for line in
             (tmp_path / "train_list.txt").read_text().splitlines()}
    test = {Path(line.split()[0]).name for line in
            (tmp_path / "test_list.txt").read_text().splitlines()}
    assert (len(train), len(test), train & test) == (160, 40, set())
    assert (tmp_path / "classes.txt").read_text() == "raccoon\n"
