"""yolo3.export.saved_model: the in-graph letterbox has inference's geometry exactly and
nearly its pixels; the folder appears whole or not at all."""

from __future__ import annotations

import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from yolo3.defaults import NmsSettings
from yolo3.errors import YoloError
from yolo3.export.saved_model import _letterbox, export_saved_model
from yolo3.images import letterbox
from yolo3.inference.detector import open_model


def png_bytes(width, height, seed=0):
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (max(1, height // 8), max(1, width // 8), 3), np.uint8)
    image = Image.fromarray(small).resize((width, height), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue(), np.asarray(image)


@pytest.mark.parametrize("width, height, input_hw", [
    (1280, 720, (416, 416)), (300, 451, (416, 416)), (100, 60, (320, 416)),
    (417, 416, (416, 416)), (1, 1, (64, 64))])
def test_in_graph_letterbox_matches_inference(width, height, input_hw):
    data, pixels = png_bytes(width, height)
    canvas, row = (t.numpy() for t in _letterbox(tf.constant(data), input_hw))
    expected_canvas, geometry = letterbox(pixels, input_hw)
    np.testing.assert_allclose(row, geometry.as_array(), rtol=1e-6)
    assert canvas.shape == expected_canvas.shape
    # OpenCV's and TensorFlow's resampling kernels differ a little; the grey bands do not
    difference = np.abs(canvas.astype(int) - expected_canvas.astype(int))
    assert np.mean(difference) <= 3.0
    (dx, dy) = geometry.offset
    if dy:
        assert (canvas[:dy] == 128).all()
    if dx:
        assert (canvas[:, :dx] == 128).all()


def test_an_existing_folder_is_never_replaced(tmp_path, tiny_model):
    folder = tmp_path / "exported"
    folder.mkdir()
    (folder / "keep.txt").write_text("earlier")
    with pytest.raises(YoloError, match="already exists"):
        export_saved_model(open_model(tiny_model), folder, (128, 128), NmsSettings())
    assert [p.name for p in folder.iterdir()] == ["keep.txt"]
