"""yolo3.images: every kind of image becomes upright RGB; letterbox geometry; drawing."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from yolo3.errors import YoloError
from yolo3.images import (
    EXIF_ORIENTATION,
    Letterbox,
    class_colors,
    draw_detections,
    letterbox,
    load_image,
    to_rgb,
)


def saved(tmp_path, image, name, **kwargs):
    path = tmp_path / name
    image.save(path, **kwargs)
    return path


@pytest.mark.parametrize("mode, name", [("L", "g.png"), ("RGBA", "a.png"), ("P", "p.png"),
                                        ("CMYK", "c.jpg"), ("1", "b.png"), ("LA", "la.png"),
                                        ("RGB", "r.bmp"), ("RGB", "r.webp")])
def test_modes_become_rgb(tmp_path, mode, name):
    image = Image.new("RGB", (40, 30), (200, 100, 50)).convert(mode)
    loaded = load_image(saved(tmp_path, image, name))
    assert loaded.mode == "RGB" and loaded.size == (40, 30)


def test_sixteen_bit_png_keeps_its_range(tmp_path):
    values = np.linspace(0, 65535, 64 * 32).reshape(32, 64).astype(np.uint16)
    loaded = load_image(saved(tmp_path, Image.fromarray(values), "deep.png"))
    pixels = np.asarray(loaded)
    assert loaded.mode == "RGB" and pixels.min() == 0 and pixels.max() == 255


def test_transparency_lands_on_grey(tmp_path):
    image = Image.new("RGBA", (10, 10), (255, 0, 0, 0))
    assert np.asarray(load_image(saved(tmp_path, image, "t.png")))[0, 0].tolist() == [128] * 3


def test_exif_rotation_is_applied(tmp_path):
    image = Image.new("RGB", (60, 20), (0, 0, 255))
    exif = image.getexif()
    exif[EXIF_ORIENTATION] = 6  # rotate 90° clockwise when displayed
    loaded = load_image(saved(tmp_path, image, "r.jpg", exif=exif))
    assert loaded.size == (20, 60)


@pytest.mark.parametrize("content, message", [(b"not an image", "not a readable image"),
                                              (None, "no such file")])
def test_unreadable_files(tmp_path, content, message):
    path = tmp_path / "x.jpg"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(YoloError, match=message):
        load_image(path)


def test_truncated_jpeg(tmp_path):
    path = saved(tmp_path, Image.new("RGB", (200, 200), (9, 9, 9)), "full.jpg")
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(YoloError, match="not a readable image"):
        load_image(path)


def test_letterbox_geometry_and_canvas():
    image = Image.new("RGB", (640, 480), (255, 255, 255))
    canvas, geometry = letterbox(image, (416, 416))
    assert canvas.shape == (416, 416, 3) and canvas.dtype == np.uint8
    assert geometry.resized_size == (416, 312) and geometry.offset == (0, 52)
    assert canvas[0, 0].tolist() == [128] * 3 and canvas[208, 208].tolist() == [255] * 3
    assert canvas[51, 0].tolist() == [128] * 3 and canvas[52, 0].tolist() == [255] * 3
    np.testing.assert_allclose(geometry.as_array(), [0.65, 0.65, 0, 52, 640, 480])


def test_letterbox_enlarges_small_images_and_takes_arrays():
    pixels = np.full((20, 10, 3), 7, np.uint8)
    canvas, geometry = letterbox(pixels, (64, 64))
    assert geometry.resized_size == (32, 64) and geometry.offset == (16, 0)
    assert canvas[32, 32].tolist() == [7, 7, 7]


def test_letterbox_mapping_round_trips_a_point():
    geometry = Letterbox((1280, 720), (608, 416))
    sx, sy, ox, oy, w, h = geometry.as_array()
    x, y = 1000.0, 300.0
    canvas_x, canvas_y = x * sx + ox, y * sy + oy
    assert (canvas_x - ox) / sx == pytest.approx(x) and (canvas_y - oy) / sy == pytest.approx(y)
    assert (w, h) == (1280, 720)


def test_colours_are_stable_distinct_and_bright():
    colours = class_colors(80)
    assert colours == class_colors(80) and len(set(colours)) == 80
    assert all(max(c) == 255 for c in colours)


def test_drawing_marks_the_box_and_keeps_the_original():
    image = Image.new("RGB", (300, 200), (0, 0, 0))
    detection = {"class_id": 2, "class_name": "car", "score": 0.876, "box": [50, 60, 150, 160]}
    drawn = draw_detections(image, [detection], 3)
    pixels = np.asarray(drawn)
    assert pixels[100, 50].tolist() == list(class_colors(3)[2])  # left edge of the box
    assert pixels[110, 100].tolist() == [0, 0, 0]  # inside stays untouched
    assert np.asarray(image).max() == 0  # the input is not modified
    edge = draw_detections(image, [dict(detection, box=[-20, -5, 400, 300])], 3)
    assert np.asarray(edge)[199, 150].tolist() == list(class_colors(3)[2])


def test_rgb_images_pass_through_unchanged():
    image = Image.new("RGB", (5, 5), (1, 2, 3))
    assert to_rgb(image) is image


def test_pixel_limit(tmp_path):
    from yolo3.images import DEFAULT_MAX_PIXELS, image_size, set_max_pixels, verify_image

    path = tmp_path / "small.png"
    Image.new("RGB", (40, 30)).save(path)
    assert image_size(path) == verify_image(path) == (40, 30)
    try:
        set_max_pixels(1199)
        for read in (image_size, verify_image, load_image):
            with pytest.raises(YoloError, match=r"40×30 is larger than the limit of 1,199"):
                read(path)
        set_max_pixels(1200)
        assert load_image(path).size == (40, 30)
    finally:
        set_max_pixels(DEFAULT_MAX_PIXELS)


def test_decode_image_reads_bytes_like_files(tmp_path):
    from helpers import SAMPLE
    from yolo3.images import decode_image, set_max_pixels

    assert decode_image(SAMPLE.read_bytes()).tobytes() == load_image(SAMPLE).tobytes()
    with pytest.raises(YoloError, match=r"^the upload: not a readable image \(cannot identify "
                                        r"image file data\)$"):
        decode_image(b"not a picture", "the upload")
    with pytest.raises(YoloError, match="not a readable image"):
        decode_image(SAMPLE.read_bytes()[:5000])  # truncated
    try:
        set_max_pixels(1000)
        with pytest.raises(YoloError, match="larger than the limit of 1,000 pixels"):
            decode_image(SAMPLE.read_bytes())
    finally:
        from yolo3.images import DEFAULT_MAX_PIXELS

        set_max_pixels(DEFAULT_MAX_PIXELS)


def test_a_jpeg_cut_short_is_salvaged_by_opencv(tmp_path):
    from yolo3.images import load_image_salvaged

    rng = np.random.default_rng(0)
    pixels = np.repeat(np.repeat(rng.integers(0, 255, (20, 30, 3), np.uint8), 10, 0), 10, 1)
    whole = saved(tmp_path, Image.fromarray(pixels), "whole.jpg", quality=95)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(whole.read_bytes()[:-20])
    with pytest.raises(YoloError, match="truncated"):
        load_image(cut)
    image, salvaged = load_image_salvaged(cut)
    assert salvaged and image.size == (300, 200) and image.mode == "RGB"
    assert np.abs(np.asarray(image, float) - np.asarray(load_image(whole), float)).mean() < 2
    assert load_image_salvaged(whole)[1] is False
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"\xff\xd8\xff\xe0 not a jpeg at all")
    with pytest.raises(YoloError, match="junk.jpg: not a readable image"):
        load_image_salvaged(junk)
