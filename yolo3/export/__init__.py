"""Exporting a trained model for other runtimes: ``metadata`` (what every exported file
carries, TensorFlow-free), ``onnx`` (the detection graph or the raw heads as ONNX),
``quantize`` (int8 and fp16 ONNX), ``tflite`` (the detection graph from TFLite builtins,
for LiteRT) and ``saved_model`` (a SavedModel for TF Serving)."""
