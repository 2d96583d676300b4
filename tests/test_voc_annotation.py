"""voc_annotation.py end to end, as a user runs it (exports written by tests/exports.py)."""

from __future__ import annotations

import exports
from helpers import run_script
from yolo3.data.annotations import read_lines


def check_lists_and_discovered_classes(export, out, summary: list[str], classes: str,
                                       train_lines: int) -> None:
    """voc_annotation.py on ``export``: the summary lines ({out} filled in), the classes
    file it discovered and the number of training lines."""
    result = run_script("voc_annotation.py", "--data_dir", str(export), "--out_dir", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:3] == [line.format(out=out) for line in summary]
    assert (out / "classes.txt").read_text() == classes
    assert len(read_lines(out / "train_list.txt")) == train_lines


def test_vott_export_to_lists_and_discovered_classes(tmp_path):
    check_lists_and_discovered_classes(
        exports.vott1(tmp_path / "vott1"), tmp_path / "project",
        ["train: 3 images (1 without objects), 4 boxes → {out}/train_list.txt",
         "val: 1 images (0 without objects), 1 boxes → {out}/val_list.txt",
         "Classes: 2 discovered, written to {out}/classes.txt"], "helmet\nvest\n", 3)


def test_existing_classes_file_is_used_and_problems_are_summarised(tmp_path):
    data = exports.spaced_class(tmp_path / "data")
    (data / "Annotations" / "bad.xml").write_text("<annotation><object>")
    classes = tmp_path / "custom_classes.txt"
    classes.write_text("car\nmotorcycle\n")
    result = run_script("voc_annotation.py", "--classes_path", str(classes), "--sets", "train",
                        "--out_dir", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Classes: 2 from" in result.stdout
    assert "Note: 1 objects of classes not in the classes file (other vehicles)" in result.stdout
    assert (tmp_path / "train_list.txt").read_text() == (
        "data/JPEGImages/20210501_150607_frame_5580.jpg 603,303,653,398,1 807,325,831,380,1\n")
    (data / "ImageSets").rename(tmp_path / "sets")  # no image sets: every XML, junk too
    result = run_script("voc_annotation.py", "--classes_path", str(classes), "--sets", "train",
                        "--out_dir", str(tmp_path / "again"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Note: 1 malformed XML files skipped (bad.xml)" in result.stdout


def test_nothing_usable_is_an_error_and_writes_nothing(tmp_path):
    data = tmp_path / "data" / "Annotations"
    data.mkdir(parents=True)
    (data / "a.xml").write_text("not xml")
    result = run_script("voc_annotation.py", "--data_dir", str(tmp_path / "data"), "--out_dir",
                        str(tmp_path / "out"))
    assert result.returncode == 1
    assert result.stderr.startswith("voc_annotation.py: error: nothing usable in ")
    assert "1 malformed XML files skipped" in result.stderr
    assert len(result.stderr.splitlines()) == 1 and not (tmp_path / "out").exists()


def test_coco_json(tmp_path):
    path, images = exports.coco(tmp_path)
    result = run_script("voc_annotation.py", "--coco", str(path), "--coco_images", str(images),
                        "--sets", "val", "--out_dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "classes.txt").read_text() == "a\nb\nc\n"
    assert (tmp_path / "val_list.txt").read_text().endswith("b.jpg 0,0,1,2,0\n"
                                                            f"{images}/empty.jpg\n")
    assert "Note: 1 crowd regions dropped" in result.stdout


def test_missing_data_dir(tmp_path):
    result = run_script("voc_annotation.py", "--data_dir", str(tmp_path / "nope"))
    assert result.returncode == 1 and "no such folder" in result.stderr


def test_a_public_sets_own_layout_as_it_is(tmp_path):
    """images/ + annotations/ + train.txt (datitran/raccoon_dataset's layout): the set's
    own training images, nothing to move or rename."""
    check_lists_and_discovered_classes(
        exports.public_set(tmp_path / "raccoon"), tmp_path / "project",
        ["train: 2 images (0 without objects), 2 boxes → {out}/train_list.txt",
         "val: not in the export, no list written",
         "Classes: 1 discovered, written to {out}/classes.txt"], "raccoon\n", 2)
