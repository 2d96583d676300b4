"""Training a YOLOv3 detector: project/train_azureml.py parses the flags (declared in
``settings``) and calls :func:`train`; the same code runs on a laptop and on Azure ML.

Modules by job: ``settings`` (every setting, once), ``recipes`` (the two ways to train,
once), ``setup`` (data, anchors, cfg, freezing, pretrained weights, devices), ``trainer``
and ``keras_shim`` (the Keras model with the loss), ``loss`` (keras-yolo3's),
``iou_loss`` (the modern recipe's), ``schedule`` (its learning rate and averaged
weights), ``callbacks``, ``results`` (results.csv and results.png), ``progress`` (the bar
and the epoch line), ``outputs``, ``run`` (the steps of a run).
Names are loaded on first use, so ``yolo3.training.settings`` alone never imports
TensorFlow (the Azure driver and ``--help`` need only the settings).
"""

from __future__ import annotations

import importlib

_HOMES = {
    "MetricsReporter": "callbacks", "train": "run", "TrainSettings": "settings",
    "YoloTrainer": "trainer", "freeze": "setup", "load_pretrained": "setup",
    "model_config": "setup", "partition_masks": "setup", "readable": "setup",
    "split": "setup",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'yolo3.training' has no attribute {name!r}")
    return getattr(importlib.import_module(f"yolo3.training.{_HOMES[name]}"), name)
