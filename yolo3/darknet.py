"""Darknet files: parse a .cfg into layers, read and write .weights.

Everything here is plain Python and NumPy, so a cfg and a weights file can be checked
against each other (float counts, head sizes) before any Keras model is built.

Layer indices are Darknet's: the first section after ``[net]`` is layer 0.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from yolo3.datafiles import format_anchors
from yolo3.errors import CfgError, WeightsError, YoloError
from yolo3.files import read_text

# Section names Darknet accepts, mapped to the one spelling used here.
_SECTION_ALIASES = {
    "net": "net",
    "network": "net",
    "convolutional": "convolutional",
    "conv": "convolutional",
    "shortcut": "shortcut",
    "route": "route",
    "upsample": "upsample",
    "maxpool": "maxpool",
    "max": "maxpool",
    "yolo": "yolo",
}
ACTIVATIONS = ("leaky", "linear")
CFG_DIR = Path(__file__).resolve().parent.parent / "cfg"
STANDARD_CFGS = {"full": "yolov3.cfg", "tiny": "yolov3-tiny.cfg"}


@dataclass(frozen=True)
class Section:
    """One ``[kind]`` block of a cfg: its options as strings and where it starts."""

    kind: str
    options: dict[str, str]
    line: int

    def where(self, index: int | None = None) -> str:
        layer = f"layer {index} " if index is not None else ""
        return f"{layer}[{self.kind}] at line {self.line}"

    def get_int(self, key: str, default: int) -> int:
        value = self.options.get(key)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise CfgError(f"{self.where()}: {key}={value!r} is not an integer") from None

    def get_float(self, key: str, default: float) -> float:
        value = self.options.get(key)
        if value is None:
            return default
        try:
            return float(value)
        except ValueError:
            raise CfgError(f"{self.where()}: {key}={value!r} is not a number") from None

    def get_ints(self, key: str) -> list[int]:
        value = self.options.get(key)
        if value is None:
            raise CfgError(f"{self.where()}: missing {key}=")
        try:
            return [int(v) for v in value.split(",") if v.strip()]
        except ValueError:
            raise CfgError(f"{self.where()}: {key}={value!r} is not a list of integers") from None


@dataclass(frozen=True)
class ConvLayer:
    """A ``[convolutional]`` layer with the channel count it receives.

    ``padding`` is in pixels on every side (Darknet's ``pad=1`` means ``size // 2``).
    ``is_head`` marks the linear convolution that feeds a ``[yolo]`` layer.
    """

    index: int
    filters: int
    in_channels: int
    size: int
    stride: int
    padding: int
    batch_normalize: bool
    activation: str
    is_head: bool = False

    def num_floats(self, filters: int | None = None) -> int:
        """Floats this layer takes in .weights, with ``filters`` outputs (default: its own)."""
        f = self.filters if filters is None else filters
        per_filter = self.in_channels * self.size * self.size + (4 if self.batch_normalize else 1)
        return f * per_filter


@dataclass(frozen=True)
class YoloLayer:
    """A ``[yolo]`` detection layer.

    ``anchors`` holds all anchors of the cfg as (width, height) in network-input pixels;
    ``mask`` picks the ones this layer predicts with. ``conv_index`` is the layer index of
    the head convolution whose raw output this layer decodes.
    """

    index: int
    conv_index: int
    mask: tuple[int, ...]
    anchors: tuple[tuple[float, float], ...]
    classes: int
    ignore_thresh: float

    @property
    def layer_anchors(self) -> np.ndarray:
        """The anchors this layer uses, shape (len(mask), 2), (width, height) in input pixels."""
        return np.array([self.anchors[m] for m in self.mask], dtype=np.float32)


@dataclass
class DarknetConfig:
    """A parsed and checked cfg.

    ``layers`` are the sections after ``[net]``; ``out_channels[i]`` is the channel count
    layer i produces. ``convs`` and ``heads`` list the convolutional and yolo layers in order.
    """

    text: str
    source: str
    net: Section
    layers: list[Section]
    out_channels: list[int] = field(default_factory=list)
    convs: list[ConvLayer] = field(default_factory=list)
    heads: list[YoloLayer] = field(default_factory=list)

    @property
    def input_channels(self) -> int:
        return self.net.get_int("channels", 3)

    @property
    def input_size(self) -> tuple[int, int]:
        """(height, width) from [net]; 416×416 when the cfg does not say."""
        return self.net.get_int("height", 416), self.net.get_int("width", 416)

    @property
    def num_classes(self) -> int | None:
        return self.heads[0].classes if self.heads else None

    @property
    def anchors(self) -> np.ndarray:
        """All anchors, shape (N, 2), (width, height) in input pixels; empty without heads."""
        if not self.heads:
            return np.zeros((0, 2), dtype=np.float32)
        return np.array(self.heads[0].anchors, dtype=np.float32)

    @property
    def masks(self) -> list[tuple[int, ...]]:
        return [head.mask for head in self.heads]

    def num_floats(self) -> int:
        return sum(conv.num_floats() for conv in self.convs)


def _split_sections(text: str, source: str) -> list[Section]:
    sections: list[Section] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise CfgError(f"{source}: line {number}: malformed section header {line!r}")
            name = line[1:-1].strip().lower()
            kind = _SECTION_ALIASES.get(name)
            if kind is None:
                supported = ", ".join(sorted(set(_SECTION_ALIASES.values())))
                raise CfgError(f"{source}: line {number}: unsupported section [{name}] "
                               f"(supported: {supported})")
            sections.append(Section(kind, {}, number))
            continue
        if "=" not in line:
            raise CfgError(f"{source}: line {number}: expected key=value, got {line!r}")
        if not sections:
            raise CfgError(f"{source}: line {number}: option before the first section")
        key, value = line.split("=", 1)
        sections[-1].options[key.strip()] = value.strip()
    return sections


def parse_cfg(text: str, source: str = "<cfg>") -> DarknetConfig:
    """Parse cfg text and check that every layer fits the one before it."""
    sections = _split_sections(text, source)
    if sections and sections[0].kind == "net":
        net, layers = sections[0], sections[1:]
    else:
        net, layers = Section("net", {}, 0), sections
    if not layers:
        raise CfgError(f"{source}: no layers")
    for section in layers:
        if section.kind == "net":
            raise CfgError(f"{source}: {section.where()}: [net] must come first")
    config = DarknetConfig(text=text, source=source, net=net, layers=layers)
    _infer_layers(config)
    return config


def load_cfg(path: str | Path) -> DarknetConfig:
    path = Path(path)
    try:
        text = read_text(path)
    except YoloError as error:
        raise CfgError(f"{error} (a cfg must be a text file)") from None
    return parse_cfg(text, str(path))


def standard_config(size: str) -> DarknetConfig:
    """The shipped cfg of YOLOv3 (``"full"``) or YOLOv3-tiny (``"tiny"``)."""
    if size not in STANDARD_CFGS:
        raise CfgError(f"model size must be full or tiny, not {size!r}")
    return load_cfg(CFG_DIR / STANDARD_CFGS[size])


def _resolve(config: DarknetConfig, index: int, ref: int, section: Section) -> int:
    target = index + ref if ref < 0 else ref
    if not 0 <= target < index:
        raise CfgError(f"{config.source}: {section.where(index)}: refers to layer {ref}, "
                       f"which is not an earlier layer")
    if config.layers[target].kind == "yolo":
        raise CfgError(f"{config.source}: {section.where(index)}: refers to a [yolo] layer")
    return target


def _parse_conv(config: DarknetConfig, index: int, section: Section, in_channels: int) -> ConvLayer:
    where = f"{config.source}: {section.where(index)}"
    activation = section.options.get("activation", "logistic").lower()
    if activation not in ACTIVATIONS:
        raise CfgError(f"{where}: unsupported activation {activation!r} "
                       f"(supported: {', '.join(ACTIVATIONS)})")
    for key in ("groups", "dilation"):
        if section.get_int(key, 1) != 1:
            raise CfgError(f"{where}: {key} other than 1 is not supported")
    size = section.get_int("size", 1)
    stride = section.get_int("stride", 1)
    if "filters" not in section.options:  # Darknet would take 1, never what was meant
        raise CfgError(f"{where}: missing filters=")
    filters = section.get_int("filters", 1)
    if size < 1 or stride < 1 or filters < 1:
        raise CfgError(f"{where}: size, stride and filters must be positive")
    padding = size // 2 if section.get_int("pad", 0) else section.get_int("padding", 0)
    return ConvLayer(index=index, filters=filters, in_channels=in_channels, size=size,
                     stride=stride, padding=padding,
                     batch_normalize=bool(section.get_int("batch_normalize", 0)),
                     activation=activation)


def _parse_yolo(config: DarknetConfig, index: int, section: Section) -> YoloLayer:
    where = f"{config.source}: {section.where(index)}"
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
    mask = tuple(section.get_ints("mask")) if "mask" in section.options else tuple(range(num))
    if not mask or any(not 0 <= m < num for m in mask):
        raise CfgError(f"{where}: mask {list(mask)} must index the {num} anchors")
    classes = section.get_int("classes", 20)
    if classes < 1:
        raise CfgError(f"{where}: classes must be positive")
    prev = config.layers[index - 1] if index else None
    conv = config.convs[-1] if config.convs else None
    if prev is None or prev.kind != "convolutional" or conv is None or conv.index != index - 1:
        raise CfgError(f"{where}: must follow a [convolutional] layer")
    if conv.activation != "linear" or conv.batch_normalize:
        raise CfgError(f"{where}: the convolution before it must be linear without batch_normalize")
    expected = len(mask) * (classes + 5)
    if conv.filters != expected:
        raise CfgError(f"{where}: classes={classes} with {len(mask)} anchors needs filters="
                       f"{expected} in the [convolutional] before it (line {prev.line}), "
                       f"found filters={conv.filters}")
    config.convs[-1] = replace(conv, is_head=True)
    return YoloLayer(index=index, conv_index=index - 1, mask=mask, anchors=anchors,
                     classes=classes, ignore_thresh=section.get_float("ignore_thresh", 0.5))


def _infer_layers(config: DarknetConfig) -> None:
    channels = config.input_channels
    out = config.out_channels
    for index, section in enumerate(config.layers):
        where = f"{config.source}: {section.where(index)}"
        prev = out[index - 1] if index else channels
        if section.kind == "convolutional":
            conv = _parse_conv(config, index, section, prev)
            config.convs.append(conv)
            out.append(conv.filters)
        elif section.kind == "shortcut":
            source = _resolve(config, index, section.get_int("from", -3), section)
            if section.options.get("activation", "linear").lower() != "linear":
                raise CfgError(f"{where}: only activation=linear is supported")
            if index == 0 or out[source] != prev:
                raise CfgError(f"{where}: adds layer {source} ({out[source]} channels) to "
                               f"{prev} channels")
            out.append(prev)
        elif section.kind == "route":
            sources = [_resolve(config, index, ref, section) for ref in section.get_ints("layers")]
            if not sources:
                raise CfgError(f"{where}: layers= is empty")
            out.append(sum(out[s] for s in sources))
        elif section.kind == "upsample":
            if section.get_int("stride", 2) < 1:
                raise CfgError(f"{where}: stride must be positive")
            out.append(prev)
        elif section.kind == "maxpool":
            stride = section.get_int("stride", 1)
            size = section.get_int("size", stride)
            if stride < 1 or size < 1:
                raise CfgError(f"{where}: size and stride must be positive")
            if section.get_int("padding", size - 1) != size - 1:
                raise CfgError(f"{where}: only the default padding (size-1) is supported")
            out.append(prev)
        elif section.kind == "yolo":
            config.heads.append(_parse_yolo(config, index, section))
            out.append(prev)
    classes = {head.classes for head in config.heads}
    anchors = {head.anchors for head in config.heads}
    if len(classes) > 1 or len(anchors) > 1:
        raise CfgError(f"{config.source}: all [yolo] layers must share classes and anchors")


def with_classes(config: DarknetConfig, num_classes: int,
                 anchors: np.ndarray | None = None,
                 masks: list[list[int]] | None = None) -> DarknetConfig:
    """The same network for another class count (and optionally other anchors and masks).

    Rewrites ``classes`` (and ``anchors``/``num``, ``mask``) in every [yolo] section and
    ``filters`` in the convolution before it, leaving every other line of the cfg as it
    was. ``anchors`` is (N, 2), (width, height) in input pixels, with N equal to the cfg's
    anchor count; ``masks`` gives each head's anchor indices, as many as before.
    """
    if num_classes < 1:
        raise CfgError("the class count must be positive")
    if anchors is not None:
        anchors = np.asarray(anchors, dtype=np.float64).reshape(-1, 2)
        if len(anchors) != len(config.anchors):
            raise CfgError(f"{len(anchors)} anchors given; {config.source} uses "
                           f"{len(config.anchors)}")
    if masks is not None and [len(m) for m in masks] != [len(h.mask) for h in config.heads]:
        raise CfgError(f"masks {masks} do not fit the heads of {config.source}")
    edits: dict[int, dict[str, str]] = {}
    for number, head in enumerate(config.heads):
        edits[config.layers[head.conv_index].line] = {
            "filters": str(len(head.mask) * (num_classes + 5))}
        yolo_edit = {"classes": str(num_classes)}
        if anchors is not None:
            yolo_edit["anchors"] = format_anchors(anchors)
            yolo_edit["num"] = str(len(anchors))
        if masks is not None:
            yolo_edit["mask"] = ",".join(str(m) for m in masks[number])
        edits[config.layers[head.index].line] = yolo_edit
    starts = {s.line: s for s in [config.net, *config.layers] if s.line}
    lines: list[str] = []
    edit: dict[str, str] = {}
    for number, raw in enumerate(config.text.splitlines(), start=1):
        if number in starts:
            edit = edits.get(number, {})
            lines.append(raw)
            # keys the section relies on defaults for go right under its header
            lines += [f"{k}={v}" for k, v in edit.items() if k not in starts[number].options]
            continue
        content = raw.split("#", 1)[0]
        key = content.split("=", 1)[0].strip() if "=" in content else None
        lines.append(f"{key}={edit[key]}" if key in edit else raw)
    return parse_cfg("\n".join(lines) + "\n", config.source)


# ----------------------------------------------------------------------------------------
# .weights files


@dataclass(frozen=True)
class DarknetHeader:
    """The header of a .weights file: version and images seen during training.

    Version 0.2 and later store ``seen`` as int64 (20-byte header), older files as int32
    (16 bytes).
    """

    major: int = 0
    minor: int = 2
    revision: int = 0
    seen: int = 0

    @property
    def seen_is_int64(self) -> bool:
        return self.major * 10 + self.minor >= 2 and self.major < 1000 and self.minor < 1000

    @property
    def size(self) -> int:
        return 20 if self.seen_is_int64 else 16

    def to_bytes(self) -> bytes:
        seen_format = "<q" if self.seen_is_int64 else "<i"
        return struct.pack("<3i", self.major, self.minor, self.revision) + struct.pack(
            seen_format, self.seen)


def read_weights(path: str | Path) -> tuple[DarknetHeader, np.ndarray]:
    """Read a .weights file: its header and every float after it (float32, 1-D)."""
    path = Path(path)
    data = path.read_bytes()
    if len(data) < 16:
        raise WeightsError(f"{path}: {len(data)} bytes is too short for a Darknet weights file")
    major, minor, revision = struct.unpack_from("<3i", data)
    header = DarknetHeader(major, minor, revision, 0)
    if len(data) < header.size:
        raise WeightsError(f"{path}: {len(data)} bytes is too short for a Darknet weights file")
    seen = struct.unpack_from("<q" if header.seen_is_int64 else "<i", data, 12)[0]
    header = replace(header, seen=seen)
    body = len(data) - header.size
    if body % 4:
        raise WeightsError(f"{path}: {body} bytes after the header is not a whole number of floats")
    return header, np.frombuffer(data, dtype="<f4", offset=header.size)


def weights_bytes(header: DarknetHeader, floats: np.ndarray) -> bytes:
    return header.to_bytes() + np.ascontiguousarray(floats, dtype="<f4").tobytes()


@dataclass
class ConvWeights:
    """One convolution's values in Darknet order.

    ``biases`` (filters,) are the conv bias, or the BatchNorm shift (beta) when the layer
    has batch_normalize; ``scales``, ``mean``, ``variance`` (filters,) are None without it.
    ``kernel`` is (filters, in_channels, size, size).
    """

    biases: np.ndarray
    kernel: np.ndarray
    scales: np.ndarray | None = None
    mean: np.ndarray | None = None
    variance: np.ndarray | None = None


@dataclass
class WeightsMatch:
    """The result of reading a weights file with a cfg.

    ``convs`` maps each conv layer index to its values; head convs are missing when the
    file was trained for ``file_classes`` classes and the cfg asks for another count.
    """

    convs: dict[int, ConvWeights]
    floats_read: int
    file_classes: int | None = None

    @property
    def heads_skipped(self) -> bool:
        return self.file_classes is not None


def _file_classes(config: DarknetConfig, available: int) -> int | None:
    """The class count the file's heads were trained for, if only the heads differ."""
    heads = [c for c in config.convs if c.is_head]
    if not heads:
        return None
    body = sum(c.num_floats() for c in config.convs if not c.is_head)
    anchors = {head.conv_index: len(head.mask) for head in config.heads}
    per_class = sum(anchors[c.index] * c.num_floats(1) for c in heads)
    fixed = sum(anchors[c.index] * 5 * c.num_floats(1) for c in heads)
    remainder = available - body - fixed
    if remainder <= 0 or remainder % per_class:
        return None
    classes = remainder // per_class
    return classes if classes != config.num_classes else None


def match_weights(config: DarknetConfig, floats: np.ndarray,
                  source: str = "weights") -> WeightsMatch:
    """Cut the float stream of a .weights file into per-layer arrays for ``config``.

    When the file differs from the cfg only in the detection heads' class count (COCO
    weights with a custom-class cfg), the heads' floats are skipped and left out of the
    result. Any other disagreement raises WeightsError.
    """
    needed = config.num_floats()
    available = int(floats.size)
    file_classes = None if available == needed else _file_classes(config, available)
    if available != needed and file_classes is None:
        if available > needed:
            raise WeightsError(
                f"{source} holds {available} floats but {config.source} needs {needed}: "
                f"{available - needed} would be left over (the cfg does not match the weights)")
        _raise_truncated(config, available, needed, source)
    anchors = {head.conv_index: len(head.mask) for head in config.heads}
    convs: dict[int, ConvWeights] = {}
    offset = 0
    for conv in config.convs:
        if conv.is_head and file_classes is not None:
            offset += conv.num_floats(anchors[conv.index] * (file_classes + 5))
            continue
        f = conv.filters

        def take(count: int) -> np.ndarray:
            nonlocal offset
            chunk = floats[offset:offset + count]
            offset += count
            return chunk

        biases = take(f)
        scales = mean = variance = None
        if conv.batch_normalize:
            scales, mean, variance = take(f), take(f), take(f)
        kernel = take(f * conv.in_channels * conv.size * conv.size).reshape(
            f, conv.in_channels, conv.size, conv.size)
        convs[conv.index] = ConvWeights(biases, kernel, scales, mean, variance)
    assert offset == available, (offset, available)
    return WeightsMatch(convs=convs, floats_read=offset, file_classes=file_classes)


def _raise_truncated(config: DarknetConfig, available: int, needed: int, source: str) -> None:
    offset = 0
    for conv in config.convs:
        count = conv.num_floats()
        if offset + count > available:
            section = config.layers[conv.index]
            raise WeightsError(
                f"{source} is truncated: {section.where(conv.index)} needs {count} floats but "
                f"only {available - offset} are left (the cfg needs {needed} in all, "
                f"the file holds {available})")
        offset += count
    raise AssertionError("unreachable: the file is shorter than the cfg needs")


def join_weights(config: DarknetConfig, convs: dict[int, ConvWeights]) -> np.ndarray:
    """The float stream of a .weights file (after the header) for ``config``, float32 1-D."""
    parts: list[np.ndarray] = []
    for conv in config.convs:
        values = convs[conv.index]
        parts.append(values.biases)
        if conv.batch_normalize:
            parts += [values.scales, values.mean, values.variance]
        parts.append(values.kernel)
    return np.concatenate([np.asarray(p, dtype=np.float32).ravel() for p in parts])

