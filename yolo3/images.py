"""Images in and out: any file to RGB, letterbox for the network, draw detections.

Pixel conventions: images are PIL RGB (or uint8 arrays of shape (h, w, 3)); what enters
the model is float32 in [0, 1], shape (height, width, 3). Boxes are
[x_min, y_min, x_max, y_max] in original-image pixels.
"""

from __future__ import annotations

import colorsys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from yolo3.errors import YoloError, first_line
from yolo3.files import atomic_output

LETTERBOX_FILL = (128, 128, 128)
EXIF_ORIENTATION = 0x0112
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm",
                  ".pgm")


def image_format(path: str | Path, default: str | None = None) -> str:
    """Pillow's format name for an image file named ``path`` (its suffix decides);
    ``default`` for another suffix, or YoloError when there is none."""
    suffix = Path(path).suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        if default:
            return default
        raise YoloError(f"{path}: an image file must end in one of "
                        f"{', '.join(IMAGE_SUFFIXES)}")
    return {".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".pgm": "PPM"}.get(
        suffix, suffix.lstrip(".").upper())


def save_image(image: Image.Image, path: str | Path, default_format: str | None = None) -> None:
    """Write ``image`` in the format its name says (else ``default_format``), whole or
    not at all."""
    format_name = image_format(path, default_format)
    with atomic_output(path) as tmp:
        image.save(tmp, format=format_name)


def to_rgb(image: Image.Image) -> Image.Image:
    """Any PIL image as 8-bit RGB, upright (EXIF orientation applied).

    Transparency is composited over the letterbox grey; 16-bit and 32-bit integer images
    are scaled down from the 16-bit range.
    """
    if image.getexif().get(EXIF_ORIENTATION, 1) != 1:
        image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        values = np.asarray(image, dtype=np.float64)
        image = Image.fromarray(np.clip(values / 257.0, 0, 255).astype(np.uint8), "L")
    elif image.mode == "F":
        values = np.asarray(image, dtype=np.float64)
        scale = 255.0 if values.max(initial=0) <= 1.0 else 1.0
        image = Image.fromarray(np.clip(values * scale, 0, 255).astype(np.uint8), "L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*LETTERBOX_FILL, 255))
        image = Image.alpha_composite(background, rgba)
    return image if image.mode == "RGB" else image.convert("RGB")


DEFAULT_MAX_PIXELS = 150_000_000  # a 108-megapixel phone photo fits; a 60000×60000 bomb not
_max_pixels = DEFAULT_MAX_PIXELS


def set_max_pixels(limit: int) -> None:
    """The largest image, in pixels, that every reader here accepts (the tools' --max_pixels).

    Pillow's own decompression-bomb check follows it (Pillow refuses at twice its limit).
    """
    global _max_pixels
    if limit < 1:
        raise YoloError("the pixel limit must be at least 1")
    _max_pixels = Image.MAX_IMAGE_PIXELS = int(limit)


@contextmanager
def _opened(path, where: str | None = None) -> Iterator[Image.Image]:
    """An image file (or binary stream, named ``where`` in messages) opened — header read,
    pixels not yet decoded — within the pixel limit."""
    source, path = path, where or path
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(source)
    except FileNotFoundError:
        raise YoloError(f"{path}: no such file") from None
    except Image.DecompressionBombError:
        raise YoloError(f"{path}: larger than the limit of {_max_pixels:,} pixels "
                        "(--max_pixels)") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise YoloError(f"{path}: not a readable image "
                        f"({first_line(error).replace(repr(source), 'data')})") from None
    with image:
        width, height = image.size
        if width * height > _max_pixels:
            raise YoloError(f"{path}: {width}×{height} is larger than the limit of "
                            f"{_max_pixels:,} pixels (--max_pixels)")
        yield image


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) from the file's header; YoloError if unreadable or over the limit."""
    with _opened(Path(path)) as image:
        return image.size


def verify_image(path: str | Path) -> tuple[int, int]:
    """(width, height) of a file whose header and structure check out (Pillow's verify,
    without decoding every pixel); YoloError if unreadable or over the pixel limit."""
    path = Path(path)
    with _opened(path) as image:
        try:
            image.verify()
        except (OSError, ValueError, SyntaxError) as error:
            raise YoloError(f"{path}: not a readable image ({first_line(error)})") from None
        return image.size


def load_image(path: str | Path) -> Image.Image:
    """Read an image file as upright 8-bit RGB; YoloError if it cannot be decoded or is
    over the pixel limit."""
    return _decoded(Path(path), None)


def load_image_salvaged(path: str | Path) -> tuple[Image.Image, bool]:
    """:func:`load_image`, or — when Pillow cannot finish decoding a file whose header is
    fine (a JPEG cut short) — what OpenCV decodes of it, marked True. YoloError when
    neither can."""
    try:
        return load_image(path), False
    except YoloError:
        import cv2

        image_size(path)  # the pixel limit, and a clear error for what is no image at all
        # imread, not imdecode: OpenCV's file reader keeps what a cut-short JPEG holds
        pixels = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if pixels is None:
            raise
        return Image.fromarray(cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)), True


def decode_image(data: bytes, where: str = "the image") -> Image.Image:
    """Encoded image bytes (JPEG, PNG, …) as upright 8-bit RGB; YoloError naming ``where``
    if they cannot be decoded or are over the pixel limit."""
    import io

    return _decoded(io.BytesIO(data), where)


def _decoded(path, where: str | None) -> Image.Image:
    with _opened(path, where) as image:
        path = where or path
        try:
            image.load()
            return to_rgb(image)
        except (OSError, ValueError, SyntaxError) as error:
            raise YoloError(f"{path}: not a readable image ({first_line(error)})") from None


@dataclass(frozen=True)
class Letterbox:
    """Where an image of ``image_size`` (w, h) lands on a ``canvas_size`` (w, h) canvas.

    The image is scaled by ``scale`` (x, y: the same factor up to rounding) to
    (resized_w, resized_h) and pasted at ``offset`` (x, y): canvas = original · scale +
    offset. ``keep_aspect`` False (a cfg's ``letter_box=0``, Darknet's way) stretches the
    image over the whole canvas instead: offset 0, a scale per axis.
    ``as_array`` packs the record for the compiled detection graph, whose input must be
    one tensor: :data:`PACKED` names its columns.
    """

    PACKED = ("scale_x", "scale_y", "offset_x", "offset_y", "image_w", "image_h")

    image_size: tuple[int, int]
    canvas_size: tuple[int, int]
    keep_aspect: bool = True

    @property
    def resized_size(self) -> tuple[int, int]:
        (iw, ih), (w, h) = self.image_size, self.canvas_size
        if not self.keep_aspect:
            return w, h
        scale = min(w / iw, h / ih)
        return max(1, int(iw * scale)), max(1, int(ih * scale))

    @property
    def offset(self) -> tuple[int, int]:
        (nw, nh), (w, h) = self.resized_size, self.canvas_size
        return (w - nw) // 2, (h - nh) // 2

    @property
    def scale(self) -> tuple[float, float]:
        (nw, nh), (iw, ih) = self.resized_size, self.image_size
        return nw / iw, nh / ih

    def as_array(self) -> np.ndarray:
        """(6,) float32 in the order of :data:`PACKED`."""
        return np.array([*self.scale, *self.offset, *self.image_size], dtype=np.float32)


def resize(pixels: np.ndarray, size: tuple[int, int], out: np.ndarray | None = None
           ) -> np.ndarray:
    """Resize a uint8 (h, w, 3) array to ``size`` (w, h): pixel-area averaging where it
    shrinks (alias-free like PIL's bicubic reduction, far faster), bicubic where it grows.
    ``out``: a C-contiguous uint8 (h, w, 3) array to write into."""
    import cv2  # here, not at import: data-only tools read image headers without it

    shrinking = size[0] < pixels.shape[1] or size[1] < pixels.shape[0]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    if out is None:
        return cv2.resize(pixels, size, interpolation=interpolation)
    written = cv2.resize(pixels, size, dst=out, interpolation=interpolation)
    if not np.shares_memory(written, out):  # OpenCV allocated its own after all
        out[:] = written
    return out


_FILL_PIXEL = np.array(LETTERBOX_FILL, np.uint8)


def grey_canvas(height: int, width: int) -> np.ndarray:
    """uint8 (height, width, 3) filled with LETTERBOX_FILL."""
    # NumPy broadcasts a 3-value pixel element by element (≈0.5 ms at 416²): fill rows
    # of whole pixels instead (≈0.01 ms)
    canvas = np.empty((height, width * 3), dtype=np.uint8)
    canvas[:] = np.tile(_FILL_PIXEL, width)
    return canvas.reshape(height, width, 3)


def letterbox(image: Image.Image | np.ndarray, input_hw: tuple[int, int],
              out: np.ndarray | None = None, keep_aspect: bool = True
              ) -> tuple[np.ndarray, Letterbox]:
    """Resize keeping the aspect ratio onto a grey canvas of the network input
    ``input_hw`` (height, width, as everywhere); ``keep_aspect`` False: resize to it.

    ``image`` is RGB: a PIL image or a uint8 array (h, w, 3), resized with :func:`resize`.
    Returns uint8 (h, w, 3) — the model takes it as float32 / 255 — and the geometry to
    map boxes back. ``out``: a uint8 (h, w, 3) array to draw on (a batch's slot), of which
    only the borders are filled grey.
    """
    pixels = np.asarray(image)
    height, width = input_hw
    geometry = Letterbox((pixels.shape[1], pixels.shape[0]), (width, height), keep_aspect)
    (nw, nh), (dx, dy) = geometry.resized_size, geometry.offset
    if out is None:
        out = grey_canvas(height, width)
    else:
        for band in (out[:dy], out[dy + nh:], out[dy:dy + nh, :dx], out[dy:dy + nh, dx + nw:]):
            band[:] = grey_canvas(*band.shape[:2])
    target = out[dy:dy + nh, dx:dx + nw]
    if target.flags.c_contiguous:  # full rows (dx = 0): resized in place, no copy
        resize(pixels, (nw, nh), out=target)
    else:
        target[:] = resize(pixels, (nw, nh))
    return out, geometry


@lru_cache(maxsize=64)
def class_colors(num_classes: int) -> tuple[tuple[int, int, int], ...]:
    """One bright colour per class, evenly spaced hues in a fixed shuffled order."""
    hues = [colorsys.hsv_to_rgb(i / num_classes, 1.0, 1.0) for i in range(num_classes)]
    order = np.random.default_rng(10101).permutation(num_classes)
    return tuple(tuple(int(c * 255) for c in hues[i]) for i in order)


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def draw_detections(image: Image.Image, detections: list[dict], num_classes: int) -> Image.Image:
    """A copy of ``image`` with each detection's box and "<class> <score>" label drawn.

    ``detections`` are dicts with "class_id", "class_name", "score" and "box"
    ([x_min, y_min, x_max, y_max] in this image's pixels).
    """
    image = image.copy()
    width, height = image.size
    font = _font(max(8, int(np.floor(0.03 * height + 0.5))))
    thickness = max(1, (width + height) // 300)
    colors = class_colors(num_classes)
    draw = ImageDraw.Draw(image)
    for detection in reversed(detections):
        color = colors[detection["class_id"] % len(colors)]
        label = f"{detection['class_name']} {detection['score']:.2f}"
        x0, y0, x1, y1 = (int(np.floor(v + 0.5)) for v in detection["box"])
        x0, y0 = max(0, x0), max(0, y0)
        x1, y1 = min(width - 1, x1), min(height - 1, y1)
        left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
        text_w, text_h = right - left, bottom - top
        text_y = y0 - text_h - 2 if y0 - text_h - 2 >= 0 else y0 + 1
        for i in range(thickness):
            draw.rectangle([x0 + i, y0 + i, x1 - i, y1 - i], outline=color)
        draw.rectangle([x0, text_y, x0 + text_w + 2, text_y + text_h + 2], fill=color)
        draw.text((x0 + 1 - left, text_y + 1 - top), label, fill=(0, 0, 0), font=font)
    return image
