"""Darknet files: cfg text → the resolved layer graph (``cfg``, ``graph``), and .weights
files (``weights``). Plain Python and NumPy: nothing here needs TensorFlow."""

from yolo3.darknet.cfg import (
    ACTIVATIONS,
    CFG_DIR,
    STANDARD_CFGS,
    load_cfg,
    parse_cfg,
    standard_config,
)
from yolo3.darknet.edit import with_classes
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
    auto_name_counter,
    keras_name,
)
from yolo3.darknet.sections import Section
from yolo3.darknet.weights import (
    ConvWeights,
    DarknetHeader,
    WeightsMatch,
    join_weights,
    match_weights,
    read_weights,
    weights_bytes,
)

# the names these records had before the layer graph
ConvLayer = Conv
YoloLayer = Yolo

__all__ = [
    "ACTIVATIONS", "CFG_DIR", "INPUT", "STANDARD_CFGS", "Conv", "ConvLayer", "ConvWeights",
    "DarknetConfig", "DarknetHeader", "Layer", "MaxPool", "Route", "Section", "Shortcut",
    "Upsample", "WeightsMatch", "Yolo", "YoloLayer", "auto_name_counter", "join_weights",
    "keras_name", "load_cfg", "match_weights", "parse_cfg", "read_weights", "standard_config",
    "weights_bytes", "with_classes",
]
