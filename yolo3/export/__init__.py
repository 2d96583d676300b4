"""Exporting a trained model for other runtimes, one module per format (their table is
yolo3.formats; what every exported file carries is yolo3.export_contract): ``onnx`` (the
detection graph or the raw heads as ONNX), ``quantize`` (int8 and fp16 ONNX), ``tflite``
(the detection graph from TFLite builtins, for LiteRT) and ``saved_model`` (a SavedModel
for TF Serving)."""
