"""Gap-aware windows, chronological split, scaler fit on training only."""

import numpy as np
import pandas as pd
import pytest

from zoo.data.windows import make_windows, regular_step, time_features
from zoo.errors import ZooError


def daily_runs(days=10, hours=range(6, 20), series=("a", "b")):
    rows = []
    for s_index, s in enumerate(series):
        for day in range(days):
            for hour in hours:
                time = pd.Timestamp("2024-03-04") + pd.Timedelta(days=day, hours=hour)
                rows.append((time, s, 10.0 * (s_index + 1) + day + hour / 10))
    return pd.DataFrame(rows, columns=["time", "series", "value"])


def test_no_window_spans_the_overnight_gap():
    windows, _, _ = make_windows(daily_runs(), lookback=4, horizon=2)
    for part in windows.values():
        # Inputs and targets of each window lie on one day: 4 + 2 consecutive hours.
        days = part.target_times.astype("datetime64[D]")
        assert (days == days[:, :1]).all()
        assert (
            (part.target_times[:, 1] - part.target_times[:, 0])
            == np.timedelta64(1, "h")
        ).all()
    total = sum(len(p) for p in windows.values())
    assert total == 2 * 10 * (14 - 6 + 1)  # series x days x windows per 14-hour run


def test_split_is_chronological_and_scaler_sees_only_training():
    frame = daily_runs()
    windows, scaler, (train_end, val_end) = make_windows(frame, 4, 2)
    assert windows["train"].target_times[:, 0].max() < np.datetime64(train_end)
    assert windows["test"].target_times[:, 0].min() >= np.datetime64(val_end)
    train_values = frame[(frame["series"] == "a") & (frame["time"] < train_end)][
        "value"
    ]
    assert scaler.mean["a"] == pytest.approx(train_values.mean())
    assert scaler.std["a"] == pytest.approx(train_values.std())
    test = windows["test"]
    restored = scaler.inverse(test.targets.astype("float64"), test.series)
    np.testing.assert_allclose(restored, test.target_seconds, rtol=1e-5)


def test_missing_targets_are_masked_and_inputs_filled():
    frame = daily_runs(days=10)
    frame.loc[34, "value"] = np.nan  # series a, day 2 (rows 28..41), 12:00
    windows, _, _ = make_windows(frame, 3, 2)
    every = {k: v for k, v in windows.items()}
    masked = sum(int((~w.target_mask).sum()) for w in every.values())
    assert masked == 2  # the reading is a target in two windows (steps 1 and 2)
    assert all(np.isfinite(w.inputs).all() for w in every.values())
    assert all(np.isfinite(w.targets).all() for w in every.values())


def test_a_gap_at_the_start_of_a_run_does_not_leak_later_readings():
    frame = daily_runs(days=10, series=("a",))
    frame.loc[0, "value"] = np.nan  # day 0, 06:00: the run's first reading
    frame.loc[1, "value"] = 999.0  # 07:00: the target of the first window
    windows, scaler, _ = make_windows(frame, lookback=1, horizon=1)
    first = windows["train"]
    assert first.target_seconds[0, 0] == 999.0
    # The input is the training mean (standardized: 0), not the 999 target.
    assert first.inputs[0, 0, 0] == pytest.approx(0.0, abs=1e-6)
    assert first.last_seconds[0] == pytest.approx(scaler.mean["a"])


def test_time_features_and_step():
    features = time_features(pd.to_datetime(["2024-03-04 00:00", "2024-03-04 06:00"]))
    np.testing.assert_allclose(features[:, [0, 2]], [[0, 1], [1, 0]], atol=1e-6)
    assert regular_step(
        pd.date_range("2024", periods=4, freq="5min")
    ) == np.timedelta64(5, "m")


def test_window_longer_than_any_run_is_a_clear_error():
    with pytest.raises(ZooError, match="longest gap-free run of readings has 14"):
        make_windows(daily_runs(), lookback=12, horizon=3)
