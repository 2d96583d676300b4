"""Bad input, class 7: failed or interrupted runs leave earlier outputs as they were and no
temporary file behind (Ctrl-C, SIGTERM, a killed process, a full disk)."""

from __future__ import annotations

import errno
import signal
import subprocess
import sys
import time

import pytest

from helpers import (
    CFG,
    REPO,
    SAMPLE,
    assert_one_line_error,
    interruptible,
    partial_files,
    run_script,
    tree_bytes,
    user_env,
)
from yolo3.errors import YoloError
from yolo3.files import atomic_output


def test_every_input_failing_keeps_the_earlier_report(tmp_path, tiny_model):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not a jpeg")
    report = tmp_path / "detections.json"
    report.write_text('{"earlier.jpg": []}\n')
    result = run_script("yolo_video.py", "--model_path", str(tiny_model), "--image", "--input",
                        str(broken), "--output", str(tmp_path / "out.jpg"), "--json",
                        str(report))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "not written" in result.stderr
    assert report.read_text() == '{"earlier.jpg": []}\n' and not partial_files(tmp_path)


def test_to_darknet_keeps_a_cfg_it_was_not_asked_to_write(tmp_path, tiny_model):
    mine = tmp_path / "back.cfg"
    mine.write_text("[net]\n# my own edits\n")
    before = tree_bytes(tmp_path)
    result = run_script("convert.py", "--to_darknet", str(tiny_model),
                        str(tmp_path / "back.weights"))
    assert_one_line_error(result, "back.cfg exists and differs", "--cfg")
    assert tree_bytes(tmp_path) == before
    mine.write_text((CFG / "yolov3-tiny.cfg").read_text())  # the same cfg: fine
    result = run_script("convert.py", "--to_darknet", str(tiny_model),
                        str(tmp_path / "back.weights"))
    assert result.returncode == 0, result.stderr


def test_annotation_lists_wait_for_a_writable_classes_file(tmp_path):
    import exports

    data = exports.vott1(tmp_path / "data")
    blocker = tmp_path / "file"
    blocker.write_text("")
    out = tmp_path / "project"
    result = run_script("voc_annotation.py", "--data_dir", str(data), "--out_dir", str(out),
                        "--classes_path", str(blocker / "classes.txt"))
    assert_one_line_error(result, "cannot write", "is a file, not a folder")
    assert not out.exists()


def test_sigterm_mid_write_removes_the_temporary_file(tmp_path, random_weights):
    weights = random_weights("yolov3")  # 248 MB: the write takes long enough to interrupt
    out = tmp_path / "yolo.h5"
    out.write_bytes(b"an earlier model")
    process = subprocess.Popen([sys.executable, str(REPO / "convert.py"),
                                str(CFG / "yolov3.cfg"), str(weights), str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=user_env(), preexec_fn=interruptible)
    deadline = time.monotonic() + 120
    while not any(p.stat().st_size > 1 << 20 for p in partial_files(tmp_path)):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    assert stderr.strip().splitlines()[-1] == "convert.py: terminated"
    assert "Traceback" not in stderr
    assert out.read_bytes() == b"an earlier model" and not partial_files(tmp_path)


def test_a_killed_runs_temporary_file_is_removed_by_the_next_write(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    abandoned = tmp_path / f".partial-{dead}-0123abcd-anchors.txt"
    abandoned.write_text("half")
    other = tmp_path / f".partial-{dead}-0123abcd-other.txt"  # another target's: kept
    other.write_text("half")
    annot = tmp_path / "list.txt"
    annot.write_text(f"{SAMPLE} 30,513,332,744,0\n")
    result = run_script("kmeans.py", "--annot_file", str(annot), "--num_clusters", "1",
                        "--out_file", str(tmp_path / "anchors.txt"))
    assert result.returncode == 0, result.stderr
    assert not abandoned.exists() and other.exists()


def test_a_full_disk_is_one_clear_error(tmp_path):
    target = tmp_path / "model.h5"
    target.write_bytes(b"earlier")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "Unable to synchronously write data (file write failed: "
                      "errno = 28, error message = 'No space left on device')")

    with (pytest.raises(YoloError, match="cannot write .*model.h5: no space left on the "
                                         "device"), atomic_output(target) as tmp):
        tmp.write_bytes(b"half")
        full()
    assert target.read_bytes() == b"earlier" and not partial_files(tmp_path)


def test_ctrl_c_is_one_line(tmp_path, tiny_model):
    process = subprocess.Popen([sys.executable, str(REPO / "yolo_video.py"), "--model_path",
                                str(tiny_model), "--image"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=user_env(), preexec_fn=interruptible)
    deadline = time.monotonic() + 120
    line = ""
    while "Input image filename" not in line:  # the prompt: the model is loaded
        assert time.monotonic() < deadline
        line += process.stdout.read(1)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=60)  # stdin stays open: EOF would end the prompt loop by itself
    stderr = process.stderr.read()
    process.stdin.close()
    assert process.returncode == 130 and stderr.strip().splitlines() == [
        "yolo_video.py: interrupted"]
