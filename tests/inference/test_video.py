"""yolo3.inference.video and yolo_video.py in video mode: synthetic clips in, same-length
clips out."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from helpers import SAMPLE, run_script
from yolo3.errors import YoloError
from yolo3.inference.video import codec_for, detect_video


def make_clip(path, frames=60, size=(192, 128)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec_for(path)), 15, size)
    sample = cv2.resize(cv2.imread(str(SAMPLE)), size)
    for i in range(frames):
        writer.write(np.roll(sample, i * 2, axis=1))
    writer.release()
    return path


def frames_of(path):
    capture = cv2.VideoCapture(str(path))
    shapes = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        shapes.append(frame.shape)
    capture.release()
    return shapes


@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_sixty_frames_in_sixty_frames_out(tmp_path, tiny_model, suffix):
    clip = make_clip(tmp_path / f"in{suffix}")
    assert len(frames_of(clip)) == 60
    output = tmp_path / f"out{suffix}"
    result = run_script("yolo_video.py", "--model_path", str(tiny_model), "--input", str(clip),
                        "--output", str(output))
    assert result.returncode == 0, result.stderr
    assert frames_of(output) == [(128, 192, 3)] * 60
    assert "Processed 60 frames" in result.stdout
    assert "no display" in result.stderr or "cannot open windows" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([clip.name, output.name])


def test_library_call_without_output(tmp_path, tiny_yolo):
    clip = make_clip(tmp_path / "in.avi", frames=5)
    assert detect_video(tiny_yolo.detector, str(clip), show=False, progress=False) == 5


@pytest.mark.parametrize("name, message", [("out.flv", "unsupported video extension .flv"),
                                           ("out", "unsupported video extension (none)")])
def test_unknown_output_extension(name, message):
    with pytest.raises(YoloError, match=message.replace("(", "\\(").replace(")", "\\)")):
        codec_for(name)


def test_missing_or_unopenable_sources(tmp_path, tiny_yolo):
    with pytest.raises(YoloError, match="no such video file"):
        detect_video(tiny_yolo.detector, str(tmp_path / "none.mp4"), show=False)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video")
    with pytest.raises(YoloError, match="cannot open video file|no frames"):
        detect_video(tiny_yolo.detector, str(junk), tmp_path / "o.mp4", show=False, progress=False)
    assert not (tmp_path / "o.mp4").exists()
    with pytest.raises(YoloError, match="cannot open camera 97"):
        detect_video(tiny_yolo.detector, "97", show=False)
