"""Sheet B3 from a run folder written here (no training): it passes, each
claim of its derivation fails its check when wrong, and old runs degrade."""

import csv
import json
import re
import types

import numpy as np
import pytest

from solutions.__main__ import main
from solutions.core.render import render
from solutions.core.runs import find_runs
from solutions.sheet_b import b3_traffic as traffic
from zoo.config import TrainConfig
from zoo.train.traffic_task import TrafficTask

META = {"backend_line": "backend jax | test", "summary": "test"}
# Training loss falls every epoch; validation loss is lowest at epoch 2.
HISTORY = [(0, 0.9, 0.50), (1, 0.7, 0.40), (2, 0.6, 0.45), (3, 0.5, 0.47)]


def write_run(folder, model, predict_scale):
    """A traffic run folder whose metrics come from the task's own evaluate,
    with a forecaster that scales persistence in standardized units."""
    config = TrainConfig(model=model, preset="quick", units=8).resolved()
    task = TrafficTask()
    data = task.prepare(config)
    (folder / "figures").mkdir(parents=True)
    # evaluate reads only the optimizer's class name and learning rate.
    adam = type("Adam", (), {"learning_rate": np.float32(0.003)})()

    def predict(inputs):
        return np.repeat(inputs[:, -1:, 0], config.horizon, axis=1) * predict_scale

    model = types.SimpleNamespace(optimizer=adam)
    metrics = task.evaluate(model, predict, data, config, str(folder))
    metrics.update(task="traffic", epochs_run=len(HISTORY), best_epoch=2)
    (folder / "config.json").write_text(json.dumps(config.to_dict()))
    (folder / "metrics.json").write_text(json.dumps(metrics))
    with open(folder / "history.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["epoch", "loss", "val_loss"])
        writer.writerows(HISTORY)


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    write_run(root / "suite" / "traffic-lstm", "lstm", 0.9)
    write_run(root / "suite" / "traffic-gru", "gru", 0.8)
    return root


@pytest.fixture
def runs(runs_dir):
    found, problems = find_runs(str(runs_dir), "traffic")
    assert sorted(found) == ["gru", "lstm"] and not problems
    return found


def rendered(section):
    return render([section], META, "md"), render([section], META, "tex")


def test_b3_passes_and_states_its_findings(runs, tmp_path):
    section = traffic.b3(str(tmp_path), runs, [])
    assert section.passed, [c for c in section.checks if not c.passed]
    assert len(section.checks) == 7
    md, tex = rendered(section)
    assert "FAILED" not in md and "FAILED" not in tex
    assert "Chosen on the validation split" in md and "Oregon" in md
    assert "Adam, learning rate 0.003" in md and "FusedLSTM" in md
    assert "(14–17 h)" in md
    assert "| 19     | 3 " in md  # 19:00 is reached by step 3 only
    # The per-hour MAEs with two decimals each (not 2.86 beside 3.032).
    hours = md.split("by hour of the target")[1].split("\n\n")[1]
    cells = [c.strip() for row in hours.splitlines()[2:] for c in row.split("|")[3:-1]]
    assert cells and all(re.fullmatch(r"\d+\.\d\d", c) for c in cells), cells
    assert "reference only" in md and "Missing" not in md


def test_b3_choice_uses_validation_not_test(runs, tmp_path):
    lstm = runs["lstm"]["metrics"]
    # Make lstm best on test but worst on validation: gru must be chosen.
    lstm["results"]["lstm"]["mae"] = 0.01
    lstm["val_results"]["lstm"]["mae"] = 99.0
    section = traffic.b3(str(tmp_path), runs, [])
    result = " ".join(block.text for block in section.result)
    assert "**gru** among the networks" in result
    assert "The plain `lstm` (the sheet's model) scores 0.010 s" in result


def wrong_target_hours(step, lookback, horizon, hours=traffic.READING_HOURS):
    return hours[0] + lookback + step, hours[1] - horizon + step  # one hour off


CLAIMS = [
    ("READING_HOURS", (7, 19), "readings of the embedded data"),
    ("target_hours", wrong_target_hours, "hours of the test targets"),
    ("common_hours", lambda lookback, horizon: (13, 17), "common to all steps"),
    ("HORIZON_FREE", ("persistence",), "spread over the steps"),
    ("lstm_parameters", lambda f, u, h: 4 * u * (f + u) + h * (u + 1), "parameters"),
    ("pooled_mae", lambda per_hour, counts: np.mean(list(per_hour.values())),
     "pooled from the hours"),
    ("KEPT_EPOCH", ("loss", min), "kept epoch"),
]  # fmt: skip


@pytest.mark.parametrize("claim", CLAIMS, ids=[c[0] for c in CLAIMS])
def test_a_wrong_claim_fails_its_check(runs, tmp_path, monkeypatch, claim):
    name, wrong, quantity = claim
    monkeypatch.setattr(traffic, name, wrong)
    section = traffic.b3(str(tmp_path), runs, [])
    assert not section.passed
    failed = [c.quantity for c in section.checks if not c.passed]
    assert any(quantity in q for q in failed), failed
    md, tex = rendered(section)
    assert "**FAILED**" in md and "\\textbf{FAILED}" in tex


def strip_new_fields(metrics):
    """metrics.json as written before the validation and per-hour fields."""
    for key in ("val_results", "hour_counts", "common_hours", "optimizer", "loss"):
        metrics.pop(key)
    for result in metrics["results"].values():
        for key in ("mae_per_hour", "mae_per_step_hour", "mae_per_step_common"):
            result.pop(key)


def test_old_runs_degrade_to_one_line(runs, tmp_path):
    strip_new_fields(runs["gru"]["metrics"])
    section = traffic.b3(str(tmp_path), runs, [])
    md, _ = rendered(section)
    assert section.passed
    assert "**Missing:** the runs of gru predate" in md
    assert "python -m zoo.train traffic --model NAME" in md
    assert "**lstm**" in md  # the fresh run still gives the result
    strip_new_fields(runs["lstm"]["metrics"])
    section = traffic.b3(str(tmp_path), runs, [])
    md, tex = rendered(section)
    assert section.passed and "FAILED" not in tex
    assert "the runs of gru, lstm predate" in md and "No result" in md
    assert "optimizer not recorded" in md  # no model.keras in these runs


def test_b3_from_the_command_line(runs_dir, tmp_path, monkeypatch):
    from solutions.core import report

    # A checkout without the committed reports/runs.json to fall back to.
    monkeypatch.setattr(report, "COMMITTED_SUMMARY", str(tmp_path / "absent.json"))
    out = tmp_path / "out"
    argv = ["--runs", str(runs_dir), "--out", str(out), "--formats", "md",
            "--only", "B3"]  # fmt: skip
    assert main(argv) == 0
    text = (out / "solutions.md").read_text()
    assert "## B3" in text and "FAILED" not in text
    assert main(["--runs", str(tmp_path / "none"), "--out", str(out),
                 "--formats", "md", "--only", "B3"]) == 0  # fmt: skip
    assert "No traffic runs found" in (out / "solutions.md").read_text()
