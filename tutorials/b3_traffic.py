# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # B3 — Forecasting travel times with an LSTM
#
# Sheet B3. For a highway section, each time interval has the average time
# a vehicle takes to pass through it; we predict the next hours' travel
# times with a recurrent network (an LSTM) and judge it against simple
# baselines. The pieces are the zoo's: the embedded Oregon DOT data
# (`zoo.data.traffic`), forecasting windows (`zoo.data.windows`), the
# models and masked loss (`zoo.models.forecasting`) and masked metrics in
# seconds (`zoo.metrics`); `python -m zoo.train traffic` wires the same
# pieces together.

# %%
# Setup: keras-zoo (installed when missing) and the backend.
import importlib.util
import os
import pathlib
import subprocess
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")  # "jax", "torch" or "tensorflow"
if importlib.util.find_spec("zoo") is None:
    here = pathlib.Path.cwd().resolve()
    clone = next(
        (p for p in (here, *here.parents) if (p / "zoo" / "layers").is_dir()), None
    )
    source = os.environ.get("ZOO_SOURCE") or (clone and str(clone))
    if not source:
        raise RuntimeError(
            "keras-zoo is missing: set ZOO_SOURCE to its git+URL or a clone"
        )
    if not source.startswith(("git+", "file:")):
        source = pathlib.Path(source).resolve().as_uri()
    backend = os.environ["KERAS_BACKEND"]
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q",
                           f"keras-zoo[{backend}] @ {source}"])  # fmt: skip
SMALL = os.environ.get("ZOO_TUTORIAL_SIZE") == "small"  # seconds, for the tests

# %%
import keras
import matplotlib.pyplot as plt
import numpy as np

from zoo import metrics
from zoo.data.traffic import load_travel_times
from zoo.data.windows import NUM_FEATURES, make_windows
from zoo.models.forecasting import build_forecaster, masked_mse
from zoo.models.forecasting.baselines import (
    historical_average,
    persistence,
    seasonal_naive,
)

print("backend:", keras.backend.backend())
keras.utils.set_random_seed(0)

# %% [markdown]
# ## The data
#
# The zoo ships hourly travel times of six road segments of SE Sunnyside Rd
# (Oregon DOT, MIT licence; `zoo/datasets/traffic/`). `load_travel_times()`
# with no path reads them into one long table with columns `time`, `series`
# and `value` (seconds, NaN where missing); the same call reads your own
# CSV, parquet or METR-LA `.h5` file.

# %%
frame = load_travel_times()
per_day = frame.groupby(["series", frame["time"].dt.date]).size()
hours = frame["time"].dt.hour
days = frame["time"].dt.date.nunique()
print(f"{len(frame)} readings, {frame['series'].nunique()} series, "
      f"{days} days, hours {hours.min()}:00-{hours.max()}:00, "
      f"readings per series and day: {sorted(set(per_day))}")  # fmt: skip
print(f"travel times {frame['value'].min():.1f}-{frame['value'].max():.1f} s, "
      f"mean {frame['value'].mean():.1f} s; "
      f"missing: {frame['value'].isna().sum()}")  # fmt: skip

# %% [markdown]
# ## Windows, split and scaler
#
# `make_windows(frame, lookback, horizon)` cuts each series into runs of
# regularly spaced readings (here one run per day: nothing is recorded
# overnight) and slides a window along each run: L = 6 hours of inputs and
# the next H = 3 hours as targets. Each input step has 5 features: the
# standardized value and sin/cos of the time of day and of the day of week.
# Windows go to train/val/test (70/10/20 %) by the time of their first
# target, so the split is chronological, and the per-series scaler is fit
# on the training readings only. We check all three claims, recovering the
# hour of each input step from its sin/cos features (features 1 and 3).

# %%
L, H = 6, 3
windows, scaler, (train_end, val_end) = make_windows(frame, lookback=L, horizon=H)
train, val, test = windows["train"], windows["val"], windows["test"]
print({k: len(v) for k, v in windows.items()}, "windows; inputs", train.inputs.shape)

day_angle = np.arctan2(train.inputs[..., 1], train.inputs[..., 3]) % (2 * np.pi)
input_hour = np.rint(day_angle * 24 / (2 * np.pi))
target_hour = train.target_times.astype("datetime64[h]").astype(int) % 24
hours_in_window = np.concatenate([input_hour, target_hour], axis=1)
print("every window is L + H consecutive hours of one day:",
      bool((np.diff(hours_in_window, axis=1) == 1).all()))  # fmt: skip

first = {k: v.target_times[:, 0] for k, v in windows.items()}
print(f"train_end {train_end}, val_end {val_end}")
print("first targets: train up to", first["train"].max(), "< val from",
      first["val"].min(), "; val up to", first["val"].max(), "< test from",
      first["test"].min())  # fmt: skip
spill = (train.target_times[:, -1] >= np.datetime64(train_end)).sum()
print(f"training windows whose later targets fall after train_end: {spill}")

series = test.series[0]
readings = frame[frame["series"] == series]
print(f"series {series}: scaler mean {scaler.mean[series]:.3f} s, training "
      f"readings {readings[readings['time'] < train_end]['value'].mean():.3f} s, "
      f"all readings {readings['value'].mean():.3f} s")  # fmt: skip
back = scaler.inverse(test.targets, test.series)
print("scaler.inverse(targets) = target_seconds:",
      np.allclose(back, test.target_seconds))  # fmt: skip

# %% [markdown]
# A window is assigned by its *first* target, so the last training windows
# of the day that contains `train_end` have later targets past it: a few
# readings are both training targets and validation targets. With 3-hour
# horizons this is a handful of windows, but it is worth knowing.
#
# ## Three baselines
#
# Forecasts that learn nothing set the bar: **persistence** repeats the
# last observed value for every future step; **seasonal naive** takes the
# value at the same hour one day earlier; **historical average** takes the
# mean of the training readings of the series at that hour of the day.
# The metrics of `zoo.metrics` (`mae`, `rmse`, `mape`) take targets and
# forecasts in seconds with NaN marking a missing target (masked, the
# DCRNN convention) and return the metric per horizon step and overall.
# We check persistence and the masked MAE against plain numpy first.

# %%
last_input = scaler.inverse(test.inputs[:, -1, 0], test.series)
print("persistence = last input value in seconds:",
      np.allclose(persistence(test)[:, 0], last_input, atol=1e-4))  # fmt: skip
baselines = {
    "persistence": persistence(test),
    "seasonal naive": seasonal_naive(test, frame),
    "historical average": historical_average(test, frame, train_end),
}
errors = np.abs(baselines["persistence"] - test.target_seconds)
print("zoo.metrics.mae:", metrics.mae(test.target_seconds, baselines["persistence"])[1],
      "numpy nanmean:", np.nanmean(errors))  # fmt: skip

# %% [markdown]
# ## An LSTM forecaster
#
# `build_forecaster("lstm", L, H, NUM_FEATURES, units)` is one LSTM layer
# whose last state feeds a dense layer with H outputs, in standardized
# units. The loss `masked_mse` skips targets that are NaN, so we pass the
# standardized targets with NaN where `target_mask` is False. The small
# run trains 3 epochs; the full one up to 150 with early stopping on the
# validation loss, keeping the best epoch's weights.


# %%
def nan_targets(part):
    return np.where(part.target_mask, part.targets, np.nan).astype("float32")


model = build_forecaster("lstm", L, H, NUM_FEATURES, units=16 if SMALL else 64)
model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=masked_mse)
stop = keras.callbacks.EarlyStopping(patience=15, restore_best_weights=True)
history = model.fit(
    train.inputs,
    nan_targets(train),
    validation_data=(val.inputs, nan_targets(val)),
    epochs=3 if SMALL else 150,
    batch_size=64,
    callbacks=[] if SMALL else [stop],
    verbose=0,
)
val_loss = history.history["val_loss"]
print(f"{len(val_loss)} epochs; best val loss {min(val_loss):.3f} "
      f"at epoch {int(np.argmin(val_loss)) + 1}")  # fmt: skip

# %% [markdown]
# ## Test metrics in seconds
#
# The model's forecasts go back to seconds with `scaler.inverse`, and all
# four forecasters are scored on the same test windows.

# %%
lstm = scaler.inverse(model.predict(test.inputs, verbose=0), test.series)
forecasts = {"LSTM": lstm, **baselines}
print(f"{'forecaster':20s} MAE (s)  RMSE (s)  MAPE (%)  MAE per step (s)")
for name, values in forecasts.items():
    report = metrics.forecast_report(test.target_seconds, values)
    print(f"{name:20s} {report['mae']:7.2f}  {report['rmse']:8.2f}  "
          f"{report['mape']:8.2f}  {report['mae_per_step']}")  # fmt: skip

# %% [markdown]
# At full size (31 epochs, the best validation loss at epoch 16) the LSTM's
# test MAE is about 3.15 s against 3.33 s for the historical average, 3.63 s
# for persistence and 4.13 s for the seasonal naive forecast. The small run
# (3 epochs) beats persistence only narrowly and not the historical average:
# learning the daily shape takes more epochs. Errors grow with the horizon
# step for the forecasters that start from the last reading. Below: one segment's test
# targets one hour ahead; each day contributes the hours 12:00-17:00 (the
# first 6 hours are inputs), and dotted lines separate the days.

# %%
mine = test.series == series
order = np.argsort(test.target_times[mine, 0])
times = test.target_times[mine, 0][order]
figure, axis = plt.subplots(figsize=(9, 3.5))
axis.plot(test.target_seconds[mine, 0][order], "k.-", label="actual")
for name in ("LSTM", "persistence", "historical average"):
    axis.plot(forecasts[name][mine, 0][order], ".--", alpha=0.8, label=name)
new_day = np.flatnonzero(np.diff(times.astype("datetime64[D]")).astype(int)) + 0.5
for x in new_day:
    axis.axvline(x, color="gray", lw=0.5, ls=":")
axis.set_xlabel("test windows of one segment, in time order")
axis.set_ylabel("travel time (s)")
axis.set_title(f"series {series}, one hour ahead")
axis.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## Exercise
#
# 1. Train `build_forecaster("gru", ...)` and `"stacked-lstm"` the same way
#    and add them to the table. Does either beat the historical average?
# 2. Set `lookback=3` and `lookback=10` in `make_windows`. How do the number
#    of windows and the LSTM's MAE change, and why are there fewer windows
#    per day as L grows?
# 3. Give the LSTM the historical average as a sixth input feature (stack
#    it onto `inputs`) and see whether it learns the remaining residual.
