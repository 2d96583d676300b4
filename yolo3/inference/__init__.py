"""Detection: images in and out (``images``), what every detector shares (``base``), the
compiled TensorFlow detection graph (``detector``, ``postprocess``), exported ONNX files in
ONNX Runtime (``onnx_detector``) or OpenVINO (``openvino_detector``), exported SavedModels
(``saved_model_detector``), the runtime chosen from the file (``runtime``), and the image
and video modes of yolo_video.py (``image_files``, ``video``)."""
