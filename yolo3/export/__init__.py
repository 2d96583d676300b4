"""Exporting a trained model for other runtimes: ``metadata`` (what every exported file
carries, TensorFlow-free) and ``onnx`` (the detection graph or the raw heads as ONNX)."""
