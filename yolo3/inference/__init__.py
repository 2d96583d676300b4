"""Detection: images in and out (``images``), the compiled detection graph (``detector``,
``postprocess``), and the image and video modes of yolo_video.py (``image_files``,
``video``)."""
