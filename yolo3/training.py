"""Training a YOLOv3 detector: data, anchors, model, two stages, checkpoints, outputs.

project/train_azureml.py parses the flags and calls :func:`train`; the same code runs on
a laptop and on an Azure ML cluster. Stage 1 trains with part of the network frozen
(pretrained layers keep their values while the fresh heads settle); stage 2 trains every
layer at a tenth of the learning rate. Both stages share one epoch count: ``epochs`` in
all, the first ``frozen_epochs`` of them frozen.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from yolo3.annotations import Annotation, check_boxes, read_lines, write_lines
from yolo3.darknet import DarknetConfig, standard_config, with_classes
from yolo3.datafiles import format_anchors, read_anchors, read_class_names
from yolo3.errors import YoloError
from yolo3.files import atomic_output, write_text_atomic
from yolo3.loss import TERMS, yolo_loss
from yolo3.model import build_model

STAGE2_LR_FACTOR = 0.1


@dataclass
class TrainSettings:
    """Every choice a training run makes; the defaults are the command line's."""

    output_dir: Path = Path("outputs")
    annotation_file: Path | None = None
    data_path: Path = Path(".")
    data_dir: str = "data"
    class_path: Path | None = None
    anchors_path: Path | None = None
    num_clusters: int = 9
    model_size: str | None = None  # "full" | "tiny"; None: from num_clusters
    weights: Path | None = None
    input_size: int = 416
    batch_size: int = 8
    learning_rate: float = 1e-3
    epochs: int = 60
    frozen_epochs: int | None = None  # None: half of the epochs
    freeze_body: int = 2
    val_split: float = 0.2
    seed: int = 10101
    gpu_num: int = 0
    mixed_precision: bool = False
    resume: bool = False
    overwrite: bool = False
    evaluate: bool = True
    log: object = field(default=print, repr=False)

    @property
    def size(self) -> str:
        return self.model_size or ("tiny" if self.num_clusters == 6 else "full")


class YoloTrainer(keras.Model):
    """The detection model plus the YOLOv3 loss, trained with Keras' own fit loop.

    ``fit`` data are (images, (head targets..., true boxes)) batches from yolo3.data.
    Overriding compute_loss keeps Keras' train step, so distribution strategies scale the
    loss and gradients as they do for any model.
    """

    def __init__(self, body: keras.Model, config: DarknetConfig, input_hw: tuple[int, int]):
        super().__init__(name="yolo_trainer")
        self.body = body
        self.config = config
        self.input_hw = input_hw
        self.term_trackers = [keras.metrics.Mean(name=f"{name}_loss") for name in TERMS]

    def call(self, images, training=False):
        return self.body(images, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        total, terms = yolo_loss(y, y_pred, self.config, self.input_hw)
        for tracker, name in zip(self.term_trackers, TERMS):
            tracker.update_state(terms[name])
        if self.losses:
            total = total + tf.add_n(self.losses)
        # Keras sums the replicas' gradients: each replica contributes its share of the mean
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return total / tf.cast(replicas, total.dtype)

    @property
    def metrics(self):
        return [*super().metrics, *self.term_trackers]

    def _multi_worker(self) -> bool:
        strategy = self.distribute_strategy
        return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
                and strategy.extended._num_workers > 1)  # noqa: SLF001

    def _vector_logs(self, logs: dict) -> dict:
        # Keras (3.15) averages multi-worker step results along axis 0, which scalars lack
        if not self._multi_worker():
            return logs
        return {name: tf.reshape(value, [1]) for name, value in logs.items()}

    def train_step(self, data):
        return self._vector_logs(super().train_step(data))

    def test_step(self, data):
        return self._vector_logs(super().test_step(data))

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Keras (3.15) averages a whole data batch across replicas here to build its metrics,
        # which MultiWorkerMirroredStrategy cannot do eagerly; one local replica's batch
        # builds them just as well.
        strategy = self.distribute_strategy
        if iterator is None or not isinstance(strategy,
                                              tf.distribute.MultiWorkerMirroredStrategy):
            return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)
        for _, _, batches in iterator:
            data_batch = tf.nest.map_structure(
                lambda value: strategy.experimental_local_results(value)[0], next(batches))
            break
        with strategy.scope():
            self._symbolic_build(data_batch=data_batch)


# ----------------------------------------------------------------------------------------
# data, classes, anchors, model


def gather_annotations(settings: TrainSettings) -> tuple[list[Annotation], list[str]]:
    """All annotated images and the class names, from a training list or a VOC export."""
    given = read_class_names(settings.class_path) if settings.class_path else None
    if settings.annotation_file:
        if given is None:
            raise YoloError("--annotation_file needs --class_path (the class names)")
        return read_lines(settings.annotation_file), given
    from yolo3.voc import convert_export

    export = Path(settings.data_path) / settings.data_dir
    per_set, classes, report = convert_export(export, ["train", "val"], given, progress=False)
    for line in report.lines():
        settings.log(f"Note: {line}")
    merged = list({a.path: a for lines in per_set.values() for a in lines}.values())
    if not merged:
        raise YoloError(f"no annotated images in {export}")
    return merged, classes


def readable(annotations: list[Annotation], log=print) -> list[Annotation]:
    """The annotations whose image file opens and is within the pixel limit (a broken
    image would stop training mid-epoch); YoloError for boxes wholly outside their image,
    which say the list was made for other images."""
    from yolo3.images import verify_image

    kept, broken, outside = [], [], []
    for annotation in annotations:
        try:
            width, height = verify_image(annotation.path)
        except YoloError:
            broken.append(annotation.path)
            continue
        boxes = annotation.boxes
        away = ((boxes[:, 0] >= width) | (boxes[:, 1] >= height) | (boxes[:, 2] <= 0)
                | (boxes[:, 3] <= 0))
        if away.any():
            outside.append(f"{annotation.path} ({width}×{height}): box "
                           + ",".join(str(int(v)) for v in boxes[away.argmax()]))
        kept.append(annotation)
    if outside:
        raise YoloError(f"{len(outside)} images have boxes wholly outside the image, e.g. "
                        f"{outside[0]}: the list does not describe these images")
    if broken:
        log(f"Note: {len(broken)} unreadable images left out ({', '.join(broken[:3])}"
            f"{' …' if len(broken) > 3 else ''})")
    return kept


RUN_OUTPUTS = ("trained_model.h5", "training_log.csv", "checkpoints", "metrics.json",
               "custom_anchors.txt", "classes.txt", "train_list.txt", "val_list.txt",
               "training_curves.png", "evaluation", "logs")


def check_output_dir(settings: TrainSettings) -> None:
    """Before anything is built: the run may write to ``output_dir``.

    A folder holding another run's outputs is refused unless --resume (continue it) or
    --overwrite (replace it) says what to do with them; no output may be an input; and the
    folder must be writable.
    """
    from yolo3.files import check_writable, refuse_overwriting_inputs

    out = Path(settings.output_dir)
    refuse_overwriting_inputs([out / name for name in RUN_OUTPUTS] + [out],
                              [settings.annotation_file, settings.class_path,
                               settings.anchors_path, settings.weights])
    earlier = [name for name in RUN_OUTPUTS if (out / name).exists()]
    if earlier and not (settings.resume or settings.overwrite):
        raise YoloError(f"{out} holds another run's outputs ({', '.join(earlier[:3])}"
                        f"{', …' if len(earlier) > 3 else ''}): pass --resume to continue it, "
                        "--overwrite to replace it, or choose another --output_dir")
    check_writable(out / "trained_model.h5")


def split(annotations: list[Annotation], val_split: float, seed: int
          ) -> tuple[list[Annotation], list[Annotation]]:
    """Shuffle with ``seed`` and hold out ``val_split`` of the images for validation."""
    order = np.random.default_rng(seed).permutation(len(annotations))
    count = int(round(len(annotations) * val_split))
    if val_split > 0 and len(annotations) > 1:
        count = min(max(count, 1), len(annotations) - 1)
    val = [annotations[i] for i in order[:count]]
    return [annotations[i] for i in order[count:]], val


def partition_masks(num_anchors: int, num_heads: int) -> list[list[int]]:
    """Anchors sorted by area, the largest to the first (coarsest) head, each used once."""
    per_head = num_anchors // num_heads
    return [list(range(num_anchors - (h + 1) * per_head, num_anchors - h * per_head))
            for h in range(num_heads)]


def model_config(size: str, num_classes: int, anchors: np.ndarray) -> DarknetConfig:
    """The cfg of the model to train: the standard network for these classes and anchors.

    Masks are re-partitioned (keras-yolo3's tiny masks 3,4,5 / 1,2,3 never train anchor 0;
    that only suits Darknet's own tiny anchors).
    """
    base = standard_config(size)
    if len(anchors) != len(base.anchors):
        raise YoloError(f"a {size} model needs {len(base.anchors)} anchors, got {len(anchors)}")
    order = np.argsort(anchors.prod(axis=1), kind="stable")
    return with_classes(base, num_classes, anchors[order],
                        masks=partition_masks(len(anchors), len(base.heads)))


def choose_anchors(settings: TrainSettings, train: list[Annotation], k: int) -> np.ndarray:
    if settings.anchors_path:
        return read_anchors(settings.anchors_path)
    from yolo3.anchors import box_shapes, cluster_anchors

    shapes, skipped = box_shapes(train, settings.input_size)
    for note in skipped[:5]:
        settings.log(f"Note: {note}")
    result = cluster_anchors(shapes, k, seed=settings.seed)
    settings.log(f"Anchors by k-means at {settings.input_size}: {format_anchors(result.anchors)} "
                 f"(mean IoU {result.mean_iou:.3f}, best possible recall {result.recall:.3f})")
    return result.anchors


def freeze(body: keras.Model, config: DarknetConfig, freeze_body: int) -> tuple[int, int]:
    """Freeze the backbone (1), everything but the heads (2) or nothing (0).

    Returns (frozen layers, layers with weights)."""
    heads = {config.layers[h.conv_index].name for h in config.heads}
    end = config.backbone_end
    frozen = 0
    weighted = [layer for layer in body.layers if layer.weights]
    for layer in body.layers:
        index = config.layer_index(layer.name)
        if freeze_body == 1:
            layer.trainable = index is None or index > end
        elif freeze_body == 2:
            layer.trainable = layer.name in heads
        else:
            layer.trainable = True
        frozen += bool(layer.weights) and not layer.trainable
    return frozen, len(weighted)


def load_pretrained(body: keras.Model, path: Path, log=print) -> tuple[int, list[str]]:
    """Copy every layer of a model file whose name and weight shapes match; the rest keep
    their fresh values. Returns (layers loaded, names skipped)."""
    from yolo3.modelfile import load_model, read_metadata

    if read_metadata(path) is None:
        from yolo3.modelfile import is_full_model

        if not is_full_model(path):
            raise YoloError(f"{path} carries no cfg: convert Darknet weights with convert.py "
                            "(a full model or -w) and pass that file")
    source, _ = load_model(path)
    names = {layer.name: layer for layer in source.layers}
    loaded, skipped = 0, []
    for layer in body.layers:
        if not layer.weights:
            continue
        other = names.get(layer.name)
        values = other.get_weights() if other is not None else None
        if values is None or [v.shape for v in values] != [tuple(w.shape)
                                                           for w in layer.weights]:
            skipped.append(layer.name)
            continue
        layer.set_weights(values)
        loaded += 1
    log(f"Loaded pretrained weights from {path} into {loaded} layers; {len(skipped)} skipped "
        f"(fresh: {', '.join(skipped) if skipped else 'none'}).")
    return loaded, skipped


def choose_strategy(gpu_num: int) -> tf.distribute.Strategy:
    """MultiWorkerMirrored when TF_CONFIG names several workers; Mirrored over several
    GPUs (or several logical CPUs when no GPU exists, as tests set up); else the default.

    ``gpu_num`` caps the devices used; 0 means all."""
    cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    if sum(len(v) for k, v in cluster.items() if k in ("worker", "chief")) > 1:
        return tf.distribute.MultiWorkerMirroredStrategy()
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    if gpu_num:
        devices = devices[:gpu_num]
    if len(devices) > 1:
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    return tf.distribute.get_strategy()


# ----------------------------------------------------------------------------------------
# callbacks


def current_lr(model: keras.Model) -> float:
    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


class LearningRateLogger(keras.callbacks.Callback):
    """Puts the epoch's learning rate into the logs, so the CSV log has it for every epoch."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = current_lr(self.model)


class NonFiniteGuard(keras.callbacks.Callback):
    """Stops training at the first batch whose loss is NaN or infinite, and remembers it:
    a diverged run must fail, not save a model of NaNs as if it were good."""

    def __init__(self):
        super().__init__()
        self.epoch = 0
        self.tripped: int | None = None  # the epoch (1-based) where the loss went non-finite

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(float(loss)):
            self.tripped = self.epoch + 1
            self.model.stop_training = True


class StateSaver(keras.callbacks.Callback):
    """After each epoch: last weights and {epoch, learning_rate, best score}, for resume."""

    def __init__(self, folder: Path, monitor: str, best: float | None):
        super().__init__()
        self.folder = folder
        self.monitor = monitor
        self.best = best

    def on_epoch_end(self, epoch, logs=None):
        if not all(np.isfinite(float(v)) for v in (logs or {}).values()):
            return  # a diverged epoch is no state to resume from
        value = (logs or {}).get(self.monitor)
        if value is not None and (self.best is None or value < self.best):
            self.best = float(value)
        with atomic_output(self.folder / "last.weights.h5") as tmp:
            tmp.unlink()
            self.model.save_weights(tmp)
        lr = current_lr(self.model)
        write_text_atomic(self.folder / "state.json", json.dumps(
            {"epoch": epoch + 1, "learning_rate": lr, "best": self.best,
             "monitor": self.monitor}) + "\n")


class MetricsReporter(keras.callbacks.Callback):
    """Epoch metrics to MLflow when a tracking URI is set (Azure ML v2 sets one) and to
    the Azure ML v1 run when one is active; the CSV log is written by CSVLogger."""

    def __init__(self, log=print):
        super().__init__()
        self.mlflow = self.run = None
        if os.environ.get("MLFLOW_TRACKING_URI"):
            try:
                import mlflow

                self.mlflow = mlflow
            except ImportError:
                log("note: MLFLOW_TRACKING_URI is set but mlflow is not installed")
        try:
            from azureml.core import Run

            run = Run.get_context()
            self.run = None if run.id.startswith("OfflineRun") else run
        except ImportError:
            pass

    def on_epoch_end(self, epoch, logs=None):
        for name, value in (logs or {}).items():
            if self.mlflow is not None:
                self.mlflow.log_metric(name, float(value), step=epoch)
            if self.run is not None:
                self.run.log(name, float(value))

    def final(self, metrics: dict) -> None:
        for key in ("voc_map50", "coco_map", "ap50"):
            if self.mlflow is not None:
                self.mlflow.log_metric(key, float(metrics[key]))
            if self.run is not None:
                self.run.log(key, float(metrics[key]))


# ----------------------------------------------------------------------------------------
# the run


def train(settings: TrainSettings) -> dict:
    """Run a whole training; return a summary (paths, epochs run, final metrics)."""
    log = settings.log
    out = Path(settings.output_dir)
    checkpoints = out / "checkpoints"
    if settings.frozen_epochs is None:
        settings.frozen_epochs = settings.epochs // 2
    if settings.epochs < 1 or not 0 <= settings.frozen_epochs <= settings.epochs:
        raise YoloError("--epochs must be ≥ 1 and 0 ≤ --frozen_epochs ≤ --epochs")
    if settings.freeze_body not in (0, 1, 2):
        raise YoloError("--freeze_body must be 0, 1 or 2")
    if settings.input_size % 32 or settings.input_size <= 0:
        raise YoloError("--input_size must be a positive multiple of 32")
    if not 0 <= settings.val_split < 1:
        raise YoloError("--val_split must be in [0, 1)")
    keras.utils.set_random_seed(settings.seed)
    if settings.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")

    check_output_dir(settings)
    annotations, class_names = gather_annotations(settings)
    check_boxes(annotations, len(class_names),
                str(settings.annotation_file or Path(settings.data_path) / settings.data_dir))
    annotations = readable(annotations, log)
    train_set, val_set = split(annotations, settings.val_split, settings.seed)
    if not train_set or not any(len(a.boxes) for a in train_set):
        raise YoloError("no training images with boxes")
    k = len(standard_config(settings.size).anchors)
    anchors = choose_anchors(settings, train_set, k)
    config = model_config(settings.size, len(class_names), anchors)
    input_hw = (settings.input_size, settings.input_size)
    log(f"{len(train_set)} training and {len(val_set)} validation images, "
        f"{len(class_names)} classes, YOLOv3-{settings.size} at {settings.input_size}.")

    state = _resume_state(checkpoints) if settings.resume else None
    strategy = choose_strategy(settings.gpu_num)
    log(f"Devices: {strategy.num_replicas_in_sync} replica(s) ({type(strategy).__name__}).")
    with strategy.scope():
        body = build_model(config, input_hw, name="yolov3")
        if settings.weights and state is None:
            load_pretrained(body, settings.weights, log)
        trainer = YoloTrainer(body, config, input_hw)
        trainer(np.zeros((1, *input_hw, 3), np.float32))  # create the variables
    if state is not None:
        trainer.load_weights(checkpoints / "last.weights.h5")
        log(f"Resuming after epoch {state['epoch']} at learning rate "
            f"{state['learning_rate']:.3g}.")

    from yolo3.data import make_dataset

    start = state["epoch"] if state else 0
    train_data = make_dataset(train_set, config, input_hw, settings.batch_size, training=True,
                              seed=settings.seed, first_epoch=start)
    val_data = (make_dataset(val_set, config, input_hw, settings.batch_size, training=False)
                if val_set else None)
    steps = max(1, len(train_set) // settings.batch_size)
    monitor = "val_loss" if val_data is not None else "loss"
    out.mkdir(parents=True, exist_ok=True)
    checkpoints.mkdir(parents=True, exist_ok=True)
    reporter = MetricsReporter(log)
    saver = StateSaver(checkpoints, monitor, state.get("best") if state else None)
    guard = NonFiniteGuard()
    common = [guard,
        LearningRateLogger(),
        keras.callbacks.ModelCheckpoint(str(checkpoints / "best.weights.h5"), monitor=monitor,
                                        save_best_only=True, save_weights_only=True,
                                        initial_value_threshold=saver.best),
        keras.callbacks.CSVLogger(str(out / "training_log.csv"), append=start > 0),
        keras.callbacks.TensorBoard(str(out / "logs")),
        saver, reporter]
    frozen_stage = settings.frozen_epochs if settings.weights else 0
    if settings.frozen_epochs and not settings.weights:
        log("No --weights: nothing pretrained to keep, so every layer trains from epoch 1.")
    history: dict[str, list[float]] = {}

    def fit(first: int, last: int, lr: float, freeze_body: int, extra: list) -> None:
        if first >= last or guard.tripped:
            return
        with strategy.scope():
            frozen, total = freeze(body, config, freeze_body)
            trainer.compile(optimizer=keras.optimizers.Adam(learning_rate=lr))
        log(f"Epochs {first + 1}–{last}: {frozen} of {total} layers frozen, "
            f"learning rate {lr:.3g}.")
        result = trainer.fit(train_data, steps_per_epoch=steps, validation_data=val_data,
                             initial_epoch=first, epochs=last, callbacks=common + extra,
                             shuffle=False, verbose=2)
        for key, values in result.history.items():
            history.setdefault(key, []).extend(float(v) for v in values)

    resumed_lr = state["learning_rate"] if state else None
    fit(start, frozen_stage, resumed_lr or settings.learning_rate, settings.freeze_body, [])
    stage2_lr = settings.learning_rate * (STAGE2_LR_FACTOR if frozen_stage else 1.0)
    if resumed_lr is not None and start >= frozen_stage:
        stage2_lr = resumed_lr
    fit(max(start, frozen_stage), settings.epochs, stage2_lr, 0, [
        keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.1, patience=3, verbose=1),
        keras.callbacks.EarlyStopping(monitor=monitor, min_delta=0, patience=10, verbose=1)])

    if guard.tripped:
        raise YoloError(f"training diverged: the loss became NaN or infinite in epoch "
                        f"{guard.tripped}; no model written (try a lower --learning_rate, or "
                        "check the data)")
    best = checkpoints / "best.weights.h5"
    if best.is_file():
        trainer.load_weights(best)
    if not all(np.isfinite(w).all() for w in body.get_weights()):
        raise YoloError("training diverged: the weights hold NaN or infinite values; no model "
                        "written")
    summary = _write_outputs(out, body, config, class_names, anchors, train_set, val_set,
                             history, settings)
    if "voc_map50" in summary:
        reporter.final(summary)
    return summary


def _resume_state(checkpoints: Path) -> dict | None:
    state_file = checkpoints / "state.json"
    if not state_file.is_file() or not (checkpoints / "last.weights.h5").is_file():
        raise YoloError(f"--resume: no checkpoint in {checkpoints}")
    return json.loads(state_file.read_text())


def _write_outputs(out: Path, body, config, class_names, anchors, train_set, val_set,
                   history, settings: TrainSettings) -> dict:
    from yolo3.modelfile import ModelMetadata, save_model

    model_path = out / "trained_model.h5"
    save_model(body, model_path, ModelMetadata(config.text, class_names))
    write_text_atomic(out / "custom_anchors.txt", format_anchors(config.anchors))
    write_text_atomic(out / "classes.txt", "".join(f"{n}\n" for n in class_names))
    write_lines(out / "train_list.txt", train_set)
    write_lines(out / "val_list.txt", val_set)
    _plot_history(history, out / "training_curves.png")
    summary = {"model": str(model_path), "epochs_run": len(history.get("loss", [])),
               "final_loss": history.get("loss", [None])[-1]}
    if val_set and settings.evaluate:
        from yolo3.detector import Detector, LoadedModel
        from yolo3.evaluation import EVAL_NMS, detect_annotations, evaluate, write_report

        detector = Detector(LoadedModel(body, config, class_names),
                            (settings.input_size, settings.input_size), EVAL_NMS)
        detections, _ = detect_annotations(detector, val_set, progress=False)
        metrics, voc = evaluate(val_set, detections, class_names)
        write_report(metrics, voc, class_names, out / "evaluation")
        write_text_atomic(out / "metrics.json", json.dumps(metrics, indent=1) + "\n")
        summary.update(voc_map50=metrics["voc_map50"], coco_map=metrics["coco_map"],
                       ap50=metrics["ap50"])
        settings.log(f"Validation mAP@0.5 {metrics['voc_map50']:.4f}, COCO AP "
                     f"{metrics['coco_map']:.4f} → {out / 'metrics.json'}")
    return summary


def _plot_history(history: dict[str, list[float]], path: Path) -> None:
    if not history.get("loss"):
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    epochs = range(1, len(history["loss"]) + 1)
    axes.plot(epochs, history["loss"], label="training loss")
    if history.get("val_loss"):
        axes.plot(epochs, history["val_loss"], label="validation loss")
    axes.set(xlabel="epoch", ylabel="loss", yscale="log")
    axes.legend()
    with atomic_output(path) as tmp:
        figure.savefig(tmp, format="png", dpi=80)
    plt.close(figure)

