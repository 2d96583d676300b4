"""yolo3.inference.detector: detections equal an independent OpenCV-DNN + NumPy pipeline;
model loading."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from PIL import Image

from helpers import CFG, SAMPLE, box_iou, opencv_outputs, random_conv_weights, reference_detections
from yolo3.classfiles import MODEL_DATA
from yolo3.darknet import load_cfg, with_classes
from yolo3.errors import YoloError
from yolo3.images import letterbox
from yolo3.inference.detector import Detector, open_model
from yolo3.model.build import build_model, set_darknet_weights
from yolo3.model.files import ModelMetadata, save_model


@pytest.mark.parametrize("score, max_per_class", [(0.3, 20), (0.02, 100)])
def test_sample_detections_equal_an_independent_opencv_pipeline(tiny_model, tiny_weights,
                                                                  score, max_per_class):
    """Also at a low threshold, where the graph's objectness gate (rows that cannot pass
    skip the class product and NMS) keeps some rows and drops others: nothing lost."""
    from yolo3.defaults import NmsSettings

    detector = Detector(open_model(tiny_model),
                        nms=NmsSettings(score=score, max_per_class=max_per_class))
    image = Image.open(SAMPLE).convert("RGB")
    ours = detector.detect(image)
    if score == 0.3:
        assert sorted(d["class_name"] for d in ours) == ["cat", "cup", "person"]

    canvas, _ = letterbox(image, (416, 416))  # the same letterboxed input for both
    config = load_cfg(CFG / "yolov3-tiny.cfg")
    raw = opencv_outputs(CFG / "yolov3-tiny.cfg", tiny_weights,
                         canvas[None].astype(np.float32) / 255.0,
                         [f"conv_{h.conv_index}" for h in config.heads])
    theirs = reference_detections(raw, config.masks, config.anchors, 80, (416, 416),
                                  (image.height, image.width), score=score,
                                  max_per_class=max_per_class)
    assert len(theirs) == len(ours) >= (3 if score == 0.3 else 15)
    for class_id, score, box in theirs:
        box = np.clip(box, 0, [image.width, image.height] * 2)
        match = [d for d in ours if d["class_id"] == class_id
                 and box_iou(d["box"], box) >= 0.99 and abs(d["score"] - score) <= 1e-3]
        assert len(match) == 1, (class_id, score, box, ours)


def test_graph_is_traced_once(tiny_model):
    detector = Detector(open_model(tiny_model))
    image = np.zeros((240, 320, 3), np.uint8)
    detector.detect(image)
    detector.detect_batch([image, image, image])
    detector.detect(Image.fromarray(image).convert("L"))
    assert detector._graph.experimental_get_tracing_count() == 1


def test_batch_equals_single_images(tiny_yolo):
    image = Image.open(SAMPLE)
    flipped = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    single = [tiny_yolo.detect(image), tiny_yolo.detect(flipped)]
    batch = tiny_yolo.detect_batch([image, flipped])
    for a, b in zip(single, batch):
        assert [d["class_id"] for d in a] == [d["class_id"] for d in b]
        np.testing.assert_allclose([d["box"] for d in a], [d["box"] for d in b], atol=1e-3)


def test_folding_changes_nothing_visible(tiny_model):
    loaded = open_model(tiny_model)
    image = Image.open(SAMPLE)
    folded, plain = Detector(loaded).detect(image), Detector(loaded, fold=False).detect(image)
    assert [d["class_id"] for d in folded] == [d["class_id"] for d in plain]
    np.testing.assert_allclose([d["score"] for d in folded], [d["score"] for d in plain],
                               atol=1e-5)


def test_class_agnostic_and_cap(tiny_model):
    from yolo3.inference.postprocess import NmsSettings

    loaded = open_model(tiny_model)
    image = Image.open(SAMPLE)
    loose = Detector(loaded, nms=NmsSettings(score=0.001, iou=0.45, max_per_class=3))
    detections = loose.detect(image)
    per_class = np.bincount([d["class_id"] for d in detections], minlength=80)
    assert per_class.max() == 3
    agnostic = Detector(loaded, nms=NmsSettings(score=0.3, class_agnostic=True)).detect(image)
    assert sorted(d["class_name"] for d in agnostic) == ["cat", "cup", "person"]


def keras2_training_file(path, config, values):
    """A weights file laid out as keras-yolo3's Keras 2 training model saved it.

    Layer names conv2d_N / batch_normalization_N / leaky_re_lu_N in creation order, the
    output convs listed last (Keras 2's model.layers order), weightless input, padding,
    add, upsample and concatenate layers, the y_true inputs and the yolo_loss Lambda.
    """
    head_indices = {h.conv_index for h in config.heads}
    body = [c for c in config.convs if c.index not in head_indices]
    heads = [c for c in config.convs if c.index in head_indices]
    order = ["input_1"]
    groups = {"input_1": []}
    for number, conv in enumerate(config.convs, start=1):
        v = values[conv.index]
        kernel = np.transpose(v.kernel, (2, 3, 1, 0))
        if conv.batch_normalize:
            groups[f"conv2d_{number}"] = [("kernel:0", kernel)]
            bn_number = sum(c.batch_normalize for c in config.convs[:number])
            groups[f"batch_normalization_{bn_number}"] = [
                ("gamma:0", v.scales), ("beta:0", v.biases), ("moving_mean:0", v.mean),
                ("moving_variance:0", v.variance)]
        else:
            groups[f"conv2d_{number}"] = [("kernel:0", kernel), ("bias:0", v.biases)]
    for conv in body:
        number = config.convs.index(conv) + 1
        bn_number = sum(c.batch_normalize for c in config.convs[:number])
        order += [f"conv2d_{number}", f"batch_normalization_{bn_number}",
                  f"leaky_re_lu_{bn_number}"]
        groups[f"leaky_re_lu_{bn_number}"] = []
        if number % 4 == 0:
            order.append(f"max_pooling2d_{number}")
            groups[f"max_pooling2d_{number}"] = []
    order += ["up_sampling2d_1", "concatenate_1", "input_2", "input_3"]
    groups.update({name: [] for name in order[-4:]})
    order += [f"conv2d_{config.convs.index(c) + 1}" for c in heads] + ["yolo_loss"]
    groups["yolo_loss"] = []
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([n.encode() for n in order])
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.1.5"
        for name in order:
            group = f.create_group(name)
            group.attrs["weight_names"] = np.array(
                [f"{name}/{w}".encode() for w, _ in groups[name]])
            for weight, value in groups[name]:
                group.create_dataset(f"{name}/{weight}", data=value)


def test_keras_yolo3_trained_weights_load_by_order(tmp_path):
    base = load_cfg(CFG / "yolov3-tiny.cfg")
    config = with_classes(base, 2, np.array([[36, 41], [62, 73], [93, 105], [135, 156],
                                             [212, 232], [379, 433]]))
    values = random_conv_weights(config, seed=9)
    path = tmp_path / "trained_weights_final.h5"
    keras2_training_file(path, config, values)
    anchors = tmp_path / "custom_anchors.txt"
    anchors.write_text("36,41, 62,73, 93,105, 135,156, 212,232, 379,433")
    classes = tmp_path / "custom_classes.txt"
    classes.write_text("car\ntrailer_truck")
    loaded = open_model(path, anchors_path=anchors, classes_path=classes)
    assert loaded.class_names == ["car", "trailer_truck"]
    assert loaded.config.anchors.tolist()[-1] == [379, 433]
    reference = build_model(config)
    set_darknet_weights(reference, config, values)
    x = np.random.default_rng(1).random((1, 96, 96, 3), dtype=np.float32)
    for ours, theirs in zip(loaded.model(x), reference(x)):
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-5, atol=1e-5)
    with pytest.raises(YoloError, match="need \\[255, 255\\]|shapes"):
        open_model(path, anchors_path=anchors)  # COCO classes do not fit a 2-class model


def test_weights_only_files_of_this_project(tmp_path, tiny_model):
    loaded = open_model(tiny_model)
    path = tmp_path / "trained.weights.h5"
    save_model(loaded.model, path, ModelMetadata(loaded.config.text, loaded.class_names),
               weights_only=True)
    again = open_model(path)
    assert again.class_names == loaded.class_names
    image = Image.open(SAMPLE)
    assert len(Detector(again).detect(image)) == 3


def test_flags_override_metadata_and_must_fit(tmp_path, tiny_model):
    classes = tmp_path / "names.txt"
    classes.write_text("\n".join(f"thing{i}" for i in range(80)))
    assert open_model(tiny_model, classes_path=classes).class_names[0] == "thing0"
    classes.write_text("a\nb\n")
    with pytest.raises(YoloError, match="2 class names for a model with 80 classes"):
        open_model(tiny_model, classes_path=classes)
    with pytest.raises(YoloError, match="has 9 anchors; the model was built for 6"):
        open_model(tiny_model, anchors_path=MODEL_DATA / "yolo_anchors.txt")
    with pytest.raises(YoloError, match="no such model file"):
        open_model(tmp_path / "missing.h5")


def test_a_model_without_class_names_needs_them(tmp_path):
    config = with_classes(load_cfg(CFG / "yolov3-tiny.cfg"), 3)
    model = build_model(config)
    save_model(model, tmp_path / "m.keras", ModelMetadata(config.text))
    with pytest.raises(YoloError, match="names no classes"):
        open_model(tmp_path / "m.keras")


@pytest.mark.parametrize("size", [(410, 416), (0, 32)])
def test_input_size_must_be_multiple_of_32(tiny_model, size):
    with pytest.raises(YoloError, match="multiples of 32"):
        Detector(open_model(tiny_model), size)


TOP_K = 20  # at least; the cut falls at the first clear gap after


@pytest.mark.parametrize("name", [
    "yolov3-tiny", "yolov4-tiny", "yolov4-tiny-3l",
    pytest.param("yolov4", marks=pytest.mark.slow),
    pytest.param("yolov4-csp", marks=pytest.mark.slow)])
def test_each_cfgs_decode_equals_numpy_on_opencv_outputs(tmp_path, random_weights, name):
    """The best TOP_K (box, class) pairs before NMS, through the TensorFlow detector and
    through its ONNX export, equal a NumPy decode of OpenCV's raw heads with the cfg's
    own rule (scale_x_y; new_coords; letterboxed or resized per [net] letter_box) on the
    sample photo cut to 832×520 (on a square image both ways give the same input).
    Random weights give arbitrary but comparable boxes."""
    from helpers import converted_model, darknet_candidates, opencv_head_names
    from yolo3.defaults import NmsSettings
    from yolo3.export.onnx import export_onnx
    from yolo3.inference.detector import LoadedModel
    from yolo3.inference.onnx_detector import OnnxDetector

    weights = random_weights(name)
    config, model = converted_model(CFG / f"{name}.cfg", weights)
    names = [f"class {i}" for i in range(80)]
    loaded = LoadedModel(model, config, names)
    image = Image.open(SAMPLE).convert("RGB").crop((0, 0, 832, 520))
    canvas, _ = letterbox(image, (416, 416), keep_aspect=config.letter_box)  # what both see
    raw = opencv_outputs(CFG / f"{name}.cfg", weights, canvas[None].astype(np.float32) / 255,
                         opencv_head_names(config))
    boxes, scores, classes = darknet_candidates(raw, config, (416, 416),
                                                (image.height, image.width))
    boxes = np.clip(boxes, 0, [image.width, image.height] * 2)  # detections stay inside
    gaps = scores[TOP_K - 1:10 * TOP_K] - scores[TOP_K:10 * TOP_K + 1]
    k = TOP_K + int(np.argmax(gaps > 1e-5))  # a cut no rounding can move
    assert gaps.max() > 1e-5
    # IoU 1: NMS keeps every box above the cut (no two candidates of a class coincide)
    nms = NmsSettings(score=float(scores[k - 1] + scores[k]) / 2, iou=1.0, max_per_class=100)
    detectors = [Detector(loaded, nms=nms)]
    if name != "yolov4":  # its ONNX export takes 45 s; the tiny v4 cfgs cover scale_x_y there
        export_onnx(loaded, tmp_path / f"{name}.onnx", (416, 416), nms)
        detectors.append(OnnxDetector(tmp_path / f"{name}.onnx", nms=nms))
    for detector in detectors:
        found = detector.detect(image)
        assert len(found) == k
        for box, score, class_id in zip(boxes[:k], scores[:k], classes[:k]):  # near-ties
            same = [d for d in found if d["class_id"] == class_id]  # may swap: match
            best = min(same, key=lambda d: np.abs(np.subtract(d["box"], box)).max())
            assert abs(best["score"] - score) <= 2e-5, (best, score)
            np.testing.assert_allclose(best["box"], box, atol=0.05)
            found.remove(best)
