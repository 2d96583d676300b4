"""Detection: what every detector shares (``base``), the compiled TensorFlow detection
graph (``detector``, ``postprocess``), exported ONNX files in ONNX Runtime
(``onnx_detector``) or OpenVINO (``openvino_detector``), exported TFLite files in LiteRT
(``tflite_detector``) and SavedModels (``saved_model_detector``), the runtime chosen from
the file by the table of formats (``runtime``, yolo3.formats), and the image and video
modes of yolo_video.py (``image_files``, ``video``). Image reading and the letterbox are
the package's core (yolo3.images)."""
