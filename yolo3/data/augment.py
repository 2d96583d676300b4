"""Training-time image augmentation with keras-yolo3's settings, and its plain twin.

Images are RGB uint8 (h, w, 3); boxes are (N, 5) rows of x_min, y_min, x_max, y_max in
image pixels and class id. Both functions return a uint8 (input_h, input_w, 3) image (the
trainer divides by 255 where the model runs) and the boxes moved to network-input pixels.

Random (training): the aspect ratio is jittered by up to ±30 % (ratio of two factors in
[0.7, 1.3)), the image is scaled to 0.25–2× the input size and placed at a random offset
on a grey canvas (cropping what falls outside), flipped left-right half the time, and its
hue shifted by up to ±0.1 of the colour circle, saturation and value scaled by up to 1.5×
or 1/1.5×. Boxes follow, are clipped to the canvas, and boxes 1 pixel thin or less are
dropped.
"""

from __future__ import annotations

import cv2
import numpy as np

from yolo3.images import grey_canvas, letterbox, resize


def _rand(rng: np.random.Generator, low: float = 0.0, high: float = 1.0) -> float:
    """Uniform in [low, high); high may be below low (a negative offset crops)."""
    return low + (high - low) * float(rng.random())


def plain(image: np.ndarray, boxes: np.ndarray, input_hw: tuple[int, int]
          ) -> tuple[np.ndarray, np.ndarray]:
    """Letterbox exactly as inference does (validation data is never augmented)."""
    canvas, geometry = letterbox(image, input_hw)
    (scale_x, scale_y), (offset_x, offset_y) = geometry.scale, geometry.offset
    boxes = np.asarray(boxes, np.float32).reshape(-1, 5).copy()
    boxes[:, [0, 2]] = boxes[:, [0, 2]] * scale_x + offset_x
    boxes[:, [1, 3]] = boxes[:, [1, 3]] * scale_y + offset_y
    return canvas, boxes


def random(image: np.ndarray, boxes: np.ndarray, input_hw: tuple[int, int],
           rng: np.random.Generator, jitter: float = 0.3, hue: float = 0.1, sat: float = 1.5,
           val: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    """keras-yolo3's random augmentation (see the module doc)."""
    height, width = input_hw
    image_h, image_w = image.shape[:2]
    aspect = width / height * _rand(rng, 1 - jitter, 1 + jitter) / _rand(rng, 1 - jitter,
                                                                          1 + jitter)
    scale = _rand(rng, 0.25, 2.0)
    if aspect < 1:
        new_h = max(1, int(scale * height))
        new_w = max(1, int(new_h * aspect))
    else:
        new_w = max(1, int(scale * width))
        new_h = max(1, int(new_w / aspect))
    dx = int(_rand(rng, 0, width - new_w))
    dy = int(_rand(rng, 0, height - new_h))
    resized = resize(image, (new_w, new_h))
    canvas = grey_canvas(height, width)
    # paste with a possibly negative offset: copy only the overlapping part
    x0, y0 = max(dx, 0), max(dy, 0)
    x1, y1 = min(dx + new_w, width), min(dy + new_h, height)
    if x1 > x0 and y1 > y0:
        canvas[y0:y1, x0:x1] = resized[y0 - dy:y1 - dy, x0 - dx:x1 - dx]
    flip = _rand(rng) < 0.5
    if flip:
        canvas = canvas[:, ::-1]
    # keras-yolo3's own colour arithmetic (float HSV), rounded back to 8 bits
    pixels = (distort_colour(canvas, rng, hue, sat, val) * 255 + 0.5).astype(np.uint8)

    boxes = np.asarray(boxes, np.float32).reshape(-1, 5).copy()
    if len(boxes):
        rng.shuffle(boxes)
        boxes[:, [0, 2]] = boxes[:, [0, 2]] * new_w / image_w + dx
        boxes[:, [1, 3]] = boxes[:, [1, 3]] * new_h / image_h + dy
        if flip:
            boxes[:, [0, 2]] = width - boxes[:, [2, 0]]
        boxes[:, 0:2] = np.maximum(boxes[:, 0:2], 0)
        boxes[:, 2] = np.minimum(boxes[:, 2], width)
        boxes[:, 3] = np.minimum(boxes[:, 3], height)
        size = boxes[:, 2:4] - boxes[:, 0:2]
        boxes = boxes[(size > 1).all(axis=1)]
    return pixels, boxes


def colour_factors(rng: np.random.Generator, hue: float, sat: float, val: float
                   ) -> tuple[float, float, float]:
    """(hue shift in turns, saturation factor, value factor): the shift up to ±``hue``,
    the factors up to ``sat`` / ``val`` or their inverses, each way half the time."""
    hue_shift = _rand(rng, -hue, hue)
    sat_factor = _rand(rng, 1, sat) if _rand(rng) < 0.5 else 1 / _rand(rng, 1, sat)
    val_factor = _rand(rng, 1, val) if _rand(rng) < 0.5 else 1 / _rand(rng, 1, val)
    return hue_shift, sat_factor, val_factor


def jitter_colour(canvas: np.ndarray, rng: np.random.Generator, hue: float, sat: float,
                  val: float) -> np.ndarray:
    """uint8 RGB (h, w, 3) → uint8 RGB with :func:`colour_factors` applied in OpenCV's
    8-bit HSV (hue over 0–255) through one lookup table per channel: a quarter of the
    time of :func:`distort_colour`'s float HSV, the same random numbers drawn."""
    hue_shift, sat_factor, val_factor = colour_factors(rng, hue, sat, val)
    levels = np.arange(256, dtype=np.float32)
    table = np.empty((256, 1, 3), np.uint8)
    table[:, 0, 0] = np.round(levels + hue_shift * 256.0).astype(np.int64) % 256
    table[:, 0, 1] = np.clip(np.round(levels * sat_factor), 0, 255)
    table[:, 0, 2] = np.clip(np.round(levels * val_factor), 0, 255)
    hsv = cv2.cvtColor(np.ascontiguousarray(canvas), cv2.COLOR_RGB2HSV_FULL)
    return cv2.cvtColor(cv2.LUT(hsv, table), cv2.COLOR_HSV2RGB_FULL)


def distort_colour(canvas: np.ndarray, rng: np.random.Generator, hue: float, sat: float,
                    val: float) -> np.ndarray:
    """uint8 RGB (h, w, 3) → float32 in [0, 1] with :func:`colour_factors` applied in
    float HSV (keras-yolo3's arithmetic)."""
    hue_shift, sat_factor, val_factor = colour_factors(rng, hue, sat, val)
    hsv = cv2.cvtColor(np.ascontiguousarray(canvas, np.float32) / 255.0, cv2.COLOR_RGB2HSV)
    hsv[..., 0] = (hsv[..., 0] + hue_shift * 360.0) % 360.0  # OpenCV's float hue is degrees
    hsv[..., 1] = np.clip(hsv[..., 1] * sat_factor, 0, 1)
    hsv[..., 2] = np.clip(hsv[..., 2] * val_factor, 0, 1)
    return np.clip(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB), 0, 1)
