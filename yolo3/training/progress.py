"""What a training run shows while it runs: on a terminal, a progress bar per epoch with
the running loss and the time left; then, terminal or not (an Azure ML log), one line per
epoch with its losses, validation metrics, learning rate and seconds."""

from __future__ import annotations

import sys

import keras

from yolo3.training.results import METRICS, row_of


class Progress(keras.callbacks.Callback):
    """The bar (``bar`` None: when stderr is a terminal) and the epoch line, sent to
    ``log``. Place it after the callbacks that add to the epoch's logs."""

    def __init__(self, names: list[str], terms: tuple[str, ...], log=print,
                 bar: bool | None = None):
        super().__init__()
        self.names, self.terms, self.log = names, terms, log
        self.show_bar = sys.stderr.isatty() if bar is None else bar
        self.bar = None

    def on_epoch_begin(self, epoch, logs=None):
        if self.show_bar:
            from tqdm import tqdm

            self.bar = tqdm(total=self.params.get("steps"), file=sys.stderr, leave=False,
                            unit="step", dynamic_ncols=True,
                            desc=f"Epoch {epoch + 1}/{self.params.get('epochs')}")

    def on_train_batch_end(self, batch, logs=None):
        if self.bar is not None:
            self.bar.update(1)
            if logs and "loss" in logs:
                self.bar.set_postfix_str(f"loss {float(logs['loss']):.4g}", refresh=False)

    def on_test_begin(self, logs=None):
        if self.bar is not None:
            self.bar.set_postfix_str("validating")

    def on_epoch_end(self, epoch, logs=None):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        self.log(epoch_line(row_of(logs or {}, epoch, self.names), self.terms,
                            self.params.get("epochs")))

    def on_train_end(self, logs=None):
        if self.bar is not None:  # stopped mid-epoch
            self.bar.close()
            self.bar = None


def epoch_line(row: dict, terms: tuple[str, ...], epochs: int | None) -> str:
    """``Epoch 3/30: loss 1.23 (box 0.4, objectness 0.5, class 0.3); val 1.5 (...);
    P 0.81 R 0.70 mAP50 0.80 mAP50-95 0.51; lr 0.00095; 12.3 s + 1.1 s mAP``."""
    def losses(split: str) -> str | None:
        total = row.get(f"{split}/loss")
        if total is None:
            return None
        parts = ", ".join(f"{term} {row[f'{split}/{term}_loss']:.4g}" for term in terms
                          if row.get(f"{split}/{term}_loss") is not None)
        return f"{total:.4g} ({parts})" if parts else f"{total:.4g}"

    pieces = [f"loss {losses('train')}"]
    if losses("val") is not None:
        pieces.append(f"val {losses('val')}")
    measured = [(name, row[name]) for name in METRICS if row.get(name) is not None]
    if measured:
        pieces.append(" ".join(f"{name.replace('precision', 'P').replace('recall', 'R')} "
                               f"{value:.3f}" for name, value in measured))
    if row.get("lr") is not None:
        pieces.append(f"lr {row['lr']:.3g}")
    seconds = f"{row['seconds']:.1f} s" if row.get("seconds") is not None else ""
    if row.get("eval_seconds") is not None:
        seconds += f" + {row['eval_seconds']:.1f} s mAP"
    if seconds:
        pieces.append(seconds)
    return f"Epoch {int(row['epoch'])}/{epochs}: " + "; ".join(pieces)
