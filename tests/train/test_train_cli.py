"""`python -m zoo.train traffic`: run directory, resume after kill -9, NaN stop,
cross-backend loading, data-parallel, and bad input."""

import csv
import json
import os
import re
import signal
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from zoo.saving import load_model
from zoo.train.__main__ import main

BACKEND = keras.backend.backend()
# Tiny but real: one road segment of the embedded data, 4 units, few epochs.
FAST = [
    "--series",
    "448838574",
    "--units",
    "4",
    "--batch-size",
    "64",
    "--patience",
    "50",
]


def read_history(run):
    with open(run / "history.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def subprocess_env(backend, **extra):
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    env.update(extra)
    return env


def test_run_directory_has_everything(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["traffic", "--epochs", "2", *FAST, "--out", str(run)]) == 0
    for name in (
        "config.json",
        "history.csv",
        "metrics.json",
        "model.keras",
        "scaler.json",
    ):
        assert (run / name).is_file(), name
    assert (run / "figures" / "loss.png").stat().st_size > 0
    assert (run / "figures" / "forecast.png").stat().st_size > 0
    assert not (run / "backup").exists()
    config = json.loads((run / "config.json").read_text())
    assert config["seed"] == 0 and config["environment"]["backend"] == BACKEND
    assert "keras" in config["environment"]["versions"]
    assert [int(r["epoch"]) for r in read_history(run)] == [0, 1]
    metrics = json.loads((run / "metrics.json").read_text())
    results = metrics["results"]
    assert set(results) == {
        "lstm",
        "persistence",
        "seasonal-naive",
        "historical-average",
    }
    assert len(results["lstm"]["mae_per_step"]) == 3
    assert set(metrics["val_results"]) == set(results)
    assert len(results["lstm"]["mae_per_step_common"]) == 3
    assert metrics["optimizer"]["name"] == "Adam"
    model = load_model(run / "model.keras")
    assert model.output_shape == (None, 3)
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("zoo.train: backend " + BACKEND)
    assert "persistence MAE" in out


KILL_AFTER_SECOND_EPOCH = textwrap.dedent(
    """
    import os, signal, sys
    import keras
    original = keras.callbacks.BackupAndRestore.on_epoch_end

    def on_epoch_end(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch == 1:  # the backup of epoch 2 is on disk: die like kill -9
            os.kill(os.getpid(), signal.SIGKILL)

    keras.callbacks.BackupAndRestore.on_epoch_end = on_epoch_end
    from zoo.train.__main__ import main
    sys.exit(main(sys.argv[1:]))
    """
)


def test_resume_after_kill_matches_an_uninterrupted_run(tmp_path):
    args = ["traffic", "--epochs", "4", *FAST]
    killed = tmp_path / "killed"
    process = subprocess.run(
        [sys.executable, "-c", KILL_AFTER_SECOND_EPOCH, *args, "--out", str(killed)],
        env=subprocess_env(BACKEND),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert process.returncode == -signal.SIGKILL, process.stderr[-2000:]
    assert (killed / "backup").is_dir() and not (killed / "metrics.json").exists()
    assert len(read_history(killed)) == 2

    assert main(["traffic", "--resume", "--out", str(killed)]) == 0
    straight = tmp_path / "straight"
    assert main([*args, "--out", str(straight)]) == 0
    resumed_rows, straight_rows = read_history(killed), read_history(straight)
    assert [r["epoch"] for r in resumed_rows] == ["0", "1", "2", "3"]
    # Same seed, same per-epoch batch order, restored optimizer state: the
    # runs agree to float32 rounding (tolerance 1e-4 relative).
    for a, b in zip(resumed_rows, straight_rows, strict=True):
        np.testing.assert_allclose(
            float(a["val_loss"]), float(b["val_loss"]), rtol=1e-4
        )
    resumed = json.loads((killed / "metrics.json").read_text())["results"]["lstm"]
    direct = json.loads((straight / "metrics.json").read_text())["results"]["lstm"]
    np.testing.assert_allclose(resumed["mae"], direct["mae"], rtol=1e-4)


def test_nan_loss_stops_with_a_message_and_keeps_a_checkpoint(tmp_path, capsys):
    run = tmp_path / "run"
    code = main(
        [
            "traffic",
            "--epochs",
            "3",
            *FAST,
            "--learning-rate",
            "1e30",
            "--out",
            str(run),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "training diverged" in err and "\n" not in err
    assert (run / "model.keras").is_file()
    load_model(run / "model.keras")
    # Written at preparation: the diverged run's forecasts can still be
    # turned back into seconds.
    assert (run / "scaler.json").is_file()


# Across the matrix every backend writes a run and every backend loads one:
# jax -> torch -> tensorflow -> jax.
NEXT_BACKEND = {"jax": "torch", "torch": "tensorflow", "tensorflow": "jax"}


def test_a_run_loads_and_predicts_the_same_under_another_backend(tmp_path):
    other = NEXT_BACKEND[BACKEND]
    run = tmp_path / "run"
    assert main(["traffic", "--epochs", "1", *FAST, "--out", str(run)]) == 0
    model = load_model(run / "model.keras")
    inputs = np.random.default_rng(0).normal(size=(16, 6, 5)).astype("float32")
    np.save(tmp_path / "inputs.npy", inputs)
    expected = keras.ops.convert_to_numpy(model(inputs))
    script = textwrap.dedent(
        f"""
        import keras, numpy as np
        from zoo.saving import load_model
        model = load_model({str(run / "model.keras")!r})
        x = np.load({str(tmp_path / "inputs.npy")!r})
        np.save({str(tmp_path / "other.npy")!r}, keras.ops.convert_to_numpy(model(x)))
        """
    )
    subprocess.run(
        [sys.executable, "-c", script],
        env=subprocess_env(other),
        check=True,
        timeout=300,
    )
    np.testing.assert_allclose(np.load(tmp_path / "other.npy"), expected, atol=1e-4)


# Data parallelism over two JAX devices against one, and two processes
# against one: tests/train/test_scale_out.py.


@pytest.mark.jax_only
def test_data_parallel_batch_larger_than_the_data_writes_nothing(tmp_path):
    # A subprocess: set_distribution is global to the process.
    run = tmp_path / "run"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "zoo.train",
            "traffic",
            "--series",
            "448838574",
            "--batch-size",
            "4096",
            "--distribute",
            "data-parallel",
            "--out",
            str(run),
        ],
        env=subprocess_env("jax"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2
    assert "exceeds the" in done.stderr and "Traceback" not in done.stderr
    assert not run.exists()


@pytest.mark.skipif(BACKEND == "jax", reason="test_scale_out.py: over 2 devices")
def test_data_parallel_in_one_process_trains_and_writes_the_run(tmp_path, capsys):
    # TensorFlow: MirroredStrategy; torch: DistributedDataParallel in a
    # group of one (two processes: tests/train/test_scale_out.py).
    run, plain = tmp_path / "run", tmp_path / "plain"
    # 172 training windows in 4 full batches of 43, 25 validation windows in
    # one: the split batches drop nothing, so both runs see the same data.
    argv = ["traffic", "--epochs", "2", *FAST, "--batch-size", "43"]
    assert main([*argv, "--distribute", "data-parallel", "--out", str(run)]) == 0
    assert [int(r["epoch"]) for r in read_history(run)] == [0, 1]
    assert all(np.isfinite(float(r["loss"])) for r in read_history(run))
    if BACKEND == "torch":  # DDP over one process is the plain training step
        assert main([*argv, "--out", str(plain)]) == 0
        for row, plain_row in zip(read_history(run), read_history(plain), strict=True):
            for column in ("loss", "val_loss"):
                np.testing.assert_allclose(
                    float(row[column]), float(plain_row[column]), rtol=1e-5
                )
    config = json.loads((run / "config.json").read_text())
    assert config["distribute"] == "data-parallel"
    assert config["environment"]["processes"] == 1
    assert (run / "metrics.json").is_file() and (run / "model.keras").is_file()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["traffic", "--data", "missing.csv"], "no such file"),
        (["traffic", "--model", "xgboost"], "unknown traffic model"),
        (["traffic", "--lookback", "12", "--horizon", "4"], "longest gap-free run"),
        (["traffic", "--epochs", "0"], "--epochs must be an integer >= 1"),
        (["traffic", "--resume"], "--resume needs --out"),
        (["traffic", "--resume", "--out", "nowhere"], "no run in 'nowhere'"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    argv, message, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
    assert not (tmp_path / "runs").exists()


def test_resume_rejects_corrupt_runs_and_changed_settings(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{not json")
    assert main(["traffic", "--resume", "--out", str(run)]) == 2
    assert "corrupt" in capsys.readouterr().err
    assert main(["traffic", "--resume", "--model", "gru", "--out", str(run)]) == 2
    assert "drop ['--model']" in capsys.readouterr().err


def test_default_suite_prints_a_table(tmp_path, capsys, monkeypatch):
    from zoo import config as config_module
    from zoo.train.tasks import TASKS

    monkeypatch.setattr(TASKS["traffic"], "default_suite", ("gru",))
    monkeypatch.setattr(TASKS["chatbot"], "default_suite", ("lstm",))
    tiny = {"epochs": 1, "units": 4, "patience": 5, "batch_size": 64}
    monkeypatch.setitem(config_module.PRESETS, "quick", tiny)
    tiny_chat = {**tiny, "max_train_pairs": 256}  # of the embedded chitchat
    monkeypatch.setitem(config_module.TASK_PRESETS["chatbot"], "quick", tiny_chat)
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("do you have any pets?\nthanks for the chat!\n")
    argv = ["--out", str(tmp_path / "suite"), "--prompts", str(prompts)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "persistence MAE" in out and "gru" in out and "lstm" in out
    # The chatbot's table: the model, the baselines, the sheet's rows.
    assert "train DL" in out and "retrieval" in out and "sheet LSTM" in out
    # The suite passed --prompts on to the chatbot.
    assert "Everyday prompts" in out and "distinct replies of 2" in out
    assert "> thanks for the chat!" in out and "> hi!" not in out
    # The relevance table: the model and both baselines on the rubric.
    assert "distinct-2" in out and re.search(r"retrieval .* \d+/48", out), out
    assert (tmp_path / "suite" / "results.csv").is_file()


@pytest.mark.parametrize("argv", [["--epochs", "3"], ["--model", "gru"],
                                  ["--num-layers", "3"]])  # fmt: skip
def test_the_default_suite_refuses_what_it_cannot_pass_on(argv, capsys, monkeypatch):
    from zoo.train import __main__ as cli

    def no_suite(args):  # a missed refusal fails at once, not after minutes
        raise AssertionError("the suite ran")

    monkeypatch.setattr(cli, "run_suite", no_suite)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert f"{argv[0]}: the default suite (no TASK)" in err
    assert "takes only --seed, --prompts and --out" in err and "\n" == err[-1]
