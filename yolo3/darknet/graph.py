"""The resolved Darknet layer graph: one typed, immutable record per cfg layer.

Everything downstream (the Keras builder, weight matching and transfer, BatchNorm
folding, head strides, freezing, Keras 2 weight loading) reads these fields; no other
module reads raw cfg options or spells a Keras layer name. Layer indices are Darknet's:
the first section after ``[net]`` is layer 0; ``INPUT`` (-1) in ``inputs`` is the image.

Keras layer names come from the Darknet index and the layer's role (``conv_12``,
``bn_12``, ``leaky_12``, ``pad_0``, ``shortcut_14``, ``route_86``, ``upsample_85``,
``maxpool_1``), so they are the same for every build and Keras version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

INPUT = -1


def keras_name(role: str, index: int) -> str:
    """The Keras layer name of ``role`` ("conv", "bn", "leaky", ...) of layer ``index``."""
    return f"{role}_{index}"


def auto_name_counter(name: str) -> int:
    """The counter Keras 2 appended to an automatic layer name (``conv2d_12`` → 12; 0 for
    the first, unnumbered one). Keras 2 models created their layers in Darknet order."""
    digits = re.search(r"(\d+)$", name)
    return int(digits.group(1)) if digits else 0


@dataclass(frozen=True)
class Layer:
    """What every layer has: its place, inputs, output channels and stride.

    ``inputs``: resolved indices of the layers it reads (``INPUT`` for the image);
    ``stride``: input pixels per cell of its output (1 for the image itself).
    """

    index: int
    line: int  # where its section starts in the cfg, for messages
    inputs: tuple[int, ...]
    out_channels: int
    stride: int
    kind = "layer"  # the cfg section name

    def where(self) -> str:
        return f"layer {self.index} [{self.kind}] at line {self.line}"

    @property
    def name(self) -> str:
        """The Keras layer whose output is this layer's output."""
        return keras_name(self.kind, self.index)

    @property
    def keras_names(self) -> tuple[str, ...]:
        """Every Keras layer this layer builds."""
        return (self.name,)


@dataclass(frozen=True)
class Conv(Layer):
    """``[convolutional]``: ``padding`` in pixels on every side (Darknet's ``pad=1`` means
    ``size // 2``); ``is_head`` marks the linear convolution feeding a ``[yolo]`` layer."""

    in_channels: int = 0
    filters: int = 0
    size: int = 1
    conv_stride: int = 1
    padding: int = 0
    batch_normalize: bool = False
    activation: str = "linear"
    is_head: bool = False
    kind = "convolutional"

    @property
    def name(self) -> str:
        return keras_name("conv", self.index)

    @property
    def bn_name(self) -> str:
        return keras_name("bn", self.index)

    @property
    def activation_name(self) -> str:
        return keras_name(self.activation, self.index)

    @property
    def pad_name(self) -> str:
        return keras_name("pad", self.index)

    @property
    def keras_names(self) -> tuple[str, ...]:
        return (self.pad_name, self.name, self.bn_name, self.activation_name)

    def num_floats(self, filters: int | None = None) -> int:
        """Floats this layer takes in .weights, with ``filters`` outputs (default: its own)."""
        f = self.filters if filters is None else filters
        per_filter = self.in_channels * self.size * self.size + (4 if self.batch_normalize else 1)
        return f * per_filter


@dataclass(frozen=True)
class Shortcut(Layer):
    """``[shortcut]``: adds ``inputs[0]`` (the ``from=`` layer) to ``inputs[1]``, then
    applies ``activation`` (Darknet's names; "linear" in every shipped cfg)."""

    activation: str = "linear"
    kind = "shortcut"

    @property
    def add_name(self) -> str:
        return keras_name("shortcut", self.index)

    @property
    def name(self) -> str:
        if self.activation == "linear":
            return self.add_name
        return keras_name(self.activation, self.index)

    @property
    def keras_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.add_name, self.name)))


@dataclass(frozen=True)
class Route(Layer):
    """``[route]``: its inputs concatenated along channels (one input: passed through).
    ``groups`` > 1 (YOLOv4's CSP blocks): each input split into that many equal channel
    groups, of which group ``group_id`` is taken."""

    groups: int = 1
    group_id: int = 0
    kind = "route"


@dataclass(frozen=True)
class Upsample(Layer):
    """``[upsample]``: nearest-neighbour, by ``factor``."""

    factor: int = 2
    kind = "upsample"


@dataclass(frozen=True)
class MaxPool(Layer):
    """``[maxpool]``: windows of ``size`` every ``pool_stride`` pixels over the input
    padded by ``padding`` pixels in all, ``padding // 2`` of them before (Darknet's rule;
    size − 1 unless the cfg says otherwise, which is Keras' "same" for the cfgs here)."""

    size: int = 2
    pool_stride: int = 2
    padding: int = 1
    kind = "maxpool"


@dataclass(frozen=True)
class Yolo(Layer):
    """``[yolo]``: decodes the raw output of the head convolution ``conv_index``.

    ``anchors`` holds all anchors of the cfg as (width, height) in network-input pixels;
    ``mask`` picks the ones this layer predicts with. ``scale_x_y`` and ``new_coords``
    choose the decode (yolo3.boxes); ``ignore_thresh`` and ``iou_thresh`` are read by the
    loss; ``training_options`` carries the cfg's other [yolo] options, which change only
    how Darknet trains (``iou_loss``, ``cls_normalizer``, ``beta_nms``, ...), as written.
    """

    conv_index: int = 0
    mask: tuple[int, ...] = ()
    anchors: tuple[tuple[float, float], ...] = ()
    classes: int = 0
    ignore_thresh: float = 0.5
    scale_x_y: float = 1.0  # the decode's centre scale (yolo3.boxes)
    new_coords: bool = False  # Scaled-YOLOv4's decode: the head conv applies the logistic
    iou_thresh: float = 1.0  # Darknet's: anchors above this IoU with a truth also learn it
    training_options: tuple[tuple[str, str], ...] = ()
    kind = "yolo"

    @property
    def keras_names(self) -> tuple[str, ...]:
        return ()  # decoded in post-processing and in the loss, not in the model

    @cached_property
    def layer_anchors(self) -> np.ndarray:
        """The anchors this layer uses, shape (len(mask), 2), (width, height) in input pixels."""
        return np.array([self.anchors[m] for m in self.mask], dtype=np.float32)


@dataclass(frozen=True)
class DarknetConfig:
    """A parsed and checked cfg: its text, ``[net]`` settings and the layer graph.

    ``out_channels[i]`` is the channel count layer i produces; ``convs`` and ``heads`` list
    the convolutional and yolo layers in order.
    """

    text: str
    source: str
    input_channels: int
    input_size: tuple[int, int]  # (height, width) from [net]; 416×416 when it does not say
    layers: tuple[Layer, ...]
    # [net] letter_box: images keep their aspect ratio on a grey canvas (True: keras-yolo3's
    # and this project's way, also when the cfg does not say) or are resized to the input
    letter_box: bool = True
    # the raw cfg sections, for yolo3.darknet.cfg alone: [net] and one per layer
    net: object = field(default=None, repr=False, compare=False)
    sections: tuple = field(default=(), repr=False, compare=False)

    @cached_property
    def convs(self) -> tuple[Conv, ...]:
        return tuple(layer for layer in self.layers if isinstance(layer, Conv))

    @cached_property
    def heads(self) -> tuple[Yolo, ...]:
        return tuple(layer for layer in self.layers if isinstance(layer, Yolo))

    @cached_property
    def out_channels(self) -> tuple[int, ...]:
        return tuple(layer.out_channels for layer in self.layers)

    @property
    def num_classes(self) -> int | None:
        return self.heads[0].classes if self.heads else None

    @cached_property
    def anchors(self) -> np.ndarray:
        """All anchors, shape (N, 2), (width, height) in input pixels; empty without heads."""
        if not self.heads:
            return np.zeros((0, 2), dtype=np.float32)
        return np.array(self.heads[0].anchors, dtype=np.float32)

    @property
    def new_coords(self) -> bool:
        """Whether the heads decode Scaled-YOLOv4's way (all heads of a cfg agree)."""
        return bool(self.heads) and self.heads[0].new_coords

    @property
    def masks(self) -> list[tuple[int, ...]]:
        return [head.mask for head in self.heads]

    @property
    def head_strides(self) -> list[int]:
        """Input pixels per grid cell of each head."""
        return [head.stride for head in self.heads]

    def num_floats(self) -> int:
        return sum(conv.num_floats() for conv in self.convs)

    @cached_property
    def backbone_end(self) -> int:
        """Index of the backbone's last layer: the last residual before the first head
        (Darknet-53's 74 in YOLOv3 cfgs); in cfgs without residuals, the earliest layer a
        route after the first head reaches back to (8 in YOLOv3-tiny, 23 in YOLOv4-tiny,
        whose CSP blocks route within the backbone)."""
        first_head = self.heads[0].index if self.heads else len(self.layers)
        shortcuts = [layer.index for layer in self.layers[:first_head]
                     if isinstance(layer, Shortcut)]
        if shortcuts:
            return shortcuts[-1]
        reached = [i for layer in self.layers[first_head:] if isinstance(layer, Route)
                   for i in layer.inputs]
        return min(reached) if reached else first_head - 1

    @cached_property
    def _index_of_name(self) -> dict[str, int]:
        return {name: layer.index for layer in self.layers for name in layer.keras_names}

    def layer_index(self, keras_layer_name: str) -> int | None:
        """The Darknet layer that built the Keras layer of this name (None: not one of
        ours, such as the input)."""
        return self._index_of_name.get(keras_layer_name)
