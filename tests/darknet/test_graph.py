"""yolo3.darknet.graph: the resolved layer graph carries inputs, channels, strides and the
Keras names, so no other module reads cfg options or spells a layer name."""

from __future__ import annotations

from helpers import CFG
from yolo3.darknet import (
    INPUT,
    Conv,
    Route,
    Shortcut,
    Upsample,
    Yolo,
    load_cfg,
    parse_cfg,
    with_classes,
)


def test_records_are_resolved_once():
    config = load_cfg(CFG / "yolov3.cfg")
    first = config.layers[0]
    assert isinstance(first, Conv) and first.inputs == (INPUT,) and first.stride == 1
    assert isinstance(config.layers[4], Shortcut) and config.layers[4].inputs == (1, 3)
    assert isinstance(config.layers[85], Upsample) and config.layers[85].stride == 16
    assert isinstance(config.layers[86], Route) and config.layers[86].inputs == (85, 61)
    assert isinstance(config.layers[82], Yolo) and config.layers[82].stride == 32
    assert config.head_strides == [32, 16, 8] and config.backbone_end == 74


def test_keras_names_live_here():
    config = load_cfg(CFG / "yolov3-tiny.cfg")
    conv = config.layers[0]
    assert (conv.name, conv.bn_name, conv.activation_name) == ("conv_0", "bn_0", "leaky_0")
    assert config.layers[1].name == "maxpool_1"
    assert config.layer_index("bn_12") == 12 and config.layer_index("input") is None
    assert config.heads[0].keras_names == ()


def test_with_classes_edits_the_graph_and_the_text_alike():
    config = load_cfg(CFG / "yolov3-tiny.cfg")
    edited = with_classes(config, 2, anchors=config.anchors * 2, masks=[[3, 4, 5], [0, 1, 2]])
    assert [h.classes for h in edited.heads] == [2, 2]
    assert edited.convs[-1].filters == 21 and edited.masks == [(3, 4, 5), (0, 1, 2)]
    assert parse_cfg(edited.text).layers == edited.layers  # the stored text says the same
    twice = with_classes(edited, 3)  # edits of an edited cfg land on the right lines
    assert twice.convs[-1].filters == 24 and twice.masks == edited.masks
