"""Bad input, class 1: an output that would replace an input is refused before any work.

Each case runs the real script as a user would and checks: non-zero exit, no traceback,
one stderr line naming the problem, the inputs byte-identical, no temporary file left.
"""

from __future__ import annotations

import os
import shutil

import pytest

from helpers import CFG, SAMPLE, assert_one_line_error, partial_files, run_script, tree_bytes


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(SAMPLE, folder / "a.jpg")
    shutil.copy(SAMPLE, folder / "b.jpg")
    return folder


@pytest.mark.parametrize("case", ["same file", "same folder", "folder through a link",
                                  "glob into its own folder", "json onto an image"])
def test_detection_never_replaces_the_photos(tmp_path, tiny_model, photos, case):
    os.symlink(photos, tmp_path / "link")
    args = {
        "same file": ["--input", str(photos / "a.jpg"), "--output", str(photos / "a.jpg")],
        "same folder": ["--input", str(photos), "--output", str(photos)],
        "folder through a link": ["--input", str(photos), "--output", str(tmp_path / "link")],
        "glob into its own folder": ["--input", str(photos / "*.jpg"), "--output", str(photos)],
        "json onto an image": ["--input", str(photos), "--output", str(tmp_path / "out"),
                               "--json", str(photos / "b.jpg")],
    }[case]
    before = tree_bytes(photos)
    result = run_script("yolo_video.py", "--model_path", str(tiny_model), "--image", *args)
    assert_one_line_error(result, "refusing to write", "it is the input")
    assert tree_bytes(photos) == before and not partial_files(tmp_path)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("target", ["model", "classes", "anchors", "video onto the model"])
def test_detection_never_replaces_the_model_or_its_files(tmp_path, tiny_model, target):
    """--json (or a video's --output) naming the model, classes or anchors file is refused
    before anything is written: all three stay as they were."""
    model = tmp_path / "model.h5"
    shutil.copy(tiny_model, model)
    classes = tmp_path / "classes.txt"
    classes.write_text("".join(f"c{i}\n" for i in range(80)))
    anchors = tmp_path / "anchors.txt"
    anchors.write_text("10,14, 23,27, 37,58, 81,82, 135,169, 344,319\n")
    before = tree_bytes(tmp_path)
    files = ["--model_path", str(model), "--classes_path", str(classes), "--anchors_path",
             str(anchors)]
    if target == "video onto the model":
        args = ["--input", str(tmp_path / "clip.mp4"), "--output", str(model)]
    else:
        chosen = {"model": model, "classes": classes, "anchors": anchors}[target]
        args = ["--image", "--input", str(SAMPLE), "--output", str(tmp_path / "out"),
                "--json", str(chosen)]
    result = run_script("yolo_video.py", *files, *args)
    assert_one_line_error(result, "refusing to write", "it is the input")
    assert tree_bytes(tmp_path) == before and not partial_files(tmp_path)


def test_a_video_is_not_written_onto_itself(tmp_path, tiny_model):
    import cv2
    import numpy as np

    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"XVID"), 5, (64, 48))
    for i in range(3):
        writer.write(np.full((48, 64, 3), 40 * i, np.uint8))
    writer.release()
    before = tree_bytes(video)
    result = run_script("yolo_video.py", "--model_path", str(tiny_model), "--input",
                        str(video), "--output", str(video), "--no_window")
    assert_one_line_error(result, "refusing to write", "it is the input")
    assert tree_bytes(video) == before and not partial_files(tmp_path)


def test_anchors_never_replace_the_training_list(tmp_path):
    annot = tmp_path / "train_list.txt"
    annot.write_text(f"{SAMPLE} 10,10,100,120,0\n")
    before = tree_bytes(annot)
    for extra in (["--out_file", str(annot)], ["--plot", str(annot)]):
        result = run_script("kmeans.py", "--annot_file", str(annot), "--num_clusters", "1",
                            *extra)
        assert_one_line_error(result, "refusing to write", "train_list.txt")
        assert tree_bytes(annot) == before


def test_conversion_never_replaces_its_inputs(tmp_path, tiny_weights):
    cfg = tmp_path / "yolov3-tiny.cfg"
    shutil.copy(CFG / "yolov3-tiny.cfg", cfg)
    weights = tmp_path / "tiny.weights"
    os.symlink(tiny_weights, weights)
    before = tree_bytes(cfg)
    result = run_script("convert.py", str(cfg), str(weights), str(cfg))
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert tree_bytes(cfg) == before and not partial_files(tmp_path)


@pytest.mark.parametrize("name", ["metrics.json", "confusion_matrix.png",
                                  "predictions.png", "confidence_curves.png"])
def test_evaluation_report_never_replaces_its_inputs(tmp_path, name):
    annot = tmp_path / "val_list.txt"
    annot.write_text(f"{SAMPLE} 10,10,100,120,0\n")
    classes = tmp_path / "classes.txt"
    classes.write_text("cat\n")
    detections = tmp_path / name  # a detections file named like one of the outputs
    detections.write_text("{}")
    before = tree_bytes(tmp_path)
    result = run_script("evaluate.py", "--annot_file", str(annot), "--classes_path",
                        str(classes), "--detections", str(detections), "--output_dir",
                        str(tmp_path))
    assert_one_line_error(result, "refusing to write", name)
    assert tree_bytes(tmp_path) == before


def test_training_never_replaces_its_list(tmp_path, shapes_export):
    out = tmp_path / "outputs"
    out.mkdir()
    annot = out / "train_list.txt"
    annot.write_text(f"{SAMPLE} 10,10,100,120,0\n")
    classes = tmp_path / "classes.txt"
    classes.write_text("cat\n")
    before = tree_bytes(out)
    result = run_script("project/train_azureml.py", "--annotation_file", str(annot),
                        "--class_path", str(classes), "--output_dir", str(out),
                        "--overwrite", "--epochs", "1")
    assert_one_line_error(result, "refusing to write", "train_list.txt")
    assert tree_bytes(out) == before
