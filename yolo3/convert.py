"""Darknet ⇄ Keras conversion, as convert.py runs it."""

from __future__ import annotations

import sys
from pathlib import Path

from yolo3.darknet import (
    DarknetHeader,
    join_weights,
    load_cfg,
    match_weights,
    read_weights,
    weights_bytes,
)
from yolo3.datafiles import COCO_CLASSES, read_class_names
from yolo3.errors import YoloError
from yolo3.files import atomic_output, check_writable, write_bytes_atomic
from yolo3.model import build_model, get_darknet_weights, set_darknet_weights
from yolo3.modelfile import ModelMetadata, check_model_path, load_model, save_model


def darknet_to_keras(config_path: Path, weights_path: Path, output_path: Path, *,
                     weights_only: bool = False, classes_path: Path | None = None,
                     plot: bool = False, log=print) -> None:
    """Convert ``config_path`` + ``weights_path`` into a Keras model file at ``output_path``."""
    check_model_path(output_path, weights_only)
    config = load_cfg(config_path)
    header, floats = read_weights(weights_path)
    match = match_weights(config, floats, source=str(weights_path))
    class_names = _class_names(config.num_classes, classes_path)
    check_writable(output_path)

    log(f"Read {match.floats_read} of {floats.size} floats from {weights_path} "
        f"(Darknet {header.major}.{header.minor}.{header.revision}, {header.seen} images seen).")
    if match.heads_skipped:
        layers = ", ".join(str(head.conv_index) for head in config.heads)
        log(f"Detection heads (layers {layers}) start freshly initialised: the weights were "
            f"trained for {match.file_classes} classes, {config.source} has "
            f"{config.num_classes}; every other layer takes the file's values.")
    model = build_model(config)
    set_darknet_weights(model, config, match.convs)
    metadata = ModelMetadata(config.text, class_names, header)
    save_model(model, output_path, metadata, weights_only=weights_only)
    kind = "weights" if weights_only else "full model"
    outputs = ", ".join(f"{name} {tuple(t.shape[1:])}"
                        for name, t in zip(model.output_names, model.outputs))
    log(f"Saved {kind} ({len(model.layers)} layers, {model.count_params():,} parameters; "
        f"outputs {outputs}) to {output_path}.")
    if class_names is None and config.num_classes is not None:
        log("No class names stored: pass --classes_path to name the classes.")
    if plot:
        _plot(model, output_path.with_suffix(".png"))


def _class_names(num_classes: int | None, classes_path: Path | None) -> list[str] | None:
    if classes_path is None:
        if num_classes != 80:
            return None
        classes_path = COCO_CLASSES
    names = read_class_names(classes_path)
    if num_classes is not None and len(names) != num_classes:
        raise YoloError(f"{classes_path} names {len(names)} classes; the cfg has {num_classes}")
    return names


def _plot(model, path: Path) -> None:
    import keras

    try:
        with atomic_output(path) as tmp:
            keras.utils.plot_model(model, to_file=str(tmp), show_shapes=True)
    except (ImportError, OSError) as error:
        print(f"note: model plot skipped ({str(error).splitlines()[0]}); install pydot and "
              "graphviz to draw it", file=sys.stderr)
        return
    print(f"Plotted the model to {path}.")


def keras_to_darknet(model_path: Path, output_path: Path, *, cfg_path: Path | None = None,
                     log=print) -> None:
    """Write the weights of a Keras model file as Darknet ``output_path`` (+ ``.cfg``).

    The cfg comes from ``cfg_path`` or, when None, from the model's metadata and is then
    written beside the weights. The Darknet header is the one the model was converted with,
    so a converted model goes back to the identical file.
    """
    if output_path.suffix != ".weights":
        raise YoloError(f"{output_path}: the Darknet weights file name must end in .weights")
    given = load_cfg(cfg_path) if cfg_path else None
    model, metadata = load_model(model_path, config=given)
    config = given or (metadata.config() if metadata else None)
    if config is None:
        raise YoloError(f"{model_path} carries no cfg: pass --cfg with the one it was built from")
    header = metadata.darknet_header if metadata and metadata.darknet_header else DarknetHeader()
    try:
        convs = get_darknet_weights(model, config)
    except ValueError as error:  # a layer name the cfg implies is not in the model
        raise YoloError(f"{model_path} does not match the cfg: {error}") from None
    floats = join_weights(config, convs)
    write_bytes_atomic(output_path, weights_bytes(header, floats))
    log(f"Wrote {floats.size} floats to {output_path}.")
    if cfg_path is None:
        cfg_out = output_path.with_suffix(".cfg")
        with atomic_output(cfg_out) as tmp:
            tmp.write_text(config.text, encoding="utf-8")
        log(f"Wrote the model's cfg to {cfg_out}.")
