"""Darknet .cfg text → the checked layer graph (yolo3.darknet.graph).

The one reader of cfg options' values: every default (``from=-3``, upsample stride 2,
maxpool size = stride, ...) and every route/shortcut reference is resolved here, once,
and each layer is checked against the one before it. The text itself is split into
sections, and unknown options refused, by yolo3.darknet.sections.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from yolo3.darknet.graph import (
    INPUT,
    Conv,
    DarknetConfig,
    Layer,
    MaxPool,
    Route,
    Shortcut,
    Upsample,
    Yolo,
)
from yolo3.darknet.sections import Section, split_sections
from yolo3.errors import CfgError, YoloError
from yolo3.files import read_text

ACTIVATIONS = ("leaky", "linear", "mish", "swish", "logistic", "relu")  # YOLOv4 adds mish
CFG_DIR = Path(__file__).resolve().parent.parent.parent / "cfg"
# --model_size → the shipped cfg it trains and converts
STANDARD_CFGS = {"full": "yolov3.cfg", "tiny": "yolov3-tiny.cfg", "v4": "yolov4.cfg",
                 "v4-tiny": "yolov4-tiny.cfg"}

def parse_cfg(text: str, source: str = "<cfg>") -> DarknetConfig:
    """Parse cfg text and check that every layer fits the one before it."""
    sections = split_sections(text, source)
    if sections and sections[0].kind == "net":
        net, layers = sections[0], sections[1:]
    else:
        net, layers = Section("net", {}, 0), sections
    if not layers:
        raise CfgError(f"{source}: no layers")
    for section in layers:
        if section.kind == "net":
            raise CfgError(f"{source}: {section.where()}: [net] must come first")
    net.check_options(source)
    return build_graph(text, source, net, layers)


def load_cfg(path: str | Path) -> DarknetConfig:
    path = Path(path)
    try:
        text = read_text(path)
    except YoloError as error:
        raise CfgError(f"{error} (a cfg must be a text file)") from None
    return parse_cfg(text, str(path))


def standard_config(size: str) -> DarknetConfig:
    """The shipped cfg of a model size: YOLOv3 (``"full"``), YOLOv3-tiny (``"tiny"``),
    YOLOv4 (``"v4"``) or YOLOv4-tiny (``"v4-tiny"``)."""
    if size not in STANDARD_CFGS:
        raise CfgError(f"model size must be one of {', '.join(STANDARD_CFGS)}, not {size!r}")
    return load_cfg(CFG_DIR / STANDARD_CFGS[size])


class _GraphBuilder:
    """Turns sections into layer records, in order, each checked against the earlier ones."""

    def __init__(self, source: str, input_channels: int):
        self.source = source
        self.input_channels = input_channels
        self.layers: list[Layer] = []

    def where(self, index: int, section: Section) -> str:
        return f"{self.source}: {section.where(index)}"

    def previous(self, index: int) -> tuple[tuple[int, ...], int, int]:
        """(inputs, channels, stride) of what layer ``index`` reads by default."""
        if not index:
            return (INPUT,), self.input_channels, 1
        prev = self.layers[index - 1]
        return (index - 1,), prev.out_channels, prev.stride

    def resolve(self, index: int, ref: int, section: Section) -> int:
        target = index + ref if ref < 0 else ref
        if not 0 <= target < index:
            raise CfgError(f"{self.where(index, section)}: refers to layer {ref}, which is "
                           "not an earlier layer")
        if isinstance(self.layers[target], Yolo):
            raise CfgError(f"{self.where(index, section)}: refers to a [yolo] layer")
        return target

    def add(self, index: int, section: Section) -> None:
        build = {"convolutional": self.conv, "shortcut": self.shortcut, "route": self.route,
                 "upsample": self.upsample, "maxpool": self.maxpool, "yolo": self.yolo}
        section.check_options(self.source, index)
        self.layers.append(build[section.kind](index, section))

    def activation(self, index: int, section: Section, default: str) -> str:
        activation = section.options.get("activation", default).lower()
        if activation not in ACTIVATIONS:
            raise CfgError(f"{self.where(index, section)}: unsupported activation "
                           f"{activation!r} (supported: {', '.join(ACTIVATIONS)})")
        return activation

    def conv(self, index: int, section: Section) -> Conv:
        where = self.where(index, section)
        inputs, channels, stride = self.previous(index)
        activation = self.activation(index, section, "logistic")  # Darknet's default
        for key in ("groups", "dilation"):
            if section.get_int(key, 1) != 1:
                raise CfgError(f"{where}: {key} other than 1 is not supported")
        size = section.get_int("size", 1)
        conv_stride = section.get_int("stride", 1)
        if "filters" not in section.options:  # Darknet would take 1, never what was meant
            raise CfgError(f"{where}: missing filters=")
        filters = section.get_int("filters", 1)
        if size < 1 or conv_stride < 1 or filters < 1:
            raise CfgError(f"{where}: size, stride and filters must be positive")
        padding = size // 2 if section.get_int("pad", 0) else section.get_int("padding", 0)
        return Conv(index=index, line=section.line, inputs=inputs, out_channels=filters,
                    stride=stride * conv_stride, in_channels=channels, filters=filters,
                    size=size, conv_stride=conv_stride, padding=padding,
                    batch_normalize=bool(section.get_int("batch_normalize", 0)),
                    activation=activation)

    def shortcut(self, index: int, section: Section) -> Shortcut:
        where = self.where(index, section)
        source = self.resolve(index, section.get_int("from", -3), section)
        activation = self.activation(index, section, "linear")
        if section.options.get("weights_type", "none") != "none":  # weights in the file
            raise CfgError(f"{where}: weights_type={section.options['weights_type']} "
                           "(a weighted shortcut) is not supported")
        inputs, channels, stride = self.previous(index)
        if index == 0 or self.layers[source].out_channels != channels:
            raise CfgError(f"{where}: adds layer {source} ({self.layers[source].out_channels} "
                           f"channels) to {channels} channels")
        return Shortcut(index=index, line=section.line, inputs=(source, *inputs),
                        out_channels=channels, stride=stride, activation=activation)

    def route(self, index: int, section: Section) -> Route:
        where = self.where(index, section)
        sources = tuple(self.resolve(index, ref, section) for ref in section.get_ints("layers"))
        if not sources:
            raise CfgError(f"{where}: layers= is empty")
        groups, group_id = section.get_int("groups", 1), section.get_int("group_id", 0)
        if groups < 1 or not 0 <= group_id < groups:
            raise CfgError(f"{where}: groups={groups}, group_id={group_id}: need groups ≥ 1 "
                           "and 0 ≤ group_id < groups")
        channels = [self.layers[s].out_channels for s in sources]
        if any(c % groups for c in channels):
            raise CfgError(f"{where}: groups={groups} does not divide the routed layers' "
                           f"channels {channels}")
        return Route(index=index, line=section.line, inputs=sources,
                     out_channels=sum(c // groups for c in channels),
                     stride=self.layers[sources[0]].stride, groups=groups, group_id=group_id)

    def upsample(self, index: int, section: Section) -> Upsample:
        factor = section.get_int("stride", 2)
        inputs, channels, stride = self.previous(index)
        if factor < 1 or stride % factor:
            raise CfgError(f"{self.where(index, section)}: stride must be positive and divide "
                           f"the input's stride {stride}")
        return Upsample(index=index, line=section.line, inputs=inputs, out_channels=channels,
                        stride=stride // factor, factor=factor)

    def maxpool(self, index: int, section: Section) -> MaxPool:
        where = self.where(index, section)
        pool_stride = section.get_int("stride", 1)
        size = section.get_int("size", pool_stride)
        if pool_stride < 1 or size < 1:
            raise CfgError(f"{where}: size and stride must be positive")
        padding = section.get_int("padding", size - 1)
        if not _pads_like_same(size, pool_stride, padding):
            raise CfgError(f"{where}: size={size} stride={pool_stride} padding={padding}: "
                           "Darknet pads this pool otherwise than a \"same\" pool, which is "
                           "not supported")
        inputs, channels, stride = self.previous(index)
        return MaxPool(index=index, line=section.line, inputs=inputs, out_channels=channels,
                       stride=stride * pool_stride, size=size, pool_stride=pool_stride,
                       padding=padding)

    def yolo(self, index: int, section: Section) -> Yolo:
        where = self.where(index, section)
        values = section.options.get("anchors", "")
        try:
            flat = [float(v) for v in values.split(",") if v.strip()]
        except ValueError:
            raise CfgError(f"{where}: anchors={values!r} is not a list of numbers") from None
        if not flat or len(flat) % 2:
            raise CfgError(f"{where}: anchors must be a non-empty list of width,height pairs")
        anchors = tuple(zip(flat[0::2], flat[1::2]))
        num = section.get_int("num", len(anchors))
        if num != len(anchors):
            raise CfgError(f"{where}: num={num} but {len(anchors)} anchors are listed")
        mask = tuple(section.get_ints("mask")) if "mask" in section.options else tuple(
            range(num))
        if not mask or any(not 0 <= m < num for m in mask):
            raise CfgError(f"{where}: mask {list(mask)} must index the {num} anchors")
        classes = section.get_int("classes", 20)
        if classes < 1:
            raise CfgError(f"{where}: classes must be positive")
        if not section.get_float("scale_x_y", 1.0) > 0:
            raise CfgError(f"{where}: scale_x_y must be a positive number")
        new_coords = section.get_int("new_coords", 0)
        if new_coords not in (0, 1):
            raise CfgError(f"{where}: new_coords must be 0 or 1")
        conv = self.layers[index - 1] if index else None
        if not isinstance(conv, Conv):
            raise CfgError(f"{where}: must follow a [convolutional] layer")
        # Darknet's [yolo] applies the logistic itself, except with new_coords, where the
        # head convolution must have applied it already
        head_activation = "logistic" if new_coords else "linear"
        if conv.activation != head_activation or conv.batch_normalize:
            raise CfgError(f"{where}: the convolution before it (line {conv.line}) must be "
                           f"activation={head_activation} without batch_normalize"
                           + (" (new_coords=1)" if new_coords else ""))
        expected = len(mask) * (classes + 5)
        if conv.filters != expected:
            raise CfgError(f"{where}: classes={classes} with {len(mask)} anchors needs filters="
                           f"{expected} in the [convolutional] before it (line {conv.line}), "
                           f"found filters={conv.filters}")
        self.layers[index - 1] = replace(conv, is_head=True)
        return Yolo(index=index, line=section.line, inputs=(index - 1,),
                    out_channels=conv.out_channels, stride=conv.stride, conv_index=index - 1,
                    mask=mask, anchors=anchors, classes=classes,
                    ignore_thresh=section.get_float("ignore_thresh", 0.5),
                    scale_x_y=section.get_float("scale_x_y", 1.0),
                    new_coords=bool(new_coords),
                    iou_thresh=section.get_float("iou_thresh", 1.0),
                    training_options=section.training_options())


def build_graph(text: str, source: str, net: Section, sections: list[Section]) -> DarknetConfig:
    builder = _GraphBuilder(source, net.get_int("channels", 3))
    for index, section in enumerate(sections):
        builder.add(index, section)
    heads = [layer for layer in builder.layers if isinstance(layer, Yolo)]
    if len({h.classes for h in heads}) > 1 or len({h.anchors for h in heads}) > 1:
        raise CfgError(f"{source}: all [yolo] layers must share classes and anchors")
    if len({h.new_coords for h in heads}) > 1:
        raise CfgError(f"{source}: all [yolo] layers must share new_coords")
    letter_box = net.get_int("letter_box", 1)
    if letter_box not in (0, 1):
        raise CfgError(f"{source}: [net] letter_box must be 0 or 1")
    return DarknetConfig(text=text, source=source, input_channels=builder.input_channels,
                         input_size=(net.get_int("height", 416), net.get_int("width", 416)),
                         layers=tuple(builder.layers), letter_box=bool(letter_box), net=net,
                         sections=tuple(sections))


def _pads_like_same(size: int, stride: int, padding: int) -> bool:
    """Whether Darknet's pool (``padding`` in all, half of it before) gives what Keras'
    "same" pool gives, on inputs that are multiples of the stride (as every input here)."""
    for width in (stride * 4, stride * 7):
        darknet_out = (width + padding - size) // stride + 1
        same_before = max((width // stride - 1) * stride + size - width, 0) // 2
        if darknet_out != width // stride or padding // 2 != same_before:
            return False
    return True
