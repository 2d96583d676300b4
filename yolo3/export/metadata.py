"""What an exported model carries about itself, so that nothing else has to travel with
it: classes, input size, the heads' anchors, masks and decode, how images are
letterboxed, what the outputs hold, NMS defaults and where it came from. Stored as JSON
under :data:`KEY` in the format's own metadata slot (ONNX ``metadata_props``).
TensorFlow-free: the ONNX runtime path reads it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from yolo3.errors import YoloError

KEY = "yolo3"
FORMAT_VERSION = 1
DETECTION, RAW = "detection", "raw"
DETECTION_OUTPUTS = ("boxes", "scores", "classes", "counts")  # the detection graph's outputs
LETTERBOX = ("aspect ratio kept, resized with pixel-area averaging (shrinking) or bicubic "
             "(growing), centred on grey (128, 128, 128); the letterboxes input packs "
             "scale_x, scale_y, offset_x, offset_y, image_w, image_h per image")
OUTPUTS = {
    DETECTION: "boxes (B, K, 4) x_min, y_min, x_max, y_max in original-image pixels; scores "
               "(B, K); classes (B, K) int32; counts (B,) valid rows, best scores first",
    RAW: "one raw head convolution per output, coarse to fine, (B, grid_h, grid_w, "
         "anchors × (5 + classes)); input float32 RGB in [0, 1]",
}


@dataclass(frozen=True)
class ExportInfo:
    """The metadata of an exported model (see the module doc)."""

    graph: str  # DETECTION or RAW
    class_names: list[str]
    input_size: tuple[int, int]  # (height, width)
    anchors: list[list[float]]  # (width, height) in input pixels
    masks: list[list[int]]  # per head, coarse to fine
    scale_x_y: list[float]  # per head
    nms: dict  # the defaults: score, iou (detection graphs take them as inputs),
    #            max_per_class (runtimes cut to it), class_agnostic (fixed in the graph)
    source: str
    cfg: str  # the Darknet cfg of the network
    letterbox: str = LETTERBOX
    outputs: str = ""
    format_version: int = FORMAT_VERSION
    extra: dict = field(default_factory=dict)
    graph_max_per_class: int = 0  # boxes per class the graph keeps (0: nms's max_per_class)

    @property
    def max_per_class_ceiling(self) -> int:
        return self.graph_max_per_class or self.nms["max_per_class"]

    def settings(self, where: str, input_size=None, nms=None):
        """(input size, NMS settings) for running this export: the exported ones unless
        given; YoloError for what the exported graph cannot do (another input size,
        another class_agnostic, more boxes per class than it keeps)."""
        from yolo3.defaults import NmsSettings

        exported = tuple(self.input_size)
        if input_size is not None and tuple(int(v) for v in input_size) != exported:
            raise YoloError(f"{where} was exported for {exported[0]}x{exported[1]} inputs, "
                            f"not {input_size[0]}x{input_size[1]}: export again with "
                            "--input_size to change it")
        defaults = NmsSettings(self.nms["score"], self.nms["iou"],
                               self.nms["max_per_class"], self.nms["class_agnostic"])
        nms = nms or defaults
        if nms.class_agnostic != defaults.class_agnostic:
            raise YoloError(f"{where} was exported with class_agnostic="
                            f"{defaults.class_agnostic}: export again to change it")
        if nms.max_per_class > self.max_per_class_ceiling:
            raise YoloError(f"{where} keeps at most {self.max_per_class_ceiling} boxes per class, "
                            f"not {nms.max_per_class}")
        return exported, nms

    def to_json(self) -> str:
        values = asdict(self)
        values["outputs"] = values["outputs"] or OUTPUTS[self.graph]
        return json.dumps(values)

    @classmethod
    def from_json(cls, text: str | None, where: str) -> ExportInfo:
        """YoloError naming ``where`` when ``text`` is missing or not this project's."""
        if text is None:
            raise YoloError(f"{where} carries no {KEY} metadata: it was not exported by "
                            "export.py")
        try:
            values = json.loads(text)
            if values.get("format_version", 0) > FORMAT_VERSION:
                raise YoloError(f"{where} was exported by a newer version of this project "
                                f"(metadata version {values['format_version']})")
            values["input_size"] = tuple(values["input_size"])
            return cls(**values)
        except (ValueError, TypeError, KeyError, AttributeError):
            raise YoloError(f"{where}: its {KEY} metadata is damaged") from None
