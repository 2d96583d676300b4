"""Darknet ⇄ Keras conversion, as convert.py runs it."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from yolo3.classfiles import COCO_CLASSES, read_class_names
from yolo3.darknet import (
    DarknetHeader,
    join_weights,
    load_cfg,
    match_weights,
    read_weights,
    weights_bytes,
)
from yolo3.errors import YoloError, first_line
from yolo3.files import (
    atomic_output,
    check_writable,
    read_text,
    refuse_overwriting_inputs,
    write_bytes_atomic,
)
from yolo3.model.build import build_model, get_darknet_weights, set_darknet_weights
from yolo3.model.files import ModelMetadata, check_model_path, load_model, save_model


def darknet_to_keras(config_path: Path, weights_path: Path, output_path: Path, *,
                     weights_only: bool = False, classes_path: Path | None = None,
                     plot: bool = False, allow_nonfinite: bool = False, log=print) -> None:
    """Convert ``config_path`` + ``weights_path`` into a Keras model file at ``output_path``.

    Weights with NaN or infinite values, or negative BatchNorm variances (what a corrupted
    or random file holds), are an error unless ``allow_nonfinite``, then a warning.
    """
    check_model_path(output_path, weights_only)
    refuse_overwriting_inputs([output_path, output_path.with_suffix(".png") if plot else None],
                              [config_path, weights_path, classes_path])
    config = load_cfg(config_path)
    header, floats = read_weights(weights_path)
    match = match_weights(config, floats, source=str(weights_path))
    _check_values(match, floats, weights_path, allow_nonfinite)
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


def _check_values(match, floats, weights_path: Path, allow: bool) -> None:
    nonfinite = int(floats.size - np.count_nonzero(np.isfinite(floats)))
    negative = sum(int((conv.variance < 0).sum()) for conv in match.convs.values()
                   if conv.variance is not None)
    if not nonfinite and not negative:
        return
    problem = ", ".join(part for part in (
        f"{nonfinite:,} NaN or infinite values" if nonfinite else "",
        f"{negative:,} negative BatchNorm variances" if negative else "") if part)
    message = f"{weights_path} holds {problem}: a corrupted file, or not trained weights"
    if not allow:
        raise YoloError(f"{message} (--allow_nonfinite converts it anyway)")
    print(f"WARNING: {message}; converting anyway (--allow_nonfinite): the model will not "
          "detect anything", file=sys.stderr)


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
        print(f"note: model plot skipped ({first_line(error)}); install pydot and "
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
    cfg_out = None if cfg_path else output_path.with_suffix(".cfg")
    refuse_overwriting_inputs([output_path, cfg_out], [model_path, cfg_path])
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
    if cfg_out is not None and cfg_out.exists() and _differs(cfg_out, config.text):
        raise YoloError(f"{cfg_out} exists and differs from the model's cfg: move it, or pass "
                        "the cfg it holds as --cfg")
    write_bytes_atomic(output_path, weights_bytes(header, floats))
    log(f"Wrote {floats.size} floats to {output_path}.")
    if cfg_out is not None:
        with atomic_output(cfg_out) as tmp:
            tmp.write_text(config.text, encoding="utf-8")
        log(f"Wrote the model's cfg to {cfg_out}.")


def _differs(path: Path, text: str) -> bool:
    try:
        return read_text(path) != text
    except YoloError:
        return True
