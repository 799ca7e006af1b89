"""Bad settings are refused up front, from the command line and from a
resumed run's config.json alike: one line, exit 2, nothing written."""

import json
import os

import pytest

from zoo.config import TrainConfig
from zoo.distributed import memory
from zoo.errors import ZooError
from zoo.run_dir import check_out_dir, read_config
from zoo.train.__main__ import main
from zoo.train.traffic_task import TrafficTask


def run_main(argv, capsys):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    return code, err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--learning-rate", "inf"], "--learning-rate must be a finite number > 0"),
        (["--learning-rate", "nan"], "--learning-rate must be a finite number > 0"),
        (["--seed", "-1"], "--seed must be an integer in [0, 2**32)"),
        (
            ["--repetition-penalty", "inf", "chatbot"],
            "--repetition-penalty must be a finite",
        ),
        (["--dropout", "1", "chatbot"], "--dropout must be in [0, 1)"),
        (["--mmi-weight", "1.5", "chatbot"], "--mmi-weight must be in [0, 1)"),
        (["--mmi-steps", "-2", "chatbot"], "--mmi-steps must be >= 0"),
        (["--mmi-weight", "0.3", "traffic"], "--mmi-weight only apply to the chatbot"),
        (["--seed", str(2**70)], "--seed must be an integer in [0, 2**32)"),
        (["--corpus", "tsv"], "--corpus only apply to the chatbot task"),
        (
            ["--model", "lstm-attention", "--units", "70"],
            "--units 70 must be a multiple of 4",
        ),
        (
            ["--model", "transformer-linear", "--feature-dim", "0", "chatbot"],
            "--feature-dim must be an integer >= 1, got 0",
        ),
        (
            ["--model", "transformer", "--feature-dim", "8", "chatbot"],
            "--model transformer has none: use --model transformer-linear",
        ),
        (["--feature-dim", "8", "traffic"], "--feature-dim only apply to the chatbot"),
    ],
)
def test_command_line_ranges(argv, message, tmp_path, capsys):
    run = tmp_path / "run"
    task = [a for a in argv if a in ("traffic", "chatbot")] or ["traffic"]
    argv = [a for a in argv if a not in task]
    code, err = run_main([*task, *argv, "--out", str(run)], capsys)
    assert code == 2 and message in err and "\n" not in err
    assert not run.exists()


def write_run(folder, **changes):
    """A run directory whose config.json is a real one with `changes`."""
    folder.mkdir()
    data = TrainConfig(epochs=1, units=4).to_dict()
    data.update(changes)
    data.pop(data.pop("drop", None), None)  # a key left out
    (folder / "config.json").write_text(json.dumps(data))
    return folder


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"units": "abc"}, "--units must be an integer or unset (null), got 'abc'"),
        ({"batch_size": 0.5}, "--batch-size must be an integer or unset"),
        ({"epochs": True}, "--epochs must be an integer"),
        ({"learning_rate": 1e999}, "--learning-rate must be a finite number"),
        ({"split": [0.5, 0.5, 0.5]}, "--split must sum to 1"),
        ({"split": "abc"}, "--split must be a list"),
        ({"data": ["a.csv"]}, "--data must be a string"),
        ({"preset": "huge"}, "--preset: unknown 'huge'"),
        ({"distribute": "anywhere"}, "--distribute: unknown 'anywhere'; choose from"),
        ({"wings": 2}, "unknown settings ['wings']"),
        ({"units": None, "drop": "units"}, "missing settings ['units']"),
    ],
)
def test_resumed_config_is_checked_like_the_command_line(
    changes, message, tmp_path, capsys
):
    run = write_run(tmp_path / "run", **changes)
    before = sorted(os.listdir(run))
    code, err = run_main(["traffic", "--resume", "--out", str(run)], capsys)
    assert code == 2 and message in err and "\n" not in err, err
    assert err.startswith("zoo.train: error: --resume: ")
    assert sorted(os.listdir(run)) == before


def test_a_good_config_reads_back_equal(tmp_path):
    run = write_run(tmp_path / "run")
    assert read_config(str(run)) == TrainConfig(epochs=1, units=4)


def test_config_that_is_not_an_object_is_corrupt(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("[1, 2]")
    with pytest.raises(ZooError, match="corrupt"):
        read_config(str(run))


def test_out_dir_rules(tmp_path, monkeypatch):
    file = tmp_path / "file"
    file.write_text("x")
    with pytest.raises(ZooError, match="is a file"):
        check_out_dir(str(file), resume=False)
    other = tmp_path / "photos"
    other.mkdir()
    (other / "cat.jpg").write_text("x")
    with pytest.raises(ZooError, match="folder with other files"):
        check_out_dir(str(other), resume=False)
    check_out_dir(str(tmp_path / "new" / "run"), resume=False)
    empty = tmp_path / "empty"
    (empty / "figures").mkdir(parents=True)  # a run killed before config.json
    check_out_dir(str(empty), resume=False)
    finished = write_run(tmp_path / "done")
    (finished / "metrics.json").write_text("{}")
    with pytest.raises(ZooError, match="is finished"):
        check_out_dir(str(finished), resume=True)
    with pytest.raises(ZooError, match="already holds a run"):
        check_out_dir(str(finished), resume=False)
    # A read-only file system (root ignores permission bits, so it is faked).
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode: p != str(tmp_path) and real_access(p, mode)
    )
    with pytest.raises(ZooError, match="cannot write in"):
        check_out_dir(str(tmp_path / "new"), resume=False)


def test_cli_refuses_a_non_run_folder_and_a_finished_run(tmp_path, capsys):
    other = tmp_path / "photos"
    other.mkdir()
    (other / "cat.jpg").write_text("x")
    code, err = run_main(["traffic", "--out", str(other)], capsys)
    assert code == 2 and "folder with other files" in err
    assert os.listdir(other) == ["cat.jpg"]
    finished = write_run(tmp_path / "done")
    (finished / "metrics.json").write_text("{}")
    code, err = run_main(["traffic", "--resume", "--out", str(finished)], capsys)
    assert code == 2 and "is finished" in err
    assert sorted(os.listdir(finished)) == ["config.json", "metrics.json"]


def test_parameter_estimate_is_exact():
    """The quadratic through three small builds is the real count."""
    task = TrafficTask()
    config = TrainConfig(model="stacked-lstm", units=70).resolved()
    real = task.build_model(config, None).count_params()
    assert memory.estimate_parameters(task, config, None) == real


def test_units_too_large_for_memory_are_refused(tmp_path, capsys, monkeypatch):
    # 200,000 units: about 3.2e11 parameters (1.2 TB of weights).
    monkeypatch.setattr(memory, "available_memory", lambda: 24 * 2**30)
    run = tmp_path / "run"
    code, err = run_main(["traffic", "--units", "200000", "--out", str(run)], capsys)
    assert code == 2 and "pass a smaller --units" in err and "GiB" in err
    assert not run.exists()
    # The bound is the estimate: 1024 units (4.2e6 parameters, 67 MB to
    # train) fit in 24 GiB, not in 64 MiB.
    config = TrainConfig(units=1024).resolved()
    parameters = memory.estimate_parameters(TrafficTask(), config, None)
    # An LSTM over the 5 input features (4 gates), then Dense(horizon 3).
    assert parameters == 4 * 1024 * (1024 + 5 + 1) + 1024 * 3 + 3
    monkeypatch.setattr(memory, "estimate_parameters", lambda *args: parameters)
    memory.check_fits(TrafficTask(), config, None, available=24 * 2**30)
    memory.check_fits(TrafficTask(), config, None, available=parameters * 16)
    with pytest.raises(ZooError, match="--units 1024"):
        memory.check_fits(TrafficTask(), config, None, available=parameters * 16 - 1)


def test_unknown_keras_backend_is_one_line(tmp_path):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "zoo.train", "traffic", "--out", str(tmp_path / "r")],
        env=dict(os.environ, KERAS_BACKEND="foo"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().startswith("zoo.train: error: KERAS_BACKEND='foo'")
    assert "\n" not in done.stderr.strip() and not (tmp_path / "r").exists()


def test_leftover_temporary_files_are_removed(tmp_path):
    from zoo.io import atomic_path
    from zoo.run_dir import remove_leftovers

    class Killed(BaseException):
        pass

    real_unlink = os.unlink
    try:
        os.unlink = lambda path: None  # a killed process cleans nothing up
        with atomic_path(tmp_path / "history.csv") as tmp:
            open(tmp, "w").write("epoch,loss\n0,")
            raise Killed
    except Killed:
        pass
    finally:
        os.unlink = real_unlink
    assert [n for n in os.listdir(tmp_path) if n.startswith(".tmp-")]
    (tmp_path / "config.json").write_text("{}")
    assert len(remove_leftovers(str(tmp_path))) == 1
    assert sorted(os.listdir(tmp_path)) == ["config.json"]


def test_resume_needs_the_runs_own_task(tmp_path, capsys):
    run = write_run(tmp_path / "run")  # a traffic run
    for argv, message in (
        (["chatbot", "--resume", "--out", str(run)], "is a traffic run"),
        (["--resume", "--out", str(run)], "pass its TASK"),
    ):
        code, err = run_main(argv, capsys)
        assert code == 2 and message in err, err
    assert sorted(os.listdir(run)) == ["config.json"]


def test_chatbot_options_on_traffic_and_back_are_refused(tmp_path, capsys):
    code, err = run_main(
        ["chatbot", "--lookback", "3", "--out", str(tmp_path / "r")], capsys
    )
    assert code == 2 and "--lookback only apply to the traffic task" in err
    assert not (tmp_path / "r").exists()


def test_a_folder_that_cannot_be_made_is_one_line(tmp_path, capsys, monkeypatch):
    def refuse(*args, **kwargs):
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(os, "makedirs", refuse)  # as under /proc, even for root
    code, err = run_main(["traffic", "--epochs", "1", "--units", "4",
                          "--series", "448838574", "--out", str(tmp_path / "r")],
                         capsys)  # fmt: skip
    assert code == 2 and "cannot write the run" in err and "\n" not in err


def test_backend_flag_typo_is_one_line():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "zoo.train", "traffic", "--backend", "foo"],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"},
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "zoo.train: error: --backend: unknown 'foo'; choose from jax, torch, tensorflow"
    )


def test_a_resume_that_runs_no_epoch_keeps_the_files_history(tmp_path):
    """A config.json edited to fewer epochs than the checkpoint: fit runs no
    epoch, and the kept epoch still comes from history.csv (was: min() of an
    empty sequence after files were rewritten)."""
    from zoo.train.callbacks import HistoryTracker

    (tmp_path / "history.csv").write_text("epoch,loss,val_loss\n0,2.0,1.5\n1,1.0,1.2\n")
    tracker = HistoryTracker(str(tmp_path), patience=3)
    tracker.on_train_end()
    assert tracker.best_index() == 1 and len(tracker.rows) == 2


def test_the_quick_transformer_has_its_own_epochs_and_learning_rate():
    from zoo.config import TrainConfig

    def quick(model, **given):
        config = TrainConfig(task="chatbot", model=model, preset="quick", **given)
        return config.resolved()

    assert (quick("lstm").epochs, quick("lstm").learning_rate) == (6, 5e-3)
    transformer = quick("transformer")
    assert (transformer.epochs, transformer.learning_rate) == (5, 1e-3)
    assert quick("transformer-linear").learning_rate == 5e-3
    # The linear transformer's feature map input: the presets' choice, which
    # the benchmarks use too; no other model gets one.
    from zoo.models.seq2seq.transformer_seq2seq import LINEAR_FEATURE_DIM

    for preset in ("quick", "full"):
        config = TrainConfig(task="chatbot", model="transformer-linear", preset=preset)
        assert config.resolved().feature_dim == LINEAR_FEATURE_DIM
    assert quick("transformer").feature_dim is None
    assert quick("transformer-linear", feature_dim=4).feature_dim == 4
    # What the command line sets wins over the model's preset.
    given = quick("transformer", learning_rate=2e-3, epochs=2)
    assert (given.epochs, given.learning_rate) == (2, 2e-3)
