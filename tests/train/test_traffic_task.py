"""The traffic task's validation and per-hour metrics against plain numpy."""

import types

import numpy as np
import pytest

from zoo.config import TrainConfig
from zoo.data.windows import WindowSet
from zoo.train.traffic_task import (
    TrafficTask,
    common_targets,
    hour_counts,
    hour_report,
)


def numpy_hours(times):
    """Hour of day with numpy only (no pandas)."""
    return np.asarray(times, dtype="datetime64[h]").astype("int64") % 24


def window_set(series, starts, horizon=2, missing=()):
    """Windows of hourly targets starting at the given datetimes."""
    times = np.array(starts, dtype="datetime64[h]")[:, None] + np.arange(horizon)
    rng = np.random.default_rng(0)
    seconds = 20 + rng.random(times.shape) * 10
    for row, step in missing:
        seconds[row, step] = np.nan
    n = len(starts)
    return WindowSet(
        inputs=np.zeros((n, 1, 5), "float32"),
        targets=np.zeros(times.shape, "float32"),
        target_mask=~np.isnan(seconds),
        target_seconds=seconds,
        last_seconds=np.full(n, 25.0),
        target_times=times.astype("datetime64[ns]"),
        series=np.array(series),
    )


def test_hour_report_and_common_targets_on_a_hand_made_split():
    # Series a: targets 10-11, 11-12, 12-13 h; b: 11-12 h. Common (a target at
    # both steps): a 11 h and a 12 h, b none; a's 12 h at step 2 is missing.
    part = window_set(
        ["a", "a", "a", "b"],
        ["2022-09-02T10", "2022-09-02T11", "2022-09-02T12", "2022-09-02T11"],
        missing=[(1, 1)],
    )
    common = common_targets(part)
    expected = np.array([[0, 1], [1, 0], [1, 0], [0, 0]], dtype=bool)
    np.testing.assert_array_equal(common, expected)
    forecasts = np.full(part.target_seconds.shape, 24.0)
    report = hour_report(part, forecasts, common)
    error = np.abs(forecasts - part.target_seconds)
    hours = numpy_hours(part.target_times)
    for hour in (10, 11, 12, 13):
        at = (hours == hour) & ~np.isnan(error)
        want = error[at].mean()
        assert report["mae_per_hour"][str(hour)] == pytest.approx(want, abs=1e-4)
        for step in range(2):
            cell = error[:, step][at[:, step]]
            got = report["mae_per_step_hour"][str(hour)][step]
            if cell.size == 0:
                assert got is None
            else:
                assert got == pytest.approx(cell.mean(), abs=1e-4)
    for step in range(2):
        want = error[:, step][expected[:, step]].mean()
        assert report["mae_per_step_common"][step] == pytest.approx(want, abs=1e-4)
    assert hour_counts(part) == {"10": [1, 0], "11": [2, 1], "12": [1, 1], "13": [0, 1]}


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """metrics.json content of a run whose model forecasts 0.9 x persistence."""
    task = TrafficTask()
    config = TrainConfig(preset="quick").resolved()
    data = task.prepare(config)
    run = tmp_path_factory.mktemp("run")
    (run / "figures").mkdir()
    model = types.SimpleNamespace(optimizer=None)

    def predict(inputs):  # standardized; scaled persistence, unlike any baseline
        return np.repeat(inputs[:, -1:, 0], config.horizon, axis=1) * 0.9

    return task.evaluate(model, predict, data, config, str(run)), data


@pytest.mark.parametrize("split,key", [("val", "val_results"), ("test", "results")])
def test_evaluate_writes_validation_and_per_hour_metrics(evaluated, split, key):
    metrics, data = evaluated
    part = data.windows[split]
    assert metrics[f"{split}_windows"] == len(part)
    names = {"lstm", "persistence", "seasonal-naive", "historical-average"}
    assert set(metrics[key]) == names
    targets = part.target_seconds
    persistence = np.repeat(part.last_seconds[:, None], targets.shape[1], axis=1)
    error = np.abs(persistence - targets)
    present = ~np.isnan(targets)
    result = metrics[key]["persistence"]
    assert result["mae"] == pytest.approx(error[present].mean(), abs=1e-4)
    hours = numpy_hours(part.target_times)
    for hour, value in result["mae_per_hour"].items():
        at = present & (hours == int(hour))
        assert value == pytest.approx(error[at].mean(), abs=1e-4)
        assert metrics["hour_counts"][split][hour] == list(at.sum(0))
    # Embedded data, lookback 6, horizon 3: the steps share 14-17 h only.
    assert metrics["common_hours"][split] == [14, 15, 16, 17]
    assert sorted(map(int, result["mae_per_hour"])) == list(range(12, 20))
    model = metrics[key]["lstm"]
    scaled = np.repeat(part.inputs[:, -1:, 0].astype("float64"), 3, axis=1) * 0.9
    forecast = data.scaler.inverse(scaled, part.series)
    want = np.abs(forecast - targets)[present].mean()
    assert model["mae"] == pytest.approx(want, abs=1e-4)
    # The historical average ignores the step: same MAE on the common targets.
    fair = metrics[key]["historical-average"]["mae_per_step_common"]
    assert max(fair) - min(fair) < 1e-9
    assert metrics["optimizer"] is None and metrics["loss"] == TrafficTask.loss_label
