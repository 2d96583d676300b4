"""Matplotlib figures written as PNG files: the headless backend chosen once, each file
written whole or not at all (yolo3.files.atomic_output). Used by kmeans.py's anchor plot,
evaluation's and training's pictures."""

from __future__ import annotations

from pathlib import Path


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed: servers, Azure ML)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, path: str | Path, dpi: int = 100) -> None:
    """Write ``figure`` as a PNG at ``path`` (never half-written) and free it."""
    from yolo3.files import atomic_output

    with atomic_output(path) as tmp:
        figure.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
    pyplot().close(figure)
