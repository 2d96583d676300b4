"""yolo3.evaluation.plots: each picture is a real PNG of sensible size, drawn from the
numbers it is given (and nothing is written when there is nothing to draw)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from helpers import SAMPLE
from yolo3.data.annotations import Annotation
from yolo3.evaluation.metrics import ImageResult, confusion_matrix, voc_metrics
from yolo3.evaluation.plots import (
    curve_corners,
    envelope_at,
    plot_confidence_curves,
    plot_confusion_matrix,
    plot_labels,
    plot_pr_curves,
    plot_prediction_sample,
    plot_predictions,
)

NAMES = ["cat", "dog", "a class with a long name"]


def results():
    return [ImageResult.from_lists([[0, 0, 10, 10], [20, 20, 40, 40]], [0, 1],
                                   [[0, 0, 10, 10], [21, 21, 40, 40], [50, 50, 60, 60]],
                                   [0.9, 0.6, 0.4], [0, 2, 1])]


def png_size(path):
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


def test_curves_and_confusion_matrix(tmp_path):
    voc = voc_metrics(results(), 3)
    plot_pr_curves(voc, NAMES, tmp_path / "pr.png")
    assert min(png_size(tmp_path / "pr.png")) > 200
    plot_confidence_curves(voc, NAMES, tmp_path / "confidence.png")
    width, height = png_size(tmp_path / "confidence.png")
    assert width > 2 * height  # three panels side by side
    matrix = confusion_matrix(results(), 3, 0.3)
    assert matrix[2, 1] == 1 and matrix[1, 3] == 1  # dog taken for the long name; a false alarm
    plot_confusion_matrix(matrix, NAMES, tmp_path / "confusion.png", 0.3)
    assert min(png_size(tmp_path / "confusion.png")) > 200


def test_predictions_beside_labels_and_none_when_nothing_reads(tmp_path):
    image = np.asarray(Image.open(SAMPLE).convert("RGB"))
    truth = np.array([[30, 30, 298, 390, 0]])
    found = [{"box": [32, 28, 300, 380], "score": 0.8, "class_id": 0},
             {"box": [1, 1, 5, 5], "score": 0.1, "class_id": 1}]
    plot_predictions([(image, truth, found)] * 3, NAMES, tmp_path / "grid.png", 0.3)
    width, height = png_size(tmp_path / "grid.png")
    assert width > height  # two columns of label | prediction pairs, two rows
    listed = [Annotation(str(tmp_path / "missing.jpg"), truth), Annotation(str(SAMPLE), truth)]
    assert plot_prediction_sample(listed, {str(SAMPLE): found}, NAMES, tmp_path / "s.png",
                                  0.3) == 1
    assert plot_prediction_sample(listed[:1], {}, NAMES, tmp_path / "none.png", 0.3) == 0
    assert not (tmp_path / "none.png").exists()


def test_label_statistics(tmp_path):
    boxes = [np.array([[0, 0, 50, 100, 0], [10, 10, 20, 20, 2]]), np.zeros((0, 5)),
             np.array([[100, 100, 200, 150, 0]])]
    plot_labels(boxes, [(200, 200), (50, 50), (400, 300)], NAMES, tmp_path / "labels.png")
    assert png_size(tmp_path / "labels.png")[0] > 600


def test_confusion_matrix_draws_the_classes_that_occur(tmp_path, monkeypatch):
    """An 80-class model scored on a one-class set: the picture shows the classes that
    occur and background, labelled, not an unlabelled 81² grid."""
    from yolo3.evaluation import plots

    drawn = {}

    def keep(figure, path):
        axes = figure.axes[0]
        drawn["x"] = [t.get_text() for t in axes.get_xticklabels()]
        drawn["title"] = axes.get_title()
        plots.pyplot().close(figure)

    monkeypatch.setattr(plots, "save_figure", keep)
    names = [f"class{i}" for i in range(80)]
    matrix = np.zeros((81, 81), np.int64)
    matrix[16, 16], matrix[17, 16], matrix[80, 16], matrix[3, 80] = 30, 5, 8, 2
    plot_confusion_matrix(matrix, names, tmp_path / "c.png", 0.3)
    assert drawn["x"] == ["class3", "class16", "class17", "background"]
    assert "3 of 80 classes occur" in drawn["title"]


def test_curve_corners_draw_the_same_line():
    """Every point left out lies on the segment between the kept points around it (a
    vertical run: recall standing still between two true positives)."""
    rng = np.random.default_rng(0)
    hits = np.cumsum(rng.random(500) < 0.2)
    recall, precision = hits / 120, hits / np.arange(1, 501)
    kept_r, kept_p = curve_corners(recall, precision)
    assert len(kept_r) < len(recall) / 2 and kept_r[0] == recall[0] and kept_r[-1] == recall[-1]
    for r, p in zip(recall, precision):
        same = kept_p[kept_r == r]
        assert same.min() <= p <= same.max()


def test_envelope_at_is_the_best_precision_at_or_beyond_each_recall():
    recall = np.array([0.1, 0.1, 0.2, 0.3, 0.3])
    precision = np.array([1.0, 0.5, 0.67, 0.75, 0.6])
    points = np.array([0.0, 0.1, 0.15, 0.3, 0.31, 1.0])
    expected = [max(precision[recall >= p], default=0.0) for p in points]
    np.testing.assert_allclose(envelope_at(recall, precision, points), expected)
    assert envelope_at(np.zeros(0), np.zeros(0), points).tolist() == [0.0] * 6
