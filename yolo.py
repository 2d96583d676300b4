"""The YOLO class of keras-yolo3, on Keras 3: same defaults, same ``detect_image``.

    from yolo import YOLO
    yolo = YOLO(model_path="model_data/yolo-tiny.h5")
    annotated = yolo.detect_image(Image.open("model_data/sample.jpg"))
    detections = yolo.detect(image)            # [{"class_id", "class_name", "score", "box"}]
    batches = yolo.detect_batch([image1, image2])

Boxes are [x_min, y_min, x_max, y_max] in original-image pixels. Unknown options are an
error (keras-yolo3 silently ignored misspelled ones).
"""

from __future__ import annotations

from yolo3.defaults import DEFAULT_INPUT_SIZE, NmsSettings
from yolo3.errors import YoloError


class YOLO:
    """Detector with keras-yolo3's defaults.

    Anchors and classes come from the model file when it carries them; ``anchors_path``
    and ``classes_path`` given explicitly override them. ``gpu_num`` is accepted for
    compatibility: TensorFlow places the work on the first GPU when there is one.
    """

    _defaults = {
        "model_path": "model_data/yolo.h5",
        "anchors_path": "model_data/yolo_anchors.txt",
        "classes_path": "model_data/coco_classes.txt",
        "score": NmsSettings().score,
        "iou": NmsSettings().iou,
        "model_image_size": (DEFAULT_INPUT_SIZE, DEFAULT_INPUT_SIZE),
        "gpu_num": 1,
        "max_per_class": NmsSettings().max_per_class,
        "class_agnostic": NmsSettings().class_agnostic,
        "runtime": None,  # the file's default; .onnx files: onnxruntime or openvino
    }

    @classmethod
    def get_defaults(cls, name: str):
        if name in cls._defaults:
            return cls._defaults[name]
        return "Unrecognized attribute name '" + name + "'"

    def __init__(self, **kwargs):
        unknown = sorted(set(kwargs) - set(self._defaults))
        if unknown:
            raise YoloError(f"unknown YOLO option(s): {', '.join(unknown)} "
                            f"(known: {', '.join(self._defaults)})")
        self.__dict__.update(self._defaults)
        self.__dict__.update(kwargs)
        if not 0 <= self.score <= 1 or not 0 <= self.iou <= 1:
            raise YoloError("score and iou must lie between 0 and 1")
        if int(self.gpu_num) < 0 or int(self.max_per_class) < 1:
            raise YoloError("gpu_num must be ≥ 0 and max_per_class ≥ 1")
        from yolo3.inference.runtime import open_detector

        # a model runs at its own size unless one is asked for: an export's, or the one a
        # Keras model was trained at (model_image_size's default for other files)
        size = kwargs.get("model_image_size")
        self.detector = open_detector(
            self.model_path, tuple(size) if size else None,
            NmsSettings(self.score, self.iou, int(self.max_per_class), bool(self.class_agnostic)),
            anchors_path=kwargs.get("anchors_path"), classes_path=kwargs.get("classes_path"),
            runtime=self.runtime)
        self.class_names = self.detector.class_names
        self.anchors = self.detector.anchors
        self.model_image_size = self.detector.input_size

    def detect(self, image) -> list[dict]:
        """Detections in a PIL image (any mode), best scores first."""
        return self.detector.detect(image)

    def detect_batch(self, images) -> list[list[dict]]:
        """Detections for several PIL images in one forward pass."""
        return self.detector.detect_batch(list(images))

    def detect_image(self, image):
        """The image with its detections drawn, as keras-yolo3 returned it."""
        from yolo3.images import draw_detections, to_rgb

        image = to_rgb(image)
        return draw_detections(image, self.detect(image), len(self.class_names))

    def close_session(self) -> None:
        """Kept for keras-yolo3 compatibility: there is no session to close in TF 2."""


def detect_video(yolo: YOLO, video_path="0", output_path: str = "", **kwargs):
    """Run ``yolo`` over a video file or camera index; see yolo3.inference.video.detect_video."""
    from yolo3.inference.video import detect_video as run_video

    return run_video(yolo.detector, video_path, output_path or None, **kwargs)
