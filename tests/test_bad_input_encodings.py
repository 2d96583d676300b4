"""Bad input, class 5: text files saved as UTF-16 (Windows PowerShell's ``>``), with a
BOM, or in a legacy encoding. The first two are read; the last is one clear line."""

from __future__ import annotations

import codecs
import json

import pytest
from PIL import Image

import exports
from helpers import REPO, SAMPLE, assert_one_line_error, run_script, tree_bytes
from yolo3.files import read_text

ENCODINGS = {
    "utf-8": lambda text: text.encode("utf-8"),
    "utf-8 with BOM": lambda text: codecs.BOM_UTF8 + text.encode("utf-8"),
    "utf-16 (PowerShell)": lambda text: text.encode("utf-16"),  # BOM + little-endian
    "utf-16-be with BOM": lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
    "utf-32 with BOM": lambda text: text.encode("utf-32"),
}


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_read_text_reads_what_editors_write(tmp_path, encoding):
    path = tmp_path / "names.txt"
    path.write_bytes(ENCODINGS[encoding]("café\r\nnaïve\n"))
    assert read_text(path) == "café\r\nnaïve\n"


@pytest.mark.parametrize("encoding", ["utf-8 with BOM", "utf-16 (PowerShell)"])
def test_scripts_read_lists_and_classes_in_each_encoding(tmp_path, encoding):
    photo = tmp_path / "é photo.jpg"
    Image.open(SAMPLE).save(photo)
    annot = tmp_path / "list.txt"
    annot.write_bytes(ENCODINGS[encoding](f"{photo} 30,513,332,744,0\n"))
    result = run_script("kmeans.py", "--annot_file", str(annot), "--num_clusters", "1",
                        "--out_file", str(tmp_path / "anchors.txt"))
    assert result.returncode == 0, result.stderr
    classes = tmp_path / "classes.txt"
    classes.write_bytes(ENCODINGS[encoding]("chat\n"))
    report = tmp_path / "d.json"
    report.write_bytes(ENCODINGS[encoding](json.dumps({str(photo): []})))
    result = run_script("evaluate.py", "--annot_file", str(annot), "--classes_path",
                        str(classes), "--detections", str(report), "--output_dir",
                        str(tmp_path / "eval"))
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["voc_map50"] == 0


def test_coco_json_saved_as_utf16(tmp_path):
    path, images = exports.coco(tmp_path)
    path.write_bytes(path.read_text().encode("utf-16"))
    result = run_script("voc_annotation.py", "--coco", str(path), "--coco_images", str(images),
                        "--out_dir", str(tmp_path / "p"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "p" / "classes.txt").read_text() == "a\nb\nc\n"


@pytest.mark.parametrize("script, flag", [
    ("kmeans.py", "--annot_file"),
    ("evaluate.py", "--classes_path"),
    ("project/train_azureml.py", "--class_path"),
    ("convert.py", "cfg"),
])
def test_latin1_is_one_line_naming_the_file(tmp_path, script, flag):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("caf\xe9 1,2,3,4,0\n".encode("latin-1"))
    good_list = tmp_path / "list.txt"
    good_list.write_text(f"{SAMPLE} 30,513,332,744,0\n")
    before = tree_bytes(tmp_path)
    args = {
        "--annot_file": ["--annot_file", str(bad), "--out_file", str(tmp_path / "a.txt")],
        "--classes_path": ["--annot_file", str(good_list), "--classes_path", str(bad),
                           "--detections", str(good_list), "--output_dir", str(tmp_path / "e")],
        "--class_path": ["--annotation_file", str(good_list), "--class_path", str(bad),
                         "--output_dir", str(tmp_path / "o")],
        "cfg": [str(bad), str(REPO / "README.md"), str(tmp_path / "m.h5")],
    }[flag]
    result = run_script(script, *args)
    assert_one_line_error(result, "latin1.txt: not UTF-8 text (byte 0xe9 at offset 3)")
    assert tree_bytes(tmp_path) == before
