"""Every training setting, declared once: name, default, help, how the command line parses
it and whether an Azure ML job forwards it.

project/train_azureml.py builds its argparse from :data:`TRAIN_SETTINGS`; the Azure job
forwards the ones marked ``forward`` (yolo3.azure.job) and azureml_driver.py offers them
as SETTINGS entries and flags. A new setting is one entry here.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from yolo3.cli import positive_float, positive_int
from yolo3.darknet.cfg import STANDARD_CFGS
from yolo3.defaults import (
    CACHE_BUDGET_BYTES,
    CACHE_CHOICES,
    DEFAULT_INPUT_SIZE,
    MAX_DATA_WORKERS,
    MAX_INPUT_SIZE,
    input_size_problem,
)
from yolo3.training.recipes import MODERN
from yolo3.training.recipes import NAMES as RECIPE_NAMES

ALWAYS = "always"  # forwarded to the Azure job with every run
WHEN_SET = "when set"  # forwarded when it differs from its default


def setting(default: Any, help: str, *, parse=None, choices=None, forward: str | None = None,
            driver_flag: str | None = None, cli: str | None = None,
            aliases: tuple[str, ...] = ()):
    """A dataclass field carrying its command-line and Azure facts.

    ``parse``: the argparse type; ``cli``: the flag when it is not ``--<name>`` (or
    ``"store_true"`` / ``"store_false:--flag"`` for switches); ``driver_flag``: the
    upstream spelling azureml_driver.py also accepts (``--bs``, ``--lr``, ...);
    ``aliases``: other names the training script accepts (the other scripts' spelling).
    """
    return field(default=default, metadata={
        "help": help, "parse": parse, "choices": choices, "forward": forward,
        "driver_flag": driver_flag, "cli": cli, "aliases": aliases})


@dataclass
class TrainSettings:
    """Every choice a training run makes; the defaults are the command line's."""

    output_dir: Path = setting(Path("outputs"), "what Azure ML keeps (default: outputs)",
                               parse=Path)
    annotation_file: Path | None = setting(None, "a training list instead of a VOC export",
                                           parse=Path)
    val_list: Path | None = setting(None, "the validation images, as a training list: with "
                                    "--annotation_file, its images are validated on and "
                                    "never trained on (default: --val_split of the list)",
                                    parse=Path)
    data_path: Path = setting(Path("."), "where the data is mounted (default: current "
                              "folder)", parse=Path)
    data_dir: str = setting("data", "the export folder inside --data_path",
                            forward=ALWAYS, driver_flag="--data-dir")
    class_path: Path | None = setting(None, "class names (default: discovered from the "
                                      "export)", parse=Path, forward=WHEN_SET,
                                      driver_flag="--class-path",
                                      aliases=("--classes_path",))
    anchors_path: Path | None = setting(None, "anchors to use instead of k-means", parse=Path,
                                        forward=WHEN_SET)
    num_clusters: int = setting(9, "anchors: 9 YOLOv3, 6 tiny (default 9)", parse=int,
                                choices=(6, 9), forward=ALWAYS, driver_flag="--num-clusters")
    model_size: str | None = setting(None, "full, tiny (YOLOv3), v4 or v4-tiny (YOLOv4); "
                                     "default: from --num_clusters", choices=tuple(STANDARD_CFGS),
                                     forward=WHEN_SET)
    weights: Path | None = setting(None, "pretrained Keras model (convert.py output); none: "
                                   "train from scratch", parse=Path, forward=WHEN_SET,
                                   driver_flag="--weights")
    input_size: int = setting(DEFAULT_INPUT_SIZE, f"network input (default "
                              f"{DEFAULT_INPUT_SIZE})", parse=positive_int, forward=ALWAYS,
                              driver_flag="--input-size")
    recipe: str = setting(MODERN, "how to train: modern (default: multi-anchor targets, "
                          "CIoU, mosaic, AdamW with warm-up, cosine decay and averaged "
                          "weights) or keras-yolo3 (upstream's)",
                          choices=RECIPE_NAMES, forward=WHEN_SET)
    batch_size: int = setting(8, "images per step (default 8)", parse=positive_int,
                              forward=ALWAYS, driver_flag="--bs")
    learning_rate: float = setting(1e-3, "learning rate: the peak after warm-up (modern), "
                                   "stage 1's (keras-yolo3); default 1e-3", parse=positive_float,
                                   forward=ALWAYS, driver_flag="--lr")
    epochs: int = setting(60, "epochs in all (default 60)", parse=positive_int, forward=ALWAYS,
                          driver_flag="--epochs")
    frozen_epochs: int | None = setting(None, "how many of them train with --freeze_body "
                                        "frozen (default: 3 with the modern recipe, half "
                                        "with keras-yolo3)", parse=int, forward=WHEN_SET,
                                        driver_flag="--frozen-epochs")
    freeze_body: int = setting(2, "stage 1 freezes 1: the backbone, 2: all but the heads "
                               "(default), 0: nothing", parse=int, choices=(0, 1, 2),
                               forward=WHEN_SET)
    val_split: float = setting(0.2, "share held out (default 0.2)", parse=float,
                               forward=WHEN_SET)
    seed: int = setting(10101, "random seed (default 10101)", parse=int, forward=WHEN_SET)
    map_every: int = setting(1, "validation precision, recall and mAP every N epochs, "
                             "into results.csv (default 1: every epoch; 0: only "
                             "the final evaluation)", parse=int, forward=WHEN_SET)
    cache: str = setting("auto", "decoded training images kept in memory: ram, none, or auto "
                         "(default: when they take at most "
                         f"{CACHE_BUDGET_BYTES // 2 ** 30} GiB at the input size)",
                         choices=CACHE_CHOICES, forward=WHEN_SET)
    workers: int | None = setting(None, "processes that make training batches; 0: threads "
                                  "in the training process (default: one per core, up to "
                                  f"{MAX_DATA_WORKERS}, when a GPU trains; 0 on CPUs)",
                                  parse=int, forward=WHEN_SET)
    gpu_num: int = setting(0, "GPUs to use (0: all visible)", parse=int, forward=ALWAYS,
                           driver_flag="--gpu-num")
    mixed_precision: bool = setting(False, "float16 compute (GPUs)", cli="store_true")
    resume: bool = setting(False, "continue from <output_dir>/checkpoints", cli="store_true")
    overwrite: bool = setting(False, "replace the outputs of an earlier run in --output_dir",
                              cli="store_true")
    evaluate: bool = setting(True, "no validation mAP: neither per epoch nor at the end",
                             cli="store_false:--no_evaluation")
    log: object = field(default=print, repr=False)

    @property
    def size(self) -> str:
        return self.model_size or ("tiny" if self.num_clusters == 6 else "full")

    def problems(self) -> dict[str, str]:
        """Settings no run could use: {name: what it must be}. Checked by the command line,
        by :func:`yolo3.training.train` and by the Azure driver before anything starts."""
        found = {}
        for f in declared():
            rule = _rule_broken(f, getattr(self, f.name))
            if rule:
                found[f.name] = f"must be {rule}"
        if found:
            return found
        if input_size_problem(self.input_size, self.input_size):
            found["input_size"] = f"must be a positive multiple of 32, at most {MAX_INPUT_SIZE}"
        if self.frozen_epochs is not None and not 0 <= self.frozen_epochs <= self.epochs:
            found["frozen_epochs"] = "must be between 0 and --epochs"
        if not 0 <= self.val_split < 1:
            found["val_split"] = "must be at least 0 and below 1"
        if self.map_every < 0:
            found["map_every"] = "must be 0 (only the final evaluation) or more"
        if self.workers is not None and self.workers < 0:
            found["workers"] = "must be 0 (threads in the training process) or more"
        if self.gpu_num < 0:
            found["gpu_num"] = "must be 0 (all) or more"
        if self.val_list is not None and self.annotation_file is None:
            found["val_list"] = "goes with --annotation_file (an export states its own split)"
        if self.resume and self.overwrite:
            found["overwrite"] = "--resume continues the earlier run; --overwrite replaces it: " \
                                 "not both"
        return found


RULES = {positive_int: "at least 1", positive_float: "a finite number above 0",
         int: "a whole number", float: "a number"}


def _rule_broken(f, value) -> str | None:
    """What ``value`` of setting ``f`` must be, when it is not; None when it is fine."""
    meta = f.metadata
    if value is None and f.default is None:
        return None
    if meta["choices"] is not None and value not in meta["choices"]:
        *rest, last = (str(c) for c in meta["choices"])
        return f"{', '.join(rest)} or {last}" if rest else last
    parse = meta["parse"]
    if parse in RULES:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return RULES[parse]
        try:
            parse(str(value))
        except (argparse.ArgumentTypeError, ValueError):
            return RULES[parse]
        if parse is int and value != int(value):
            return RULES[parse]
    return None


def problems_of(values: dict) -> dict[str, str]:
    """{name: "is X; it must be ..."} for training settings given by name (the Azure
    driver's SETTINGS and flags); those not given take their defaults."""
    known = {f.name for f in declared()}
    unknown = sorted(set(values) - known)
    if unknown:
        return {name: "is not a training setting" for name in unknown}
    settings = TrainSettings(**values)
    return {name: f"is {getattr(settings, name)!r}; it {problem}"
            for name, problem in settings.problems().items()}


def declared() -> list:
    """The command-line settings of TrainSettings, in declaration order."""
    return [f for f in fields(TrainSettings) if "help" in f.metadata]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per declared setting, as project/train_azureml.py takes them."""
    for f in declared():
        meta, cli = f.metadata, f.metadata["cli"] or ""
        if cli == "store_true":
            parser.add_argument(f"--{f.name}", action="store_true", help=meta["help"])
        elif cli.startswith("store_false:"):
            parser.add_argument(cli.split(":", 1)[1], dest=f.name, action="store_false",
                                help=meta["help"])
        else:
            parser.add_argument(f"--{f.name}", *meta["aliases"], dest=f.name,
                                type=meta["parse"] or str, default=f.default,
                                choices=meta["choices"], help=meta["help"])


def forwarded() -> list:
    """The settings an Azure ML job passes on to the training script."""
    return [f for f in declared() if f.metadata["forward"]]
