"""Callbacks whose decisions survive an interruption.

Early stopping and the best checkpoint are decided from the whole history
(kept in `history.csv`), not from in-memory counters, so a resumed run
decides exactly as an uninterrupted one would.
"""

import csv
import io
import math
import os

import keras

from zoo.io import write_text
from zoo.train.checkpoints import save_weights_atomically


class SetEpoch(keras.callbacks.Callback):
    """Tells the training dataset which epoch is starting."""

    def __init__(self, dataset):
        super().__init__()
        self.dataset = dataset

    def on_epoch_begin(self, epoch, logs=None):
        self.dataset.epoch = epoch


class HistoryTracker(keras.callbacks.Callback):
    """Writes history.csv each epoch; stops early; keeps the best weights.

    On (re)start it keeps the rows of epochs before the first epoch run now,
    so a resumed run continues the file. After each epoch: the row is written
    (atomically); if the monitored value is the best so far, the weights go
    to `best.weights.h5` (atomically too); if the best epoch is `patience`
    epochs back, training stops. A NaN loss stops training and is reported
    in `diverged_at`.

    Args:
        run_dir: str. The run directory.
        patience: int.
        monitor: str, a column of the history. Defaults to `"val_loss"`.
        mode: "min" or "max": which direction is better.
    """

    def __init__(self, run_dir, patience, monitor="val_loss", mode="min"):
        super().__init__()
        self.monitor, self.sign = monitor, 1.0 if mode == "min" else -1.0
        self.path = os.path.join(run_dir, "history.csv")
        self.best_path = os.path.join(run_dir, "best.weights.h5")
        self.patience = patience
        self.rows = []
        self.diverged_at = None
        self.stopped_early_at = None

    def on_epoch_begin(self, epoch, logs=None):
        if not self.rows and os.path.exists(self.path):
            with open(self.path, newline="") as handle:
                self.rows = [
                    r for r in csv.DictReader(handle) if int(r["epoch"]) < epoch
                ]

    def on_train_end(self, logs=None):
        # A resumed run whose checkpoint is at or past `epochs` runs no
        # epoch: its history is the file's.
        if not self.rows and os.path.exists(self.path):
            with open(self.path, newline="") as handle:
                self.rows = list(csv.DictReader(handle))

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.diverged_at = len(self.rows)
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.diverged_at is not None:
            return
        row = {"epoch": epoch, **{k: float(v) for k, v in (logs or {}).items()}}
        self.rows.append(row)
        self._write()
        best = self.best_index()
        if best == len(self.rows) - 1:
            save_weights_atomically(self.model, self.best_path)
        elif len(self.rows) - 1 - best >= self.patience:
            self.stopped_early_at = epoch
            self.model.stop_training = True

    def best_index(self):
        """Index in `rows` of the best epoch (the first one on ties)."""
        values = [self.sign * float(r[self.monitor]) for r in self.rows]
        return min(range(len(values)), key=values.__getitem__)

    def _write(self):
        fields = list(self.rows[-1].keys())
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(self.rows)
        write_text(self.path, buffer.getvalue())
