"""The modern recipe's augmentation: mosaic and random scale/translation.

Images are RGB uint8 (h, w, 3); boxes (N, 5) rows of x_min, y_min, x_max, y_max in image
pixels and class id. Both functions return a uint8 (input_h, input_w, 3) image and the
boxes in network-input pixels, like yolo3.data.augment.

Mosaic: four images, each resized to fit the input (aspect kept), meet at a random point
of a canvas twice the input's size; the canvas is scaled by 0.5–1.5 around its centre and
shifted by up to ±10 % of the input, and the input-sized window around it is kept. Each
training image then shows four images' objects at many scales, on varied context.
Single: one letterboxed image through the same scale and shift (the recipe's last epochs
train on whole images, as validation and inference see them). Then both flip left-right
half the time and jitter hue, saturation and value. Boxes follow exactly (the transform is
a scale and a shift), are clipped to the input, and are dropped when they keep less than
a tenth of their area, are 2 pixels thin or less, or become sliver-like (aspect > 20).
"""

from __future__ import annotations

import cv2
import numpy as np

from yolo3.data.augment import jitter_colour
from yolo3.images import LETTERBOX_FILL, Letterbox, grey_canvas, letterbox, resize

SCALE = 0.5  # zoom in [1 - SCALE, 1 + SCALE]
TRANSLATE = 0.1  # shift up to this share of the input
HUE, SATURATION, VALUE = 0.015, 1.7, 1.4  # jitter_colour's ranges
MIN_AREA_KEPT, MIN_SIDE, MAX_ASPECT = 0.1, 2.0, 20.0


def mosaic(samples: list[tuple[np.ndarray, np.ndarray]], input_hw: tuple[int, int],
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Four (image, boxes) pairs as one training image (see the module doc)."""
    if len(samples) != 4:
        raise ValueError("a mosaic takes four images")
    height, width = input_hw
    canvas = grey_canvas(2 * height, 2 * width)
    join_x = int(rng.uniform(width / 2, 3 * width / 2))
    join_y = int(rng.uniform(height / 2, 3 * height / 2))
    placed = []
    for quarter, (image, boxes) in enumerate(samples):
        geometry = Letterbox((image.shape[1], image.shape[0]), (width, height))
        pixels = (image if geometry.resized_size == (image.shape[1], image.shape[0])
                  else resize(np.ascontiguousarray(image), geometry.resized_size))
        (scale_x, scale_y), (w, h) = geometry.scale, geometry.resized_size
        # quarters 0..3: top-left, top-right, bottom-left, bottom-right of the join
        x0 = join_x - w if quarter in (0, 2) else join_x
        y0 = join_y - h if quarter in (0, 1) else join_y
        cx0, cy0 = max(x0, 0), max(y0, 0)
        cx1, cy1 = min(x0 + w, 2 * width), min(y0 + h, 2 * height)
        canvas[cy0:cy1, cx0:cx1] = pixels[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0]
        moved = np.asarray(boxes, np.float32).reshape(-1, 5).copy()
        moved[:, [0, 2]] = moved[:, [0, 2]] * scale_x + x0
        moved[:, [1, 3]] = moved[:, [1, 3]] * scale_y + y0
        # clipped to the quarter's visible part, so a box cannot claim its neighbour's pixels
        moved[:, [0, 2]] = np.clip(moved[:, [0, 2]], cx0, cx1)
        moved[:, [1, 3]] = np.clip(moved[:, [1, 3]], cy0, cy1)
        placed.append(moved)
    return _finish(canvas, np.concatenate(placed), input_hw, rng)


def single(image: np.ndarray, boxes: np.ndarray, input_hw: tuple[int, int],
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One image letterboxed as inference does, then scaled, shifted, flipped and
    colour-jittered."""
    canvas, geometry = letterbox(image, input_hw)
    (scale_x, scale_y), (dx, dy) = geometry.scale, geometry.offset
    moved = np.asarray(boxes, np.float32).reshape(-1, 5).copy()
    moved[:, [0, 2]] = moved[:, [0, 2]] * scale_x + dx
    moved[:, [1, 3]] = moved[:, [1, 3]] * scale_y + dy
    return _finish(canvas, moved, input_hw, rng)


def _finish(canvas: np.ndarray, boxes: np.ndarray, input_hw: tuple[int, int],
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Scale about the canvas centre, shift, cut the input window, flip, jitter colour."""
    height, width = input_hw
    zoom = rng.uniform(1 - SCALE, 1 + SCALE)
    centre_x = rng.uniform(0.5 - TRANSLATE, 0.5 + TRANSLATE) * width
    centre_y = rng.uniform(0.5 - TRANSLATE, 0.5 + TRANSLATE) * height
    shift_x = centre_x - zoom * canvas.shape[1] / 2
    shift_y = centre_y - zoom * canvas.shape[0] / 2
    flip = rng.random() < 0.5
    # the flip is part of the warp (pixel j ↔ width - 1 - j): no reversed copy afterwards
    matrix = (np.array([[-zoom, 0, width - 1 - shift_x], [0, zoom, shift_y]], np.float32)
              if flip else np.array([[zoom, 0, shift_x], [0, zoom, shift_y]], np.float32))
    pixels = cv2.warpAffine(canvas, matrix, (width, height), flags=cv2.INTER_LINEAR,
                            borderValue=LETTERBOX_FILL)
    before = (boxes[:, 2:4] - boxes[:, 0:2]) * zoom
    boxes = boxes.copy()
    boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]] * zoom + shift_x, 0, width)
    boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]] * zoom + shift_y, 0, height)
    size = boxes[:, 2:4] - boxes[:, 0:2]
    area_kept = size.prod(axis=1) / np.maximum(before.prod(axis=1), 1e-9)
    aspect = np.maximum(size[:, 0] / np.maximum(size[:, 1], 1e-9),
                        size[:, 1] / np.maximum(size[:, 0], 1e-9))
    keep = ((size > MIN_SIDE).all(axis=1) & (area_kept > MIN_AREA_KEPT)
            & (aspect < MAX_ASPECT))
    boxes = boxes[keep]
    if flip:
        boxes[:, [0, 2]] = width - boxes[:, [2, 0]]
    rng.shuffle(boxes)
    return jitter_colour(pixels, rng, HUE, SATURATION, VALUE), boxes
