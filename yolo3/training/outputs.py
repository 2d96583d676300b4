"""What a run leaves in its output folder, and the state it resumes from."""

from __future__ import annotations

import json
from pathlib import Path

from yolo3.classfiles import format_anchors
from yolo3.data.annotations import write_lines
from yolo3.errors import YoloError
from yolo3.files import atomic_output, write_text_atomic
from yolo3.training.settings import TrainSettings


def resume_state(checkpoints: Path) -> dict | None:
    state_file = checkpoints / "state.json"
    if not state_file.is_file() or not (checkpoints / "last.weights.h5").is_file():
        raise YoloError(f"--resume: no checkpoint in {checkpoints}")
    return json.loads(state_file.read_text())


def resume_logs(out: Path, epochs_done: int) -> None:
    """Drop the log rows of epochs after ``epochs_done`` (an interrupted epoch's row may
    be written before its resume state), so the resumed run's rows follow on once."""
    for name, first_column_of_next in (("training_log.csv", epochs_done),  # 0-based
                                       ("map_log.csv", epochs_done + 1)):  # 1-based
        path = out / name
        if not path.is_file():
            continue
        header, *rows = path.read_text().splitlines(keepends=True)
        kept = [row for row in rows
                if row.strip() and int(row.split(",", 1)[0]) < first_column_of_next]
        if len(kept) != len(rows):
            write_text_atomic(path, header + "".join(kept))


def restore_optimizer_state(trainer, checkpoints: Path) -> int | None:
    """Load the saved optimizer variables (step count, moments) into the compiled
    ``trainer``'s optimizer, built for its trainable variables now. Returns the restored
    step count, or None when no state was saved or it does not fit (another stage's
    trainable set)."""
    import keras
    import numpy as np

    from yolo3.training.callbacks import OPTIMIZER_STATE

    path = checkpoints / OPTIMIZER_STATE
    if not path.is_file():
        return None
    with np.load(path) as data:
        saved = [data[f"arr_{i}"] for i in range(len(data.files))]
    optimizer = trainer.optimizer
    if not optimizer.built:
        optimizer.build(trainer.trainable_variables)
    variables = optimizer.variables
    if [tuple(v.shape) for v in variables] != [s.shape for s in saved]:
        return None
    for variable, value in zip(variables, saved):
        variable.assign(value)
    return int(keras.ops.convert_to_numpy(optimizer.iterations))


def write_outputs(out: Path, body, config, class_names, anchors, train_set, val_set,
                   history, settings: TrainSettings) -> dict:
    from yolo3.model.files import ModelMetadata, save_model

    model_path = out / "trained_model.h5"
    save_model(body, model_path, ModelMetadata(config.text, class_names,
                                                input_size=tuple(config.input_size)))
    write_text_atomic(out / "custom_anchors.txt", format_anchors(config.anchors))
    write_text_atomic(out / "classes.txt", "".join(f"{n}\n" for n in class_names))
    write_lines(out / "train_list.txt", train_set)
    write_lines(out / "val_list.txt", val_set)
    plot_history(history, out / "training_curves.png")
    summary = {"model": str(model_path), "epochs_run": len(history.get("loss", [])),
               "final_loss": history.get("loss", [None])[-1]}
    if val_set and settings.evaluate:
        from yolo3.evaluation.report import write_report

        metrics, voc = validation_metrics(evaluation_detector(body, config, class_names,
                                                              settings.input_size),
                                          val_set, class_names)
        write_report(metrics, voc, class_names, out / "evaluation")
        write_text_atomic(out / "metrics.json", json.dumps(metrics, indent=1) + "\n")
        summary.update(voc_map50=metrics["voc_map50"], coco_map=metrics["coco_map"],
                       ap50=metrics["ap50"])
        settings.log(f"Validation mAP@0.5 {metrics['voc_map50']:.4f}, COCO AP "
                     f"{metrics['coco_map']:.4f} → {out / 'metrics.json'}")
    return summary


def evaluation_detector(body, config, class_names, input_size: int, live: bool = False):
    """A detector on the model being trained, with evaluation's NMS settings. ``live``:
    it reads the model's weights as they change (not folded into a snapshot), for
    evaluations during training."""
    from yolo3.evaluation.report import EVAL_NMS
    from yolo3.inference.detector import Detector, LoadedModel

    return Detector(LoadedModel(body, config, class_names), (input_size, input_size),
                    EVAL_NMS, fold=not live)


def validation_metrics(detector, val_set, class_names) -> tuple[dict, object]:
    """evaluate.py's metrics of ``detector`` on the validation images, and the curves."""
    from yolo3.evaluation.report import detect_annotations, evaluate

    detections, _ = detect_annotations(detector, val_set, progress=False)
    return evaluate(val_set, detections, class_names)


def plot_history(history: dict[str, list[float]], path: Path) -> None:
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
