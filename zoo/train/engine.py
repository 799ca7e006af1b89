"""`train_and_evaluate(config, workdir)`: the same skeleton for every task.

It runs named steps, each a function of this module:

1. `_check`: the task, the model name and the run directory (nothing is
   written yet).
2. `_prepare`: seed everything from `config.seed`, set up data-parallel
   training, load and window the data, build the model and the batches
   (bad input fails here, before any file exists); then
   `_start_run_directory` writes `config.json` and the files fixed at
   preparation.
3. `_fit`: the Keras progress bar, a per-epoch `history.csv`, early
   stopping and the best checkpoint decided from that history, and a
   crash-safe backup (`zoo.train.checkpoints`) so `--resume` continues from
   the last intact checkpoint, even after `kill -9`; SIGTERM stops the run
   like Ctrl-C.
4. `_finish`: keep the best weights in `model.keras`; write `metrics.json`
   (model and baselines) and `figures/`.
"""

import functools
import os
import signal
import threading
import time
import warnings
from dataclasses import dataclass

import keras
import numpy as np

from zoo import plotting
from zoo.distributed import cluster as cluster_module
from zoo.distributed import ddp
from zoo.distributed.layouts import check_divisible, model_parallel
from zoo.distributed.memory import check_fits
from zoo.errors import TrainingDiverged, ZooError
from zoo.io import atomic_path, finite_or_none, write_json
from zoo.run_dir import (
    check_out_dir,
    remove_leftovers,
    remove_shadow,
    shadow_directory,
)
from zoo.runtime import (
    code_version,
    dtype_policy,
    library_versions,
    list_devices,
    set_random_seed,
)
from zoo.train.callbacks import HistoryTracker, SetEpoch
from zoo.train.checkpoints import CrashSafeBackup
from zoo.train.epoch_seeded_shuffle import EpochSeededShuffle
from zoo.train.summary import run_directory_sentence
from zoo.train.tasks import get_task


def _distribute(run):
    """Sets up `--distribute` on the joined cluster; the replicas.

    Replicas: the devices each global batch is split over (0: no split).
    """
    config, cluster = run.config, run.cluster
    backend = cluster.backend
    if config.distribute is None:
        cluster.tf_strategy = None  # an earlier run's, in this process
        if cluster.processes > 1:
            raise ZooError(
                f"this process is one of {cluster.processes} the launcher "
                "started: pass --distribute data-parallel"
            )
        return 0
    if config.distribute == "model-parallel":
        if backend != "jax" or cluster.processes > 1:
            raise ZooError(
                "--distribute model-parallel runs on the JAX backend in one "
                "process (KERAS_BACKEND=jax, no launcher); use data-parallel "
                "elsewhere"
            )
        devices = keras.distribution.list_devices()
        check_divisible(run.task.build_model(config, run.data), len(devices))
        keras.distribution.set_distribution(model_parallel(devices))
        return 0
    if backend == "jax":
        distribution = keras.distribution.DataParallel(
            devices=keras.distribution.list_devices()
        )
        # Each process reads its own rows of every batch (Cluster.shard).
        distribution.auto_shard_dataset = False
        keras.distribution.set_distribution(distribution)
    elif backend == "tensorflow" and cluster.tf_strategy is None:
        import tensorflow as tf

        cluster.tf_strategy = tf.distribute.MirroredStrategy()
    elif backend == "torch":
        ddp.start_group()
    replicas = cluster.replicas()
    if config.batch_size % replicas:
        raise ZooError(
            f"--batch-size {config.batch_size} does not split evenly over "
            f"{replicas} devices; pass a multiple of {replicas}"
        )
    return replicas


def _predict(model, inputs, batch_size, replicas):
    """model.predict; over JAX devices, padded to full batches and trimmed."""
    if not replicas or keras.backend.backend() != "jax":
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


@dataclass
class _Run:
    """What the steps of one run share."""

    config: object  # TrainConfig, resolved
    task: object  # zoo.train.task.Task
    workdir: str  # where this process writes (process 0: `out`; others: a shadow)
    resume: bool = False
    cluster: object = None  # zoo.distributed.cluster.Cluster
    # Devices each batch is split over (data-parallel); 0: one device, no split.
    replicas: int = 0
    data: object = None  # what task.prepare returned
    model: object = None  # compiled keras.Model
    train: object = None  # EpochSeededShuffle of the training split
    val: object = None  # EpochSeededShuffle of the validation split


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
        ZooError: bad input (nothing is written), or training diverged
            (`TrainingDiverged`; the run directory keeps the last good
            checkpoint).
    """
    run = _check(config.resolved(), workdir, resume)
    try:
        _prepare(run)
        # Every check on the input is done: only now does the run directory exist.
        _start_run_directory(run, resume)
        tracker, backup, seconds = _fit(run, verbose)
        return _finish(run, tracker, backup, seconds)
    except Exception as error:
        if run.cluster.processes == 1 or not cluster_module.lost_peer(error):
            raise
        raise ZooError(
            f"process {run.cluster.rank} of {run.cluster.processes} lost another "
            f"process ({cluster_module.first_line(error)}); start them all again "
            f"(with --resume --out {workdir} if the run had begun)"
        ) from None
    finally:
        if run.workdir != workdir:
            remove_shadow(run.workdir)


def _check(config, workdir, resume):
    """The settings are valid, the task and model exist and `workdir` may
    take the run; a `_Run`."""
    config.validate()
    task = get_task(config.task)
    if config.model not in task.models:
        raise ZooError(
            f"--model: unknown {config.task} model {config.model!r}; "
            f"choose from {list(task.models)}"
        )
    cluster = cluster_module.join()
    # Process 0 alone decides on the run directory and writes it; the others
    # follow it (if it refuses, they end when their wait for it times out).
    if cluster.writes:
        check_out_dir(workdir, resume)
        if resume:
            remove_leftovers(workdir)
    return _Run(config, task, workdir, resume, cluster)


def _prepare(run):
    """Seeds, devices, data, the compiled model and the batches; writes nothing."""
    config, task = run.config, run.task
    set_random_seed(config.seed)  # Keras' own imports TensorFlow everywhere
    run.data = task.prepare(config)
    run.replicas = _distribute(run)
    check_fits(task, config, run.data)
    with run.cluster.scope():
        run.model = _compiled_model(run)
    if run.replicas and run.cluster.backend == "torch":
        ddp.synchronize_gradients(run.model)
    config.environment = {
        "backend": keras.backend.backend(),
        "devices": list_devices(),
        "processes": run.cluster.processes,
        "versions": library_versions(),
        "code": code_version(),
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "data_summary": task.summary(run.data),
    }
    train_x, train_y = task.arrays(run.data, "train")
    val_x, val_y = task.arrays(run.data, "val")
    val_batch = config.batch_size
    if run.replicas:
        # Split batches must all be full: the last, smaller one is left out,
        # and a small validation split gets batches it can fill.
        if len(train_y) < config.batch_size:
            raise ZooError(
                f"--batch-size {config.batch_size} exceeds the {len(train_y)} "
                "training windows; pass a smaller one"
            )
        val_batch = max(
            run.replicas, min(val_batch, len(val_y) // run.replicas * run.replicas)
        )
    split = bool(run.replicas)
    train_rows, val_rows = (
        run.cluster.shard(b) for b in (config.batch_size, val_batch)
    )
    run.train = EpochSeededShuffle(
        train_x, train_y, config.batch_size, config.seed, drop_remainder=split,
        rows=train_rows,
    )  # fmt: skip
    run.val = EpochSeededShuffle(
        val_x, val_y, val_batch, config.seed, shuffle=False, drop_remainder=split,
        rows=val_rows,
    )  # fmt: skip
    if not run.cluster.writes:
        run.workdir = shadow_directory(run.workdir, run.resume)


def _start_run_directory(run, resume):
    """Writes config.json and the task's files fixed at preparation."""
    workdir = run.workdir
    try:
        os.makedirs(os.path.join(workdir, "figures"), exist_ok=True)
        write_json(os.path.join(workdir, "config.json"), run.config.to_dict())
    except OSError as error:
        raise ZooError(
            f"--out: cannot write the run in {workdir!r} ({error.strerror}); "
            "pass a folder you can write to"
        ) from None
    if resume and not os.path.isdir(os.path.join(workdir, "backup")):
        warnings.warn(
            f"{workdir} has no backup/ checkpoint; training starts again from epoch 1",
            stacklevel=3,
        )
    # Known at preparation: a diverged or interrupted run stays usable.
    run.task.write_artifacts(run.data, workdir)
    if run.cluster.writes:
        summary = run.config.environment["data_summary"]
        print(run_directory_sentence(workdir, summary), flush=True)


def _fit(run, verbose):
    """Trains with history, early stopping and backups; (tracker, backup, s)."""
    config, task = run.config, run.task
    tracker = HistoryTracker(run.workdir, config.patience, *task.monitor(config))
    backup = CrashSafeBackup(
        os.path.join(run.workdir, "backup"),
        snapshots=[tracker.path, tracker.best_path],
    )
    started = time.perf_counter()
    _fit_with_callbacks(run, tracker, backup, verbose)
    return tracker, backup, time.perf_counter() - started


def _fit_with_callbacks(run, tracker, backup, verbose):
    """`model.fit` with the run's data and callbacks."""
    config, task = run.config, run.task
    # The tracker writes the epoch's row before the backup is taken: if the
    # process dies in between, the resumed run redoes that epoch and its row
    # (the checkpoint puts back history.csv and best.weights.h5 as they were).
    run.model.fit(
        run.train,
        validation_data=run.val,
        epochs=config.epochs,
        # The dataset shuffles by (seed, epoch) itself; Keras' own shuffle
        # would reorder batches with Python's global RNG, which a resumed
        # process does not share with the interrupted one.
        shuffle=False,
        # Task callbacks add their metrics to the logs before the tracker
        # writes the epoch's row.
        callbacks=[
            *([ddp.AverageLogs()] if run.cluster.backend == "torch" else []),
            SetEpoch(run.train),
            *task.callbacks(config, run.data),
            tracker,
            backup,
        ],
        verbose=verbose,
    )


def _keep_best_weights(model, tracker):
    """Loads the best epoch's weights into `model`; their path, or None."""
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
                stacklevel=4,
            )
    return best


def _compiled_model(run):
    """The task's model for `run.config`, in its precision, compiled with Adam
    and the task's loss (Keras computes losses and metrics in float32)."""
    with dtype_policy(run.config.precision):
        model = run.task.build_model(run.config, run.data)
    model.compile(
        optimizer=keras.optimizers.Adam(run.config.learning_rate), loss=run.task.loss
    )
    return model


def _evaluation_model(run):
    """The trained model, as a copy on this process's devices if it spans several.

    A JAX model trained by several processes computes only with all of
    them; each evaluates its own copy instead (torch models are local).
    """
    if run.cluster.processes == 1 or run.cluster.backend != "jax":
        return run.model
    weights = run.model.get_weights()
    keras.distribution.set_distribution(None)
    local = _compiled_model(run)
    local.set_weights(weights)
    return local


def _finish(run, tracker, backup, seconds):
    """model.keras, figures and metrics.json; the metrics (a dict)."""
    config, task, model, workdir = run.config, run.task, run.model, run.workdir
    best = _keep_best_weights(model, tracker)
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
        plotting.loss_curves(
            tracker.rows,
            os.path.join(workdir, "figures", "loss.png"),
            f"{config.task} / {config.model}",
            task.loss_label,
        )
    model = _evaluation_model(run)
    result = task.evaluate(
        model,
        lambda x: _predict(model, x, config.batch_size, run.replicas),
        run.data,
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
