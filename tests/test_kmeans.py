"""kmeans.py end to end: anchors file in keras-yolo3's format, metrics, plot, errors."""

from __future__ import annotations

import numpy as np
from PIL import Image

from helpers import run_script
from yolo3.classfiles import read_anchors


def make_list(tmp_path, n=60):
    rng = np.random.default_rng(0)
    lines = []
    for i in range(n):
        path = tmp_path / f"img{i}.jpg"
        Image.new("RGB", (832, 624)).save(path)
        w, h = rng.integers(20, 400, size=2)
        lines.append(f"{path} 10,10,{10 + w},{10 + h},0")
    annot = tmp_path / "train_list.txt"
    annot.write_text("\n".join(lines) + "\n")
    return annot


def test_anchors_in_network_input_pixels(tmp_path):
    annot = make_list(tmp_path)
    out = tmp_path / "custom_anchors.txt"
    result = run_script("kmeans.py", "--annot_file", str(annot), "--out_file", str(out),
                        "--num_clusters", "6", "--seed", "3", "--plot", str(tmp_path / "a.png"))
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert "\n" not in text and text.count(", ") == 5  # one line: w,h, w,h, ...
    anchors = read_anchors(out)
    assert anchors.shape == (6, 2) and anchors.max() <= 416 * 400 / 832 + 1  # scale 0.5
    assert "Mean IoU: " in result.stdout and "Best possible recall" in result.stdout
    assert (tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"
    again = run_script("kmeans.py", "--annot_file", str(annot), "--out_file",
                       str(tmp_path / "b.txt"), "--num_clusters", "6", "--seed", "3")
    assert again.returncode == 0 and (tmp_path / "b.txt").read_text() == text  # reproducible


def test_original_units_and_errors(tmp_path):
    annot = make_list(tmp_path, n=4)
    result = run_script("kmeans.py", "--annot_file", str(annot), "--out_file",
                        str(tmp_path / "o.txt"), "--num_clusters", "9")
    assert result.returncode == 1
    assert "4 distinct box shapes cannot make 9 clusters" in result.stderr
    assert not (tmp_path / "o.txt").exists()
    result = run_script("kmeans.py", "--annot_file", str(annot), "--out_file",
                        str(tmp_path / "o.txt"), "--num_clusters", "2", "--input_size", "0")
    assert result.returncode == 0 and "original-image pixels" in result.stdout
    result = run_script("kmeans.py", "--annot_file", str(tmp_path / "none.txt"))
    assert result.returncode == 1 and "no such file" in result.stderr
    result = run_script("kmeans.py", "--annot_file", str(annot), "--input_size", "400")
    assert result.returncode == 2 and "multiple of 32" in result.stderr
