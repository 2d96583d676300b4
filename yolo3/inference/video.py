"""Detection over a video file or a camera, writing an annotated video.

Frames come from OpenCV as BGR and are converted to RGB before detection (keras-yolo3
fed BGR to an RGB model). The stream ends cleanly at its last frame, the capture and the
writer are always released, and the output codec follows the output file's extension.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from yolo3.errors import YoloError
from yolo3.files import atomic_output, refuse_overwriting_inputs
from yolo3.images import draw_detections

CODECS = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "XVID", ".mkv": "XVID"}
WINDOW = "result"


def codec_for(path: str | Path) -> str:
    """The FourCC that OpenCV's pip builds can write for this extension."""
    suffix = Path(path).suffix.lower()
    if suffix not in CODECS:
        raise YoloError(f"{path}: unsupported video extension {suffix or '(none)'} "
                        f"(use one of {', '.join(CODECS)})")
    return CODECS[suffix]


def open_capture(source: str | int) -> tuple[cv2.VideoCapture, bool]:
    """Open a camera index (an int, or a string of digits) or a video file.

    Returns the capture and whether it is a file (files have a known frame count).
    """
    if isinstance(source, str) and source.isdigit():
        source = int(source)
    # what cannot be opened is said in one line below, not in OpenCV's and FFmpeg's own
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    is_file = not isinstance(source, int)
    if is_file and not Path(source).is_file():
        raise YoloError(f"{source}: no such video file")
    capture = cv2.VideoCapture(source if is_file else source)
    if not capture.isOpened():
        capture.release()
        kind = "video file" if is_file else "camera"
        raise YoloError(f"cannot open {kind} {source}")
    return capture, is_file


class _Window:
    """A display window where the OpenCV build and a display allow one."""

    def __init__(self, wanted: bool | None):
        self.open = False
        if wanted is False:
            return
        if wanted is None and not (os.environ.get("DISPLAY") or sys.platform in ("win32",
                                                                                 "darwin")):
            print("note: no display; processing without a window", file=sys.stderr)
            return
        try:
            cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL)
            self.open = True
        except cv2.error:
            print("note: this OpenCV build cannot open windows; processing without one",
                  file=sys.stderr)

    def show(self, frame: np.ndarray) -> bool:
        """Show a frame; False when the user pressed q."""
        if not self.open:
            return True
        cv2.imshow(WINDOW, frame)
        return cv2.waitKey(1) & 0xFF != ord("q")

    def close(self) -> None:
        if self.open:
            cv2.destroyWindow(WINDOW)


class _FpsMeter:
    """keras-yolo3's overlay: frames counted over each elapsed second."""

    def __init__(self):
        self.text, self.frames, self.elapsed, self.last = "FPS: ??", 0, 0.0, time.perf_counter()

    def tick(self) -> str:
        now = time.perf_counter()
        self.elapsed += now - self.last
        self.last = now
        self.frames += 1
        if self.elapsed > 1:
            self.elapsed -= 1
            self.text, self.frames = f"FPS: {self.frames}", 0
        return self.text


def detect_video(detector, source: str | int = 0, output_path: str | Path | None = None,
                 show: bool | None = None, progress: bool = True) -> int:
    """Annotate every frame of ``source``; write them to ``output_path`` when given.

    ``detector`` is any yolo3.inference.base.DetectorBase (the YOLO class holds one as
    ``.detector``): TensorFlow or ONNX Runtime.
    Returns the number of frames processed. Pressing q in the
    window or Ctrl-C stops early and keeps what was written.
    """
    from tqdm import tqdm

    fourcc = codec_for(output_path) if output_path else None
    if output_path and not str(source).isdigit():
        refuse_overwriting_inputs([output_path], [source])
    capture, is_file = open_capture(source)
    window, writer, frames = None, None, 0
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if is_file else None
    fps = capture.get(cv2.CAP_PROP_FPS)
    fps = fps if fps and np.isfinite(fps) and fps > 0 else 30.0
    meter = _FpsMeter()
    with _output(output_path) as tmp:
        try:
            window = _Window(show)
            with tqdm(total=total or None, unit="frame", disable=not progress,
                      file=sys.stderr) as bar:
                while True:
                    ok, frame = capture.read()
                    if not ok or frame is None:
                        break
                    annotated = _annotate(detector, frame)
                    cv2.putText(annotated, meter.tick(), (3, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                                (255, 0, 0), 2)
                    if tmp is not None:
                        if writer is None:
                            writer = _open_writer(tmp, fourcc, fps, annotated.shape, output_path)
                        writer.write(annotated)
                    frames += 1
                    bar.update(1)
                    if not window.show(annotated):
                        break
        except KeyboardInterrupt:
            print(f"\nstopped after {frames} frames", file=sys.stderr)
        finally:
            capture.release()
            if writer is not None:
                writer.release()
            if window is not None:
                window.close()
        if frames == 0:
            raise YoloError(f"{source}: no frames could be read")
    return frames


def _output(output_path):
    if output_path is None:
        from contextlib import nullcontext

        return nullcontext(None)
    return atomic_output(output_path)


def _open_writer(path: Path, fourcc: str, fps: float, shape, output_path) -> cv2.VideoWriter:
    height, width = shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    if not writer.isOpened():
        raise YoloError(f"cannot write video {output_path} with codec {fourcc}")
    return writer


def _annotate(detector, frame_bgr: np.ndarray) -> np.ndarray:
    rgb = np.ascontiguousarray(frame_bgr[..., ::-1])
    detections = detector.detect(rgb)
    drawn = draw_detections(Image.fromarray(rgb), detections, detector.num_classes)
    return np.ascontiguousarray(np.asarray(drawn)[..., ::-1])
