"""`train_and_evaluate(config, workdir)`: the same skeleton for every task.

1. Resolve the preset; seed everything from `config.seed`.
2. Load and window the data (bad input fails here, before any file exists).
3. Write `config.json`; fit with the Keras progress bar, a per-epoch
   `history.csv`, early stopping and the best checkpoint decided from that
   history, and a crash-safe backup (`zoo.train.checkpoints`) so `--resume`
   continues from the last intact checkpoint, even after `kill -9`; SIGTERM
   stops the run like Ctrl-C.
4. Keep the best weights in `model.keras`; write `metrics.json` (model and
   baselines) and `figures/`.
"""

import functools
import os
import signal
import threading
import time
import warnings

import keras
import numpy as np

from zoo.errors import ZooError
from zoo.io import atomic_path, finite_or_none, write_json
from zoo.run_dir import check_out_dir, remove_leftovers
from zoo.runtime import library_versions, list_devices
from zoo.train import figures
from zoo.train.callbacks import EpochSeededShuffle, HistoryTracker, SetEpoch
from zoo.train.chatbot_task import ChatbotTask
from zoo.train.checkpoints import CrashSafeBackup
from zoo.train.memory import check_fits
from zoo.train.summary import run_directory_sentence
from zoo.train.traffic_task import TrafficTask

TASKS = {task.name: task for task in (TrafficTask(), ChatbotTask())}


class TrainingDiverged(ZooError):
    """The loss became NaN or infinite."""


def get_task(name):
    if name not in TASKS:
        raise ZooError(f"unknown task {name!r}; choose from {sorted(TASKS)}")
    return TASKS[name]


def _distribute(config):
    """Sets up data-parallel training; returns the device count (0: none)."""
    if config.distribute is None:
        return 0
    if config.distribute != "data-parallel":
        raise ZooError(
            f"--distribute: unknown strategy {config.distribute!r}; use data-parallel"
        )
    if keras.backend.backend() != "jax":
        raise ZooError(
            "--distribute data-parallel runs on the JAX backend only "
            "(KERAS_BACKEND=jax); on torch or tensorflow leave it out"
        )
    devices = keras.distribution.list_devices()
    if config.batch_size % len(devices):
        raise ZooError(
            f"--batch-size {config.batch_size} does not split evenly over "
            f"{len(devices)} devices; pass a multiple of {len(devices)}"
        )
    keras.distribution.set_distribution(
        keras.distribution.DataParallel(devices=devices)
    )
    return len(devices)


def _predict(model, inputs, batch_size, devices):
    """model.predict; with sharding, padded to full batches and trimmed."""
    if not devices:
        return model.predict(inputs, batch_size=batch_size, verbose=0)
    padded = -len(inputs) % batch_size
    filler = np.repeat(inputs[-1:], padded, axis=0)
    outputs = model.predict(
        np.concatenate([inputs, filler]), batch_size=batch_size, verbose=0
    )
    return outputs[: len(inputs)]


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _sigterm_interrupts(function):
    """Runs `function` with SIGTERM raising KeyboardInterrupt, as Ctrl-C does.

    The previous handler comes back afterwards. Only the main thread can set
    handlers; elsewhere `function` runs as it is.
    """

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if threading.current_thread() is not threading.main_thread():
            return function(*args, **kwargs)
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            return function(*args, **kwargs)
        finally:
            # None: a handler not set from Python; the default is the best guess.
            signal.signal(
                signal.SIGTERM, signal.SIG_DFL if previous is None else previous
            )

    return wrapper


@_sigterm_interrupts
def train_and_evaluate(config, workdir, resume=False, verbose="auto"):
    """Trains `config.model` on `config.task` and evaluates it on the test split.

    Args:
        config: TrainConfig.
        workdir: str. The run directory (created; must not hold another run
            unless `resume`).
        resume: bool. Continue the interrupted run in `workdir`.
        verbose: Keras `fit` verbosity ("auto" shows the progress bar).

    Returns:
        dict: the content of `metrics.json`.

    Raises:
        ZooError: bad input (nothing is written), or training diverged (the
            run directory keeps the last good checkpoint).
    """
    config = config.resolved()
    task = get_task(config.task)
    if config.model not in task.models:
        raise ZooError(
            f"--model: unknown {config.task} model {config.model!r}; "
            f"choose from {list(task.models)}"
        )
    check_out_dir(workdir, resume)
    if resume:
        remove_leftovers(workdir)
    keras.utils.set_random_seed(config.seed)
    sharded = _distribute(config)
    data = task.prepare(config)
    check_fits(task, config, data)
    model = task.build_model(config, data)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss=task.loss)
    config.environment = {
        "backend": keras.backend.backend(),
        "devices": list_devices(),
        "versions": library_versions(),
        "data_summary": task.summary(data),
    }
    train_x, train_y = task.arrays(data, "train")
    val_x, val_y = task.arrays(data, "val")
    val_batch = config.batch_size
    if sharded:
        # Sharded batches must all be full: the last, smaller one is left out,
        # and a small validation split gets batches it can fill.
        if len(train_y) < config.batch_size:
            raise ZooError(
                f"--batch-size {config.batch_size} exceeds the {len(train_y)} "
                "training windows; pass a smaller one"
            )
        val_batch = max(sharded, min(val_batch, len(val_y) // sharded * sharded))
    # Every check on the input is done: only now does the run directory exist.
    try:
        os.makedirs(os.path.join(workdir, "figures"), exist_ok=True)
        write_json(os.path.join(workdir, "config.json"), config.to_dict())
    except OSError as error:
        raise ZooError(
            f"--out: cannot write the run in {workdir!r} ({error.strerror}); "
            "pass a folder you can write to"
        ) from None
    if resume and not os.path.isdir(os.path.join(workdir, "backup")):
        warnings.warn(
            f"{workdir} has no backup/ checkpoint; training starts again from epoch 1",
            stacklevel=2,
        )
    # Known at preparation: a diverged or interrupted run stays usable.
    task.write_artifacts(data, workdir)
    summary = config.environment["data_summary"]
    print(run_directory_sentence(workdir, summary), flush=True)
    train = EpochSeededShuffle(
        train_x, train_y, config.batch_size, config.seed, drop_remainder=bool(sharded)
    )
    val = EpochSeededShuffle(
        val_x,
        val_y,
        val_batch,
        config.seed,
        shuffle=False,
        drop_remainder=bool(sharded),
    )
    tracker = HistoryTracker(workdir, config.patience, *task.monitor(config))
    backup = CrashSafeBackup(
        os.path.join(workdir, "backup"),
        snapshots=[tracker.path, tracker.best_path],
    )
    started = time.perf_counter()
    # The tracker writes the epoch's row before the backup is taken: if the
    # process dies in between, the resumed run redoes that epoch and its row
    # (the checkpoint puts back history.csv and best.weights.h5 as they were).
    model.fit(
        train,
        validation_data=val,
        epochs=config.epochs,
        # The dataset shuffles by (seed, epoch) itself; Keras' own shuffle
        # would reorder batches with Python's global RNG, which a resumed
        # process does not share with the interrupted one.
        shuffle=False,
        # Task callbacks add their metrics to the logs before the tracker
        # writes the epoch's row.
        callbacks=[SetEpoch(train), *task.callbacks(config, data), tracker, backup],
        verbose=verbose,
    )
    seconds = time.perf_counter() - started
    best = tracker.best_path if os.path.exists(tracker.best_path) else None
    if best:
        last = model.get_weights()
        try:
            model.load_weights(best)
        except (OSError, ValueError, KeyError) as error:
            # Written atomically, so damaged only from outside the run.
            model.set_weights(last)
            warnings.warn(
                f"{best} does not load ({type(error).__name__}); model.keras "
                "and metrics.json use the weights of the last epoch instead",
                stacklevel=2,
            )
    with atomic_path(os.path.join(workdir, "model.keras")) as tmp:
        model.save(tmp)
    if tracker.diverged_at is not None:
        kept = "the best epoch before it" if best else "the initial weights"
        raise TrainingDiverged(
            "training diverged: the loss became NaN in epoch "
            f"{tracker.diverged_at + 1}; {workdir}/model.keras keeps {kept}; "
            "lower --learning-rate or check the data"
        )
    if tracker.rows:
        figures.loss_curves(
            tracker.rows,
            os.path.join(workdir, "figures", "loss.png"),
            f"{config.task} / {config.model}",
            task.loss_label,
        )
    result = task.evaluate(
        model,
        lambda x: _predict(model, x, config.batch_size, sharded),
        data,
        config,
        workdir,
    )
    result.update(
        {
            "task": config.task,
            "epochs_run": len(tracker.rows),
            "best_epoch": 1 + tracker.best_index(),
            # The kept epoch's row of history.csv (training loss included).
            "kept_epoch_history": {
                k: int(float(v)) if k == "epoch" else round(float(v), 4)
                for k, v in tracker.rows[tracker.best_index()].items()
            },
            "train_seconds_this_process": round(seconds, 1),
            "backend": keras.backend.backend(),
        }
    )
    # A metric that is NaN (e.g. a validation loss that overflowed) is null.
    write_json(os.path.join(workdir, "metrics.json"), finite_or_none(result))
    # Only now: a run killed before this point resumes from the checkpoint.
    backup.discard()
    return result
