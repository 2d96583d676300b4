"""What a run leaves in its output folder, and the state it resumes from."""

from __future__ import annotations

import json
from pathlib import Path

from yolo3.classfiles import format_anchors
from yolo3.data.annotations import write_lines
from yolo3.errors import YoloError
from yolo3.files import write_text_atomic
from yolo3.numbers import finite_number, whole_number
from yolo3.training.settings import TrainSettings


def resume_state(checkpoints: Path) -> dict:
    """The state a run resumes from (callbacks.StateSaver's state.json): YoloError naming
    the file when there is none or it is damaged."""
    state_file = checkpoints / "state.json"
    if not state_file.is_file() or not (checkpoints / "last.weights.h5").is_file():
        raise YoloError(f"--resume: no checkpoint in {checkpoints}")
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        state = None
    problem = _state_problem(state)
    if problem:
        raise YoloError(f"--resume: {state_file} is damaged ({problem}): start again with "
                        "--overwrite")
    return state


def _state_problem(state) -> str | None:
    if not isinstance(state, dict):
        return "not a JSON object"
    checks = {"epoch": lambda v: whole_number(v) and v >= 1,
              "learning_rate": lambda v: finite_number(v) and v > 0,
              "best": lambda v: v is None or finite_number(v),
              "monitor": lambda v: isinstance(v, str),
              "run": lambda v: isinstance(v, dict)}
    for key, good in checks.items():
        if key == "run" and key not in state:
            continue  # written before runs recorded what they train
        if key not in state or not good(state[key]):
            return f"its {key!r} is missing or wrong"
    return None


def run_identity(settings: TrainSettings, class_names: list[str], config) -> dict:
    """What a run trains, recorded in its resume state: a resumed run must train the same
    (model size, classes, recipe, input size, and the network's cfg with its anchors)."""
    import hashlib

    return {"model_size": settings.size, "classes": list(class_names),
            "recipe": settings.recipe, "input_size": settings.input_size,
            "cfg": hashlib.blake2b(config.text.encode(), digest_size=8).hexdigest()}


def check_same_run(state: dict, identity: dict) -> None:
    """YoloError saying what differs when ``--resume`` would continue a run that trained
    something else; states from before runs recorded this are taken as they are."""
    saved = state.get("run")
    if saved is None:
        return
    for key, what in (("model_size", "--model_size"), ("classes", "the classes"),
                      ("recipe", "--recipe"), ("input_size", "--input_size"),
                      ("cfg", "the network's anchors or layers")):
        before, now = saved.get(key), identity[key]
        if before == now:
            continue
        if key == "cfg":
            detail = ""
        elif key == "classes" and isinstance(before, list) and len(before) == len(now):
            detail = " (other names)"
        elif key == "classes":
            detail = f" ({len(before or [])} then, {len(now)} now)"
        else:
            detail = f" ({before} then, {now} now)"
        raise YoloError(f"--resume: the run in this output folder trained with other {what}"
                        f"{detail}; resume with the same settings, or start again with "
                        "--overwrite")


def load_network_weights(body, path: Path) -> None:
    """The network's weights from a checkpoint (callbacks.StateSaver's or the best
    epoch's); YoloError when the file is damaged or belongs to another network."""
    try:
        body.load_weights(path)
    except (OSError, ValueError, KeyError) as error:
        raise YoloError(f"{path}: not a checkpoint of this network ({error}); start again "
                        "with --overwrite") from None


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
                  settings: TrainSettings, first_epoch: int = 0) -> dict:
    """The trained model (with the digests of its training images), its anchors, classes
    and lists, results.png, and — with validation images — the final evaluation:
    metrics.json, evaluation/ (curves, confusion matrix) and val_predictions.png."""
    from yolo3.data.examples import DecodeProblems
    from yolo3.files import file_digest
    from yolo3.model.files import ModelMetadata, save_model
    from yolo3.training.results import RESULTS_CSV, RESULTS_PNG, plot_results, read_results

    model_path = out / "trained_model.h5"
    digests = tuple(file_digest(a.path) for a in train_set)
    save_model(body, model_path, ModelMetadata(config.text, class_names,
                                                input_size=tuple(config.input_size),
                                                trained_on=digests))
    write_text_atomic(out / "custom_anchors.txt", format_anchors(config.anchors))
    write_text_atomic(out / "classes.txt", "".join(f"{n}\n" for n in class_names))
    write_lines(out / "train_list.txt", train_set)
    write_lines(out / "val_list.txt", val_set)
    rows = read_results(out / RESULTS_CSV)
    plot_results(rows, out / RESULTS_PNG)
    # epochs this invocation ran (a resumed run's earlier rows are the interrupted one's)
    summary = {"model": str(model_path),
               "epochs_run": int(rows[-1]["epoch"]) - first_epoch if rows else 0,
               "final_loss": rows[-1]["train/loss"] if rows else None,
               **DecodeProblems.counts()}
    for key, what in (("images_salvaged", "damaged images were trained on as far as OpenCV "
                       "could decode them"), ("images_dropped", "images could not be decoded "
                                              "and trained as blank pictures")):
        if summary[key]:
            settings.log(f"Note: {summary[key]} {what} (see the warnings above).")
    if val_set and settings.evaluate:
        from yolo3.evaluation.plots import plot_prediction_sample
        from yolo3.evaluation.report import write_report

        metrics, voc, detections = validation_metrics(
            evaluation_detector(body, config, class_names, settings.input_size), val_set,
            class_names)
        write_report(metrics, voc, class_names, out / "evaluation", metrics_file=False)
        plot_prediction_sample(val_set, detections, class_names, out / "val_predictions.png",
                               metrics["score_threshold"])
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


def validation_metrics(detector, val_set, class_names) -> tuple[dict, object, dict]:
    """evaluate.py's metrics of ``detector`` on the validation images, the curves, and
    the detections ({path: [...]})."""
    from yolo3.evaluation.report import detect_annotations, evaluate

    detections, _ = detect_annotations(detector, val_set, progress=False)
    return (*evaluate(val_set, detections, class_names), detections)


def write_label_statistics(out: Path, train_set, sizes: dict[str, tuple[int, int]],
                           class_names: list[str]) -> None:
    """labels.png: the training images' objects per class, positions and sizes."""
    from yolo3.evaluation.plots import plot_labels

    plot_labels([a.boxes for a in train_set], [sizes[a.path] for a in train_set],
                class_names, out / "labels.png")
