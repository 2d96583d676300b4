"""yolo3.training: freezing, anchors and masks, pretrained loading, runs, resume, devices."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from helpers import CFG, REPO, SAMPLE
from yolo3.darknet import load_cfg, with_classes
from yolo3.data.annotations import Annotation
from yolo3.errors import YoloError
from yolo3.model.build import build_model
from yolo3.training import (
    TrainSettings,
    freeze,
    load_pretrained,
    model_config,
    partition_masks,
    split,
    train,
)


def test_backbone_and_freezing():
    full, tiny = load_cfg(CFG / "yolov3.cfg"), load_cfg(CFG / "yolov3-tiny.cfg")
    assert full.backbone_end == 74 and tiny.backbone_end == 8
    model = build_model(tiny)
    assert freeze(model, tiny, 1) == (10, 24)  # conv + bn of layers 0, 2, 4, 6, 8
    assert freeze(model, tiny, 2) == (22, 24)  # all but the two heads
    assert freeze(model, tiny, 0) == (0, 24)
    full_model = build_model(full)
    assert freeze(full_model, full, 1)[0] == 52 * 2  # Darknet-53's 52 convs and their BN
    v4_tiny = load_cfg(CFG / "yolov4-tiny.cfg")  # CSP routes inside: the backbone ends at
    assert v4_tiny.backbone_end == 23  # the layer the second head's route reaches back to
    assert freeze(build_model(v4_tiny), v4_tiny, 1)[0] == 14 * 2  # its 14 convs and BN


def test_masks_partition_the_anchors_by_size():
    assert partition_masks(6, 2) == [[3, 4, 5], [0, 1, 2]]
    assert partition_masks(9, 3) == [[6, 7, 8], [3, 4, 5], [0, 1, 2]]
    anchors = np.array([[90, 80], [10, 12], [30, 30], [200, 150], [50, 60], [20, 18]])
    config = model_config("tiny", 2, anchors)
    assert config.masks == [(3, 4, 5), (0, 1, 2)]
    assert config.anchors[:, 0].tolist() == [10, 20, 30, 50, 90, 200]
    with pytest.raises(YoloError, match="needs 9 anchors"):
        model_config("full", 2, anchors)


def test_split_is_seeded_and_keeps_one_of_each():
    items = [Annotation(f"{i}.jpg", np.zeros((0, 5))) for i in range(10)]
    train_a, val_a = split(items, 0.2, 1)
    train_b, val_b = split(items, 0.2, 1)
    assert [a.path for a in val_a] == [a.path for a in val_b] and len(val_a) == 2
    assert len(split(items[:2], 0.2, 1)[1]) == 1 and split(items, 0.0, 1)[1] == []


def test_pretrained_tiny_loads_all_but_the_heads(tiny_model):
    config = with_classes(load_cfg(CFG / "yolov3-tiny.cfg"), 2)
    body = build_model(config)
    loaded, skipped = load_pretrained(body, tiny_model, log=lambda *a: None)
    assert (loaded, skipped) == (22, ["conv_15", "conv_22"])


def smoke_settings(shapes_export, out, **overrides):
    values = dict(output_dir=out, data_path=shapes_export, data_dir="data", num_clusters=6,
                  input_size=128, batch_size=8, epochs=1, map_every=0, log=lambda *a: None)
    values.update(overrides)
    return TrainSettings(**values)


def test_a_short_run_leaves_a_self_contained_model(tmp_path, shapes_export):
    """A run with no extra flags: the model, its lists, results.csv and results.png, label
    statistics, the final evaluation's pictures, each metric written once. (That the CSV's
    mAP is evaluate.py's: tests/test_train_azureml.py, through the scripts.)"""
    lines = []
    summary = train(smoke_settings(shapes_export, tmp_path / "out", map_every=1,
                                   log=lines.append))
    out = tmp_path / "out"
    for name in ("trained_model.h5", "custom_anchors.txt", "classes.txt", "train_list.txt",
                 "val_list.txt", "results.csv", "results.png", "labels.png", "metrics.json",
                 "val_predictions.png", "evaluation/confusion_matrix.png",
                 "evaluation/confidence_curves.png", "checkpoints/best.weights.h5",
                 "checkpoints/state.json"):
        assert (out / name).is_file(), name
    for stale in ("training_log.csv", "map_log.csv", "evaluation/metrics.json"):
        assert not (out / stale).exists(), stale  # each metric written once
    with open(out / "results.csv") as f:
        row = next(csv.DictReader(f))
    assert {"epoch", "train/box_loss", "train/objectness_loss", "train/class_loss",
            "val/loss", "precision", "recall", "mAP50", "mAP50-95", "lr", "seconds"} <= set(row)
    assert row["epoch"] == "1"
    assert [line for line in lines if line.startswith("Epoch 1/1: loss ")]
    assert (out / "logs").is_dir()
    assert (out / "classes.txt").read_text() == "circle\nsquare\ntriangle\n"
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0 <= metrics["voc_map50"] <= 1 and summary["epochs_run"] == 1
    from yolo import YOLO

    yolo = YOLO(model_path=str(out / "trained_model.h5"), model_image_size=(128, 128),
                score=0.0001)
    assert yolo.class_names == ["circle", "square", "triangle"]
    assert isinstance(yolo.detect_image(__import__("PIL.Image").Image.open(SAMPLE)).size, tuple)


def test_the_exports_own_split_is_kept(tmp_path, shapes_export):
    """An export that states its split (ImageSets train/val): the run validates on exactly
    its val images and trains on none of them, whatever --val_split says."""
    from yolo3.data.annotations import read_lines
    from yolo3.data.voc import convert_export

    per_set, _, _ = convert_export(shapes_export / "data", ["train", "val"], None,
                                   progress=False)
    stated = {a.path for a in per_set["val"]}
    assert 0 < len(stated) < len(per_set["train"])
    out, lines = tmp_path / "out", []
    train(smoke_settings(shapes_export, out, val_split=0.5, evaluate=False,
                         log=lines.append))
    trained_on = {a.path for a in read_lines(out / "train_list.txt")}
    assert {a.path for a in read_lines(out / "val_list.txt")} == stated
    assert not trained_on & stated and trained_on == {a.path for a in per_set["train"]}
    assert any(line.startswith("The export states its split: 32 training and 8 "
                               "validation images") for line in lines)


def test_a_val_list_beside_an_annotation_file_is_the_split(tmp_path, shapes_export):
    """--annotation_file with --val_list: validated on exactly the val list's images, none
    of them trained on (also when the training list repeats one), --val_split unused."""
    from yolo3.data.annotations import write_lines
    from yolo3.data.voc import convert_export
    from yolo3.training.run import prepare_data

    per_set, classes, _ = convert_export(shapes_export / "data", ["train", "val"], None,
                                         progress=False)
    write_lines(tmp_path / "train.txt", per_set["train"] + per_set["val"][:2])
    write_lines(tmp_path / "val.txt", per_set["val"])
    (tmp_path / "classes.txt").write_text("".join(f"{c}\n" for c in classes))
    lines = []
    data = prepare_data(TrainSettings(annotation_file=tmp_path / "train.txt",
                                      val_list=tmp_path / "val.txt",
                                      class_path=tmp_path / "classes.txt", val_split=0.5,
                                      num_clusters=6, input_size=128, log=lines.append))
    assert [a.path for a in data.val_set] == [a.path for a in per_set["val"]]
    assert [a.path for a in data.train_set] == [a.path for a in per_set["train"]]
    assert "--val_list states its split: 32 training and 8 validation images" in lines[0]


def test_an_image_listed_for_both_sets_is_only_validated_on():
    from yolo3.training.setup import split_as_stated

    items = [Annotation(f"{i}.jpg", np.zeros((0, 5))) for i in range(5)]
    train_set, val_set = split_as_stated(items, {"1.jpg", "3.jpg"}, 0.2, 0, lambda *a: None)
    assert [a.path for a in train_set] == ["0.jpg", "2.jpg", "4.jpg"]
    assert [a.path for a in val_set] == ["1.jpg", "3.jpg"]
    assert split_as_stated(items, None, 0.2, 1, print) == split(items, 0.2, 1)


def test_a_trained_model_knows_its_size(tmp_path, shapes_export, capfd):
    """Trained at 160: the model file and its cfg say so, and every consumer runs it at
    160 unless told otherwise — export.py's ONNX input, evaluate.py's detector
    (open_detector), yolo_video.py's (YOLO); another size is allowed, with a note."""
    from yolo import YOLO
    from yolo3.inference.onnx_detector import OnnxDetector
    from yolo3.inference.runtime import open_detector
    from yolo3.model.files import read_metadata

    out = tmp_path / "out"
    train(smoke_settings(shapes_export, out, input_size=160, evaluate=False))
    model = out / "trained_model.h5"
    metadata = read_metadata(model)
    assert metadata.input_size == (160, 160) and metadata.config().input_size == (160, 160)
    assert "width=160" in metadata.cfg_text and "height=160" in metadata.cfg_text
    assert open_detector(model).input_size == (160, 160)
    assert YOLO(model_path=str(model)).model_image_size == (160, 160)
    capfd.readouterr()
    assert YOLO(model_path=str(model), model_image_size=(128, 128)).model_image_size == (128,
                                                                                       128)
    assert "was trained at 160x160; running it at 128x128" in capfd.readouterr().err
    result = subprocess.run([sys.executable, "export.py", str(model), str(tmp_path / "m.onnx")],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "160x160" in result.stdout
    assert OnnxDetector(tmp_path / "m.onnx").input_size == (160, 160)


def test_yolov4_tiny_trains_letterboxed_and_detects(tmp_path, shapes_export):
    """--model_size v4-tiny: the YOLOv4-tiny network (route groups, its two heads) for
    these classes and k-means anchors, trained letterboxed, so the saved cfg says
    letter_box=1 whatever AlexeyAB's cfg says; Scaled-YOLOv4's new_coords is refused."""
    out = tmp_path / "out"
    train(smoke_settings(shapes_export, out, model_size="v4-tiny", num_clusters=9))
    from yolo3.model.files import read_metadata

    config = read_metadata(out / "trained_model.h5").config()
    assert [layer.index for layer in config.layers if getattr(layer, "groups", 1) == 2] == [
        3, 11, 19]
    assert config.letter_box and "letter_box=1" in config.text
    assert config.masks == [(3, 4, 5), (0, 1, 2)] and config.num_classes == 3
    from PIL import Image

    from yolo import YOLO

    yolo = YOLO(model_path=str(out / "trained_model.h5"), model_image_size=(128, 128),
                score=0.0001)
    assert yolo.detector.letter_box and isinstance(yolo.detect(Image.open(SAMPLE)), list)


def test_new_coords_cfgs_are_not_trained(monkeypatch):
    """Scaled-YOLOv4's heads output probabilities; the loss reads logits: refused."""
    from yolo3.training import setup

    csp = load_cfg(CFG / "yolov4-csp.cfg")
    monkeypatch.setattr(setup, "standard_config", lambda size: csp)
    with pytest.raises(YoloError, match="new_coords, which training here does not support"):
        setup.model_config("v4", 3, np.arange(18, dtype=float).reshape(9, 2) + 1)


def test_resume_without_checkpoint(tmp_path, shapes_export):
    with pytest.raises(YoloError, match="no checkpoint"):
        train(smoke_settings(shapes_export, tmp_path / "none", resume=True))


@pytest.mark.parametrize("overrides, message", [
    ({"epochs": 2, "frozen_epochs": 3}, "frozen_epochs"),
    ({"input_size": 100}, "multiple of 32"),
    ({"val_split": 1.0}, "val_split"),
    ({"model_size": "huge"}, "full, tiny, v4 or v4-tiny"),
])
def test_bad_settings(tmp_path, shapes_export, overrides, message):
    with pytest.raises(YoloError, match=message):
        train(smoke_settings(shapes_export, tmp_path / "o", **overrides))


def test_mirrored_strategy_on_two_logical_cpus(tmp_path, shapes_export):
    """Runs in its own process: logical devices must be set before TensorFlow starts."""
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from pathlib import Path
        from yolo3.training import TrainSettings, train
        summary = train(TrainSettings(output_dir=Path({str(tmp_path / 'out')!r}),
                        data_path=Path({str(shapes_export)!r}), num_clusters=6,
                        input_size=96, batch_size=8, epochs=1, evaluate=False))
        print("epochs", summary["epochs_run"])
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2 replica(s) (MirroredStrategy)" in result.stdout
    assert "epochs 1" in result.stdout


def test_multi_worker_strategy_with_two_local_workers(tmp_path, shapes_export):
    """Two processes with TF_CONFIG, as Azure ML's TensorFlow distribution starts them."""
    import os
    import socket

    ports = []
    for _ in range(2):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        from pathlib import Path
        from yolo3.training import TrainSettings, train
        summary = train(TrainSettings(output_dir=Path(sys.argv[1]),
                        data_path=Path({str(shapes_export)!r}), num_clusters=6,
                        input_size=96, batch_size=8, epochs=1, evaluate=False))
        print("loss", summary["final_loss"])
    """)
    workers = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}}))
        workers.append(subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path / f"worker{index}")], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = []
    try:
        for worker in workers:
            out, err = worker.communicate(timeout=300)
            assert worker.returncode == 0, err[-3000:]
            outputs.append(out)
    finally:
        for worker in workers:
            worker.kill()
    assert all("2 replica(s) (CollectiveAllReduceStrategy)" in out for out in outputs)
    losses = [line for out in outputs for line in out.splitlines() if line.startswith("loss")]
    assert len(losses) == 2 and losses[0] == losses[1]  # the workers trained one model


def test_metrics_go_to_mlflow_and_an_active_azure_ml_run(monkeypatch):
    import types

    from yolo3.training import MetricsReporter

    logged = []
    fake_mlflow = types.SimpleNamespace(
        log_metric=lambda name, value, step=None: logged.append(("mlflow", name, value, step)))
    fake_run = types.SimpleNamespace(id="run-42",
                                     log=lambda name, value: logged.append(("aml", name, value)))
    fake_core = types.SimpleNamespace(Run=types.SimpleNamespace(get_context=lambda: fake_run))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "azureml://example")
    monkeypatch.setitem(sys.modules, "mlflow", fake_mlflow)
    monkeypatch.setitem(sys.modules, "azureml", types.SimpleNamespace(core=fake_core))
    monkeypatch.setitem(sys.modules, "azureml.core", fake_core)
    reporter = MetricsReporter(["epoch", "train/loss", "mAP50-95"])
    reporter.on_epoch_end(3, {"loss": 1.5, "val_map50_95": 0.25})
    reporter.final({"voc_map50": 0.9, "coco_map": 0.5, "ap50": 0.9})
    assert ("mlflow", "train/loss", 1.5, 4) in logged and ("aml", "train/loss", 1.5) in logged
    assert ("mlflow", "mAP50-95", 0.25, 4) in logged  # epochs counted from 1
    assert ("aml", "voc_map50", 0.9) in logged


def test_offline_azure_ml_run_and_no_tracking_uri_log_nowhere(monkeypatch):
    import types

    from yolo3.training import MetricsReporter

    offline = types.SimpleNamespace(id="OfflineRun_123", log=lambda *a: pytest.fail("logged"))
    fake_core = types.SimpleNamespace(Run=types.SimpleNamespace(get_context=lambda: offline))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setitem(sys.modules, "azureml", types.SimpleNamespace(core=fake_core))
    monkeypatch.setitem(sys.modules, "azureml.core", fake_core)
    reporter = MetricsReporter(["epoch", "train/loss"])
    assert reporter.mlflow is None and reporter.run is None
    reporter.on_epoch_end(0, {"loss": 2.0})


def test_broken_images_are_left_out_before_training(tmp_path, shapes_export):
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(shapes_export, root)
    images = sorted((root / "data" / "JPEGImages").iterdir())
    images[0].write_bytes(b"\xff\xd8\xff not a jpeg")
    images[1].write_bytes(images[1].read_bytes()[:200])  # truncated
    images[2].write_bytes(images[2].read_bytes()[:-20])  # Pillow stops; OpenCV decodes
    lines = []
    summary = train(smoke_settings(root, tmp_path / "out", evaluate=False, log=lines.append))
    assert summary["epochs_run"] == 1
    assert any(line.startswith("Note: 2 unreadable images left out") for line in lines)
    assert summary["images_left_out"] == 2
    assert (summary["images_salvaged"], summary["images_dropped"]) == (1, 0)
    assert any(line.startswith("Note: 1 damaged images were trained on as far as OpenCV")
               for line in lines)


class Interrupted(Exception):
    """Stands for the machine going away at the end of an epoch."""


@pytest.mark.parametrize("recipe, stages", [("modern", 1), ("keras-yolo3", 1),
                                            ("modern", 2)])
def test_resume_continues_the_same_trajectory(tmp_path, shapes_export, tiny_model, recipe,
                                              stages):
    """Weights, the optimizer's step count and moments, and (modern) the averaged weights
    all come back: a run interrupted after its second epoch and resumed ends exactly where
    an uninterrupted one does. With two stages (fine-tuning, epoch 1 frozen) the second
    stage goes on with the run's epochs 2 and 3 — their orders and augmentations — not
    the first stage's again."""
    from yolo3.model.files import load_model

    pretrained = dict(weights=tiny_model, frozen_epochs=1) if stages == 2 else {}

    def final_weights(out):
        model, _ = load_model(out / "trained_model.h5")
        return np.concatenate([w.ravel() for w in model.get_weights()])

    def run(out, **overrides):
        return train(smoke_settings(shapes_export, out, input_size=64, epochs=3, map_every=1,
                                    evaluate=False, recipe=recipe, **pretrained,
                                    **overrides))

    def stop_after_epoch_2(line):
        if line.startswith("Epoch 2/"):  # logged after the state is saved
            raise Interrupted

    run(tmp_path / "whole")
    with pytest.raises(Interrupted):
        run(tmp_path / "parts", log=stop_after_epoch_2)
    assert json.loads((tmp_path / "parts" / "checkpoints" / "state.json").read_text())[
        "epoch"] == 2
    lines = []
    summary = run(tmp_path / "parts", resume=True, log=lines.append)
    assert summary["epochs_run"] == 1
    assert any(line.startswith("Restored the optimizer's state (step ") for line in lines)
    state_lr = json.loads((tmp_path / "whole" / "checkpoints" / "state.json").read_text())
    with open(tmp_path / "parts" / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]  # the resumed run appends
    assert float(rows[2]["lr"]) == pytest.approx(state_lr["learning_rate"], rel=1e-5)
    if recipe == "keras-yolo3":
        assert any(line.startswith("Resuming after epoch 2 at learning rate 0.001")
                   for line in lines)
    whole, parts = final_weights(tmp_path / "whole"), final_weights(tmp_path / "parts")
    assert np.linalg.norm(whole - parts) <= 1e-6 * np.linalg.norm(whole)

    def maps(out):
        with open(out / "results.csv") as f:
            return [(r["epoch"], r["mAP50"], r["mAP50-95"]) for r in csv.DictReader(f)]

    assert maps(tmp_path / "whole") == maps(tmp_path / "parts")  # every epoch, once


def test_a_model_trained_with_scale_x_y_decodes_alike_everywhere(tmp_path, shapes_export):
    """The modern recipe writes scale_x_y=2 into the trained model's cfg: the TensorFlow
    decode, OpenCV's Darknet importer (through convert.py --to_darknet) and the model
    converted back from Darknet all read the same boxes."""
    import cv2
    import tensorflow as tf
    from PIL import Image

    from helpers import run_script
    from yolo3.decode import decode_head
    from yolo3.images import letterbox
    from yolo3.inference.detector import Detector, open_model

    out = tmp_path / "out"
    train(smoke_settings(shapes_export, out, input_size=64, evaluate=False))
    loaded = open_model(out / "trained_model.h5")
    assert [h.scale_x_y for h in loaded.config.heads] == [2.0, 2.0]
    result = run_script("convert.py", "--to_darknet", str(out / "trained_model.h5"),
                        str(tmp_path / "trained.weights"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "trained.cfg").read_text().count("scale_x_y=2") == 2

    image = Image.open(SAMPLE).convert("RGB")
    canvas, _ = letterbox(image, (64, 64))
    pixels = canvas[None].astype(np.float32) / 255.0
    raw = loaded.model(pixels)
    ours = [decode_head(tf.constant(r), h.layer_anchors, 3, (64, 64), h.scale_x_y)
            for r, h in zip(raw, loaded.config.heads)]
    net = cv2.dnn.readNetFromDarknet(str(tmp_path / "trained.cfg"),
                                     str(tmp_path / "trained.weights"))
    net.setInput(np.ascontiguousarray(pixels.transpose(0, 3, 1, 2)))
    theirs = net.forward([f"yolo_{h.index}" for h in loaded.config.heads])
    for (boxes, scores), opencv, head, r in zip(ours, theirs, loaded.config.heads, raw):
        centre_size = opencv[:, :4] * 64
        xyxy = np.concatenate([centre_size[:, :2] - centre_size[:, 2:] / 2,
                               centre_size[:, :2] + centre_size[:, 2:] / 2], 1)
        np.testing.assert_allclose(boxes.numpy()[0], xyxy, atol=2e-3)
        objectness = 1 / (1 + np.exp(-np.asarray(r).reshape(-1, 8)[:, 4]))
        np.testing.assert_allclose(opencv[:, 4], objectness, atol=1e-4)
        shown = opencv[:, 5:] > 0  # OpenCV zeroes scores under its threshold
        np.testing.assert_allclose(scores.numpy()[0][shown], opencv[:, 5:][shown], atol=1e-4)
        # without scale_x_y the centres would differ: the test can tell the decodes apart
        plain, _ = decode_head(tf.constant(r), head.layer_anchors, 3, (64, 64))
        assert np.abs(plain.numpy()[0] - xyxy).max() > 0.1

    result = run_script("convert.py", str(tmp_path / "trained.cfg"),
                        str(tmp_path / "trained.weights"), str(tmp_path / "back.h5"),
                        "--classes_path", str(out / "classes.txt"))
    assert result.returncode == 0, result.stderr
    from yolo3.defaults import EVAL_NMS

    before = Detector(loaded, (64, 64), EVAL_NMS).detect(image)
    after = Detector(open_model(tmp_path / "back.h5"), (64, 64), EVAL_NMS).detect(image)
    assert before and [d["class_id"] for d in before] == [d["class_id"] for d in after]
    np.testing.assert_allclose([d["box"] for d in before], [d["box"] for d in after],
                               atol=1e-3)


def test_keras_yolo3_recipe_trains_as_upstream(tmp_path, shapes_export, tiny_model):
    """--recipe keras-yolo3: the cfg's own decode, keras-yolo3's loss terms, Adam with
    stage 2 at a tenth of the rate, the least-validation-loss epoch kept."""
    from yolo3.model.files import read_metadata

    out = tmp_path / "out"
    lines = []
    train(smoke_settings(shapes_export, out, epochs=2, frozen_epochs=1, weights=tiny_model,
                         recipe="keras-yolo3", learning_rate=2e-3, evaluate=False,
                         log=lines.append))
    config = read_metadata(out / "trained_model.h5").config()
    assert [h.scale_x_y for h in config.heads] == [1.0, 1.0]
    assert "scale_x_y" not in config.text
    with open(out / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert {"train/xy_loss", "train/wh_loss", "train/confidence_loss", "train/class_loss",
            "val/xy_loss"} <= set(rows[0])
    assert [float(r["lr"]) for r in rows] == pytest.approx([2e-3, 2e-4])
    assert (out / "checkpoints" / "best.weights.h5").is_file()
    assert any("(keras-yolo3 recipe)" in line for line in lines)


def test_keras_yolo3_recipe_trains_v4_tiny_centres_as_its_detector_decodes():
    """--recipe keras-yolo3 --model_size v4-tiny keeps the cfg's scale_x_y 1.05, so the
    detector decodes centres as sigmoid(t) · 1.05 − 0.025: the recipe's loss must train
    t_xy towards that decode. Raw outputs that Darknet's formula (inverted here in NumPy)
    decodes exactly onto the true box leave the xy and wh terms nothing to learn."""
    import tensorflow as tf

    from yolo3.data.targets import build_targets, padded_boxes
    from yolo3.training.recipes import KERAS_YOLO3, RECIPES

    recipe, input_hw = RECIPES[KERAS_YOLO3], (128, 128)
    anchors = np.array([[10, 14], [23, 27], [37, 58], [81, 82], [135, 169], [344, 319]], float)
    config = model_config("v4-tiny", 2, anchors, recipe.scale_x_y)
    assert [h.scale_x_y for h in config.heads] == [1.05, 1.05]
    boxes = np.array([[3, 10, 45, 52, 1], [66, 70, 120, 126, 0]], np.float32)
    targets = build_targets(boxes, config, input_hw, assignment=recipe.assignment)
    raws = []
    for target, head in zip(targets, config.heads):
        grid_h, grid_w, slots, depth = target.shape
        feats = np.zeros(target.shape, np.float64)
        s = head.scale_x_y
        for row, col, slot in np.argwhere(target[..., 4] == 1):
            centre = target[row, col, slot, 0:2] * [grid_w, grid_h] - [col, row]
            offset = (centre + (s - 1) / 2) / s  # sigmoid(t_xy) that decodes to it
            feats[row, col, slot, 0:2] = np.log(offset / (1 - offset))
            feats[row, col, slot, 2:4] = np.log(target[row, col, slot, 2:4] * input_hw[::-1]
                                                 / head.layer_anchors[slot])
        raws.append(tf.Variable(feats.reshape(1, grid_h, grid_w, slots * depth), dtype=tf.float32))
    loss, _ = recipe.loss()
    with tf.GradientTape() as tape:
        _, terms = loss([*(tf.constant(t[None]) for t in targets),
                         tf.constant(padded_boxes(boxes, input_hw, 4)[None])], raws, config,
                        input_hw)
        fitted = terms["xy"] + terms["wh"]
    assert sum(int((t[..., 4] == 1).sum()) for t in targets) == 2
    for grad in tape.gradient(fitted, raws):
        np.testing.assert_allclose(grad.numpy(), 0.0, atol=1e-4)


def test_keras_yolo3_recipe_trains_yolov4_tiny_end_to_end(tmp_path, shapes_export):
    """The whole run for --recipe keras-yolo3 --model_size v4-tiny: its model keeps the
    cfg's decode (scale_x_y 1.05), which its loss trained (the test above), and detects."""
    from PIL import Image

    from yolo import YOLO
    from yolo3.model.files import read_metadata

    out = tmp_path / "out"
    train(smoke_settings(shapes_export, out, model_size="v4-tiny", recipe="keras-yolo3",
                         evaluate=False))
    config = read_metadata(out / "trained_model.h5").config()
    assert [h.scale_x_y for h in config.heads] == [1.05, 1.05]
    yolo = YOLO(model_path=str(out / "trained_model.h5"), model_image_size=(128, 128),
                score=0.0001)
    assert isinstance(yolo.detect(Image.open(SAMPLE)), list)


def test_modern_recipe_follows_its_schedule_and_keeps_the_last_weights(tmp_path,
                                                                       shapes_export):
    from yolo3.training.schedule import WarmupCosine, warmup_steps

    out = tmp_path / "out"
    train(smoke_settings(shapes_export, out, input_size=64, epochs=2, evaluate=False,
                         learning_rate=4e-3))
    steps = 32 // 8  # 40 images, 8 held out, batch 8
    with open(out / "results.csv") as f:
        rates = [float(r["lr"]) for r in csv.DictReader(f)]
    schedule = WarmupCosine(4e-3, 2 * steps, warmup_steps(steps, 2 * steps))
    assert rates == pytest.approx([float(schedule(steps)), float(schedule(2 * steps))],
                                  rel=1e-5)
    assert not (out / "checkpoints" / "best.weights.h5").exists()  # the last weights kept


def test_the_averaged_weights_are_validated_and_saved(tmp_path, shapes_export):
    """Modern recipe: the saved model holds the optimizer's moving average of the weights
    (not the raw weights it trained, kept in last.weights.h5 for resume), and the logged
    validation loss is that of the averaged weights."""
    import keras

    from yolo3.data.annotations import read_lines
    from yolo3.data.pipeline import make_dataset
    from yolo3.model.files import load_model
    from yolo3.training.iou_loss import TERMS, iou_loss
    from yolo3.training.trainer import YoloTrainer

    out = tmp_path / "out"
    train(smoke_settings(shapes_export, out, input_size=64, epochs=2, evaluate=False))
    model, metadata = load_model(out / "trained_model.h5")
    config = metadata.config()
    saved = [np.asarray(w) for w in model.trainable_weights]
    with np.load(out / "checkpoints" / "optimizer.npz") as state:
        arrays = [state[f"arr_{i}"] for i in range(len(state.files))]
    first = next(i for i, a in enumerate(arrays) if a.shape == saved[0].shape)
    averages = arrays[first:first + len(saved)]
    assert [a.shape for a in averages] == [w.shape for w in saved]
    for average, weight in zip(averages, saved):
        np.testing.assert_array_equal(average, weight)

    raw_model = keras.models.clone_model(model)
    raw_model.load_weights(out / "checkpoints" / "last.weights.h5")
    raw = [np.asarray(w) for w in raw_model.trainable_weights]
    assert any(not np.allclose(r, s) for r, s in zip(raw, saved))

    val = make_dataset(read_lines(out / "val_list.txt"), config, (64, 64), 8, training=False)
    with open(out / "results.csv") as f:
        logged = float(list(csv.DictReader(f))[-1]["val/loss"])

    def val_loss(body):
        trainer = YoloTrainer(body, config, (64, 64), iou_loss, TERMS)
        trainer.compile()
        return trainer.evaluate(val, verbose=0, return_dict=True)["loss"]

    assert val_loss(model) == pytest.approx(logged, rel=1e-4)
    assert val_loss(raw_model) != pytest.approx(logged, rel=1e-4)




def test_the_trainer_takes_8_bit_pixels_as_the_model_takes_floats():
    """The pipeline's uint8 images are divided by 255 inside the trainer (on the device):
    the same outputs as float images in [0, 1]."""
    from yolo3.training.trainer import YoloTrainer

    config = with_classes(load_cfg(CFG / "yolov3-tiny.cfg"), 2)
    trainer = YoloTrainer(build_model(config, (64, 64)), config, (64, 64))
    pixels = np.random.default_rng(0).integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)
    from_bytes = trainer(pixels)
    from_floats = trainer(pixels.astype(np.float32) / 255.0)
    for a, b in zip(from_bytes, from_floats):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5)
