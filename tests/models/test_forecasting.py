"""Forecasting models, baselines and metrics against hand computations."""

import keras
import numpy as np
import pandas as pd
import pytest
from keras import ops

from zoo import metrics
from zoo.data.windows import WindowSet
from zoo.models.forecasting import FORECASTERS, baselines, build_forecaster, masked_mse
from zoo.saving import load_model

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("name", sorted(FORECASTERS))
def test_every_forecaster_trains_saves_and_reloads(name, tmp_path):
    model = build_forecaster(name, lookback=6, horizon=3, num_features=5, units=8)
    x = RNG.normal(size=(32, 6, 5)).astype("float32")
    y = x[:, -3:, 0] * 0.5
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=masked_mse)
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0).history["loss"]
    assert history[-1] < history[0]
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = load_model(path)
    np.testing.assert_allclose(
        ops.convert_to_numpy(loaded(x)), ops.convert_to_numpy(model(x)), atol=1e-5
    )


def test_unknown_forecaster():
    with pytest.raises(ValueError, match="unknown forecaster"):
        build_forecaster("transformer-xl", 6, 3, 5)


def test_masked_mse_ignores_missing_targets():
    y_true = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan]], "float32")
    y_pred = np.array([[2.0, 100.0, 1.0], [5.0, 5.0, 5.0]], "float32")
    np.testing.assert_allclose(
        ops.convert_to_numpy(masked_mse(y_true, y_pred)), [2.5, 0.0]
    )


def test_metrics_by_hand():
    targets = np.array([[10.0, np.nan], [20.0, 40.0]])
    forecasts = np.array([[12.0, 0.0], [17.0, 44.0]])
    per_step, overall = metrics.mae(targets, forecasts)
    np.testing.assert_allclose(per_step, [2.5, 4.0])
    assert overall == pytest.approx(3.0)
    assert metrics.rmse(targets, forecasts)[1] == pytest.approx(
        np.sqrt((4 + 9 + 16) / 3)
    )
    assert metrics.mape(targets, forecasts)[1] == pytest.approx((20 + 15 + 10) / 3)


def small_windows():
    times = pd.to_datetime(["2024-03-05 08:00", "2024-03-05 09:00"]).to_numpy()
    return WindowSet(
        inputs=np.zeros((1, 2, 5), "float32"),
        targets=np.zeros((1, 2), "float32"),
        target_mask=np.ones((1, 2), bool),
        target_seconds=np.array([[30.0, 32.0]]),
        last_seconds=np.array([29.0]),
        target_times=times[None, :],
        series=np.array(["a"]),
    )


def test_baselines_by_hand():
    frame = pd.DataFrame(
        {
            "time": pd.to_datetime(
                ["2024-03-04 08:00", "2024-03-04 09:00", "2024-03-03 08:00"]
            ),
            "series": ["a", "a", "a"],
            "value": [25.0, 27.0, 21.0],
        }
    )
    windows = small_windows()
    np.testing.assert_array_equal(baselines.persistence(windows), [[29.0, 29.0]])
    np.testing.assert_array_equal(
        baselines.seasonal_naive(windows, frame), [[25.0, 27.0]]
    )
    # Training = before 2024-03-05: 08:00 slot averages 25 and 21.
    average = baselines.historical_average(windows, frame, pd.Timestamp("2024-03-05"))
    np.testing.assert_array_equal(average, [[23.0, 27.0]])


def test_seasonal_naive_falls_back_to_persistence():
    frame = pd.DataFrame(
        {"time": pd.to_datetime(["2024-03-04 08:00"]), "series": ["a"], "value": [25.0]}
    )
    np.testing.assert_array_equal(
        baselines.seasonal_naive(small_windows(), frame), [[25.0, 29.0]]
    )
