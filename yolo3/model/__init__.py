"""The Keras side of a Darknet graph: build the model (``build``), model files that carry
their cfg, class names and Darknet header (``files``), and Darknet ⇄ Keras conversion
(``convert``). ``from yolo3.model import build_model`` keeps working."""

from yolo3.model.build import (
    BATCHNORM_EPSILON,
    LEAKY_SLOPE,
    build_model,
    fold_batchnorm,
    get_darknet_weights,
    set_darknet_weights,
)

__all__ = ["BATCHNORM_EPSILON", "LEAKY_SLOPE", "build_model", "fold_batchnorm",
           "get_darknet_weights", "set_darknet_weights"]
