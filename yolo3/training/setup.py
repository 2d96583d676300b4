"""Setting up a run: data, classes, split, anchors, the model's cfg, freezing, pretrained
weights, devices, and the output folder's checks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from yolo3.classfiles import format_anchors, read_anchors, read_class_names
from yolo3.darknet import DarknetConfig, standard_config, with_classes
from yolo3.data.annotations import Annotation, read_lines
from yolo3.errors import YoloError
from yolo3.files import same_location
from yolo3.training.settings import TrainSettings


def gather_annotations(settings: TrainSettings
                       ) -> tuple[list[Annotation], list[str], set[str] | None]:
    """All annotated images, the class names, and the paths of the validation images when
    the data states its own split (an export's ImageSets val set, --val_list), else None."""
    given = read_class_names(settings.class_path) if settings.class_path else None
    if settings.annotation_file:
        if given is None:
            raise YoloError("--annotation_file needs --class_path (the class names)")
        lines = read_lines(settings.annotation_file)
        if settings.val_list is None:
            return lines, given, None
        if same_location(settings.val_list, settings.annotation_file):
            raise YoloError("--val_list is the --annotation_file itself: give the list of "
                            "the images to validate on")
        if not Path(settings.val_list).is_file():
            raise YoloError(f"--val_list {settings.val_list}: no such file")
        val = read_lines(settings.val_list)
        if not val:
            raise YoloError(f"--val_list {settings.val_list}: no images listed")
        merged = list({a.path: a for a in [*lines, *val]}.values())
        return merged, given, {a.path for a in val}
    from yolo3.data.voc import convert_export

    export = Path(settings.data_path) / settings.data_dir
    per_set, classes, report = convert_export(export, ["train", "val"], given, progress=False)
    for line in report.lines():
        settings.log(f"Note: {line}")
    merged = list({a.path: a for lines in per_set.values() for a in lines}.values())
    if not merged:
        raise YoloError(f"no annotated images in {export}")
    stated = {a.path for a in per_set.get("val", [])}
    return merged, classes, stated or None


def split_as_stated(annotations: list[Annotation], stated_val: set[str] | None,
                    val_split: float, seed: int, log=print, stated_by: str = "The export"
                    ) -> tuple[list[Annotation], list[Annotation]]:
    """(train, validation): the data's own split where it states one — an image listed
    for validation is never trained on, even when the export lists it for training too —
    else :func:`split`'s seeded re-split."""
    if stated_val is None:
        return split(annotations, val_split, seed)
    val = [a for a in annotations if a.path in stated_val]
    train = [a for a in annotations if a.path not in stated_val]
    log(f"{stated_by} states its split: {len(train)} training and {len(val)} validation "
        "images (--val_split applies to data without one).")
    return train, val


def readable(annotations: list[Annotation], log=print
             ) -> tuple[list[Annotation], dict[str, tuple[int, int]], int]:
    """The annotations whose image file opens and is within the pixel limit (a broken
    image would stop training mid-epoch), each kept image's (width, height), and how many
    were left out; YoloError for boxes wholly outside their image, which say the list was
    made for other images."""
    from yolo3.images import verify_image

    kept, broken, outside, sizes = [], [], [], {}
    for annotation in annotations:
        try:
            width, height = verify_image(annotation.path)
        except YoloError:
            broken.append(annotation.path)
            continue
        boxes = annotation.boxes
        away = ((boxes[:, 0] >= width) | (boxes[:, 1] >= height) | (boxes[:, 2] <= 0)
                | (boxes[:, 3] <= 0))
        if away.any():
            outside.append(f"{annotation.path} ({width}×{height}): box "
                           + ",".join(str(int(v)) for v in boxes[away.argmax()]))
        kept.append(annotation)
        sizes[annotation.path] = (width, height)
    if outside:
        raise YoloError(f"{len(outside)} images have boxes wholly outside the image, e.g. "
                        f"{outside[0]}: the list does not describe these images")
    if broken:
        log(f"Note: {len(broken)} unreadable images left out ({', '.join(broken[:3])}"
            f"{' …' if len(broken) > 3 else ''})")
    return kept, sizes, len(broken)


RUN_OUTPUTS = ("trained_model.h5", "results.csv", "checkpoints", "metrics.json",
               "custom_anchors.txt", "classes.txt", "train_list.txt", "val_list.txt",
               "results.png", "labels.png", "val_predictions.png", "evaluation", "logs",
               # earlier versions' logs: an earlier run's all the same
               "training_log.csv", "map_log.csv", "training_curves.png")


def check_output_dir(settings: TrainSettings) -> None:
    """Before anything is built: the run may write to ``output_dir``.

    A folder holding another run's outputs is refused unless --resume (continue it) or
    --overwrite (replace it) says what to do with them; no output may be an input; and the
    folder must be writable.
    """
    from yolo3.files import check_writable, refuse_overwriting_inputs

    out = Path(settings.output_dir)
    refuse_overwriting_inputs([out / name for name in RUN_OUTPUTS] + [out],
                              [settings.annotation_file, settings.val_list, settings.class_path,
                               settings.anchors_path, settings.weights])
    earlier = [name for name in RUN_OUTPUTS if (out / name).exists()]
    if earlier and not (settings.resume or settings.overwrite):
        raise YoloError(f"{out} holds another run's outputs ({', '.join(earlier[:3])}"
                        f"{', …' if len(earlier) > 3 else ''}): pass --resume to continue it, "
                        "--overwrite to replace it, or choose another --output_dir")
    check_writable(out / "trained_model.h5")


def split(annotations: list[Annotation], val_split: float, seed: int
          ) -> tuple[list[Annotation], list[Annotation]]:
    """Shuffle with ``seed`` and hold out ``val_split`` of the images for validation."""
    order = np.random.default_rng(seed).permutation(len(annotations))
    count = int(round(len(annotations) * val_split))
    if val_split > 0 and len(annotations) > 1:
        count = min(max(count, 1), len(annotations) - 1)
    val = [annotations[i] for i in order[:count]]
    return [annotations[i] for i in order[count:]], val


def partition_masks(num_anchors: int, num_heads: int) -> list[list[int]]:
    """Anchors sorted by area, the largest to the first (coarsest) head, each used once."""
    per_head = num_anchors // num_heads
    return [list(range(num_anchors - (h + 1) * per_head, num_anchors - h * per_head))
            for h in range(num_heads)]


def model_config(size: str, num_classes: int, anchors: np.ndarray,
                 scale_x_y: float | None = None,
                 input_size: tuple[int, int] | None = None) -> DarknetConfig:
    """The cfg of the model to train: the standard network for these classes and anchors
    (and the recipe's decode ``scale_x_y``, when it sets one), letterboxed as training
    feeds it (YOLOv4 cfgs say letter_box=0, as Darknet trains them), at the training
    ``input_size`` (height, width) when given, so the model file states its own size.

    Masks are re-partitioned (keras-yolo3's tiny masks 3,4,5 / 1,2,3 never train anchor 0;
    that only suits Darknet's own tiny anchors).
    """
    base = standard_config(size)
    if base.new_coords:  # its loss would read probabilities as logits
        raise YoloError(f"a {size} model decodes with new_coords, which training here does "
                        "not support")
    if len(anchors) != len(base.anchors):
        raise YoloError(f"a {size} model needs {len(base.anchors)} anchors, got {len(anchors)}")
    order = np.argsort(anchors.prod(axis=1), kind="stable")
    return with_classes(base, num_classes, anchors[order],
                        masks=partition_masks(len(anchors), len(base.heads)),
                        scale_x_y=scale_x_y, letter_box=True, input_size=input_size)


def choose_anchors(settings: TrainSettings, train: list[Annotation], k: int) -> np.ndarray:
    if settings.anchors_path:
        return read_anchors(settings.anchors_path)
    from yolo3.data.anchors import box_shapes, cluster_anchors

    shapes, skipped = box_shapes(train, (settings.input_size, settings.input_size))
    for note in skipped[:5]:
        settings.log(f"Note: {note}")
    result = cluster_anchors(shapes, k, seed=settings.seed)
    settings.log(f"Anchors by k-means at {settings.input_size}: {format_anchors(result.anchors)} "
                 f"(mean IoU {result.mean_iou:.3f}, best possible recall {result.recall:.3f})")
    return result.anchors


def freeze(body: keras.Model, config: DarknetConfig, freeze_body: int) -> tuple[int, int]:
    """Freeze the backbone (1), everything but the heads (2) or nothing (0).

    Returns (frozen layers, layers with weights)."""
    heads = {config.layers[h.conv_index].name for h in config.heads}
    end = config.backbone_end
    frozen = 0
    weighted = [layer for layer in body.layers if layer.weights]
    for layer in body.layers:
        index = config.layer_index(layer.name)
        if freeze_body == 1:
            layer.trainable = index is None or index > end
        elif freeze_body == 2:
            layer.trainable = layer.name in heads
        else:
            layer.trainable = True
        frozen += bool(layer.weights) and not layer.trainable
    return frozen, len(weighted)


def load_pretrained(body: keras.Model, path: Path, log=print) -> tuple[int, list[str]]:
    """Copy every layer of a model file whose name and weight shapes match; the rest keep
    their fresh values. Returns (layers loaded, names skipped)."""
    from yolo3.model.files import load_model, read_metadata

    if read_metadata(path) is None:
        from yolo3.model.files import is_full_model

        if not is_full_model(path):
            raise YoloError(f"{path} carries no cfg: convert Darknet weights with convert.py "
                            "(a full model or -w) and pass that file")
    source, _ = load_model(path)
    names = {layer.name: layer for layer in source.layers}
    loaded, skipped = 0, []
    for layer in body.layers:
        if not layer.weights:
            continue
        other = names.get(layer.name)
        values = other.get_weights() if other is not None else None
        if values is None or [v.shape for v in values] != [tuple(w.shape)
                                                           for w in layer.weights]:
            skipped.append(layer.name)
            continue
        layer.set_weights(values)
        loaded += 1
    log(f"Loaded pretrained weights from {path} into {loaded} layers; {len(skipped)} skipped "
        f"(fresh: {', '.join(skipped) if skipped else 'none'}).")
    return loaded, skipped


def choose_strategy(gpu_num: int) -> tf.distribute.Strategy:
    """MultiWorkerMirrored when TF_CONFIG names several workers; Mirrored over several
    GPUs (or several logical CPUs when no GPU exists, as tests set up); else the default.

    ``gpu_num`` caps the devices used; 0 means all."""
    cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    if sum(len(v) for k, v in cluster.items() if k in ("worker", "chief")) > 1:
        return tf.distribute.MultiWorkerMirroredStrategy()
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    if gpu_num:
        devices = devices[:gpu_num]
    if len(devices) > 1:
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    return tf.distribute.get_strategy()


def data_workers(choice: int | None) -> int:
    """``--workers``: as given, else one per core on a machine with a GPU and none on CPUs
    (yolo3.data.workers.default_workers)."""
    from yolo3.data.workers import default_workers

    if choice is not None:
        return choice
    return default_workers(accelerated=bool(tf.config.list_logical_devices("GPU")))
