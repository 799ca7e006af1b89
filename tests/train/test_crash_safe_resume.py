"""Crash-safe `--resume`: a run killed anywhere ends like an uninterrupted one.

Deaths are simulated in the process: `Died` (a BaseException, so no
`except Exception` stops it) is raised at a chosen write; a death inside a
weights write first tears the file to half its bytes; and while "dead" the
process removes no file (`os.unlink` does nothing), as after `kill -9`.
Damage from outside (torn or flipped bytes) is made on disk between runs, and
a real SIGTERM goes to a `python -m zoo.train` subprocess. Every resumed run
must match an uninterrupted reference run: metrics.json (all but the timing)
and history.csv to 1e-6.

What depends on the backend (saving, loading and undoing weights, a resumed
run's numbers, signals) runs on every backend. The further cases exercise the
same backend calls and run on one backend each, to keep the matrix small:
more places to die on torch, more kinds of damage on tensorflow, the random
deaths on JAX.

The fault hooks name only what today's and older engines share (SetEpoch,
HistoryTracker._write, Model.save_weights, os.replace), so the same tests
show what an engine without crash-safe checkpoints gets wrong.
"""

import csv
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import h5py
import keras
import numpy as np
import pytest

from zoo import plotting
from zoo.config import TrainConfig
from zoo.train import callbacks
from zoo.train.__main__ import main
from zoo.train.engine import train_and_evaluate

BACKEND = keras.backend.backend()
FLAGS = ["--epochs", "4", "--series", "448838574", "--units", "4"]
FLAGS += ["--batch-size", "64", "--patience", "50"]
CONFIG = TrainConfig(
    task="traffic", epochs=4, series="448838574", units=4, batch_size=64, patience=50
)
TOLERANCE = 1e-6
# Deaths at seeded random points, one resumed run after another. Seed 11's
# five: after epoch 2's row, as epoch 3 starts, after a best-weights write,
# before model.keras is renamed into place (fit is over), after a rename of
# history.csv. (An engine writing checkpoints in place gets it wrong.)
RANDOM_SEED, RANDOM_KILLS = 11, 5


@pytest.fixture(scope="module", autouse=True)
def fast_runs():
    """No figures (not under test); the runs share the session's JAX cache
    (tests/conftest.py), subprocesses included."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(plotting, "loss_curves", lambda *args, **kwargs: None)
        patch.setattr(plotting, "forecast_vs_actual", lambda *args, **kwargs: None)
        yield


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run of CONFIG."""
    run = tmp_path_factory.mktemp("reference") / "run"
    train_and_evaluate(CONFIG, str(run), verbose=0)
    return run


def read_history(run):
    with open(run / "history.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def read_metrics(run):
    metrics = json.loads((run / "metrics.json").read_text())
    metrics.pop("train_seconds_this_process")
    return metrics


def assert_close(got, want, where="metrics"):
    """Equal structures; numbers equal to TOLERANCE (relative and absolute)."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and sorted(got) == sorted(want), where
        for key in want:
            assert_close(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), where
        for i, (a, b) in enumerate(zip(got, want, strict=True)):
            assert_close(a, b, f"{where}[{i}]")
    elif isinstance(want, (int, float)) and not isinstance(want, bool):
        assert got == pytest.approx(want, rel=TOLERANCE, abs=TOLERANCE), where
    else:
        assert got == want, where


def assert_same_run(run, reference):
    """metrics.json and history.csv of `run` match the reference run's."""
    assert_close(read_metrics(run), read_metrics(reference))
    got, want = read_history(run), read_history(reference)
    assert [r["epoch"] for r in got] == [r["epoch"] for r in want]
    for a, b in zip(got, want, strict=True):
        numbers = {k: float(v) for k, v in a.items()}
        assert_close(numbers, {k: float(v) for k, v in b.items()}, "history")


def read_every_array(path):
    """Reads every dataset of an .h5 file (a torn one raises OSError)."""

    def read(name, item):
        if isinstance(item, h5py.Dataset):
            item[()]

    with h5py.File(path, "r") as h5:
        h5.visititems(read)


class Died(BaseException):
    """The simulated death of the training process."""


class Killer:
    """Dies at a chosen event of a run, as `kill -9` would there.

    Events (counted from the start of `fit`, so the run directory exists):
    "epoch": an epoch starts (`SetEpoch`); "row": history.csv just got an
    epoch's row; "best" / "backup": `Model.save_weights` into the run folder
    or the backup folder, dying halfway ("torn": the file keeps half its
    bytes) or just after ("after"); "rename": `os.replace`, dying "before" or
    "after" it. Dead, the process removes no file.

    Args:
        monkeypatch: pytest's fixture; the hooks stay for the test.
    """

    HOW = {
        "epoch": ["before"],
        "row": ["after"],
        "best": ["torn", "after"],
        "backup": ["torn", "after"],
        "rename": ["before", "after"],
    }

    def __init__(self, monkeypatch):
        self.kind, self.at, self.how, self.rng = None, 0, None, None
        self.armed = self.dead = False
        self.seen = 0
        unlink, replace = os.unlink, os.replace
        fit, save_weights = keras.Model.fit, keras.Model.save_weights
        begin, write = (
            callbacks.SetEpoch.on_epoch_begin,
            callbacks.HistoryTracker._write,
        )

        def hooked_fit(model, *args, **kwargs):
            self.armed = True
            return fit(model, *args, **kwargs)

        def hooked_unlink(path, *args, **kwargs):
            if not self.dead:
                unlink(path, *args, **kwargs)

        def hooked_replace(source, target, *args, **kwargs):
            how = self._due("rename")
            if how == "before":
                self._die("rename", how, target)
            replace(source, target, *args, **kwargs)
            if how == "after":
                self._die("rename", how, target)

        def hooked_save_weights(model, filepath, *args, **kwargs):
            folder = os.path.basename(os.path.dirname(os.path.abspath(filepath)))
            kind = "backup" if folder == "backup" else "best"
            how = self._due(kind)
            save_weights(model, filepath, *args, **kwargs)
            if how == "torn":
                os.truncate(filepath, os.path.getsize(filepath) // 2)
            if how:
                self._die(kind, how, filepath)

        def hooked_begin(callback, epoch, logs=None):
            if self._due("epoch"):
                self._die("epoch", "before", epoch)
            begin(callback, epoch, logs)

        def hooked_write(tracker):
            write(tracker)
            if self._due("row"):
                self._die("row", "after", len(tracker.rows))

        monkeypatch.setattr(keras.Model, "fit", hooked_fit)
        monkeypatch.setattr(keras.Model, "save_weights", hooked_save_weights)
        monkeypatch.setattr(os, "unlink", hooked_unlink)
        monkeypatch.setattr(os, "remove", hooked_unlink)
        monkeypatch.setattr(os, "replace", hooked_replace)
        monkeypatch.setattr(callbacks.SetEpoch, "on_epoch_begin", hooked_begin)
        monkeypatch.setattr(callbacks.HistoryTracker, "_write", hooked_write)

    def plan(self, kind, at, how=None, rng=None):
        """Dies at the `at`-th event of `kind` ("any": of every kind).

        Args:
            kind: str, a key of HOW or "any".
            at: int >= 1.
            how: str, one of HOW[kind]; None: drawn with `rng` at the event.
            rng: random.Random.
        """
        self.kind, self.at, self.how, self.rng = kind, at, how, rng
        self.armed = self.dead = False
        self.seen = 0

    def _due(self, kind):
        if not self.armed or self.kind not in (kind, "any"):
            return None
        self.seen += 1
        if self.seen != self.at:
            return None
        return self.how or self.rng.choice(self.HOW[kind])

    def _die(self, kind, how, where):
        self.dead = True
        raise Died(f"{kind} #{self.seen} {how}: {where}")


def run_until(run, killer=None, config=CONFIG):
    """One process's worth of training; returns (Died or None, run warnings)."""
    resume = (run / "config.json").exists()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            train_and_evaluate(config, str(run), resume=resume, verbose=0)
            death = None
        except Died as error:
            death = error
    if killer is not None:
        killer.dead = killer.armed = False
    # This run's own warnings name its folder.
    return death, [str(w.message) for w in caught if str(run) in str(w.message)]


@pytest.mark.parametrize(
    "kind, at, how",
    [
        ("backup", 2, "torn"),  # halfway through epoch 2's backup
        # Epoch 2's row written, its best weights and backup not.
        pytest.param("row", 2, "after", marks=pytest.mark.torch_only),
        # Epoch 2's backup weights written, its record not.
        pytest.param("backup", 2, "after", marks=pytest.mark.torch_only),
        # Halfway through the best weights of epoch 3.
        pytest.param("best", 3, "torn", marks=pytest.mark.torch_only),
    ],
)
def test_a_death_at_a_write_resumes_to_the_same_run(
    tmp_path, monkeypatch, reference, kind, at, how
):
    run = tmp_path / "run"
    killer = Killer(monkeypatch)
    killer.plan(kind, at, how)
    death, _ = run_until(run, killer)
    assert death is not None, "the run never reached the planned death"
    # There is always an intact best checkpoint (the previous one here).
    read_every_array(run / "best.weights.h5")
    death, messages = run_until(run)
    assert death is None and messages == []
    assert_same_run(run, reference)
    assert not (run / "backup").exists()


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory, reference):
    """A run that died as epoch 4 began: epochs 1-3 done and backed up."""
    run = tmp_path_factory.mktemp("interrupted") / "run"
    with pytest.MonkeyPatch.context() as patch:
        killer = Killer(patch)
        killer.plan("epoch", 4, "before")
        death, _ = run_until(run, killer)
    assert death is not None
    assert len(read_history(run)) == 3
    return run


def newest(run, pattern, exclude="best"):
    """The backup file matching `pattern` with the highest name (epoch)."""
    names = sorted(p for p in (run / "backup").glob(pattern) if exclude not in p.name)
    return names[-1]


def tear(path):
    os.truncate(path, path.stat().st_size // 2)


def flip_bytes(path):
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 16] = bytes(b ^ 0xFF for b in data[middle : middle + 16])
    path.write_bytes(bytes(data))


DAMAGE = {
    "torn latest weights": lambda run: tear(newest(run, "*.weights.h5")),
    "torn latest record": lambda run: tear(newest(run, "*.json")),
    "flipped bytes in the latest weights": lambda run: flip_bytes(
        newest(run, "*.weights.h5")
    ),
    "every checkpoint torn": lambda run: [
        tear(p) for p in (run / "backup").glob("*.h5")
    ],
}


@pytest.mark.parametrize(
    "damage",
    [
        "torn latest weights",
        "every checkpoint torn",
        pytest.param("torn latest record", marks=pytest.mark.tensorflow_only),
        pytest.param(
            "flipped bytes in the latest weights", marks=pytest.mark.tensorflow_only
        ),
    ],
)
def test_a_damaged_checkpoint_falls_back_with_one_warning(
    tmp_path, interrupted, reference, damage
):
    run = tmp_path / "run"
    shutil.copytree(interrupted, run)
    DAMAGE[damage](run)
    death, messages = run_until(run)
    assert death is None
    assert len(messages) == 1, messages
    if damage == "every checkpoint torn":
        assert "no intact checkpoint" in messages[0]
    else:
        assert "resuming from the checkpoint of epoch 2" in messages[0]
    assert_same_run(run, reference)


def test_torn_best_weights_at_the_end_keep_the_last_weights(
    tmp_path, monkeypatch, reference
):
    # The reference's best epoch is its last: then the last weights are the
    # best ones and the metrics must not change.
    assert read_metrics(reference)["best_epoch"] == CONFIG.epochs
    end = callbacks.HistoryTracker.on_epoch_end

    def tear_best_at_the_end(tracker, epoch, logs=None):
        end(tracker, epoch, logs)
        if epoch == CONFIG.epochs - 1:
            tear(tmp_path / "run" / "best.weights.h5")

    monkeypatch.setattr(callbacks.HistoryTracker, "on_epoch_end", tear_best_at_the_end)
    handler = signal.getsignal(signal.SIGTERM)
    death, messages = run_until(tmp_path / "run")
    assert death is None
    assert len(messages) == 1 and "does not load" in messages[0], messages
    assert_same_run(tmp_path / "run", reference)
    # The SIGTERM handler of the run is gone again.
    assert signal.getsignal(signal.SIGTERM) is handler


@pytest.mark.jax_only
def test_random_deaths_resume_to_the_same_run(tmp_path, monkeypatch, reference):
    rng = random.Random(RANDOM_SEED)
    run = tmp_path / "run"
    killer = Killer(monkeypatch)
    deaths = []
    for _ in range(RANDOM_KILLS):
        # About 45 events in a whole run, fewer in a resumed one.
        killer.plan("any", rng.randint(1, 30), rng=rng)
        death, _ = run_until(run, killer)
        if death is None or (run / "metrics.json").exists():
            break
        deaths.append(str(death))
    if not (run / "metrics.json").exists():
        assert run_until(run)[0] is None
    assert_same_run(run, reference)
    assert len(deaths) >= 4, deaths  # the seed's points do fall inside runs


PAUSE_IN_SECOND_EPOCH = textwrap.dedent(
    """
    import runpy, sys, time
    from zoo.train import callbacks

    begin = callbacks.SetEpoch.on_epoch_begin

    def on_epoch_begin(self, epoch, logs=None):
        begin(self, epoch, logs)
        if epoch == 1:  # epoch 1 is written and backed up: wait for SIGTERM
            time.sleep(300)

    callbacks.SetEpoch.on_epoch_begin = on_epoch_begin
    sys.argv[0] = "zoo.train"
    runpy.run_module("zoo.train", run_name="__main__", alter_sys=True)
    """
)


def test_sigterm_stops_like_ctrl_c_and_resume_finishes(tmp_path, reference):
    run = tmp_path / "run"
    env = dict(os.environ, KERAS_BACKEND=BACKEND, TF_CPP_MIN_LOG_LEVEL="3")
    # `python -m zoo.train`, paused in epoch 2 so the signal's moment is known.
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            PAUSE_IN_SECOND_EPOCH,
            "traffic",
            *FLAGS,
            "--out",
            str(run),
        ],  # fmt: skip
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not (run / "history.csv").exists():
            assert process.poll() is None, process.communicate()[1][-2000:]
            assert time.monotonic() < deadline, "no epoch in 300 s"
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, err[-2000:]
    # One line and no traceback (libraries may log lines of their own).
    message = "zoo.train: interrupted; continue with --resume --out RUN_DIR"
    assert err.splitlines()[-1:] == [message] and "Traceback" not in err, err
    assert len(read_history(run)) == 1 and not (run / "metrics.json").exists()
    assert main(["traffic", "--resume", "--out", str(run)]) == 0
    assert_same_run(run, reference)


def tiny_model(units):
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(3, name="first"),
            keras.layers.Dense(units, name="second"),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    model.optimizer.build(model.trainable_variables)
    return model


def test_the_record_commits_a_checkpoint_and_two_stay(tmp_path):
    from zoo.train.checkpoints import CrashSafeBackup

    history, best = tmp_path / "history.csv", tmp_path / "best.weights.h5"
    folder = tmp_path / "backup"

    def backup(model):
        callback = CrashSafeBackup(str(folder), snapshots=[str(history), str(best)])
        callback.set_model(model)
        return callback

    model = tiny_model(2)
    saver = backup(model)
    for epoch in (1, 2, 3):
        history.write_text(f"rows of {epoch} epochs\n")
        saver.save(epoch)
    kept = ["history.csv", "json", "weights.h5"]
    assert sorted(os.listdir(folder)) == [
        f"ckpt-{e:06d}.{suffix}" for e in (2, 3) for suffix in kept
    ]
    # A death before the record: weights without one, a temporary file.
    shutil.copy(folder / "ckpt-000003.weights.h5", folder / "ckpt-000004.weights.h5")
    (folder / ".tmp-abc.h5").write_bytes(b"half")
    history.write_text("rows of 4 epochs\n")
    best.write_bytes(b"written after the checkpoint")

    fresh = tiny_model(2)
    restorer = backup(fresh)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        restorer.on_train_begin()
    assert not [w for w in caught if str(folder) in str(w.message)]
    assert fresh._initial_epoch == 3
    for a, b in zip(fresh.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    # The snapshots are put back; a file absent at the checkpoint goes.
    assert history.read_text() == "rows of 3 epochs\n" and not best.exists()
    restorer.save(4)
    assert sorted(os.listdir(folder)) == [
        f"ckpt-{e:06d}.{suffix}" for e in (3, 4) for suffix in kept
    ]


def test_weights_of_another_model_are_passed_over_and_undone(tmp_path):
    from zoo.train.checkpoints import CrashSafeBackup

    saver = CrashSafeBackup(str(tmp_path / "backup"))
    saver.set_model(tiny_model(2))
    saver.save(1)
    other = tiny_model(5)  # "first" matches, "second" does not
    before = [keras.ops.convert_to_numpy(v.value) for v in other.weights]
    restorer = CrashSafeBackup(str(tmp_path / "backup"))
    restorer.set_model(other)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        restorer.on_train_begin()
    messages = [str(w.message) for w in caught if "backup" in str(w.message)]
    assert len(messages) == 1, messages
    assert "does not load into the model" in messages[0]
    assert "starts again from epoch 1" in messages[0]
    assert other._initial_epoch is None
    for variable, value in zip(other.weights, before, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(variable.value), value)
    assert int(keras.ops.convert_to_numpy(other.optimizer.iterations)) == 0
