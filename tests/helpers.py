"""Shared test helpers: random Darknet weights in the official layout, paths to the repo."""

from __future__ import annotations

import math
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


def user_env() -> dict[str, str]:
    """The environment a user's shell gives a script (the tests quieten TensorFlow for
    themselves; a user's run must be quiet on its own)."""
    return {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}


def run_script(*args: str, cwd: Path = REPO, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run a repo script as a user would: ``python <script> args...``."""
    script, *rest = args
    return subprocess.run([sys.executable, str(REPO / script), *rest], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, env=user_env())


def converted_model(cfg_path: Path, weights_path: Path):
    """(config, Keras model) of a cfg with a .weights file's values, as convert.py builds it."""
    from yolo3.darknet import load_cfg, match_weights, read_weights
    from yolo3.model.build import build_model, set_darknet_weights

    config = load_cfg(cfg_path)
    model = build_model(config)
    set_darknet_weights(model, config, match_weights(config, read_weights(weights_path)[1]).convs)
    return config, model


def opencv_outputs(cfg_path: Path, weights_path: Path, images: np.ndarray,
                   layer_names: list[str]) -> list[np.ndarray]:
    """Raw outputs of OpenCV's own Darknet importer, NHWC, for images (1, h, w, 3) in [0, 1]."""
    import cv2

    net = cv2.dnn.readNetFromDarknet(str(cfg_path), str(weights_path))
    net.setInput(np.ascontiguousarray(np.transpose(images, (0, 3, 1, 2)), dtype=np.float32))
    return [np.transpose(out, (0, 2, 3, 1)) for out in net.forward(layer_names)]


def opencv_head_names(config: DarknetConfig) -> list[str]:
    """The OpenCV layers whose outputs are our model's outputs: each head convolution, or
    the logistic OpenCV numbers one past it (new_coords heads); a backbone's last layer."""
    if not config.heads:
        return [f"{config.layers[-1].kind}_{len(config.layers) - 1}"]
    return [f"logistic_{h.conv_index + 1}" if h.new_coords else f"conv_{h.conv_index}"
            for h in config.heads]


def relative_error(actual, expected) -> float:
    """‖a − b‖ / ‖b‖."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    return float(np.linalg.norm(actual - expected) / np.linalg.norm(expected))


SAMPLE = REPO / "model_data" / "sample.jpg"
# the sample's person, cup and cat as a training-list line (COCO class ids)
SAMPLE_GT_LINE = f"{SAMPLE} 30,30,298,390,0 530,88,706,268,41 30,513,331,745,15\n"


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def reference_detections(raw_heads: list[np.ndarray], masks, anchors: np.ndarray,
                         num_classes: int, input_hw, image_hw, score=0.3, iou=0.45,
                         max_per_class=20) -> list[tuple[int, float, np.ndarray]]:
    """keras-yolo3's yolo_eval written out in NumPy, independently of yolo3.inference.postprocess.

    raw_heads: NHWC raw outputs, batch 1. Returns (class, score, [x0, y0, x1, y1]) in
    original-image pixels, using keras-yolo3's letterbox correction (rounded new shape).
    """
    all_boxes, all_scores = [], []
    for raw, mask in zip(raw_heads, masks):
        gh, gw = raw.shape[1:3]
        feats = raw[0].reshape(gh, gw, len(mask), num_classes + 5).astype(np.float64)
        col, row = np.meshgrid(np.arange(gw), np.arange(gh))
        xy = (sigmoid(feats[..., :2]) + np.stack([col, row], -1)[:, :, None]) / [gw, gh]
        wh = np.exp(feats[..., 2:4]) * anchors[list(mask)] / [input_hw[1], input_hw[0]]
        # keras-yolo3 yolo_correct_boxes, in (y, x) order
        new_shape = np.round(np.array(image_hw) * min(np.array(input_hw) / np.array(image_hw)))
        offset = (np.array(input_hw) - new_shape) / 2.0 / np.array(input_hw)
        scale = np.array(input_hw) / new_shape
        yx = (xy[..., ::-1] - offset) * scale
        hw = wh[..., ::-1] * scale
        mins, maxes = yx - hw / 2, yx + hw / 2
        boxes = np.concatenate([mins, maxes], -1) * np.tile(image_hw, 2)
        all_boxes.append(boxes.reshape(-1, 4)[:, [1, 0, 3, 2]])  # → x0, y0, x1, y1
        all_scores.append((sigmoid(feats[..., 4:5]) * sigmoid(feats[..., 5:])).reshape(
            -1, num_classes))
    boxes, scores = np.concatenate(all_boxes), np.concatenate(all_scores)
    results = []
    for c in range(num_classes):
        keep = np.where(scores[:, c] >= score)[0]
        order = keep[np.argsort(-scores[keep, c], kind="stable")]
        chosen = []
        for i in order:
            if len(chosen) == max_per_class:
                break
            if all(box_iou(boxes[i], boxes[j]) <= iou for j in chosen):
                chosen.append(i)
        results += [(c, float(scores[i, c]), boxes[i]) for i in chosen]
    return results


def darknet_candidates(raw_heads: list[np.ndarray], config: DarknetConfig, input_hw,
                       image_hw) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (box, class) pair before NMS, decoded in NumPy the way Darknet's [yolo] layer
    does for this cfg (scale_x_y; new_coords: logistic outputs, squared sizes), and mapped
    back to the image as the cfg's letter_box says (letterboxed or stretched). Independent
    of yolo3.decode. raw_heads: NHWC outputs, batch 1, as OpenCV gives them (after the
    head's logistic for new_coords). Returns boxes (N, 4) x0, y0, x1, y1 in image pixels,
    scores (N,), classes (N,), best first."""
    in_h, in_w = input_hw
    im_h, im_w = image_hw
    if config.letter_box:
        scale = min(in_w / im_w, in_h / im_h)
        new_w, new_h = int(im_w * scale), int(im_h * scale)
        offset = np.array([(in_w - new_w) // 2, (in_h - new_h) // 2], np.float64)
    else:
        new_w, new_h, offset = in_w, in_h, np.zeros(2)
    per_pixel = np.array([new_w / im_w, new_h / im_h])
    all_boxes, all_scores = [], []
    for raw, head in zip(raw_heads, config.heads):
        gh, gw = raw.shape[1:3]
        feats = raw[0].reshape(gh, gw, len(head.mask), -1).astype(np.float64)
        cells = np.stack(np.meshgrid(np.arange(gw), np.arange(gh)), -1)[:, :, None]
        s = head.scale_x_y
        if head.new_coords:
            xy_part, wh = feats[..., :2], np.square(2 * feats[..., 2:4])
            objectness, classes = feats[..., 4:5], feats[..., 5:]
        else:
            xy_part, wh = sigmoid(feats[..., :2]), np.exp(feats[..., 2:4])
            objectness, classes = sigmoid(feats[..., 4:5]), sigmoid(feats[..., 5:])
        centre = (xy_part * s - (s - 1) / 2 + cells) / [gw, gh] * [in_w, in_h]
        size = wh * config.anchors[list(head.mask)]
        boxes = np.concatenate([centre - size / 2, centre + size / 2], -1)
        boxes = (boxes - np.tile(offset, 2)) / np.tile(per_pixel, 2)
        all_boxes.append(boxes.reshape(-1, 4))
        all_scores.append((objectness * classes).reshape(len(all_boxes[-1]), -1))
    boxes, scores = np.concatenate(all_boxes), np.concatenate(all_scores)
    rows, classes = np.unravel_index(np.argsort(-scores, axis=None, kind="stable"),
                                     scores.shape)
    return boxes[rows], scores[rows, classes], classes


def box_iou(a, b) -> float:
    """IoU of two [x0, y0, x1, y1] boxes."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def assert_one_line_error(result: subprocess.CompletedProcess, *phrases: str,
                          code: int | None = None) -> str:
    """A refused run as a user sees it: non-zero exit (``code`` when given), no traceback,
    exactly one line on stderr, naming the problem (each of ``phrases``). Returns it."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0, result.stdout
    if code is not None:
        assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    for phrase in phrases:
        assert phrase in lines[0], lines[0]
    return lines[0]


def interruptible() -> None:
    """Popen's preexec_fn for a child the test will Ctrl-C: SIGINT handled as in a user's
    terminal, even where this run was started in the background by a shell without job
    control, which sets SIGINT to ignored for everything it starts (inherited over exec)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def tree_bytes(*roots: Path) -> dict[str, bytes]:
    """Every file under ``roots`` (or the files themselves) with its bytes: compare before
    and after a run to prove nothing was changed, added or left behind."""
    files = {}
    for root in roots:
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        files.update({str(p): p.read_bytes() for p in paths})
    return files


def partial_files(root: Path) -> list[Path]:
    """Temporary files of atomic writes left under ``root``."""
    return sorted(p for p in root.rglob("*") if p.name.startswith((".partial-", ".probe-")))


def numpy_iou(a, b, kind):
    """GIoU (Rezatofighi et al. 2019) and CIoU (Zheng et al. 2020), written from the papers
    for one pair of cxcywh boxes."""
    ax0, ay0, ax1, ay1 = a[0] - a[2] / 2, a[1] - a[3] / 2, a[0] + a[2] / 2, a[1] + a[3] / 2
    bx0, by0, bx1, by1 = b[0] - b[2] / 2, b[1] - b[3] / 2, b[0] + b[2] / 2, b[1] + b[3] / 2
    inter = max(0.0, min(ax1, bx1) - max(ax0, bx0)) * max(0.0, min(ay1, by1) - max(ay0, by0))
    union = a[2] * a[3] + b[2] * b[3] - inter
    iou = inter / union
    cw, ch = max(ax1, bx1) - min(ax0, bx0), max(ay1, by1) - min(ay0, by0)
    if kind == "iou":
        return iou
    if kind == "giou":
        return iou - (cw * ch - union) / (cw * ch)
    rho2 = (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2
    v = 4 / math.pi ** 2 * (math.atan(b[2] / b[3]) - math.atan(a[2] / a[3])) ** 2
    alpha = v / ((1 - iou) + v) if v else 0.0
    return iou - rho2 / (cw ** 2 + ch ** 2) - alpha * v


def assert_close_detections(quantized, reference, min_iou=0.85, score_tolerance=0.05):
    """A low-precision model's detections against its fp32 ones: same classes in the same
    order, boxes with IoU ≥ ``min_iou``, scores within ``score_tolerance``."""
    assert [d["class_id"] for d in quantized] == [d["class_id"] for d in reference]
    for a, b in zip(quantized, reference):
        assert box_iou(a["box"], b["box"]) >= min_iou
        assert abs(a["score"] - b["score"]) <= score_tolerance


def assert_same_detections(ours, theirs, score_tolerance=1e-3):
    """Same classes in the same order, boxes with IoU ≥ 0.99, scores within a tolerance."""
    assert [d["class_id"] for d in ours] == [d["class_id"] for d in theirs]
    for a, b in zip(ours, theirs):
        assert box_iou(a["box"], b["box"]) >= 0.99
        assert abs(a["score"] - b["score"]) <= score_tolerance


# NMS settings the exported graphs are checked at against the Keras detector
EXPORT_PARITY_NMS = [{}, {"score": 0.05, "iou": 0.3}, {"score": 0.01, "max_per_class": 1}]


def assert_export_matches_keras(open_exported, keras_model: Path, **nms) -> None:
    """``open_exported(nms=...)``'s detections on the sample equal the Keras detector's
    (at least 3 of them)."""
    from PIL import Image

    from yolo3.defaults import NmsSettings
    from yolo3.inference.detector import Detector, open_model

    settings = NmsSettings(**nms)
    image = Image.open(SAMPLE)
    keras = Detector(open_model(keras_model), (416, 416), settings).detect(image)
    assert len(keras) >= 3
    assert_same_detections(open_exported(nms=settings).detect(image), keras)


def detect_in_a_fresh_process(model_path: Path) -> tuple[str, str, str]:
    """YOLO(model_path) on the sample in a new interpreter: (the classes found and the
    input size, the TensorFlow/Keras modules it imported, its stderr)."""
    import textwrap

    script = textwrap.dedent(f"""
        import sys
        from PIL import Image
        from yolo import YOLO
        yolo = YOLO(model_path={str(model_path)!r})
        found = yolo.detect(Image.open({str(SAMPLE)!r}))
        print(sorted(d["class_name"] for d in found), yolo.model_image_size)
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras")))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=REPO, env=user_env(), timeout=120)
    assert result.returncode == 0, result.stderr
    detected, modules = result.stdout.strip().splitlines()
    return detected, modules, result.stderr
