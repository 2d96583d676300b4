"""yolo_video.py in image mode, run as a user runs it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from PIL import Image

from helpers import REPO, SAMPLE, run_script


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(SAMPLE, folder / "collage.jpg")
    Image.open(SAMPLE).convert("L").save(folder / "grey.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (folder / "notes.txt").write_text("not an image, not picked up")
    return folder


def test_folder_with_a_broken_file(tmp_path, tiny_model, photos):
    out, report = tmp_path / "annotated", tmp_path / "detections.json"
    result = run_script("yolo_video.py", "--model-path", str(tiny_model), "--image",
                        "--input", str(photos), "--output", str(out), "--json", str(report),
                        "--conf", "0.5")
    assert result.returncode == 1  # one image failed
    assert "Found 6 objects in 2 of 3 images; 1 failed: " in result.stdout
    errors = [line for line in result.stderr.splitlines() if "broken.jpg" in line]
    assert len(errors) == 1 and errors[0].startswith("skipped: ")
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["collage.jpg", "grey.png"]
    detections = json.loads(report.read_text())
    assert sorted(detections) == [str(photos / "collage.jpg"), str(photos / "grey.png")]
    names = sorted(d["class_name"] for d in detections[str(photos / "collage.jpg")])
    assert names == ["cat", "cup", "person"]
    first = detections[str(photos / "collage.jpg")][0]
    assert set(first) == {"class_id", "class_name", "score", "box"} and len(first["box"]) == 4


def test_single_file_to_a_file_and_glob(tmp_path, tiny_model, photos):
    target = tmp_path / "one.png"
    result = run_script("yolo_video.py", "--model_path", str(tiny_model), "--image", "--input",
                        str(photos / "collage.jpg"), "--output", str(target))
    assert result.returncode == 0, result.stderr
    assert Image.open(target).size == Image.open(SAMPLE).size
    result = run_script("yolo_video.py", "--model_path", str(tiny_model), "--image", "--input",
                        str(photos / "*.png"))
    assert result.returncode == 0, result.stderr
    assert (photos / "grey_out.png").exists()  # beside the input without --output


def test_interactive_prompt(tmp_path, tiny_model):
    shutil.copy(SAMPLE, tmp_path / "in.jpg")
    result = subprocess.run(
        [sys.executable, str(REPO / "yolo_video.py"), "--model_path", str(tiny_model),
         "--image"], input="missing.jpg\nin.jpg\n", capture_output=True, text=True,
        cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("Input image filename:") == 3
    assert "Open Error! Try again!" in result.stderr
    assert "Found 3 objects" in result.stdout and (tmp_path / "in_out.jpg").exists()


@pytest.mark.parametrize("argv, message", [
    (["--json", "x.json"], "--json applies to image mode"),
    (["--modle_path", "m.h5"], "unrecognized arguments: --modle_path"),
    (["--model_image_size", "400"], "multiples of 32"),
    (["--score", "2"], "not between 0 and 1"),
    (["--model_p", "m.h5"], "unrecognized arguments"),  # no silent abbreviations
])
def test_usage_errors(argv, message):
    result = run_script("yolo_video.py", *argv)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and message in result.stderr


def test_missing_model_and_inputs(tmp_path, tiny_model):
    result = run_script("yolo_video.py", "--model_path", str(tmp_path / "no.h5"), "--image",
                        "--input", str(SAMPLE))
    assert result.returncode == 1
    missing = tmp_path / "no.h5"
    assert result.stderr.strip() == f"yolo_video.py: error: {missing}: no such model file"
    result = run_script("yolo_video.py", "--model_path", str(tiny_model), "--image", "--input",
                        str(tmp_path / "nothing*.jpg"))
    assert result.returncode == 1 and "no files match" in result.stderr
