"""project/train_azureml.py as Azure ML (or a user) runs it."""

from __future__ import annotations

import sys

import pytest

from helpers import REPO, run_script


@pytest.mark.parametrize("recipe, workers, stages", [
    ("keras-yolo3", "0", ["Epochs 1–1: 22 of 24 layers frozen, learning rate 0.001 "
                     "(keras-yolo3 recipe).",
                     "Epochs 2–2: 0 of 24 layers frozen, learning rate 0.0001 "
                     "(keras-yolo3 recipe)."]),
    ("modern", "2", ["Epochs 1–1: 22 of 24 layers frozen, learning rate 0.001 after 4 warm-up "
                "steps, cosine decay (modern recipe).",
                # one schedule across both stages: no second warm-up
                "Epochs 2–2: 0 of 24 layers frozen, the cosine decay goes on from step 4 "
                "(learning rate 0.001) (modern recipe)."]),
])
def test_fine_tune_from_converted_tiny_weights(tmp_path, shapes_export, tiny_model, recipe,
                                               workers, stages):
    """Upstream's two stages with either recipe: the pretrained layers frozen first; the
    modern run's batches made by two worker processes."""
    result = run_script("project/train_azureml.py", "--data_path", str(shapes_export),
                        "--data_dir", "data", "--weights", str(tiny_model), "--num_clusters",
                        "6", "--input_size", "128", "--epochs", "2", "--frozen_epochs", "1",
                        "--learning_rate", "0.001", "--recipe", recipe, "--workers", workers,
                        "--output_dir",
                        str(tmp_path / "outputs"), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert (f"Loaded pretrained weights from {tiny_model} into 22 layers; 2 skipped "
            "(fresh: conv_15, conv_22).") in out
    for stage in stages:
        assert stage in out
    assert "Done: 2 epochs" in out
    assert (tmp_path / "outputs" / "trained_model.h5").is_file()


def test_the_readme_workflow_evaluates_on_images_never_trained_on(tmp_path, shapes_export):
    """README steps 3, 6 and 7 as a user runs them: voc_annotation.py writes the export's
    split, training keeps it, and evaluate.py on project/val_list.txt scores images the
    model never trained on — with results.csv's last mAP equal to evaluate.py's on the
    same weights — while evaluate.py on the training list says it trained on them."""
    import csv
    import json

    from yolo3.data.annotations import read_lines

    export = shapes_export / "data"
    result = run_script("voc_annotation.py", "--data_dir", str(export), "--out_dir", "project",
                        cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    result = run_script("project/train_azureml.py", "--data_path", str(shapes_export),
                        "--data_dir", "data", "--num_clusters", "6", "--input_size", "96",
                        "--epochs", "1", cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Epoch 1/1: loss " in result.stdout and " mAP50 " in result.stdout
    project, outputs = tmp_path / "project", tmp_path / "outputs"
    trained = {a.path for a in read_lines(outputs / "train_list.txt")}
    assert not trained & {a.path for a in read_lines(project / "val_list.txt")}

    def evaluate(listed, folder):
        return run_script("evaluate.py", "--annot_file", str(listed), "--classes_path",
                          "project/classes.txt", "--model_path", "outputs/trained_model.h5",
                          "--output_dir", folder, "--quiet", cwd=tmp_path)

    result = evaluate(project / "val_list.txt", "eval")
    assert result.returncode == 0, result.stderr
    assert "trained on" not in result.stderr
    evaluated = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    with open(outputs / "results.csv") as f:
        last = list(csv.DictReader(f))[-1]
    assert float(last["mAP50"]) == pytest.approx(evaluated["voc_map50"], rel=1e-5, abs=1e-6)
    assert float(last["mAP50-95"]) == pytest.approx(evaluated["coco_map"], rel=1e-5, abs=1e-6)
    for name in ("confusion_matrix.png", "confidence_curves.png", "predictions.png"):
        assert (tmp_path / "eval" / name).is_file(), name
    result = evaluate(project / "train_list.txt", "eval-train")
    assert result.returncode == 0, result.stderr
    assert (f"note: the model was trained on {len(trained)} of these {len(trained)} images"
            in result.stderr)


def test_runs_without_any_azure_package(tmp_path, shapes_export):
    script = str(REPO / "project/train_azureml.py")
    blocker = ("import runpy, sys; sys.modules['azureml'] = None; sys.modules['mlflow'] = None;"
               f" sys.argv = sys.argv[1:]; runpy.run_path({script!r}, run_name='__main__')")
    import subprocess

    result = subprocess.run(
        [sys.executable, "-c", blocker, "train_azureml.py", "--data_path", str(shapes_export),
         "--num_clusters", "6", "--input_size", "96", "--epochs", "1", "--no_evaluation",
         "--output_dir", str(tmp_path / "o")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Done: 1 epochs" in result.stdout


def test_bad_data_folder_is_one_line(tmp_path):
    result = run_script("project/train_azureml.py", "--data_path", str(tmp_path), "--data_dir",
                        "missing", "--output_dir", str(tmp_path / "o"))
    assert result.returncode == 1
    missing = tmp_path / "missing"
    assert result.stderr.strip() == f"train_azureml.py: error: {missing}: no such folder"


def load_script(relative: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(relative.replace("/", "_")[:-3],
                                                  REPO / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_script_takes_both_spellings_and_training_takes_classes_path(tmp_path):
    """--output-dir (declared --output_dir), --model_name (declared --model-name),
    --data_dir (declared --data-dir), and training's --classes_path beside --class_path."""
    train = load_script("project/train_azureml.py").parse_args(
        ["--output-dir", str(tmp_path), "--classes_path", "c.txt", "--input-size", "320"])
    assert (str(train.output_dir), str(train.class_path), train.input_size) == (
        str(tmp_path), "c.txt", 320)
    assert str(load_script("project/train_azureml.py").parse_args(
        ["--class-path", "d.txt"]).class_path) == "d.txt"
    deploy = load_script("deploy_to_azureml.py").parse_args(
        ["--dry-run", "--model_name", "mine", "--model", "m.onnx"])
    assert deploy.model_name == "mine"
    driver = load_script("azureml_driver.py").parse_args(["--dry-run", "--data_dir", "d"])
    assert driver.data_dir == "d"
