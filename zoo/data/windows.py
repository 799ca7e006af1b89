"""Forecasting windows from a long travel-time table, never across a gap.

A series is cut into *runs*: maximal stretches of readings spaced exactly by
the series' regular step (the most common time difference). The embedded
Oregon data has one run per day (06:00-19:00), so the overnight gap splits
runs and no window spans it. Within a run, a missing value (NaN; the
loader also turns inf and, in METR-LA files, 0 into NaN) is filled forward
in the inputs (with the series' training mean before a run's first reading)
and masked in the targets, so metrics ignore it (the DCRNN convention).

Each window: `lookback` input steps of 5 features (the series' standardized
value; sin/cos of the time of day; sin/cos of the day of week) and the next
`horizon` values as targets. Windows are assigned to train/val/test by the
time of their first target (chronological, 70/10/20 by default); the scaler
is fit on the training part only. A split whose every target is missing is
refused: its masked loss would be 0.0 and its metrics NaN.
"""

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from zoo.errors import ZooError

NUM_FEATURES = 5


@dataclass
class SeriesScaler:
    """Per-series standardization, fit on training readings only.

    Attributes:
        mean: dict series -> mean (seconds).
        std: dict series -> standard deviation (seconds; 1 if constant).
    """

    mean: dict
    std: dict

    @classmethod
    def fit(cls, frame):
        """Mean and standard deviation per series of `frame`'s readings.

        Args:
            frame: long table (time, series, value) without missing values.

        Returns:
            SeriesScaler.

        Raises:
            ZooError: a statistic is not finite (values too large to square).
        """
        stats = frame.groupby("series")["value"].agg(["mean", "std"])
        std = stats["std"].fillna(1.0).replace(0.0, 1.0)
        bad = ~(np.isfinite(stats["mean"]) & np.isfinite(std))
        if bad.any():
            raise ZooError(
                f"series {list(map(str, stats.index[bad]))[:5]}: the mean or "
                "standard deviation of the training readings is not finite; "
                "rescale the values"
            )
        return cls(stats["mean"].to_dict(), std.to_dict())

    def _lookup(self, series, table):
        missing = set(np.unique(series)) - set(table)
        if missing:
            raise ZooError(
                f"series {sorted(missing)[:5]} have no training readings; "
                "choose another split or series"
            )
        return np.array([table[s] for s in series], dtype="float64")

    def transform(self, values, series):
        """(x - mean_s) / std_s, broadcast over trailing axes of `values`."""
        mean, std = self._lookup(series, self.mean), self._lookup(series, self.std)
        shape = (-1,) + (1,) * (np.ndim(values) - 1)
        return (values - mean.reshape(shape)) / std.reshape(shape)

    def inverse(self, scaled, series):
        """Back to seconds."""
        mean, std = self._lookup(series, self.mean), self._lookup(series, self.std)
        shape = (-1,) + (1,) * (np.ndim(scaled) - 1)
        return scaled * std.reshape(shape) + mean.reshape(shape)

    def to_json(self):
        """The statistics as strict JSON (NaN or inf raises ValueError)."""
        return json.dumps(
            {"mean": self.mean, "std": self.std},
            indent=2,
            sort_keys=True,
            allow_nan=False,
        )

    @classmethod
    def from_json(cls, text):
        data = json.loads(text)
        return cls(data["mean"], data["std"])


@dataclass
class WindowSet:
    """Windows of one split. N windows, L = lookback, H = horizon.

    Attributes:
        inputs: float32 (N, L, 5) model inputs.
        targets: float32 (N, H) standardized targets, 0 where missing.
        target_mask: bool (N, H), False where the target is missing.
        target_seconds: float64 (N, H) targets in seconds, NaN if missing.
        last_seconds: float64 (N,) last input value in seconds (persistence).
        target_times: datetime64 (N, H).
        series: str (N,).
    """

    inputs: np.ndarray
    targets: np.ndarray
    target_mask: np.ndarray
    target_seconds: np.ndarray
    last_seconds: np.ndarray
    target_times: np.ndarray
    series: np.ndarray

    def __len__(self):
        return len(self.inputs)


def time_features(times):
    """sin/cos of the time of day and of the day of week, (n, 4) float32."""
    times = pd.DatetimeIndex(times)
    day = (times.hour * 3600 + times.minute * 60 + times.second) / 86400.0
    week = (times.day_of_week + day) / 7.0
    angles = 2 * np.pi * np.stack([day, week], axis=-1)
    return np.concatenate([np.sin(angles), np.cos(angles)], axis=-1).astype("float32")


def regular_step(times):
    """The most common spacing of sorted timestamps."""
    diffs = np.diff(np.asarray(times, dtype="datetime64[ns]"))
    diffs = diffs[diffs > np.timedelta64(0, "ns")]
    if len(diffs) == 0:
        return None
    values, counts = np.unique(diffs, return_counts=True)
    return values[np.argmax(counts)]


def split_times(frame, fractions=(0.7, 0.1, 0.2)):
    """Timestamps that end the train and validation parts.

    Args:
        frame: long table (time, series, value).
        fractions: (train, val, test) shares of the distinct timestamps.

    Returns:
        (train_end, val_end): a window whose first target is before
        `train_end` is a training window, before `val_end` a validation one.
    """
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1) > 1e-6:
        raise ZooError(
            "split fractions must be 3 non-negative shares summing to 1, "
            f"got {fractions}"
        )
    times = np.sort(frame["time"].unique())
    train_end = times[min(len(times) - 1, int(round(fractions[0] * len(times))))]
    val_end = times[
        min(len(times) - 1, int(round((fractions[0] + fractions[1]) * len(times))))
    ]
    return pd.Timestamp(train_end), pd.Timestamp(val_end)


def _runs(group, step):
    """Indices where a new run starts (a gap or irregular spacing before it)."""
    times = group["time"].to_numpy(dtype="datetime64[ns]")
    breaks = np.flatnonzero(np.diff(times) != step) + 1
    return np.split(np.arange(len(times)), breaks)


def make_windows(frame, lookback, horizon, fractions=(0.7, 0.1, 0.2)):
    """Builds train/val/test windows and the scaler fit on the training part.

    Args:
        frame: long table from `zoo.data.traffic.load_travel_times`.
        lookback: int. Input steps L.
        horizon: int. Predicted steps H.
        fractions: (train, val, test) shares, chronological.

    Returns:
        (dict split -> WindowSet, SeriesScaler, (train_end, val_end)).

    Raises:
        ZooError: when no run is long enough for one window, or a split is
            left empty or has no target that is not missing (nothing to
            learn or score).
    """
    if lookback < 1 or horizon < 1:
        raise ZooError(
            f"--lookback and --horizon must be >= 1, got {lookback} and {horizon}"
        )
    train_end, val_end = split_times(frame, fractions)
    scaler = SeriesScaler.fit(frame[frame["time"] < train_end].dropna(subset=["value"]))
    span = lookback + horizon
    parts = {name: [] for name in ("train", "val", "test")}
    longest = 0
    for series, group in frame.groupby("series", sort=True):
        group = group.reset_index(drop=True)
        step = regular_step(group["time"])
        if step is None:
            continue
        for run in _runs(group, step):
            longest = max(longest, len(run))
            if len(run) < span:
                continue
            piece = group.iloc[run]
            seconds = piece["value"].to_numpy(dtype="float64")
            if np.isnan(seconds).all():
                continue
            # Forward fill only: a backward fill would copy later readings,
            # possibly the window's own targets, into its inputs. Gaps at the
            # start of a run take the series' training mean instead.
            filled = pd.Series(seconds).ffill().to_numpy()
            filled = np.where(np.isnan(filled), scaler.mean[series], filled)
            scaled = scaler.transform(filled, np.full(len(run), series))
            features = np.concatenate(
                [scaled[:, None].astype("float32"), time_features(piece["time"])],
                axis=-1,
            )
            times = piece["time"].to_numpy(dtype="datetime64[ns]")
            starts = np.arange(len(run) - span + 1)
            inputs_idx = starts[:, None] + np.arange(lookback)
            target_idx = starts[:, None] + lookback + np.arange(horizon)
            target_seconds = seconds[target_idx]
            first_target = times[target_idx[:, 0]]
            split = np.where(
                first_target < np.datetime64(train_end),
                "train",
                np.where(first_target < np.datetime64(val_end), "val", "test"),
            )
            for name in parts:
                keep = split == name
                if keep.any():
                    parts[name].append(
                        (
                            features[inputs_idx[keep]],
                            target_seconds[keep],
                            filled[inputs_idx[keep, -1]],
                            times[target_idx[keep]],
                            np.full(int(keep.sum()), series),
                        )
                    )
    if longest < span:
        raise ZooError(
            f"--lookback {lookback} + --horizon {horizon} = {span} steps, but the "
            f"longest gap-free run of readings has {longest}; use smaller values"
        )
    windows = {}
    for name, pieces in parts.items():
        if not pieces:
            raise ZooError(
                f"the {name} split has no windows; use more data or smaller "
                "--lookback/--horizon"
            )
        inputs, seconds, last, times, series = (
            np.concatenate(p) for p in zip(*pieces, strict=True)
        )
        mask = ~np.isnan(seconds)
        if not mask.any():
            # Masked targets weigh nothing: the loss would be 0.0 and the
            # metrics NaN.
            raise ZooError(
                f"the {name} split has {len(seconds)} windows but every target "
                "in them is missing (NaN, inf or 0); use data with more readings "
                "or another --series"
            )
        scaled = np.where(mask, scaler.transform(np.nan_to_num(seconds), series), 0.0)
        windows[name] = WindowSet(
            inputs=inputs.astype("float32"),
            targets=scaled.astype("float32"),
            target_mask=mask,
            target_seconds=seconds,
            last_seconds=last,
            target_times=times,
            series=series,
        )
    return windows, scaler, (train_end, val_end)
