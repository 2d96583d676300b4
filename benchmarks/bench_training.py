#!/usr/bin/env python
"""Training speed and quality on the synthetic shapes dataset (tests/synthetic.py).

1. Throughput: images per second training YOLOv3-tiny with the real tf.data pipeline
   (decode, augmentation, targets) vs on the same batches pre-built as tensors.
   Target: pipeline ≥ 90 % of pre-built.
2. With --map: train YOLOv3-tiny from scratch with project/train_azureml.py and report
   the validation mAP@0.5 and the wall time. Target: ≥ 0.8 within 10 minutes.
3. With --compare: the two recipes (--recipe modern, the default, and keras-yolo3) on the
   same synthetic set (375 images: about 300 train, 75 validation; 3 classes), YOLOv3-tiny
   at 256 px, batch 16: from scratch for 40 epochs, then fine-tuning the converted real
   yolov3-tiny COCO weights for 20 epochs. Prints validation mAP@0.5 every 5 epochs (the
   weights the run would save), seconds per epoch (the epochs' training time, validation
   loss included, mAP passes excluded, averaged over all epochs of both stages) and wall
   time per run (start-up, k-means, mAP passes and the final evaluation included).
   Targets: modern reaches mAP@0.5 ≥ 0.85 from scratch within 40 epochs, at ≤ 1.25× the
   keras-yolo3 recipe's time per epoch.
4. With --v4-tiny: YOLOv4-tiny and YOLOv3-tiny (--model_size v4-tiny / tiny, the modern
   recipe, k-means anchors) from scratch on the same set, as in 3. Prints both mAP@0.5
   curves, seconds per epoch and the ratio of the best mAPs. Target: v4-tiny ≥ v3-tiny.
5. With --report: the costs of the training report with default flags — the per-epoch
   validation pass (precision, recall, mAP) against the epoch's time, target ≤ 15 %; the
   resume state (checkpoints/last.weights.h5 + optimizer.npz) against the trained model
   file, target ≤ 4.5× — on the synthetic set and, when present, the raccoon photos'
   training split.

6. With --real: real photos — the raccoon set beside the checkout
   (../shared/datasets/raccoon; skipped, saying so, where it is absent): YOLOv3-tiny at
   320, batch 16, 30 epochs, the default recipe, trained on its training split (160
   photos: 128 trained on, 32 validated on) from scratch and fine-tuned from the
   converted COCO yolov3-tiny; prints each epoch's validation mAP50 and mAP50-95, then
   evaluate.py's test mAP50, mAP50-95 and AP75 on the 40 held-out test photos (never
   trained, validated or tuned on). Targets: scratch ≥ 0.62 test mAP50 (Ultralytics 8.4's
   yolov3-tinyu from scratch on the same split), fine-tuned ≥ 0.94 and ≥ 0.55 mAP50-95.
   --cases picks runs (scratch, fine-tuned), --epochs and --keep as above; anything after
   ``--`` goes to project/train_azureml.py (to try a setting).
   With --baseline REV (instead of the quality runs): seconds per epoch of the same
   from-scratch run at this checkout and at git revision REV (a temporary worktree), 6
   epochs each, alternating --rounds times, medians over epochs 2–6 (the first traces
   the step). Target: this checkout ≤ 1.15× REV's.

Run from the repository root:
    python benchmarks/bench_training.py [--map] [--compare] [--v4-tiny] [--report [--keep DIR]]
    python benchmarks/bench_training.py --real [--cases scratch fine-tuned] [--keep DIR]
    python benchmarks/bench_training.py --real --baseline REV [--rounds N]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import keras  # noqa: E402, I001
import tensorflow as tf  # noqa: E402
from synthetic import make_dataset as make_shapes  # noqa: E402

from yolo3.darknet import load_cfg, with_classes  # noqa: E402
from yolo3.data.pipeline import make_dataset  # noqa: E402
from yolo3.model.build import build_model  # noqa: E402
from yolo3.training import YoloTrainer  # noqa: E402
from yolo3.data.voc import convert_export  # noqa: E402


def throughput(annotations, config, input_hw, batch, steps, rounds) -> tuple[float, float]:
    pipeline = make_dataset(annotations, config, input_hw, batch, training=True, seed=1)
    cached = list(pipeline.take(steps))
    images = tf.concat([b[0] for b in cached], 0)
    targets = tuple(tf.concat([b[1][i] for b in cached], 0) for i in range(len(cached[0][1])))
    prebuilt = tf.data.Dataset.from_tensor_slices((images, targets)).batch(batch).repeat()
    trainer = YoloTrainer(build_model(config, input_hw), config, input_hw)
    trainer.compile(optimizer=keras.optimizers.Adam(1e-4))
    trainer.fit(prebuilt, steps_per_epoch=3, epochs=1, verbose=0, shuffle=False)  # trace
    rates = {"pipeline": [], "prebuilt": []}
    for _ in range(rounds):
        for name, data in (("pipeline", pipeline), ("prebuilt", prebuilt)):
            start = time.perf_counter()
            trainer.fit(data, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
            rates[name].append(steps * batch / (time.perf_counter() - start))
    return statistics.median(rates["pipeline"]), statistics.median(rates["prebuilt"])


RECIPES = ("keras-yolo3", "modern")


def train_run(data_root: Path, out: Path, recipe: str, epochs: int, weights: Path | None,
              model_size: str = "tiny") -> dict:
    """One training run: {epoch: mAP50}, mean seconds per epoch, wall seconds."""
    command = [sys.executable, str(REPO / "project/train_azureml.py"), "--data_path",
               str(data_root), "--num_clusters", "6", "--model_size", model_size,
               "--input_size", "256", "--batch_size", "16", "--epochs", str(epochs),
               "--map_every", "5", "--recipe", recipe, "--output_dir", str(out)]
    if weights:
        command += ["--weights", str(weights)]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=REPO)
    wall = time.perf_counter() - start
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    maps = {int(row["epoch"]): float(row["mAP50"]) for row in rows if row["mAP50"]}
    seconds = [float(row["seconds"]) for row in rows]
    assert len(seconds) == epochs, "results.csv must hold every epoch"
    return {"maps": maps, "epoch_seconds": statistics.mean(seconds), "wall": wall}


from bench_data import RACCOON, raccoon_split  # noqa: E402 -- the one reader of the split


def report_costs(root: Path, keep: Path | None, epochs: int = 6) -> bool:
    """The training report's costs with the default flags (a mAP pass every epoch): the
    validation pass's seconds against the epoch's (median over epochs after the first,
    which traces the graphs), and the resume state's size against the trained model's.
    On the synthetic set (300 train, 75 validation images, tiny at 256, batch 16) and,
    when ../shared is beside the checkout, the raccoon photos' training split (160: 128
    trained on, 32 validated on; its test images are never touched), tiny at 416."""
    make_shapes(root / "data", images=375, seed=2)
    sets = [("synthetic shapes, tiny-256", root, "data", 256)]
    if RACCOON.is_dir():
        sets.append(("raccoon train split, tiny-416", RACCOON.parent, RACCOON.name, 416))
    else:
        print(f"(raccoon photos not found at {RACCOON}: synthetic set only)")
    ok = True
    print(f"{'set':<34}{'s/epoch':>9}{'mAP s':>8}{'share':>8}{'target':>8}"
          f"{'state MB':>10}{'model MB':>10}{'ratio':>7}{'target':>8}")
    for name, data_path, data_dir, size in sets:
        out = (keep or root) / name.split(",")[0].replace(" ", "-")
        subprocess.run([sys.executable, str(REPO / "project/train_azureml.py"), "--data_path",
                        str(data_path), "--data_dir", data_dir, "--num_clusters", "6",
                        "--input_size", str(size), "--batch_size", "16", "--epochs",
                        str(epochs), "--output_dir", str(out), "--overwrite"], check=True,
                       stdout=subprocess.DEVNULL, cwd=REPO)
        with open(out / "results.csv", newline="") as f:
            rows = list(csv.DictReader(f))[1:]
        train_s = statistics.median(float(r["seconds"]) for r in rows)
        eval_s = statistics.median(float(r["eval_seconds"]) for r in rows)
        state = sum((out / "checkpoints" / n).stat().st_size
                    for n in ("last.weights.h5", "optimizer.npz"))
        model = (out / "trained_model.h5").stat().st_size
        share, ratio = eval_s / train_s, state / model
        ok &= share <= 0.15 and ratio <= 4.5
        print(f"{name:<34}{train_s:>9.2f}{eval_s:>8.2f}{share:>8.1%}{'≤15%':>8}"
              f"{state / 1e6:>10.1f}{model / 1e6:>10.1f}{ratio:>7.2f}{'≤4.5':>8}")
    return ok


REAL_SIZE, REAL_BATCH, REAL_EPOCHS = 320, 16, 30
REAL_TARGETS = {"scratch": {"test mAP50": 0.62},
                "fine-tuned": {"test mAP50": 0.94, "test mAP50-95": 0.55}}


def raccoon_lists(root: Path) -> tuple[Path, Path, Path]:
    """(training list of the training split, training list of the test split, classes)."""
    from yolo3.data.annotations import write_lines

    lists = [root / f"raccoon_{split}.txt" for split in ("train", "test")]
    for path, split in zip(lists, ("train", "test")):
        write_lines(path, raccoon_split(split))
    classes = root / "raccoon_classes.txt"
    classes.write_text("raccoon\n")
    return lists[0], lists[1], classes


def real_command(repo: Path, train_list: Path, classes: Path, epochs: int, out: Path
                 ) -> list[str]:
    """project/train_azureml.py of checkout ``repo`` on the raccoon training split."""
    return [sys.executable, str(repo / "project/train_azureml.py"), "--annotation_file",
            str(train_list), "--class_path", str(classes), "--num_clusters", "6",
            "--input_size", str(REAL_SIZE), "--batch_size", str(REAL_BATCH),
            "--epochs", str(epochs), "--output_dir", str(out), "--overwrite"]


EPOCH_TIME_EPOCHS, EPOCH_TIME_TARGET = 6, 1.15


def real_epoch_time(root: Path, baseline: str, rounds: int) -> bool:
    """Seconds per epoch here and at git revision ``baseline`` (see the module doc)."""
    if not RACCOON.is_dir():
        print(f"skipped: the raccoon photos are not at {RACCOON}")
        return True
    train_list, _, classes = raccoon_lists(root)
    worktree = root / "baseline"
    subprocess.run(["git", "worktree", "add", "--detach", str(worktree), baseline],
                   check=True, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = {"this checkout": [], baseline: []}
    try:
        for _ in range(rounds):
            for name, repo in ((baseline, worktree), ("this checkout", REPO)):
                out = root / "run"
                subprocess.run(real_command(repo, train_list, classes, EPOCH_TIME_EPOCHS, out)
                               + ["--map_every", "0", "--no_evaluation"], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=repo)
                with open(out / "results.csv", newline="") as f:
                    seconds[name] += [float(r["seconds"]) for r in csv.DictReader(f)][1:]
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=REPO,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    ratio = medians["this checkout"] / medians[baseline]
    print(f"raccoon, YOLOv3-tiny-{REAL_SIZE} from scratch, batch {REAL_BATCH}: seconds per "
          f"epoch (epochs 2–{EPOCH_TIME_EPOCHS}, {rounds} alternating rounds, median)")
    for name, value in medians.items():
        print(f"  {name:<16}{value:8.2f}  (min {min(seconds[name]):.2f}, max "
              f"{max(seconds[name]):.2f})")
    met = ratio <= EPOCH_TIME_TARGET
    print(f"  ratio {ratio:.3f}: target ≤ {EPOCH_TIME_TARGET} {'met' if met else 'NOT met'}")
    return met


def real_photos(root: Path, cases: list[str], epochs: int, keep: Path | None,
         extra: list[str]) -> bool:
    """Scratch and fine-tuned runs on the raccoon photos (see the module doc)."""
    from yolo3.download import fetch
    from yolo3.model.convert import darknet_to_keras

    if not RACCOON.is_dir():
        print(f"skipped: the raccoon photos are not at {RACCOON}")
        return True
    train_list, test_list, classes = raccoon_lists(root)
    weights = {"scratch": None, "fine-tuned": root / "yolov3-tiny.h5"}
    if "fine-tuned" in cases:
        darknet_to_keras(REPO / "cfg/yolov3-tiny.cfg", fetch("yolov3-tiny", progress=False),
                         weights["fine-tuned"], log=lambda *a: None)
    ok, finals = True, {}
    for case in cases:
        out = (keep or root) / f"raccoon-{case}"
        command = real_command(REPO, train_list, classes, epochs, out) + extra
        if weights[case]:
            command += ["--weights", str(weights[case])]
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=REPO)
        wall = time.perf_counter() - start
        with open(out / "results.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        subprocess.run([sys.executable, str(REPO / "evaluate.py"), "--model_path",
                        str(out / "trained_model.h5"), "--annot_file", str(test_list),
                        "--classes_path", str(classes), "--output_dir", str(out / "test"),
                        "--quiet"], check=True, stdout=subprocess.DEVNULL, cwd=REPO)
        test = json.loads((out / "test" / "metrics.json").read_text())
        finals[case] = {"test mAP50": test["voc_map50"], "test mAP50-95": test["coco_map"],
                        "test AP75": test["ap75"],
                        "s/epoch": statistics.mean(float(r["seconds"]) for r in rows),
                        "wall s": wall}
        print(f"\nraccoon, YOLOv3-tiny-{REAL_SIZE}, {case}, {epochs} epochs, batch "
              f"{REAL_BATCH}: validation (32 photos of the training split) per epoch")
        shown = ["train/loss", "val/loss", "val/objectness_loss", "mAP50", "mAP50-95"]
        print(f"{'epoch':<7}" + "".join(f"{name:>21}" for name in shown))
        for row in rows:
            print(f"{row['epoch']:<7}" + "".join(f"{float(row.get(name) or 'nan'):>21.4f}"
                                                 for name in shown))
    print(f"\nraccoon test split (40 photos, never trained on), YOLOv3-tiny-{REAL_SIZE}")
    names = ["test mAP50", "test mAP50-95", "test AP75", "s/epoch", "wall s"]
    print(f"{'run':<14}" + "".join(f"{n:>15}" for n in names))
    for case, values in finals.items():
        print(f"{case:<14}" + "".join(f"{values[n]:>15.3f}" for n in names))
        for name, target in REAL_TARGETS[case].items():
            met = values[name] >= target
            ok &= met
            print(f"  {name} {values[name]:.3f}: target ≥ {target} "
                  f"{'met' if met else 'NOT met'}")
    return ok


def compare(root: Path) -> bool:
    """Both recipes, from scratch and fine-tuned (see the module doc); True on target."""
    from yolo3.download import fetch
    from yolo3.model.convert import darknet_to_keras

    make_shapes(root / "data", images=375, seed=2)
    pretrained = root / "yolov3-tiny.h5"
    darknet_to_keras(REPO / "cfg/yolov3-tiny.cfg", fetch("yolov3-tiny", progress=False),
                     pretrained, log=lambda *a: None)
    ok = True
    for case, epochs, weights in (("from scratch", 40, None),
                                  ("fine-tuned from COCO yolov3-tiny", 20, pretrained)):
        runs = {r: train_run(root, root / f"{r}-{epochs}", r, epochs, weights)
                for r in RECIPES}
        print(f"\nYOLOv3-tiny-256, {case}, {epochs} epochs, batch 16: validation mAP@0.5")
        print(f"{'epoch':<8}" + "".join(f"{r:>14}" for r in RECIPES))
        for epoch in sorted(runs["modern"]["maps"]):
            print(f"{epoch:<8}" + "".join(f"{runs[r]['maps'].get(epoch, float('nan')):>14.3f}"
                                           for r in RECIPES))
        print(f"{'s/epoch':<8}" + "".join(f"{runs[r]['epoch_seconds']:>14.2f}"
                                          for r in RECIPES))
        print(f"{'wall s':<8}" + "".join(f"{runs[r]['wall']:>14.0f}" for r in RECIPES))
        ratio = runs["modern"]["epoch_seconds"] / runs["keras-yolo3"]["epoch_seconds"]
        best = max(runs["modern"]["maps"].values())
        print(f"modern / keras-yolo3 time per epoch: {ratio:.2f} (target ≤ 1.25)")
        if weights is None:
            ok &= best >= 0.85 and ratio <= 1.25
            print(f"modern best mAP@0.5: {best:.3f} (target ≥ 0.85)")
    return ok


def compare_v4_tiny(root: Path, epochs: int = 40) -> bool:
    """YOLOv4-tiny against YOLOv3-tiny from scratch, same data and recipe; True on target."""
    make_shapes(root / "data", images=375, seed=2)
    sizes = ("tiny", "v4-tiny")
    runs = {size: train_run(root, root / f"{size}-{epochs}", "modern", epochs, None, size)
            for size in sizes}
    print(f"\nFrom scratch at 256, {epochs} epochs, batch 16, modern recipe: "
          "validation mAP@0.5")
    print(f"{'epoch':<8}" + "".join(f"{s:>14}" for s in sizes))
    for epoch in sorted(runs["tiny"]["maps"]):
        print(f"{epoch:<8}" + "".join(f"{runs[s]['maps'].get(epoch, float('nan')):>14.3f}"
                                       for s in sizes))
    print(f"{'s/epoch':<8}" + "".join(f"{runs[s]['epoch_seconds']:>14.2f}" for s in sizes))
    print(f"{'wall s':<8}" + "".join(f"{runs[s]['wall']:>14.0f}" for s in sizes))
    best = {s: max(runs[s]["maps"].values()) for s in sizes}
    final = {s: runs[s]["maps"][max(runs[s]["maps"])] for s in sizes}
    print(f"best mAP@0.5 v4-tiny / v3-tiny: {best['v4-tiny']:.3f} / {best['tiny']:.3f} = "
          f"{best['v4-tiny'] / best['tiny']:.2f} (target ≥ 1.00); final epoch "
          f"{final['v4-tiny']:.3f} / {final['tiny']:.3f}")
    return best["v4-tiny"] >= best["tiny"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--map", action="store_true", help="also run the 10-minute mAP test")
    parser.add_argument("--compare", action="store_true",
                        help="only compare the two recipes (about 25 minutes on 2 cores)")
    parser.add_argument("--v4-tiny", action="store_true", dest="v4_tiny",
                        help="only compare YOLOv4-tiny with YOLOv3-tiny from scratch (about "
                             "15 minutes on 2 cores)")
    parser.add_argument("--report", action="store_true",
                        help="only measure the training report's costs: the per-epoch "
                             "validation pass and the resume state's size (a few minutes)")
    parser.add_argument("--keep", type=Path,
                        help="with --report or --real: keep the runs' outputs here")
    parser.add_argument("--real", action="store_true",
                        help="only train on the raccoon photos and score the test split "
                             "(about 20 minutes on 2 cores)")
    parser.add_argument("--cases", nargs="+", choices=tuple(REAL_TARGETS),
                        default=list(REAL_TARGETS), help="with --real: which runs")
    parser.add_argument("--epochs", type=int, default=REAL_EPOCHS,
                        help=f"with --real: epochs per run (default {REAL_EPOCHS})")
    parser.add_argument("--baseline", metavar="REV",
                        help="with --real: only time an epoch here against git revision REV")
    parser.add_argument("--input_size", type=int, default=416)
    parser.add_argument("--rounds", type=int, default=3)
    args, extra = parser.parse_known_args()
    if extra and (not args.real or extra[0] != "--"):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.baseline is not None:
        known = subprocess.run(["git", "rev-parse", "--verify", "--quiet",
                                f"{args.baseline}^{{commit}}"], cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not args.real or known.returncode:
            parser.error(f"--baseline {args.baseline}: needs --real and a git revision of "
                         "this checkout")
    ok = True
    if args.real and args.baseline:
        with tempfile.TemporaryDirectory() as tmp:
            return 0 if real_epoch_time(Path(tmp), args.baseline, args.rounds) else 1
    if args.real:
        with tempfile.TemporaryDirectory() as tmp:
            return 0 if real_photos(Path(tmp), args.cases, args.epochs, args.keep, extra[1:]) else 1
    if args.report:
        with tempfile.TemporaryDirectory() as tmp:
            return 0 if report_costs(Path(tmp), args.keep) else 1
    if args.compare:
        with tempfile.TemporaryDirectory() as tmp:
            return 0 if compare(Path(tmp)) else 1
    if args.v4_tiny:
        with tempfile.TemporaryDirectory() as tmp:
            return 0 if compare_v4_tiny(Path(tmp)) else 1
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_shapes(root / "data", images=1000 if args.map else 300, seed=2)
        per_set, classes, _ = convert_export(root / "data", ["train"], None, progress=False)
        config = with_classes(load_cfg(REPO / "cfg/yolov3-tiny.cfg"), len(classes))
        hw = (args.input_size, args.input_size)
        real, prebuilt = throughput(per_set["train"], config, hw, 8, 20, args.rounds)
        ratio = real / prebuilt
        ok &= ratio >= 0.9
        print(f"{'measure':<52}{'value':>10}{'target':>10}")
        print(f"{f'tiny-{args.input_size} train img/s, real pipeline':<52}{real:>10.1f}")
        print(f"{f'tiny-{args.input_size} train img/s, pre-built tensors':<52}{prebuilt:>10.1f}")
        print(f"{'pipeline / pre-built':<52}{ratio:>10.2f}{'≥0.90':>10}")
        if args.map:
            start = time.perf_counter()
            subprocess.run([sys.executable, str(REPO / "project/train_azureml.py"),
                            "--data_path", str(root), "--num_clusters", "6",
                            "--input_size", "128", "--epochs", "45", "--output_dir",
                            str(root / "out")], check=True, stdout=subprocess.DEVNULL)
            minutes = (time.perf_counter() - start) / 60
            metrics = json.loads((root / "out" / "metrics.json").read_text())
            ok &= metrics["voc_map50"] >= 0.8 and minutes <= 10
            print(f"{'from-scratch tiny-128, 1000 images, 45 epochs: mAP50':<52}"
                  f"{metrics['voc_map50']:>10.3f}{'≥0.80':>10}")
            print(f"{'  wall time, minutes':<52}{minutes:>10.1f}{'≤10':>10}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
