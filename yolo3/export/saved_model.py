"""A model as a TensorFlow SavedModel for TF Serving and other TensorFlow runtimes.

Two signatures, both the TensorFlow detector's own graph:
- ``serving_default``: ``image_bytes`` string (B,) — encoded JPEG/PNG/BMP/GIF, as a REST
  client sends them base64-encoded — decoded and letterboxed inside the graph (the
  letterbox's geometry exactly; resizing with TensorFlow's area / bicubic kernels, which
  differ from OpenCV's by a grey level or so), detected with the export's NMS defaults;
- ``detect``: the ONNX export's inputs (letterboxed uint8 images, their letterbox rows,
  score and IoU thresholds), for clients that letterbox as inference does.
Outputs of both: ``boxes`` (B, K, 4) in original-image pixels, ``scores``, ``classes``,
``counts``. The metadata (yolo3.export_contract) is its ``assets.extra/yolo3.json``.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

from yolo3.defaults import NmsSettings
from yolo3.errors import YoloError
from yolo3.export_contract import DETECTION, DETECTION_OUTPUTS, SAVED_MODEL_METADATA
from yolo3.formats import ExportOptions
from yolo3.images import LETTERBOX_FILL


def export_saved_model(loaded, output: Path, input_hw: tuple[int, int], nms: NmsSettings,
                       source: str = ""):
    """Write the SavedModel folder ``output`` (it must not exist yet); returns its
    metadata."""
    import tensorflow as tf

    from yolo3.export.onnx import export_info
    from yolo3.inference.detector import Detector, detection_signature

    output = Path(output)
    if output.exists():
        raise YoloError(f"{output} already exists: choose another folder or remove it")
    detector = Detector(loaded, input_hw, nms)
    module = tf.Module()
    module.model = detector.model  # tracks the variables the graph reads

    def named(outputs):
        return dict(zip(DETECTION_OUTPUTS, outputs))

    @tf.function(input_signature=detection_signature(input_hw))
    def detect(images, letterboxes, score_threshold, iou_threshold):
        return named(detector._detect_graph(images, letterboxes, score_threshold,
                                            iou_threshold))

    @tf.function(input_signature=[tf.TensorSpec((None,), tf.string, name="image_bytes")])
    def serve(image_bytes):
        canvases, rows = tf.map_fn(lambda data: _letterbox(data, input_hw,
                                                           loaded.config.letter_box),
                                   image_bytes,
                                   fn_output_signature=(
                                       tf.TensorSpec((*input_hw, 3), tf.uint8),
                                       tf.TensorSpec((6,), tf.float32)))
        return named(detector._detect_graph(canvases, rows, tf.constant(nms.score),
                                            tf.constant(nms.iou)))

    module.detect, module.serve = detect, serve
    info = export_info(loaded, input_hw, nms, DETECTION, source)
    tmp = output.parent / f".partial-{os.getpid()}-{secrets.token_hex(4)}-{output.name}"
    try:
        tf.saved_model.save(module, str(tmp), signatures={
            "serving_default": serve.get_concrete_function(),
            "detect": detect.get_concrete_function()})
        (tmp / SAVED_MODEL_METADATA).parent.mkdir(parents=True, exist_ok=True)
        (tmp / SAVED_MODEL_METADATA).write_text(info.to_json())
        os.rename(tmp, output)
    except OSError as error:
        raise YoloError(f"cannot write {output}: {error.strerror or error}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return info


def write(loaded, output: Path, input_hw: tuple[int, int], nms: NmsSettings,
          options: ExportOptions) -> str:
    """export.py's SavedModel export (yolo3.formats); returns the line export.py prints."""
    info = export_saved_model(loaded, output, input_hw, nms, source=options.source)
    return (f"Wrote the SavedModel {output} (serving_default: encoded image bytes; detect: "
            f"letterboxed images; {input_hw[0]}x{input_hw[1]}, {len(info.class_names)} "
            "classes).")


def _letterbox(data, input_hw: tuple[int, int], keep_aspect: bool = True):
    """Encoded image → (uint8 canvas (h, w, 3), letterbox row (6,)): the geometry of
    yolo3.images.Letterbox, computed the same way (``keep_aspect`` False:
    resized over the whole canvas)."""
    import tensorflow as tf

    height, width = input_hw
    image = tf.io.decode_image(data, channels=3, expand_animations=False)
    image_h = tf.cast(tf.shape(image)[0], tf.float64)
    image_w = tf.cast(tf.shape(image)[1], tf.float64)
    if keep_aspect:
        scale = tf.minimum(tf.constant(width, tf.float64) / image_w,
                           tf.constant(height, tf.float64) / image_h)
        new_w = tf.maximum(tf.constant(1.0, tf.float64), tf.floor(image_w * scale))
        new_h = tf.maximum(tf.constant(1.0, tf.float64), tf.floor(image_h * scale))
    else:
        new_w, new_h = tf.constant(width, tf.float64), tf.constant(height, tf.float64)
    size = tf.cast(tf.stack([new_h, new_w]), tf.int32)
    shrinking = tf.logical_or(new_w < image_w, new_h < image_h)
    pixels = tf.cast(image, tf.float32)
    resized = tf.cond(shrinking,
                      lambda: tf.image.resize(pixels, size, method="area"),
                      lambda: tf.image.resize(pixels, size, method="bicubic"))
    resized = tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)
    offset_x = (width - size[1]) // 2
    offset_y = (height - size[0]) // 2
    canvas = tf.pad(resized, [[offset_y, height - size[0] - offset_y],
                              [offset_x, width - size[1] - offset_x], [0, 0]],
                    constant_values=LETTERBOX_FILL[0])
    canvas = tf.ensure_shape(canvas, (height, width, 3))
    row = tf.cast(tf.stack([new_w / image_w, new_h / image_h, tf.cast(offset_x, tf.float64),
                            tf.cast(offset_y, tf.float64), image_w, image_h]), tf.float32)
    return canvas, row
