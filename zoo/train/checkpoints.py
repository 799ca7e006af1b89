"""Training checkpoints that survive `kill -9`, SIGTERM and torn files.

`CrashSafeBackup` replaces `keras.callbacks.BackupAndRestore` in the training
engine. Each checkpoint is named after E, the number of completed epochs, and
is a set of files in the backup folder:

    ckpt-000003.weights.h5       the model and optimizer (`Model.save_weights`)
    ckpt-000003.history.csv      copies of the run's own state files
    ckpt-000003.best.weights.h5  as they were at the end of epoch 3
    ckpt-000003.json             the record: E, and the size and SHA-256 of
                                 every file above

Every file is written to a temporary file in the same folder and renamed
over its name, and the record comes last: a checkpoint without a record does
not exist, and one whose files do not match their record, do not load into
the model or whose record does not parse is damaged. The newest intact
checkpoint is restored at the start of `fit`; a damaged one is passed over for
the one before it (the two newest are kept), and with none intact training
starts from the first epoch. Either way one warning says what happened.

Keras' own `BackupAndRestore(double_checkpoint=True)` is not enough: it
writes the weights and their metadata in place and one after the other (a
death in between pairs new weights with the old epoch), and it falls back
only on `OSError` (not on unreadable metadata or weights of another shape).
"""

import hashlib
import json
import os
import re
import shutil
import warnings

import keras

from zoo.io import atomic_path, write_json

FORMAT = 1
_NAME = re.compile(r"ckpt-(\d{6})\.")


def save_weights_atomically(model, path):
    """`model.save_weights(path)`, written to a temporary file and renamed.

    A reader (or a resumed run after a crash) sees the previous file or the
    new one, never a truncated one. The data is flushed to disk before the
    rename.

    Args:
        model: a built Keras model.
        path: str, ending in `.weights.h5`.

    Example:
    >>> save_weights_atomically(model, "run/best.weights.h5")  # doctest: +SKIP
    """
    with atomic_path(path) as tmp:
        # Keras insists on the `.weights.h5` suffix; the temporary name from
        # `atomic_path` ends in `.h5` only.
        staged = tmp + ".weights.h5"
        try:
            model.save_weights(staged)
            _fsync(staged)
            os.replace(staged, tmp)
        finally:
            if os.path.exists(staged):
                os.unlink(staged)


def _fsync(path):
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _describe(path):
    """{"file", "size", "sha256"} of `path` for a checkpoint's record."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {
        "file": os.path.basename(path),
        "size": os.path.getsize(path),
        "sha256": digest.hexdigest(),
    }


class _Damaged(Exception):
    """A checkpoint that cannot be restored; the message says why."""


class CrashSafeBackup(keras.callbacks.BackupAndRestore):
    """Backs up the training state atomically after each epoch; restores it.

    A drop-in for `keras.callbacks.BackupAndRestore(backup_dir)` that never
    leaves a torn checkpoint behind and recovers from one it finds (see the
    module docstring for the files). Put it last in the callbacks, after the
    ones that write the `snapshots` files in `on_epoch_end`.

    At the end of each epoch a checkpoint is written, except after the last
    epoch fit runs (the planned last one, or when a callback stopped
    training, e.g. early stopping or a NaN loss): a run killed there redoes
    that one epoch. The checkpoints stay when `fit` returns; call `discard()`
    once the run's results are written.

    Args:
        backup_dir: str. A folder used by this callback only.
        snapshots: iterable of str. Files of the run that belong to the
            training state (e.g. `history.csv`, `best.weights.h5`). Each
            checkpoint keeps their content at its epoch, and restoring the
            checkpoint puts it back (removing a file that did not exist
            then).
        keep: int >= 2. How many of the newest checkpoints stay.

    Example:
    >>> backup = CrashSafeBackup("run/backup", snapshots=["run/history.csv"])
    >>> model.fit(x, y, epochs=10, callbacks=[backup])  # doctest: +SKIP
    >>> backup.discard()  # doctest: +SKIP
    """

    def __init__(self, backup_dir, snapshots=(), keep=2):
        super().__init__(backup_dir, save_freq="epoch", delete_checkpoint=False)
        if keep < 2:
            raise ValueError(f"keep must be >= 2 (the last intact one); got {keep}")
        self.snapshots = {os.path.basename(path): path for path in snapshots}
        self.keep = keep
        self._intact = []  # epochs of the checkpoints known to be intact
        self._last_epoch = False

    # -- restoring --------------------------------------------------------

    def on_train_begin(self, logs=None):
        self._intact = []
        epochs = self._recorded_epochs()
        legacy = os.path.exists(self._weights_path)
        if not epochs and not legacy:
            return
        optimizer = self.model.optimizer
        if optimizer is not None and not optimizer.built:
            # The weights file holds the optimizer's variables too.
            optimizer.build(self.model.trainable_variables)
        initial = self._variables()
        start = [keras.ops.convert_to_numpy(v.value) for v in initial]
        problems = []
        for epoch in epochs:
            try:
                self._restore(epoch)
            except _Damaged as error:
                problems.append(f"the checkpoint of epoch {epoch} {error}")
                # A failed load may have assigned some variables already.
                for variable, value in zip(initial, start, strict=True):
                    variable.assign(value)
                continue
            self._intact = [epoch]
            self.model._initial_epoch = epoch
            if problems:
                self._warn(
                    f"{'; '.join(problems)}; resuming from the checkpoint of "
                    f"epoch {epoch}"
                )
            return
        if legacy:
            problems.append(
                "latest.weights.h5 was written in place by an older version "
                "and cannot be checked"
            )
        self._warn(
            f"{'; '.join(problems)}; no intact checkpoint is left, so training "
            "starts again from epoch 1"
        )

    def _recorded_epochs(self):
        """Epochs that have a record, newest first."""
        if not os.path.isdir(self.backup_dir):
            return []
        found = set()
        for name in os.listdir(self.backup_dir):
            match = _NAME.match(name)
            if match and name == f"ckpt-{match.group(1)}.json":
                found.add(int(match.group(1)))
        return sorted(found, reverse=True)

    def _variables(self):
        optimizer = self.model.optimizer
        extra = list(optimizer.variables) if optimizer is not None else []
        return list(self.model.weights) + extra

    def _restore(self, epoch):
        """Loads checkpoint `epoch` and puts back its snapshots.

        Raises:
            _Damaged: the record, a file or the load failed; the snapshot
                files are untouched.
        """
        record = self._read_record(epoch)
        weights = self._checked(record["weights"])
        snapshots = {}
        for name, entry in record["snapshots"].items():
            if name in self.snapshots:
                snapshots[name] = None if entry is None else self._checked(entry)
        try:
            self.model.load_weights(weights)
        except Exception as error:  # any failure here means a bad checkpoint
            reason = str(error).strip().splitlines()[:1] or [""]
            raise _Damaged(
                f"does not load into the model ({type(error).__name__}: {reason[0]})"
            ) from None
        for name, source in snapshots.items():
            target = self.snapshots[name]
            if source is None:
                if os.path.exists(target):
                    os.unlink(target)
                continue
            with atomic_path(target) as tmp:
                shutil.copyfile(source, tmp)

    def _read_record(self, epoch):
        path = self._path(epoch, "json")
        try:
            with open(path, encoding="utf-8") as handle:
                record = json.load(handle)
            files = [record["weights"], *record["snapshots"].values()]
            valid = (
                record["format"] == FORMAT
                and record["epoch"] == epoch
                and all(
                    f is None or {"file", "size", "sha256"} <= set(f) for f in files
                )
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise _Damaged(
                f"has an unreadable record ({type(error).__name__})"
            ) from None
        if not valid:
            raise _Damaged("has a record of another format or epoch")
        return record

    def _checked(self, entry):
        """The path of a recorded file whose size and SHA-256 match."""
        path = os.path.join(self.backup_dir, os.path.basename(str(entry["file"])))
        if not os.path.isfile(path):
            raise _Damaged(f"misses {entry['file']}")
        if _describe(path) != {key: entry[key] for key in ("file", "size", "sha256")}:
            raise _Damaged(f"has a damaged {entry['file']} (checksum mismatch)")
        return path

    def _warn(self, message):
        warnings.warn(f"backup {self.backup_dir}: {message}", stacklevel=2)

    # -- saving -----------------------------------------------------------

    def on_epoch_end(self, epoch, logs=None):
        # Callbacks before this one have decided by now whether fit stops.
        self._last_epoch = bool(self.model.stop_training) or epoch + 1 >= (
            self.params or {}
        ).get("epochs", float("inf"))
        # Keras' own bookkeeping, which calls `_save_model`.
        super().on_epoch_end(epoch, logs)

    def _save_model(self):
        if self._last_epoch:
            return
        self.save(self._current_epoch)

    def save(self, epoch):
        """Writes the checkpoint of `epoch` completed epochs; drops old ones.

        Args:
            epoch: int, the number of completed epochs (where a resumed fit
                starts).
        """
        os.makedirs(self.backup_dir, exist_ok=True)
        weights = self._path(epoch, "weights.h5")
        save_weights_atomically(self.model, weights)
        snapshots = {}
        for name, source in self.snapshots.items():
            snapshots[name] = None
            if os.path.exists(source):
                copy = self._path(epoch, name)
                with atomic_path(copy) as tmp:
                    shutil.copyfile(source, tmp)
                    _fsync(tmp)
                snapshots[name] = _describe(copy)
        record = {
            "format": FORMAT,
            "epoch": epoch,
            "weights": _describe(weights),
            "snapshots": snapshots,
        }
        write_json(self._path(epoch, "json"), record)  # the commit
        older = [e for e in self._intact if e < epoch]
        self._intact = older[-(self.keep - 1) :] + [epoch]
        self._prune()

    def _path(self, epoch, suffix):
        return os.path.join(self.backup_dir, f"ckpt-{epoch:06d}.{suffix}")

    def _prune(self):
        """Removes checkpoints not kept, leftover temporary and legacy files."""
        legacy = {
            os.path.basename(self._weights_path),
            os.path.basename(self._training_metadata_path),
        }
        doomed = []
        for name in os.listdir(self.backup_dir):
            match = _NAME.match(name)
            if match and int(match.group(1)) not in self._intact:
                doomed.append(name)
            elif name.startswith(".tmp-") or name in legacy:
                doomed.append(name)
        # Records first: a checkpoint half removed has no record.
        for name in sorted(doomed, key=lambda n: not n.endswith(".json")):
            path = os.path.join(self.backup_dir, name)
            if os.path.isfile(path):
                os.unlink(path)

    # -- the end ----------------------------------------------------------

    def discard(self):
        """Removes the backup folder (renamed first, so no half is left)."""
        if not os.path.isdir(self.backup_dir):
            return
        doomed = os.path.normpath(self.backup_dir) + ".discarded"
        if os.path.exists(doomed):
            shutil.rmtree(doomed, ignore_errors=True)
        os.replace(self.backup_dir, doomed)
        shutil.rmtree(doomed, ignore_errors=True)
