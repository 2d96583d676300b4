"""Bad input, class 8: re-runs are idempotent and messages say what is actually wrong."""

from __future__ import annotations

import shutil

from helpers import CFG, SAMPLE, assert_one_line_error, run_script, tree_bytes


def test_a_second_run_without_output_skips_its_own_results(tmp_path, tiny_model):
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(SAMPLE, photos / "a.jpg")
    for run in range(2):
        result = run_script("yolo_video.py", "--model_path", str(tiny_model), "--image",
                            "--input", str(photos))
        assert result.returncode == 0, result.stderr
        assert "in 1 of 1 images" in result.stdout, run
    assert sorted(p.name for p in photos.iterdir()) == ["a.jpg", "a_out.jpg"]


def kmeans(tmp_path, line):
    annot = tmp_path / "list.txt"
    annot.write_text(f"{SAMPLE} 30,513,332,744,0\n{line}\n")
    return run_script("kmeans.py", "--annot_file", str(annot), "--num_clusters", "1",
                      "--out_file", str(tmp_path / "a.txt"))


def test_list_mistakes_name_the_line(tmp_path):
    for line, message in [
        (f"{SAMPLE} 1,2,nan,4,0", "list.txt:2: malformed box '1,2,nan,4,0'"),
        (f"{SAMPLE} 1,2,30,40,0 junk", "list.txt:2: 'junk' after the boxes is not a box"),
        (f"{SAMPLE} 50,60,10,20,0", "box 50,60,10,20,0 has no area"),
    ]:
        result = kmeans(tmp_path, line)
        assert_one_line_error(result, message)
        assert not (tmp_path / "a.txt").exists()


def test_boxes_outside_the_image_are_noted_not_clustered(tmp_path):
    result = kmeans(tmp_path, f"{SAMPLE} 5000,5000,5100,5100,0")
    assert result.returncode == 0, result.stderr
    assert "Note: 1 boxes lie wholly outside their image: left out" in result.stderr
    assert result.stdout.startswith("1 boxes → 1 anchors")


def test_a_cfg_without_filters_says_so(tmp_path, tiny_weights):
    cfg = tmp_path / "no-filters.cfg"
    text = (CFG / "yolov3-tiny.cfg").read_text()
    cfg.write_text(text.replace("filters=16\n", "", 1))
    result = run_script("convert.py", str(cfg), str(tiny_weights), str(tmp_path / "m.h5"))
    assert_one_line_error(result, "[convolutional] at line", "missing filters=")


def test_an_unwritable_output_is_found_before_any_image(tmp_path, tiny_model):
    blocker = tmp_path / "file"
    blocker.write_text("")
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(SAMPLE, photos / "a.jpg")
    before = tree_bytes(photos)
    for extra in (["--output", str(blocker / "out")],
                  ["--output", str(tmp_path / "out"), "--json", str(blocker / "d.json")]):
        result = run_script("yolo_video.py", "--model_path", str(tiny_model), "--image",
                            "--input", str(photos), *extra)
        assert_one_line_error(result, "cannot write", "is a file, not a folder")
        assert "Found" not in result.stdout and tree_bytes(photos) == before


def test_a_bad_video_is_one_line(tmp_path, tiny_model):
    video = tmp_path / "broken.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42 but nothing else")
    result = run_script("yolo_video.py", "--model_path", str(tiny_model), "--input",
                        str(video), "--no_window")
    assert_one_line_error(result, "cannot open video file", "broken.mp4")
