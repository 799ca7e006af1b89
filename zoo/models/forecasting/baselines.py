"""Forecasts without learning, computed on the same test windows."""

import numpy as np
import pandas as pd


def persistence(windows):
    """Every future step equals the last observed value.

    Args:
        windows: `zoo.data.windows.WindowSet`.

    Returns:
        (N, H) seconds.
    """
    return np.repeat(windows.last_seconds[:, None], windows.target_times.shape[1], 1)


def _lookup(frame, series, times):
    """Values of `frame` at (series, time) pairs; NaN where absent."""
    index = pd.MultiIndex.from_arrays([frame["series"], frame["time"]])
    table = pd.Series(frame["value"].to_numpy(), index=index)
    flat = pd.MultiIndex.from_arrays(
        [np.repeat(series, times.shape[1]), times.reshape(-1)]
    )
    return table.reindex(flat).to_numpy().reshape(times.shape)


ONE_DAY = np.timedelta64(1, "D")


def seasonal_naive(windows, frame, season=ONE_DAY):
    """The value at the same time one season (a day) earlier.

    Where that reading does not exist (the first day, a missing day) the
    forecast falls back to persistence, so every window gets a forecast.

    Args:
        windows: WindowSet.
        frame: the full long table (time, series, value).
        season: numpy timedelta. Defaults to one day.

    Returns:
        (N, H) seconds.
    """
    previous = _lookup(frame, windows.series, windows.target_times - season)
    return np.where(np.isnan(previous), persistence(windows), previous)


def historical_average(windows, frame, train_end):
    """Mean of the training readings of the series at the same time of day.

    Args:
        windows: WindowSet.
        frame: the full long table.
        train_end: timestamp; only readings before it are averaged.

    Returns:
        (N, H) seconds (the series' training mean where a time of day never
        occurs in training).
    """
    train = frame[frame["time"] < train_end].dropna(subset=["value"])
    time_of_day = train["time"].dt.hour * 60 + train["time"].dt.minute
    by_slot = train.groupby([train["series"], time_of_day])["value"].mean()
    overall = train.groupby("series")["value"].mean()
    times = pd.DatetimeIndex(windows.target_times.reshape(-1))
    slots = pd.MultiIndex.from_arrays(
        [
            np.repeat(windows.series, windows.target_times.shape[1]),
            times.hour * 60 + times.minute,
        ]
    )
    forecast = by_slot.reindex(slots).to_numpy()
    fallback = overall.reindex(slots.get_level_values(0)).to_numpy()
    return np.where(np.isnan(forecast), fallback, forecast).reshape(
        windows.target_times.shape
    )


BASELINES = ("persistence", "seasonal-naive", "historical-average")


def all_baselines(windows, frame, train_end):
    """dict name -> (N, H) forecasts in seconds."""
    return {
        "persistence": persistence(windows),
        "seasonal-naive": seasonal_naive(windows, frame),
        "historical-average": historical_average(windows, frame, train_end),
    }
