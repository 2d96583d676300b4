"""The contract of an exported model, between the exporters (yolo3.export) and the
detectors that run their files (yolo3.inference): the detection graph's inputs and
outputs, and what a file carries about itself so that nothing else has to travel with it
(classes, input size, the heads' anchors, masks and decode, how images are letterboxed,
what the outputs hold, NMS defaults and where it came from). Stored as JSON under
:data:`KEY` in each format's own metadata slot: ONNX ``metadata_props``, a TFLite
flatbuffer's metadata entry (:func:`read_tflite_metadata`), a SavedModel's
:data:`SAVED_MODEL_METADATA` file. TensorFlow-free: the ONNX and LiteRT paths read it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from yolo3.defaults import input_size_problem
from yolo3.errors import YoloError
from yolo3.numbers import finite_number, whole_number

KEY = "yolo3"
SAVED_MODEL_METADATA = Path("assets.extra") / f"{KEY}.json"  # inside a SavedModel folder
FORMAT_VERSION = 1
DETECTION, RAW = "detection", "raw"
DETECTION_INPUTS = ("images", "letterboxes", "score_threshold", "iou_threshold")
DETECTION_OUTPUTS = ("boxes", "scores", "classes", "counts")  # the detection graph's outputs
EXPORT_MAX_PER_CLASS = 100  # boxes per class every exported detection graph keeps (at least):
#                             a ceiling; runtimes cut each class's list to their own limit
LETTERBOX = ("aspect ratio kept, resized with pixel-area averaging (shrinking) or bicubic "
             "(growing), centred on grey (128, 128, 128); the letterboxes input packs "
             "scale_x, scale_y, offset_x, offset_y, image_w, image_h per image")
RESIZE = ("resized to the input, aspect ratio not kept (the cfg's letter_box=0, as Darknet "
          "runs it), with pixel-area averaging (shrinking) or bicubic (growing); the "
          "letterboxes input packs scale_x, scale_y, 0, 0, image_w, image_h per image")
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
    letterbox: str = ""  # how images meet the input, in words (to_json: from letter_box)
    outputs: str = ""
    format_version: int = FORMAT_VERSION
    extra: dict = field(default_factory=dict)
    graph_max_per_class: int = 0  # boxes per class the graph keeps (0: nms's max_per_class)
    letter_box: bool = True  # False: images resized to the input (see RESIZE)
    new_coords: bool = False  # Scaled-YOLOv4's decode (yolo3.boxes), inside the graph

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
        values["letterbox"] = values["letterbox"] or (LETTERBOX if self.letter_box else RESIZE)
        return json.dumps(values)

    @classmethod
    def from_file(cls, text: str | None, where: str, classes_path=None, anchors_path=None,
                  inputs: dict | None = None, outputs=()) -> ExportInfo:
        """The metadata of an exported file, or for a detection graph that lost it (an
        ONNX file rewritten by another tool), metadata made from ``classes_path`` and
        ``anchors_path`` as for keras-yolo3's files. ``inputs``: the graph's input names
        and shapes, ``outputs`` its output names. Files given beside a file that carries
        its own classes or anchors must agree with them."""
        from yolo3.classfiles import read_anchors, read_class_names

        names = read_class_names(classes_path) if classes_path else None
        anchors = read_anchors(anchors_path).tolist() if anchors_path else None
        if text is None and inputs is not None:
            return cls._without_metadata(where, names, anchors, inputs, list(outputs))
        info = cls.from_json(text, where)
        if inputs:  # the metadata must describe this graph, not another
            images = inputs.get("images") if info.graph == DETECTION else None
            info.check_graph_input(where, images if images is not None
                                   else next(iter(inputs.values())))
        if names is not None and names != info.class_names:
            raise YoloError(f"{where} carries its own {len(info.class_names)} classes "
                            f"({', '.join(info.class_names[:3])}, ...), which differ from "
                            f"{classes_path}")
        if anchors is not None and not _close(anchors, info.anchors):
            raise YoloError(f"{where} carries its own anchors, which differ from "
                            f"{anchors_path}")
        return info

    @classmethod
    def _without_metadata(cls, where, names, anchors, inputs, outputs) -> ExportInfo:
        if list(inputs) != list(DETECTION_INPUTS) or outputs != list(DETECTION_OUTPUTS):
            raise YoloError(f"{where} carries no {KEY} metadata and is not a detection graph "
                            "export.py writes: export the Keras model with export.py")
        if names is None:
            raise YoloError(f"{where} carries no {KEY} metadata: give --classes_path (and "
                            "--anchors_path) as for keras-yolo3 files, or export it again "
                            "with export.py")
        height, width = inputs["images"][1:3]
        if not isinstance(height, int) or not isinstance(width, int):
            raise YoloError(f"{where}: its images input has no fixed size")
        from yolo3.defaults import NmsSettings

        nms = NmsSettings()
        return cls(graph=DETECTION, class_names=names, input_size=(height, width),
                   anchors=anchors or [], masks=[], scale_x_y=[],
                   nms={"score": nms.score, "iou": nms.iou,
                        "max_per_class": nms.max_per_class,
                        "class_agnostic": nms.class_agnostic},
                   source=where, cfg="", extra={"metadata": "from --classes_path"},
                   graph_max_per_class=EXPORT_MAX_PER_CLASS)

    @classmethod
    def from_json(cls, text: str | None, where: str) -> ExportInfo:
        """YoloError naming ``where`` when ``text`` is missing or not this project's."""
        if text is None:
            raise YoloError(f"{where} carries no {KEY} metadata: it was not exported by "
                            "export.py")
        try:
            values = json.loads(text)
        except (ValueError, RecursionError):
            raise YoloError(f"{where}: its {KEY} metadata is damaged (not JSON)") from None
        if not isinstance(values, dict):
            raise YoloError(f"{where}: its {KEY} metadata is damaged (not an object)")
        version = values.get("format_version", 0)
        if isinstance(version, int) and version > FORMAT_VERSION:
            raise YoloError(f"{where} was exported by a newer version of this project "
                            f"(metadata version {version})")
        problem = metadata_problem(values)
        if problem:
            raise YoloError(f"{where}: its {KEY} metadata is damaged: {problem}")
        return cls(**{**values, "input_size": tuple(values["input_size"])})

    def check_graph_input(self, where: str, shape) -> None:
        """YoloError unless the graph's image input (B, height, width, 3) — dimensions
        that are not whole numbers are free — fits the metadata's input_size."""
        dims = list(shape) if shape is not None else []
        fixed = [d if isinstance(d, int) and d > 0 else None for d in dims]
        if len(fixed) != 4 or fixed[3] not in (3, None):
            raise YoloError(f"{where}: its image input has shape {dims}, not "
                            "(batch, height, width, 3)")
        for axis, name in ((1, "height"), (2, "width")):
            if fixed[axis] is not None and fixed[axis] != self.input_size[axis - 1]:
                raise YoloError(
                    f"{where}: its metadata's input_size {list(self.input_size)} disagrees "
                    f"with its graph's image input ({name} {fixed[axis]}): export it again")


_FIELD_TYPES = {"graph": str, "class_names": list, "input_size": list, "anchors": list,
                "masks": list, "scale_x_y": list, "nms": dict, "source": str, "cfg": str,
                "letterbox": str, "outputs": str, "format_version": int, "extra": dict,
                "graph_max_per_class": int, "letter_box": bool, "new_coords": bool}
_REQUIRED = ("graph", "class_names", "input_size", "anchors", "masks", "scale_x_y", "nms",
             "source", "cfg")


def metadata_problem(values: dict) -> str | None:
    """The first field of an export's metadata (a JSON object) that is missing, of the
    wrong type or out of range, in words; None when every field is usable."""
    for name in _REQUIRED:
        if name not in values:
            return f"no {name!r}"
    for name, value in values.items():
        kind = _FIELD_TYPES.get(name)
        if kind is None:
            return f"unknown field {name!r}"
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            return f"{name!r} must be {kind.__name__}, not {type(value).__name__}"
    if values["graph"] not in (DETECTION, RAW):
        return f"'graph' must be {DETECTION!r} or {RAW!r}"
    names = values["class_names"]
    if not names or not all(isinstance(n, str) for n in names):
        return "'class_names' must be a non-empty list of names"
    size = values["input_size"]
    problem = "give two numbers" if len(size) != 2 else input_size_problem(*size)
    if problem:
        return f"'input_size' {json.dumps(size)[:40]}: {problem}"
    anchors = values["anchors"]
    if not all(isinstance(a, list) and len(a) == 2 and all(_positive(v) for v in a)
               for a in anchors):
        return "'anchors' must be [width, height] pairs of positive numbers"
    masks = values["masks"]
    if not all(isinstance(m, list) and m and all(
            whole_number(i) and 0 <= i < len(anchors)
            for i in m) for m in masks):
        return f"'masks' must be lists of anchor indices from 0 to {len(anchors) - 1}"
    if len(values["scale_x_y"]) != len(masks) or not all(map(_positive, values["scale_x_y"])):
        return "'scale_x_y' must hold one positive number per head"
    if not masks and values["graph"] == RAW:
        return "a raw graph's metadata needs its heads' 'masks'"
    nms = values["nms"]
    for key in ("score", "iou"):
        if not (finite_number(nms.get(key)) and 0 <= nms[key] <= 1):
            return f"'nms' needs {key!r} between 0 and 1"
    limit = nms.get("max_per_class")
    if not whole_number(limit) or limit < 1:
        return "'nms' needs 'max_per_class', a whole number of at least 1"
    if not isinstance(nms.get("class_agnostic"), bool):
        return "'nms' needs 'class_agnostic', true or false"
    if values.get("graph_max_per_class", 0) < 0:
        return "'graph_max_per_class' must not be negative"
    return None


def _positive(value) -> bool:
    return finite_number(value) and value > 0


def _close(a, b) -> bool:
    return len(a) == len(b) and all(abs(float(x) - float(y)) < 1e-3
                                    for p, q in zip(a, b) for x, y in zip(p, q))


def read_tflite_metadata(flatbuffer: bytes, key: str = KEY) -> str | None:
    """The metadata entry ``key`` of a TFLite flatbuffer, or None. TensorFlow-free."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(flatbuffer, 0)
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        if flatbuffer_text(entry.Name()) == key:
            data = model.Buffers(entry.Buffer()).DataAsNumpy()
            empty = isinstance(data, int)  # flatbuffers' answer for an absent vector
            return "" if empty else bytes(data).decode("utf-8", errors="replace")
    return None


def flatbuffer_text(value) -> str:
    """A flatbuffer string field (bytes from the reader, str from the object API)."""
    return value.decode() if isinstance(value, bytes) else str(value)
