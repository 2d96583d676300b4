"""Bad input, class 4: images over the pixel limit (decompression bombs) are skipped with
one line, like any unreadable image, in every tool; the rest go on."""

from __future__ import annotations

import shutil
import struct
import zlib

import pytest

from helpers import SAMPLE, partial_files, run_script


def png_header(path, width: int, height: int):
    """A 57-byte PNG that claims ``width`` × ``height`` pixels: signature, IHDR, IEND."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    return path


@pytest.fixture
def folder(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(SAMPLE, photos / "good.jpg")
    png_header(photos / "bomb.png", 60000, 60000)
    return photos


def skipped_lines(stderr: str, name: str) -> list[str]:
    return [line for line in stderr.splitlines() if name in line]


def test_detection_skips_the_bomb_and_annotates_the_rest(tmp_path, tiny_model, folder):
    out = tmp_path / "out"
    result = run_script("yolo_video.py", "--model_path", str(tiny_model), "--image",
                        "--input", str(folder), "--output", str(out), "--json",
                        str(tmp_path / "d.json"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = skipped_lines(result.stderr, "bomb.png")
    assert len(lines) == 1 and "larger than the limit of 150,000,000 pixels" in lines[0]
    assert sorted(p.name for p in out.iterdir()) == ["good.jpg"]
    assert "1 of 2 images" in result.stdout and not partial_files(tmp_path)


def test_the_limit_is_a_flag(tmp_path, tiny_model, folder):
    (folder / "bomb.png").unlink()
    result = run_script("yolo_video.py", "--model_path", str(tiny_model), "--image",
                        "--input", str(folder / "good.jpg"), "--output",
                        str(tmp_path / "o.jpg"), "--max_pixels", "1000")
    assert result.returncode == 1 and "larger than the limit of 1,000 pixels" in result.stderr
    result = run_script("yolo_video.py", "--model_path", str(tiny_model), "--image",
                        "--max_pixels", "0")
    assert result.returncode == 2 and "--max_pixels" in result.stderr


def test_evaluation_skips_the_bomb(tmp_path, tiny_model, folder):
    annot = tmp_path / "val.txt"
    annot.write_text(f"{folder / 'good.jpg'} 30,513,332,744,15\n{folder / 'bomb.png'} 1,1,9,9,0\n")
    result = run_script("evaluate.py", "--annot_file", str(annot), "--classes_path",
                        "model_data/coco_classes.txt", "--model_path", str(tiny_model),
                        "--output_dir", str(tmp_path / "eval"), "--quiet")
    assert result.returncode == 0, result.stderr
    assert len(skipped_lines(result.stderr, "bomb.png")) == 1
    assert (tmp_path / "eval" / "metrics.json").is_file()


def test_anchors_leave_the_bomb_out(tmp_path, folder):
    annot = tmp_path / "train.txt"
    annot.write_text(f"{folder / 'good.jpg'} 30,513,332,744,0\n"
                     f"{folder / 'bomb.png'} 1,1,9,9,0\n")
    result = run_script("kmeans.py", "--annot_file", str(annot), "--num_clusters", "1",
                        "--out_file", str(tmp_path / "a.txt"))
    assert result.returncode == 0, result.stderr
    lines = skipped_lines(result.stderr, "bomb.png")
    assert len(lines) == 1 and "larger than the limit" in lines[0]


def test_training_leaves_the_bomb_out(tmp_path, shapes_export):
    root = tmp_path / "copy"
    shutil.copytree(shapes_export, root)
    first = sorted((root / "data" / "JPEGImages").iterdir())[0]
    png_header(first, 60000, 60000)  # same name, now a bomb
    result = run_script("project/train_azureml.py", "--data_path", str(root), "--input_size",
                        "64", "--epochs", "1", "--num_clusters", "6", "--no_evaluation",
                        "--output_dir", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "Note: 1 unreadable images left out" in result.stdout
    assert (tmp_path / "out" / "trained_model.h5").is_file()


def test_voc_conversion_reads_no_bomb_pixels(tmp_path):
    import exports

    data = tmp_path / "data"
    (data / "JPEGImages").mkdir(parents=True)
    (data / "Annotations").mkdir()
    (data / "Annotations" / "bomb.xml").write_text(
        exports.voc_xml("bomb.png", [("cat", (1, 1, 50, 50))], size=None))
    png_header(data / "JPEGImages" / "bomb.png", 60000, 60000)
    result = run_script("voc_annotation.py", "--data_dir", str(data), "--out_dir",
                        str(tmp_path / "project"), "--quiet")
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert "images whose size is unknown" in result.stdout
