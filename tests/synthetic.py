"""A small synthetic detection dataset in the VoTT / Pascal VOC export layout.

Shapes (circle, square, triangle) of varied size and colour on textured backgrounds,
images of varied size; Annotations/*.xml, JPEGImages/*.jpg and VoTT's
ImageSets/Main/<class>_<set>.txt files. Deterministic for a seed.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

CLASSES = ("circle", "square", "triangle")


def _background(rng, height, width):
    base = rng.integers(60, 170, 3)
    noise = rng.normal(0, 25, (height // 8 + 1, width // 8 + 1, 3))
    texture = cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
    stripes = 20 * np.sin(np.arange(width) / rng.uniform(3, 12))[None, :, None]
    return np.clip(base + texture + stripes, 0, 255).astype(np.uint8)


def _draw(image, kind, box, colour):
    x0, y0, x1, y1 = box
    if kind == "circle":
        cv2.ellipse(image, ((x0 + x1) // 2, (y0 + y1) // 2), ((x1 - x0) // 2, (y1 - y0) // 2),
                    0, 0, 360, colour, -1)
    elif kind == "square":
        cv2.rectangle(image, (x0, y0), (x1, y1), colour, -1)
    else:
        points = np.array([[(x0 + x1) // 2, y0], [x0, y1], [x1, y1]], np.int32)
        cv2.fillPoly(image, [points], colour)


def _contrasting_colour(rng, background) -> tuple[int, int, int]:
    """A saturated colour at least 100 levels away from the region's mean colour."""
    while True:
        colour = rng.integers(0, 256, 3)
        colour[rng.integers(3)] = rng.choice([0, 255])
        if np.abs(colour - background).sum() >= 100:
            return tuple(int(c) for c in colour)


def make_dataset(root: Path, images: int = 120, seed: int = 0, val_every: int = 5) -> Path:
    """Write the export under ``root``; returns ``root``."""
    rng = np.random.default_rng(seed)
    for sub in ("Annotations", "JPEGImages", "ImageSets/Main"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    sets = {"train": [], "val": []}
    for i in range(images):
        height, width = int(rng.integers(120, 241)), int(rng.integers(160, 321))
        image = _background(rng, height, width)
        objects = []
        for _ in range(int(rng.integers(1, 4))):
            size = int(rng.integers(24, min(height, width) // 2 + 1))
            aspect = rng.uniform(0.75, 1.33)
            w, h = int(size * aspect), int(size / aspect)
            w, h = min(w, width - 2), min(h, height - 2)
            x0, y0 = int(rng.integers(0, width - w)), int(rng.integers(0, height - h))
            kind = CLASSES[int(rng.integers(len(CLASSES)))]
            colour = _contrasting_colour(rng, image[y0:y0 + h, x0:x0 + w].mean(axis=(0, 1)))
            _draw(image, kind, (x0, y0, x0 + w, y0 + h), colour)
            objects.append((kind, x0, y0, x0 + w, y0 + h))
        name = f"img_{i:04d}"
        cv2.imwrite(str(root / "JPEGImages" / f"{name}.jpg"), image[..., ::-1],
                    [cv2.IMWRITE_JPEG_QUALITY, 92])
        xml = [f"<annotation><folder>JPEGImages</folder><filename>{name}.jpg</filename>",
               f"<size><width>{width}</width><height>{height}</height><depth>3</depth></size>"]
        for kind, x0, y0, x1, y1 in objects:
            xml.append(f"<object><name>{kind}</name><difficult>0</difficult><bndbox>"
                       f"<xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax>"
                       "</bndbox></object>")
        (root / "Annotations" / f"{name}.xml").write_text("".join(xml) + "</annotation>\n")
        sets["val" if i % val_every == 0 else "train"].append(name)
    for set_name, names in sets.items():
        for kind in CLASSES:
            (root / "ImageSets/Main" / f"{kind}_{set_name}.txt").write_text(
                "".join(f"{n} 1\n" for n in names))
    return root
