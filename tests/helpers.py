"""Shared test helpers: random Darknet weights in the official layout, paths to the repo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from yolo3.darknet import ConvWeights, DarknetConfig, DarknetHeader, join_weights, weights_bytes

REPO = Path(__file__).resolve().parent.parent
CFG = REPO / "cfg"


def random_conv_weights(config: DarknetConfig, seed: int = 0, gain: float = 0.6,
                        classes: int | None = None) -> dict[int, ConvWeights]:
    """He-scaled random values for every conv; ``gain`` < 1 keeps deep nets finite.

    ``classes`` sizes the head convs for another class count (a file trained elsewhere).
    """
    rng = np.random.default_rng(seed)
    anchors = {head.conv_index: len(head.mask) for head in config.heads}
    convs = {}
    for conv in config.convs:
        f = conv.filters
        if conv.is_head and classes is not None:
            f = anchors[conv.index] * (classes + 5)
        fan_in = conv.in_channels * conv.size * conv.size
        kernel = rng.normal(0, gain * np.sqrt(2.0 / fan_in),
                            (f, conv.in_channels, conv.size, conv.size)).astype(np.float32)
        biases = rng.normal(0, 0.1, f).astype(np.float32)
        if conv.batch_normalize:
            convs[conv.index] = ConvWeights(
                biases, kernel, scales=rng.uniform(0.5, 1.5, f).astype(np.float32),
                mean=rng.normal(0, 0.1, f).astype(np.float32),
                variance=rng.uniform(0.5, 1.5, f).astype(np.float32))
        else:
            convs[conv.index] = ConvWeights(biases, kernel)
    return convs


def write_random_weights(path: Path, config: DarknetConfig, seed: int = 0,
                         classes: int | None = None,
                         header: DarknetHeader | None = None) -> Path:
    header = header or DarknetHeader(0, 2, 0, 32013312)
    convs = random_conv_weights(config, seed, classes=classes)
    # join_weights takes sizes from the arrays themselves, so other head sizes work too
    path.write_bytes(weights_bytes(header, join_weights(config, convs)))
    return path


def run_script(*args: str, cwd: Path = REPO, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run a repo script as a user would: ``python <script> args...``."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)


def opencv_outputs(cfg_path: Path, weights_path: Path, images: np.ndarray,
                   layer_names: list[str]) -> list[np.ndarray]:
    """Raw outputs of OpenCV's own Darknet importer, NHWC, for images (1, h, w, 3) in [0, 1]."""
    import cv2

    net = cv2.dnn.readNetFromDarknet(str(cfg_path), str(weights_path))
    net.setInput(np.ascontiguousarray(np.transpose(images, (0, 3, 1, 2)), dtype=np.float32))
    return [np.transpose(out, (0, 2, 3, 1)) for out in net.forward(layer_names)]


def relative_error(actual, expected) -> float:
    """‖a − b‖ / ‖b‖."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    return float(np.linalg.norm(actual - expected) / np.linalg.norm(expected))
