"""Keras 3 YOLOv3: Darknet conversion, inference, data preparation and training."""

__version__ = "0.1.0"
