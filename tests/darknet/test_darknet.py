"""yolo3.darknet: cfg parsing and checks, .weights headers, matching weights to a cfg."""

from __future__ import annotations

import re

import numpy as np
import pytest

from helpers import CFG, random_conv_weights
from yolo3.darknet import (
    DarknetHeader,
    join_weights,
    load_cfg,
    match_weights,
    parse_cfg,
    read_weights,
    weights_bytes,
    with_classes,
)
from yolo3.errors import CfgError, WeightsError

TINY_NET = "[net]\nwidth=64\nheight=64\nchannels=3\n"


def conv(filters, size=3, stride=1, bn=True, act="leaky"):
    bn_line = "batch_normalize=1\n" if bn else ""
    return (f"[convolutional]\n{bn_line}filters={filters}\nsize={size}\nstride={stride}\n"
            f"pad=1\nactivation={act}\n")


def yolo(mask="0,1,2", classes=2, anchors="10,13, 16,30, 33,23"):
    return f"[yolo]\nmask={mask}\nanchors={anchors}\nclasses={classes}\nnum=3\n"


@pytest.mark.parametrize("name, layers, convs, floats, heads, masks", [
    ("yolov3", 107, 75, 62_001_757, [82, 94, 106], [(6, 7, 8), (3, 4, 5), (0, 1, 2)]),
    ("yolov3-tiny", 24, 13, 8_858_734, [16, 23], [(3, 4, 5), (1, 2, 3)]),
    ("yolov3-spp", 114, 76, 63_052_381, [89, 101, 113], [(6, 7, 8), (3, 4, 5), (0, 1, 2)]),
    ("darknet53", 75, 52, 40_620_640, [], []),
])
def test_standard_cfgs(name, layers, convs, floats, heads, masks):
    config = load_cfg(CFG / f"{name}.cfg")
    assert len(config.layers) == layers
    assert len(config.convs) == convs
    assert config.num_floats() == floats
    assert [h.index for h in config.heads] == heads
    assert config.masks == masks
    assert config.input_size == ((256, 256) if name == "darknet53" else (416, 416))


def test_yolov3_heads_carry_anchors_classes_and_thresholds():
    config = load_cfg(CFG / "yolov3.cfg")
    assert config.num_classes == 80
    assert config.anchors.shape == (9, 2)
    assert config.anchors[-1].tolist() == [373, 326]
    assert [h.conv_index for h in config.heads] == [81, 93, 105]
    assert config.heads[0].layer_anchors.tolist() == [[116, 90], [156, 198], [373, 326]]
    assert all(c.is_head == (c.index in (81, 93, 105)) for c in config.convs)
    assert load_cfg(CFG / "yolov3-tiny.cfg").heads[0].ignore_thresh == pytest.approx(0.7)


def test_route_and_shortcut_channels():
    config = load_cfg(CFG / "yolov3-spp.cfg")
    assert config.out_channels[83] == 2048  # SPP concat of three pools and their input
    assert config.out_channels[93] == 256 + 512  # upsampled branch + backbone layer 61
    assert config.sections[83].get_ints("layers") == [-1, -3, -5, -6]
    assert config.layers[83].inputs == (82, 80, 78, 77)  # resolved once, in the graph


def test_route_groups_take_one_channel_group_of_each_input():
    config = parse_cfg(TINY_NET + conv(8) + conv(4) + "[route]\nlayers=-1,-2\ngroups=2\n"
                       "group_id=1\n")
    route = config.layers[2]
    assert (route.groups, route.group_id, route.inputs, route.out_channels) == (2, 1, (1, 0), 6)
    plain = parse_cfg(TINY_NET + conv(8) + "[route]\nlayers=-1\n").layers[1]
    assert (plain.groups, plain.group_id, plain.out_channels) == (1, 0, 8)


def test_comments_aliases_and_whitespace():
    text = ("# a comment\n[net]\n; another\nchannels = 1\n\n[conv]\nbatch_normalize=1\n"
            "filters = 8 # inline\nsize=3\nstride=1\npad=1\nactivation=leaky\n")
    config = parse_cfg(text)
    assert config.input_channels == 1
    assert config.convs[0].filters == 8
    assert config.convs[0].padding == 1


@pytest.mark.parametrize("text, message", [
    (TINY_NET + "[dropout]\nprobability=.5\n", "unsupported section [dropout]"),
    (TINY_NET + conv(8, act="hardtan"), "unsupported activation 'hardtan'"),
    (TINY_NET + conv(8) + conv(21, 1, bn=False, act="linear") + yolo(classes=3),
     "classes=3 with 3 anchors needs filters=24"),
    (TINY_NET + conv(8) + conv(21, 1, bn=False, act="linear") + yolo(mask="0,1,5"),
     "mask [0, 1, 5] must index the 3 anchors"),
    (TINY_NET + conv(8) + conv(21, 1, bn=False, act="linear") + yolo(anchors="10,13, 16"),
     "width,height pairs"),
    (TINY_NET + conv(8) + conv(21, 1, bn=True, act="linear") + yolo(),
     "must be activation=linear without batch_normalize"),
    (TINY_NET + conv(8) + conv(21, 1, bn=False, act="linear") + yolo().replace(
        "[yolo]\n", "[yolo]\nnew_coords=1\n"),
     "must be activation=logistic without batch_normalize (new_coords=1)"),
    (TINY_NET + conv(8) + conv(21, 1, bn=False, act="logistic") + yolo().replace(
        "[yolo]\n", "[yolo]\nnew_coords=2\n"), "new_coords must be 0 or 1"),
    (TINY_NET.replace("[net]\n", "[net]\nletter_box=2\n") + conv(8),
     "letter_box must be 0 or 1"),
    (TINY_NET + conv(8) + "[route]\nlayers=-3\n", "not an earlier layer"),
    (TINY_NET + conv(8) + conv(16) + "[shortcut]\nfrom=-2\nactivation=linear\n",
     "adds layer 0 (8 channels) to 16 channels"),
    (TINY_NET + conv(8) + "[maxpool]\nsize=3\nstride=2\n",
     "size=3 stride=2 padding=2: Darknet pads this pool otherwise than a \"same\" pool"),
    (TINY_NET + conv(8) + "[maxpool]\nsize=2\nstride=1\npadding=0\n", "padding=0"),
    (TINY_NET + conv(8) + "[shortcut]\nfrom=-1\nactivation=hardtan\n",
     "unsupported activation 'hardtan'"),
    (TINY_NET + conv(8) + "[shortcut]\nfrom=-1\nweights_type=per_channel\n",
     "weights_type=per_channel (a weighted shortcut) is not supported"),
    (TINY_NET + conv(8) + "[route]\nlayers=-1\ngroups=3\ngroup_id=0\n",
     "groups=3 does not divide the routed layers' channels [8]"),
    (TINY_NET + conv(8) + "[route]\nlayers=-1\ngroups=2\ngroup_id=2\n",
     "need groups ≥ 1 and 0 ≤ group_id < groups"),
    (TINY_NET + conv(8) + "[route]\nlayers=-1\ngroups=0\n", "need groups ≥ 1"),
    (TINY_NET + "filters=3\n", "no layers"),
    ("filters=3\n" + TINY_NET, "option before the first section"),
    (TINY_NET + "[convolutional\nfilters=3\n", "malformed section header"),
    (TINY_NET + conv(8) + "size\n", "expected key=value"),
    (TINY_NET + conv(8).replace("size=3", "size=three"), "size='three' is not an integer"),
    (TINY_NET + conv(8) + conv(21, 1, bn=False, act="linear") + yolo()
     + "[route]\nlayers=-1\n", "refers to a [yolo] layer"),
])
def test_bad_cfgs_are_rejected_with_the_reason(text, message):
    with pytest.raises(CfgError, match=re.escape(message)):
        parse_cfg(text, "bad.cfg")


@pytest.mark.parametrize("section, option", [
    ("[convolutional]", "xnor=1"), ("[convolutional]", "antialiasing=1"),
    ("[convolutional]", "stride_x=2"), ("[maxpool]", "maxpool_depth=1"),
    ("[upsample]", "scale=2"), ("[yolo]", "map=data/coco9k.map"), ("[net]", "rgb_spread=1"),
])
def test_an_option_this_project_does_not_build_names_itself_and_its_line(section, option):
    """A cfg relying on an option the model would silently lack is refused, not guessed."""
    text = (TINY_NET + conv(8) + "[maxpool]\nsize=2\nstride=2\n[upsample]\nstride=2\n"
            + conv(21, 1, bn=False, act="linear") + yolo())
    header = text.index(section)
    text = text[:header] + f"{section}\n{option}\n" + text[header + len(section) + 1:]
    line = text[:text.index(option)].count("\n") + 1
    with pytest.raises(CfgError) as error:
        parse_cfg(text, "bad.cfg")
    assert str(error.value).startswith(f"bad.cfg: line {line}: ")
    assert f"option {option} is not supported" in str(error.value)


def test_training_only_options_are_read_and_carried():
    config = load_cfg(CFG / "yolov4.cfg")
    head = config.heads[0]
    assert dict(head.training_options) == {
        "jitter": ".3", "truth_thresh": "1", "iou_normalizer": "0.07",
        "cls_normalizer": "1.0", "iou_loss": "ciou", "nms_kind": "greedynms",
        "beta_nms": "0.6", "max_delta": "5"}
    assert (head.iou_thresh, head.ignore_thresh, head.scale_x_y) == (0.213, 0.7, 1.2)
    assert load_cfg(CFG / "yolov3.cfg").heads[0].iou_thresh == 1.0  # Darknet's default
    assert with_classes(config, 2).heads[0].training_options == head.training_options


def test_shortcut_activation_and_letter_box():
    text = (TINY_NET.replace("[net]\n", "[net]\nletter_box=0\n") + conv(8) + conv(8)
            + "[shortcut]\nfrom=-2\nactivation=leaky\n")
    config = parse_cfg(text)
    shortcut = config.layers[2]
    assert (shortcut.activation, shortcut.name, shortcut.keras_names) == (
        "leaky", "leaky_2", ("shortcut_2", "leaky_2"))
    assert config.letter_box is False
    assert parse_cfg(TINY_NET + conv(8)).letter_box is True  # silent: letterboxed


def test_heads_must_agree_on_classes():
    text = (TINY_NET + conv(8) + conv(21, 1, bn=False, act="linear") + yolo()
            + "[route]\nlayers=-3\n" + conv(24, 1, bn=False, act="linear") + yolo(classes=3))
    with pytest.raises(CfgError, match="share classes and anchors"):
        parse_cfg(text)


def test_with_classes_rewrites_only_heads():
    config = load_cfg(CFG / "yolov3.cfg")
    anchors = np.arange(1, 19, dtype=float).reshape(9, 2) * 10
    custom = with_classes(config, 2, anchors)
    assert custom.num_classes == 2
    assert [c.filters for c in custom.convs if c.is_head] == [21, 21, 21]
    np.testing.assert_array_equal(custom.anchors, anchors)
    body = [c for c in config.convs if not c.is_head]
    assert [c for c in custom.convs if not c.is_head] == body
    changed = [(a, b) for a, b in zip(config.text.splitlines(), custom.text.splitlines())
               if a != b]
    assert len(changed) == 3 * 3  # filters, classes, anchors per head; num stays 9
    with pytest.raises(CfgError, match="6 anchors given"):
        with_classes(config, 2, anchors[:6])


def test_with_classes_adds_keys_the_cfg_left_to_defaults():
    # no classes= (Darknet's default 20) and no mask= (all anchors)
    text = (TINY_NET + conv(8) + conv(75, 1, bn=False, act="linear")
            + "[yolo]\nanchors=1,2, 3,4, 5,6\n")
    custom = with_classes(parse_cfg(text), 4)
    assert custom.num_classes == 4
    assert custom.convs[-1].filters == 27


@pytest.mark.parametrize("header", [DarknetHeader(0, 2, 0, 2**40 + 5),
                                    DarknetHeader(0, 1, 0, 123456)])
def test_header_versions_round_trip(tmp_path, header):
    floats = np.arange(10, dtype=np.float32)
    path = tmp_path / "w.weights"
    path.write_bytes(weights_bytes(header, floats))
    assert path.stat().st_size == header.size + 40
    assert header.size == (20 if header.minor >= 2 else 16)
    read_header, read_floats = read_weights(path)
    assert read_header == header
    np.testing.assert_array_equal(read_floats, floats)


@pytest.mark.parametrize("data, message", [
    (b"\0" * 10, "too short"),
    (DarknetHeader().to_bytes() + b"\0" * 6, "whole number"),
])
def test_unreadable_weights(tmp_path, data, message):
    path = tmp_path / "bad.weights"
    path.write_bytes(data)
    with pytest.raises(WeightsError, match=message):
        read_weights(path)


def test_match_and_join_are_inverse():
    config = load_cfg(CFG / "yolov3-tiny.cfg")
    floats = join_weights(config, random_conv_weights(config, seed=3))
    assert floats.size == 8_858_734
    match = match_weights(config, floats)
    assert not match.heads_skipped and match.floats_read == floats.size
    np.testing.assert_array_equal(join_weights(config, match.convs), floats)
    first = match.convs[0]
    assert first.kernel.shape == (16, 3, 3, 3)
    assert first.scales.shape == first.mean.shape == first.variance.shape == (16,)


def test_truncated_weights_name_the_layer():
    config = load_cfg(CFG / "yolov3-tiny.cfg")
    floats = join_weights(config, random_conv_weights(config))[:-100]
    with pytest.raises(WeightsError, match=r"truncated: layer 22 \[convolutional\] at line \d+ "
                                           r"needs 65535 floats but only 65435 are left"):
        match_weights(config, floats)


def test_extra_floats_are_an_error():
    config = load_cfg(CFG / "yolov3-tiny.cfg")
    floats = np.zeros(config.num_floats() + 7, dtype=np.float32)
    with pytest.raises(WeightsError, match="7 would be left over"):
        match_weights(config, floats)


@pytest.mark.parametrize("cfg_classes, file_classes", [(1, 80), (2, 80), (80, 3)])
def test_weights_for_another_class_count_skip_only_the_heads(cfg_classes, file_classes):
    base = load_cfg(CFG / "yolov3.cfg")
    config = with_classes(base, cfg_classes)
    file_weights = random_conv_weights(base, seed=1, classes=file_classes)
    match = match_weights(config, join_weights(base, file_weights))
    assert match.file_classes == file_classes
    assert sorted(set(file_weights) - set(match.convs)) == [81, 93, 105]
    for index, values in match.convs.items():
        np.testing.assert_array_equal(values.kernel, file_weights[index].kernel)
        np.testing.assert_array_equal(values.biases, file_weights[index].biases)


def test_with_classes_states_the_input_size():
    config = with_classes(load_cfg(CFG / "yolov3-tiny.cfg"), 2, input_size=(160, 224))
    assert config.input_size == (160, 224)
    assert "height=160" in config.text and "width=224" in config.text
    assert "width=416" not in config.text
