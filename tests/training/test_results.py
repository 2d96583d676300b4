"""yolo3.training.results: results.csv's columns, rows from Keras' logs, a resumed run's
rows, and results.png."""

from __future__ import annotations

import csv

import pytest

from yolo3.training.results import (
    ResultsLog,
    best_fitness,
    columns,
    fitness,
    plot_results,
    read_results,
    row_of,
)

TERMS = ("box", "objectness", "class")


def test_columns_with_and_without_validation():
    assert columns(TERMS, validation=False) == [
        "epoch", "train/box_loss", "train/objectness_loss", "train/class_loss", "train/loss",
        "lr", "seconds"]
    with_val = columns(TERMS, validation=True)
    assert with_val[5:9] == ["val/box_loss", "val/objectness_loss", "val/class_loss",
                             "val/loss"]
    assert with_val[9:] == ["precision", "recall", "mAP50", "mAP50-95", "lr", "seconds",
                            "eval_seconds"]


def test_rows_come_from_kerass_logs_epoch_from_one():
    names = columns(TERMS, validation=True)
    logs = {"loss": 1.5, "box_loss": 0.5, "val_loss": 2.0, "val_class_loss": 0.25,
            "val_map50": 0.75, "val_map50_95": 0.5, "learning_rate": 1e-3,
            "epoch_seconds": 12.0}
    row = row_of(logs, 0, names)
    assert row["epoch"] == 1 and row["train/loss"] == 1.5 and row["train/box_loss"] == 0.5
    assert row["val/loss"] == 2.0 and row["val/class_loss"] == 0.25
    assert (row["mAP50"], row["mAP50-95"], row["lr"], row["seconds"]) == (0.75, 0.5, 1e-3, 12)
    assert row["precision"] is None and row["train/class_loss"] is None  # not measured


def test_the_log_appends_and_a_resumed_run_follows_on(tmp_path):
    names = columns(TERMS, validation=True)
    path = tmp_path / "results.csv"
    log = ResultsLog(path, names)
    for epoch in range(3):
        log.on_epoch_end(epoch, {"loss": 3.0 - epoch, "learning_rate": 0.1,
                                 **({"val_map50": 0.2 * epoch} if epoch != 1 else {})})
    with open(path) as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert [r["mAP50"] for r in rows] == ["0", "", "0.4"]  # blank: no mAP pass that epoch
    assert best_fitness(path) == pytest.approx(0.04)  # no mAP50-95 logged: counted 0
    # two epochs saved; the third's row was written but not its resume state
    resumed = ResultsLog(path, names, epochs_done=2)
    assert [r["epoch"] for r in read_results(path)] == [1, 2]
    assert best_fitness(path) == 0.0
    resumed.on_epoch_end(2, {"loss": 0.5})
    assert [r["train/loss"] for r in read_results(path)] == [3.0, 2.0, 0.5]
    ResultsLog(path, names)  # a new run starts a new table
    assert read_results(path) == [] and best_fitness(path) == -1.0


def test_damaged_rows_are_left_out(tmp_path):
    path = tmp_path / "results.csv"
    path.write_text("epoch,train/loss\n1,0.5\njunk,row\n2,\n")
    assert read_results(path) == [{"epoch": 1, "train/loss": 0.5},
                                  {"epoch": 2, "train/loss": None}]
    assert read_results(tmp_path / "none.csv") == []


def test_results_png_has_a_panel_per_curve(tmp_path):
    from PIL import Image

    names = columns(TERMS, validation=True)
    path = tmp_path / "results.csv"
    log = ResultsLog(path, names)
    for epoch in range(4):
        log.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1), "box_loss": 0.4, "val_loss": 1.2,
                                 "val_map50": 0.1 * epoch, "learning_rate": 1e-3})
    plot_results(read_results(path), tmp_path / "results.png")
    with Image.open(tmp_path / "results.png") as image:
        width, height = image.size
    assert width > 2 * height  # two rows of five panels
    plot_results(read_results(tmp_path / "none.csv"), tmp_path / "none.png")
    assert not (tmp_path / "none.png").exists()


def test_epochs_rank_mostly_by_map50_95(tmp_path):
    """Of two epochs, the one with tighter boxes (mAP50-95) ranks higher even when it finds
    a little less at IoU 0.5; a resumed run reads the best so far from results.csv."""
    assert fitness(1.0, 0.0) == pytest.approx(0.1) and fitness(0.0, 1.0) == pytest.approx(0.9)
    assert fitness(0.95, 0.50) > fitness(0.97, 0.45)
    names = columns(TERMS, validation=True)
    path = tmp_path / "results.csv"
    log = ResultsLog(path, names)
    for epoch, (map50, map50_95) in enumerate([(0.97, 0.45), (0.95, 0.50), (0.2, 0.1)]):
        log.on_epoch_end(epoch, {"loss": 1.0, "val_map50": map50, "val_map50_95": map50_95})
    assert best_fitness(path) == pytest.approx(fitness(0.95, 0.50))
