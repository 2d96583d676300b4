"""yolo3.figures: headless figures written whole, and freed."""

from __future__ import annotations

import pytest

from yolo3.figures import pyplot, save_figure


def test_a_figure_is_written_as_png_and_closed(tmp_path):
    plt = pyplot()
    figure, axes = plt.subplots()
    axes.plot([0, 1], [1, 0])
    save_figure(figure, tmp_path / "f.png", dpi=50)
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
    assert figure.number not in plt.get_fignums()
    assert [p.name for p in tmp_path.iterdir()] == ["f.png"]  # no temporary left


def test_an_unwritable_place_leaves_nothing(tmp_path):
    plt = pyplot()
    figure, _ = plt.subplots()
    (tmp_path / "taken").write_text("a file, not a folder")
    with pytest.raises(Exception):  # noqa: B017 (the OS error or the project's one-line error)
        save_figure(figure, tmp_path / "taken" / "f.png")
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]
