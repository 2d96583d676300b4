"""yolo3.model.build: the cfg-built Keras model equals Darknet (OpenCV's importer) numerically."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import (
    CFG,
    converted_model,
    opencv_head_names,
    opencv_outputs,
    random_conv_weights,
    relative_error,
)
from yolo3.darknet import load_cfg, match_weights, read_weights, with_classes
from yolo3.model.build import build_model, get_darknet_weights, set_darknet_weights

TOLERANCE = 1e-4


def compare_with_opencv(cfg_path, weights_path, seed=0):
    config, model = converted_model(cfg_path, weights_path)
    images = np.random.default_rng(seed).random((1, 416, 416, 3), dtype=np.float32)
    outputs = model(images, training=False)
    outputs = outputs if isinstance(outputs, list) else [outputs]
    reference = opencv_outputs(cfg_path, weights_path, images, opencv_head_names(config))
    assert len(outputs) == len(reference)
    errors = []
    for ours, theirs in zip(outputs, reference):
        assert ours.shape == theirs.shape
        assert np.isfinite(theirs).all()
        errors.append(relative_error(ours, theirs))
    return errors


def test_real_tiny_weights_match_opencv(tiny_weights):
    errors = compare_with_opencv(CFG / "yolov3-tiny.cfg", tiny_weights)
    assert len(errors) == 2
    assert max(errors) <= TOLERANCE, errors


@pytest.mark.slow
@pytest.mark.parametrize("name", ["yolov3", "yolov3-spp", "darknet53"])
def test_random_weights_in_official_layout_match_opencv(name, random_weights):
    errors = compare_with_opencv(CFG / f"{name}.cfg", random_weights(name))
    assert len(errors) == (1 if name == "darknet53" else 3)
    assert max(errors) <= TOLERANCE, errors


@pytest.mark.parametrize("name, outputs", [
    ("yolov3", [(13, 13, 255), (26, 26, 255), (52, 52, 255)]),
    ("yolov3-tiny", [(13, 13, 255), (26, 26, 255)]),
])
def test_layer_names_and_outputs(name, outputs):
    config = load_cfg(CFG / f"{name}.cfg")
    model = build_model(config, input_shape=(416, 416))
    assert [tuple(o.shape[1:]) for o in model.outputs] == outputs
    assert model.output_names == [f"conv_{h.conv_index}" for h in config.heads]
    assert model.count_params() == config.num_floats()
    names = {layer.name for layer in model.layers}
    assert {"conv_0", "bn_0", "leaky_0"} <= names
    if name == "yolov3":
        assert {"pad_1", "shortcut_4", "route_86", "upsample_85"} <= names
        assert "route_83" not in names  # a single-layer route is only a reference


def test_any_input_size_that_is_a_multiple_of_32():
    model = build_model(load_cfg(CFG / "yolov3-tiny.cfg"))
    outputs = model(np.zeros((2, 320, 608, 3), np.float32))
    assert [tuple(o.shape) for o in outputs] == [(2, 10, 19, 255), (2, 20, 38, 255)]


def test_get_weights_returns_what_was_set():
    config = load_cfg(CFG / "yolov3-tiny.cfg")
    values = random_conv_weights(config, seed=5)
    model = build_model(config)
    set_darknet_weights(model, config, values)
    back = get_darknet_weights(model, config)
    for index, original in values.items():
        for field in ("biases", "kernel", "scales", "mean", "variance"):
            a, b = getattr(original, field), getattr(back[index], field)
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_array_equal(a, b)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["yolov3", "yolov3-tiny", "yolov4-tiny", "yolov4-tiny-3l"])
@pytest.mark.parametrize("classes", [1, 2])
def test_custom_class_cfg_takes_every_non_head_layer_from_80_class_weights(
        name, classes, random_weights, tiny_weights):
    weights = tiny_weights if name == "yolov3-tiny" else random_weights(name)
    base_config, base_model = converted_model(CFG / f"{name}.cfg", weights)
    config = with_classes(base_config, classes)
    _, floats = read_weights(weights)
    match = match_weights(config, floats)
    assert match.file_classes == 80
    model = build_model(config)
    set_darknet_weights(model, config, match.convs)
    heads = {f"conv_{h.conv_index}" for h in config.heads}
    compared = 0
    for layer in model.layers:
        if layer.name in heads:
            assert layer.get_weights()[0].shape[-1] == 3 * (classes + 5)  # 3 anchors a head
            continue
        reference = base_model.get_layer(layer.name).get_weights()
        for ours, theirs in zip(layer.get_weights(), reference):
            np.testing.assert_array_equal(ours, theirs)
            compared += 1
    assert compared == 5 * (len(config.convs) - len(heads))  # kernel + 4 BN arrays each


def test_yolov4_tiny_route_groups():
    """YOLOv4-tiny's CSP blocks route half of a layer's channels ([route] groups=2
    group_id=1)."""
    config = load_cfg(CFG / "yolov4-tiny.cfg")
    groups = [layer for layer in config.layers if getattr(layer, "groups", 1) > 1]
    assert [(g.index, g.group_id, g.out_channels) for g in groups] == [
        (3, 1, 32), (11, 1, 64), (19, 1, 128)]
    model = build_model(config, input_shape=(416, 416))
    assert model.count_params() == config.num_floats()
    assert [tuple(o.shape[1:]) for o in model.outputs] == [(13, 13, 255), (26, 26, 255)]
    assert [h.mask for h in config.heads] == [(3, 4, 5), (1, 2, 3)]  # v4-tiny's own masks
    assert {h.scale_x_y for h in config.heads} == {1.05}


# cfg → (float count of the official .weights, head strides, scale_x_y, new_coords,
# letter_box): the file sizes AlexeyAB publishes are 20 + 4 × the float count
YOLOV4_FAMILY = {
    "yolov4-tiny": (6_062_814, [32, 16], [1.05, 1.05], False, False),
    "yolov4-tiny-3l": (6_334_045, [32, 16, 8], [1.05] * 3, False, False),
    "yolov4": (64_429_405, [8, 16, 32], [1.2, 1.1, 1.05], False, False),
    "yolov4-csp": (52_986_205, [8, 16, 32], [2.0] * 3, True, True),
}


@pytest.mark.parametrize("name", [
    "yolov4-tiny", "yolov4-tiny-3l",
    pytest.param("yolov4", marks=pytest.mark.slow),
    pytest.param("yolov4-csp", marks=pytest.mark.slow)])
def test_yolov4_family_random_weights_match_opencv(name, random_weights, capsys):
    """Each YOLOv4 cfg in the official layout against OpenCV's importer: raw heads (after
    the head convolution's logistic for new_coords) within 1e-4 relative."""
    floats, strides, scales, new_coords, letter_box = YOLOV4_FAMILY[name]
    config = load_cfg(CFG / f"{name}.cfg")
    assert config.num_floats() == floats
    assert (config.head_strides, [h.scale_x_y for h in config.heads]) == (strides, scales)
    assert (config.new_coords, config.letter_box) == (new_coords, letter_box)
    weights = random_weights(name)
    assert weights.stat().st_size == 20 + 4 * floats
    _, read = read_weights(weights)
    assert match_weights(config, read).floats_read == floats
    model = build_model(config)
    assert model.count_params() == floats
    errors = compare_with_opencv(CFG / f"{name}.cfg", weights)
    with capsys.disabled():
        print(f"\n{name}, random weights: max relative error vs OpenCV {max(errors):.2e}")
    assert len(errors) == len(strides) and max(errors) <= TOLERANCE, errors


@pytest.mark.parametrize("activation", ["mish", "swish", "logistic", "relu"])
def test_yolov4_activations_match_opencv(tmp_path, activation):
    """Darknet's other activations (YOLOv4's mish above all) as Keras' built-in ones:
    random weights against OpenCV's importer, batch-normalised and not."""
    from helpers import write_random_weights

    def conv(filters, size, bn=True):
        return ("[convolutional]\n" + ("batch_normalize=1\n" if bn else "") +
                f"filters={filters}\nsize={size}\nstride=1\npad=1\n"
                f"activation={activation}\n\n")

    cfg = tmp_path / f"{activation}.cfg"
    cfg.write_text("[net]\nwidth=416\nheight=416\nchannels=3\n\n" + conv(16, 3)
                   + conv(16, 3) + conv(16, 1, bn=False)
                   + "[shortcut]\nfrom=-2\nactivation=linear\n")  # OpenCV names its output
    weights = write_random_weights(tmp_path / f"{activation}.weights", load_cfg(cfg))
    model = build_model(load_cfg(cfg))
    assert model.get_layer(f"{activation}_1") is not None
    errors = compare_with_opencv(cfg, weights)
    assert max(errors) <= TOLERANCE, errors
