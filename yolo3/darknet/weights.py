""".weights files: the header, the float stream, and cutting it into per-layer arrays.

Plain NumPy, so a weights file can be checked against a cfg (float counts, head sizes)
before any Keras model is built. Arrays are in Darknet order (kernels (out, in, h, w)).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from yolo3.darknet.graph import DarknetConfig
from yolo3.errors import WeightsError


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
            raise WeightsError(
                f"{source} is truncated: {conv.where()} needs {count} floats but "
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

