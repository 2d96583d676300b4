"""yolo3.training.progress: the epoch line and the bar."""

from __future__ import annotations

import io
import sys

from yolo3.training.progress import Progress, epoch_line
from yolo3.training.results import columns

TERMS = ("box", "objectness", "class")


def test_the_epoch_line_says_everything_measured_in_order():
    row = {"epoch": 3, "train/loss": 1.25, "train/box_loss": 0.5, "train/objectness_loss": 0.5,
           "train/class_loss": 0.25, "val/loss": 1.5, "precision": 0.8125, "recall": 0.75,
           "mAP50": 0.8, "mAP50-95": 0.5, "lr": 0.00095, "seconds": 12.34, "eval_seconds": 1.05}
    assert epoch_line(row, TERMS, 30) == (
        "Epoch 3/30: loss 1.25 (box 0.5, objectness 0.5, class 0.25); val 1.5; "
        "P 0.812 R 0.750 mAP50 0.800 mAP50-95 0.500; lr 0.00095; 12.3 s + 1.1 s mAP")
    assert epoch_line({"epoch": 1, "train/loss": 2.0, "lr": 0.1}, TERMS, 2) == \
        "Epoch 1/2: loss 2; lr 0.1"


def test_a_bar_on_a_terminal_and_only_lines_elsewhere(monkeypatch):
    names = columns(TERMS, validation=False)
    for bar in (True, False):
        err = io.StringIO()
        monkeypatch.setattr(sys, "stderr", err)
        lines = []
        progress = Progress(names, TERMS, lines.append, bar=bar)
        progress.params = {"epochs": 2, "steps": 4}
        progress.on_epoch_begin(0)
        for step in range(4):
            progress.on_train_batch_end(step, {"loss": 1.0})
        progress.on_epoch_end(0, {"loss": 1.0, "learning_rate": 0.01, "epoch_seconds": 2.0})
        assert lines == ["Epoch 1/2: loss 1; lr 0.01; 2.0 s"]
        assert ("Epoch 1/2:" in err.getvalue() and "/4 [" in err.getvalue()) == bar
