#!/usr/bin/env python
"""Ultralytics' training dataloader on a VOC-style photo set: images/s (for
bench_data.py --pipeline, run with the Python of a venv where ultralytics is installed;
never a project dependency).

    python peer_ultralytics_loader.py DATA_DIR WORK_DIR SIZE BATCH BATCHES

DATA_DIR holds images/, annotations/ (VOC XML) and train.txt (stems), as
../shared/datasets/raccoon does; the training images are linked into WORK_DIR in
Ultralytics' layout with YOLO label files. The loader is Ultralytics' own training
dataloader (mosaic and its default augmentation, workers 0: the work stays in this
process, so `taskset` decides its cores). Prints one line: images/s after one epoch of
warm-up.
"""

from __future__ import annotations

import os
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path


def yolo_layout(data: Path, work: Path) -> Path:
    images, labels = work / "images" / "train", work / "labels" / "train"
    images.mkdir(parents=True, exist_ok=True)
    labels.mkdir(parents=True, exist_ok=True)
    for stem in (data / "train.txt").read_text().split():
        source = data / "images" / f"{stem}.jpg"
        if not (images / source.name).exists():
            os.symlink(source, images / source.name)
        root = ET.parse(data / "annotations" / f"{stem}.xml").getroot()
        width, height = float(root.findtext("size/width")), float(root.findtext("size/height"))
        rows = []
        for element in root.findall("object"):
            x0, y0, x1, y1 = (float(element.findtext(f"bndbox/{k}"))
                              for k in ("xmin", "ymin", "xmax", "ymax"))
            rows.append(f"0 {(x0 + x1) / 2 / width} {(y0 + y1) / 2 / height} "
                        f"{(x1 - x0) / width} {(y1 - y0) / height}")
        (labels / f"{stem}.txt").write_text("\n".join(rows) + "\n")
    (work / "data.yaml").write_text(f"path: {work}\ntrain: images/train\nval: images/train\n"
                                    "names:\n  0: object\n")
    return images


def main() -> int:
    data, work = Path(sys.argv[1]), Path(sys.argv[2])
    size, batch, batches = (int(v) for v in sys.argv[3:6])
    images = yolo_layout(data, work)
    import torch
    from ultralytics.cfg import get_cfg
    from ultralytics.data import build_dataloader, build_yolo_dataset
    from ultralytics.data.utils import check_det_dataset

    torch.set_num_threads(1)
    cfg = get_cfg(overrides={"imgsz": size, "batch": batch, "workers": 0, "cache": False,
                             "verbose": False})
    dataset = build_yolo_dataset(cfg, str(images), batch, check_det_dataset(
        str(work / "data.yaml")), mode="train")
    loader = build_dataloader(dataset, batch, 0, shuffle=True)
    for _ in loader:  # one epoch: the mosaic buffer fills
        pass
    done, start = 0, time.perf_counter()
    while done < batches:
        for _ in loader:
            done += 1
            if done == batches:
                break
    print(f"{batches * batch / (time.perf_counter() - start):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
