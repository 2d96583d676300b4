"""A whole training run, as a short sequence of named steps.

Stage 1 trains with part of the network frozen (pretrained layers keep their values while
the fresh heads settle); stage 2 trains every layer. Both stages share one epoch count:
``epochs`` in all, the first ``frozen_epochs`` frozen. How each stage trains — optimizer,
schedule, learning rates, callbacks, which epoch is kept, augmentation — the run asks
the recipe (yolo3.training.recipes).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import keras
import numpy as np

from yolo3.darknet import STANDARD_CFGS, DarknetConfig, standard_config
from yolo3.data.annotations import Annotation, check_boxes
from yolo3.errors import YoloError
from yolo3.model.build import build_model
from yolo3.training.callbacks import (
    LAST,
    LearningRateLogger,
    MapEvaluator,
    MetricsReporter,
    NonFiniteGuard,
    StateSaver,
)
from yolo3.training.outputs import (
    check_same_run,
    evaluation_detector,
    load_network_weights,
    restore_optimizer_state,
    resume_state,
    run_identity,
    validation_metrics,
    write_label_statistics,
    write_outputs,
)
from yolo3.training.progress import Progress
from yolo3.training.recipes import (
    RECIPES,
    Recipe,
    set_batchnorm_momentum,
    set_head_bias_priors,
)
from yolo3.training.results import RESULTS_CSV, ResultsLog, best_fitness, columns
from yolo3.training.settings import TrainSettings
from yolo3.training.setup import (
    check_output_dir,
    choose_anchors,
    choose_strategy,
    data_workers,
    freeze,
    gather_annotations,
    load_pretrained,
    model_config,
    readable,
    split_as_stated,
)
from yolo3.training.trainer import YoloTrainer

BEST = "best.weights.h5"  # in checkpoints/: the weights the run keeps


@dataclass
class Prepared:
    """The data side of a run: images split, classes, anchors and the model's cfg."""

    train_set: list[Annotation]
    val_set: list[Annotation]
    class_names: list[str]
    anchors: np.ndarray
    config: DarknetConfig
    input_hw: tuple[int, int]
    recipe: Recipe
    sizes: dict[str, tuple[int, int]]  # each image's (width, height)
    left_out: int  # images left out as unreadable


def train(settings: TrainSettings) -> dict:
    """Run a whole training; return a summary (paths, epochs run, final metrics)."""
    settings = checked(settings)
    if settings.weights and not settings.resume and not Path(settings.weights).is_file():
        raise YoloError(f"--weights {settings.weights}: no such file")  # before any work
    check_output_dir(settings)
    keras.utils.set_random_seed(settings.seed)
    if settings.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    checkpoints = Path(settings.output_dir) / "checkpoints"
    state = resume_state(checkpoints) if settings.resume else None  # before any work
    if state is not None and state["epoch"] >= settings.epochs:
        done = state["epoch"]
        raise YoloError(f"--resume: the run in {settings.output_dir} has already trained "
                        f"{done} epoch{'s' if done != 1 else ''}; give --epochs above {done} "
                        "to train it further")
    data = prepare_data(settings)
    identity = run_identity(settings, data.class_names, data.config)
    if state is not None:
        check_same_run(state, identity)
    strategy = choose_strategy(settings.gpu_num)
    settings.log(f"Devices: {strategy.num_replicas_in_sync} replica(s) "
                 f"({type(strategy).__name__}).")
    body, trainer = build_trainer(settings, data, strategy, state)
    write_label_statistics(Path(settings.output_dir), data.train_set, data.sizes,
                           data.class_names)
    from yolo3.data.examples import DecodeProblems

    DecodeProblems.reset()
    run = Stages(settings, data, body, trainer, strategy, state, identity)
    run.fit_both()
    run.restore_best()
    summary = write_outputs(Path(settings.output_dir), body, data.config, data.class_names,
                            data.anchors, data.train_set, data.val_set, settings, run.start)
    summary["images_left_out"] = data.left_out
    if "voc_map50" in summary:
        run.reporter.final(summary)
    return summary


def checked(settings: TrainSettings) -> TrainSettings:
    """The settings with their defaults filled in; YoloError for any a run cannot use."""
    if settings.frozen_epochs is None and settings.recipe in RECIPES:
        settings = replace(settings,
                           frozen_epochs=RECIPES[settings.recipe].frozen_epochs(settings.epochs))
    for name, problem in settings.problems().items():
        raise YoloError(f"--{name} {problem}")
    return settings


def prepare_data(settings: TrainSettings) -> Prepared:
    """Read, check and split the data; anchors and the model's cfg for it."""
    annotations, class_names, stated_val = gather_annotations(settings)
    check_boxes(annotations, len(class_names),
                str(settings.annotation_file or Path(settings.data_path) / settings.data_dir))
    annotations, sizes, left_out = readable(annotations, settings.log)
    train_set, val_set = split_as_stated(
        annotations, stated_val, settings.val_split, settings.seed, settings.log,
        stated_by="--val_list" if settings.val_list else "The export")
    if not train_set or not any(len(a.boxes) for a in train_set):
        raise YoloError("no training images with boxes")
    k = len(standard_config(settings.size).anchors)
    anchors = choose_anchors(settings, train_set, k)
    recipe = RECIPES[settings.recipe]
    input_hw = (settings.input_size, settings.input_size)
    config = model_config(settings.size, len(class_names), anchors, recipe.scale_x_y,
                          input_hw)
    settings.log(f"{len(train_set)} training and {len(val_set)} validation images, "
                 f"{len(class_names)} classes, {Path(STANDARD_CFGS[settings.size]).stem} at "
                 f"{settings.input_size}.")
    return Prepared(train_set, val_set, class_names, anchors, config, input_hw, recipe, sizes,
                    left_out)


def build_trainer(settings: TrainSettings, data: Prepared, strategy, state: dict | None):
    """The model (pretrained layers loaded, or the checkpoint resumed) and its trainer."""
    recipe = data.recipe
    with strategy.scope():
        body = build_model(data.config, data.input_hw, name="yolov3")
        set_batchnorm_momentum(body, recipe.batchnorm_momentum(pretrained=bool(settings.weights)))
        if recipe.bias_priors:
            set_head_bias_priors(body, data.config, data.input_hw)
        if settings.weights and state is None:
            load_pretrained(body, settings.weights, settings.log)
        loss, terms = recipe.loss()
        trainer = YoloTrainer(body, data.config, data.input_hw, loss, terms)
        trainer(np.zeros((1, *data.input_hw, 3), np.float32))  # create the variables
    if state is not None:
        load_network_weights(body, Path(settings.output_dir) / "checkpoints" / LAST)
        settings.log(f"Resuming after epoch {state['epoch']} at learning rate "
                     f"{state['learning_rate']:.3g}.")
    return body, trainer


class Stages:
    """The two stages of fit over one pipeline and one set of callbacks."""

    def __init__(self, settings: TrainSettings, data: Prepared, body, trainer, strategy,
                 state: dict | None, identity: dict | None = None):
        from yolo3.data.pipeline import make_dataset

        self.settings, self.data, self.body, self.trainer = settings, data, body, trainer
        self.strategy, self.state, self.identity = strategy, state, identity
        self.recipe = data.recipe
        self.start = state["epoch"] if state else 0
        self.workers = data_workers(settings.workers)
        self.val_data = (make_dataset(data.val_set, data.config, data.input_hw,
                                      settings.batch_size, training=False,
                                      cache=settings.cache)
                         if data.val_set else None)
        self.steps = max(1, len(data.train_set) // settings.batch_size)
        self.monitor = "val_loss" if self.val_data is not None else "loss"
        self.callbacks = self._callbacks()

    def _callbacks(self) -> list:
        out = Path(self.settings.output_dir)
        checkpoints = out / "checkpoints"
        checkpoints.mkdir(parents=True, exist_ok=True)
        names = columns(self.trainer.terms, self.val_data is not None)
        self.reporter = MetricsReporter(names, self.settings.log)
        self.saver = StateSaver(checkpoints, self.monitor,
                                self.state.get("best") if self.state else None, self.identity)
        self.guard = NonFiniteGuard()
        results = ResultsLog(out / RESULTS_CSV, names, self.start)
        if self.state is None:
            (checkpoints / BEST).unlink(missing_ok=True)  # an overwritten run's
        # the recipe keeps the epoch of least validation loss, or of best validation mAPs,
        # else the last weights
        best_loss = self.recipe.best_by_loss(checkpoints / BEST, self.monitor, self.saver.best)
        # the epoch's results row is written before its resume state is committed: a run
        # stopped in between repeats the epoch, and ResultsLog drops the row it had written
        return [self.guard, LearningRateLogger(), self.saver, *best_loss,
                *self._map_evaluator(out, self.recipe.best_by_map(checkpoints / BEST)),
                results, self.saver.committer(), keras.callbacks.TensorBoard(str(out / "logs")),
                self.reporter, Progress(names, self.trainer.terms, self.settings.log)]

    def _map_evaluator(self, out: Path, best: Path | None) -> list:
        settings, data = self.settings, self.data
        if not settings.map_every or not settings.evaluate or not data.val_set:
            return []
        detector = None

        def evaluate_now() -> dict:
            nonlocal detector
            detector = detector or evaluation_detector(self.body, data.config,
                                                       data.class_names, settings.input_size,
                                                       live=True)
            return validation_metrics(detector, data.val_set, data.class_names)[0]

        return [MapEvaluator(settings.map_every, evaluate_now, best_fitness(out / RESULTS_CSV),
                             best)]

    def fit_both(self) -> None:
        settings = self.settings
        frozen_stage = settings.frozen_epochs if settings.weights else 0
        self.frozen_stage = frozen_stage
        if settings.frozen_epochs and not settings.weights:
            settings.log("No --weights: nothing pretrained to keep, so every layer trains "
                         "from epoch 1.")
        resumed_rate = self.state["learning_rate"] if self.state else None
        stage1_rate, stage2_rate = self.recipe.stage_rates(settings.learning_rate, frozen_stage,
                                                           self.start, resumed_rate)
        self.fit(self.start, frozen_stage, stage1_rate, settings.freeze_body,
                 self.recipe.stage_callbacks(1, self.monitor))
        self.fit(max(self.start, frozen_stage), settings.epochs, stage2_rate, 0,
                 self.recipe.stage_callbacks(2, self.monitor))
        if self.guard.tripped:
            raise YoloError(f"training diverged: the loss became NaN or infinite in epoch "
                            f"{self.guard.tripped}; no model written (try a lower "
                            "--learning_rate, or check the data)")

    def fit(self, first: int, last: int, lr: float, freeze_body: int, extra: list) -> None:
        if first >= last or self.guard.tripped:
            return
        with self.strategy.scope():
            frozen, total = freeze(self.body, self.data.config, freeze_body)
            optimizer, schedule, rate = self.recipe.optimizer(
                lr, first * self.steps, self.settings.epochs * self.steps, self.steps)
            self.trainer.compile(optimizer=optimizer)
            if self.state is not None and first == self.start:
                step = self._resume_optimizer(first)
                if schedule is not None and step:
                    schedule.first_step -= step  # the stage began that many steps ago
        self.settings.log(f"Epochs {first + 1}–{last}: {frozen} of {total} layers frozen, "
                          f"{rate} ({self.recipe.name} recipe).")
        # one per stage: each stage's optimizer keeps its own average
        callbacks = self.recipe.averaged_weights(self.callbacks + extra, after=self.saver)
        self.trainer.fit(self.training_data(first), steps_per_epoch=self.steps,
                                  validation_data=self.val_data, initial_epoch=first,
                                  epochs=last, callbacks=callbacks, shuffle=False, verbose=0)

    def training_data(self, first: int):
        """The endless training batches from epoch ``first`` (0-based) on. One per stage:
        each ``fit`` starts its dataset afresh, so a stage given the run's dataset would
        see the first stage's epochs (orders, augmentations, the mosaic's end) again."""
        from yolo3.data.pipeline import make_dataset

        settings, data = self.settings, self.data
        return make_dataset(data.train_set, data.config, data.input_hw, settings.batch_size,
                            training=True, seed=settings.seed, first_epoch=first,
                            assignment=self.recipe.assignment,
                            policy=self.recipe.augmentation(settings.epochs),
                            cache=settings.cache, workers=self.workers)

    def _resume_optimizer(self, first: int) -> int | None:
        """The optimizer's step count, moments (and averaged weights) as the interrupted
        run left them, when it stopped in the stage that now continues (a new stage
        starts a fresh optimizer anyway). Returns the restored step count."""
        def stage(epoch: int) -> int:
            return 1 if epoch < self.frozen_stage else 2

        if stage(self.state["epoch"] - 1) != stage(first):
            return None
        step = restore_optimizer_state(self.trainer,
                                       Path(self.settings.output_dir) / "checkpoints")
        if step is not None:
            self.settings.log(f"Restored the optimizer's state (step {step}).")
        return step

    def restore_best(self) -> None:
        """The best checkpoint's weights (when the recipe keeps one: see _callbacks);
        YoloError when the weights are not finite."""
        best = Path(self.settings.output_dir) / "checkpoints" / BEST
        if best.is_file():
            load_network_weights(self.body, best)
        if not all(np.isfinite(w).all() for w in self.body.get_weights()):
            raise YoloError("training diverged: the weights hold NaN or infinite values; no "
                            "model written")
