"""Sheet B3: forecasting road travel times with recurrent networks."""

import os
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from zoo import metrics, plotting
from zoo.data.traffic import load_travel_times
from zoo.data.windows import NUM_FEATURES, make_windows
from zoo.errors import ZooError
from zoo.io import finite_or_none, write_text
from zoo.models.forecasting import FORECASTERS, build_forecaster, masked_mse
from zoo.models.forecasting.baselines import all_baselines
from zoo.models.forecasting.lstm_attention import NUM_HEADS


@dataclass
class TrafficData:
    frame: object  # the long table (time, series, value)
    windows: dict  # split -> WindowSet
    scaler: object  # SeriesScaler fit on the training part
    train_end: object
    val_end: object


def _targets(window_set):
    """Standardized targets with NaN where missing (read by masked_mse)."""
    return np.where(window_set.target_mask, window_set.targets, np.nan).astype(
        "float32"
    )


def hour_of_day(times):
    """Hour (0-23) of each datetime in an array of any shape."""
    times = np.asarray(times, dtype="datetime64[ns]")
    return pd.DatetimeIndex(times.reshape(-1)).hour.to_numpy().reshape(times.shape)


def common_targets(window_set):
    """(N, H) bool: present targets whose (series, time) is a target of the
    split at every horizon step, so that per-step errors compare the same
    readings (on the embedded data: the targets at 14:00-17:00)."""
    codes = pd.factorize(window_set.series)[0]
    times = np.asarray(window_set.target_times, dtype="datetime64[ns]").view("int64")
    keys = [
        pd.MultiIndex.from_arrays([codes, times[:, s]]) for s in range(times.shape[1])
    ]
    shared = keys[0]
    for key in keys[1:]:
        shared = shared.intersection(key)
    common = np.stack([key.isin(shared) for key in keys], axis=1)
    return common & ~np.isnan(window_set.target_seconds)


def hour_report(window_set, forecasts, common, hours=None):
    """MAE by target hour of day, by (hour, step) and per step on `common`.

    Args:
        window_set: `zoo.data.windows.WindowSet` (targets in seconds).
        forecasts: (N, H) seconds.
        common: (N, H) bool from `common_targets`.
        hours: (N, H) target hours from `hour_of_day`, or None to compute
            them (pass them when reporting several forecasters of a split).

    Returns:
        dict (JSON-ready, 4 decimals, None where no target): `mae_per_hour`
        {hour: MAE over every step}, `mae_per_step_hour` {hour: [MAE of step
        1..H]}, `mae_per_step_common` [MAE of step 1..H over `common`].
    """
    error = np.abs(np.asarray(forecasts, dtype="float64") - window_set.target_seconds)
    present = ~np.isnan(window_set.target_seconds)
    if hours is None:
        hours = hour_of_day(window_set.target_times)
    steps = np.broadcast_to(np.arange(error.shape[1]), error.shape)

    def mean(mask):
        return round(float(error[mask].mean()), 4) if mask.any() else None

    by_hour = {int(h): present & (hours == h) for h in np.unique(hours[present])}
    return {
        "mae_per_hour": {str(h): mean(at) for h, at in by_hour.items()},
        "mae_per_step_hour": {
            str(h): [mean(at & (steps == s)) for s in range(error.shape[1])]
            for h, at in by_hour.items()
        },
        "mae_per_step_common": [
            mean(common & (steps == s)) for s in range(error.shape[1])
        ],
    }


def hour_counts(window_set, hours=None):
    """{hour: [number of present targets at step 1..H]} of one split.

    `hours`: the split's target hours from `hour_of_day`, or None to compute them.
    """
    present = ~np.isnan(window_set.target_seconds)
    if hours is None:
        hours = hour_of_day(window_set.target_times)
    return {
        str(int(h)): [int(n) for n in ((hours == h) & present).sum(0)]
        for h in np.unique(hours[present])
    }


def _optimizer(model):
    """{"name", "learning_rate"} of the compiled model (None: not compiled)."""
    from keras import ops

    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return None
    rate = float(ops.convert_to_numpy(optimizer.learning_rate))
    return {"name": type(optimizer).__name__, "learning_rate": round(rate, 8)}


class TrafficTask:
    """Loads windows, builds forecasters, evaluates them against baselines."""

    name = "traffic"
    models = tuple(FORECASTERS)
    default_suite = ("lstm", "gru", "stacked-lstm", "seq2seq-lstm", "lstm-attention")
    loss = staticmethod(masked_mse)
    loss_label = "masked MSE (standardized)"

    def monitor(self, config):
        """(history column, "min"): early stopping and the kept epoch."""
        return config.monitor, "min"

    def check(self, config):
        """Every check on the settings that needs no data (ZooError)."""
        if config.monitor != "val_loss":
            raise ZooError(
                f"--monitor: traffic runs keep the epoch of the lowest val_loss; "
                f"drop --monitor {config.monitor}"
            )
        if config.model == "lstm-attention" and config.units % NUM_HEADS:
            raise ZooError(
                f"--units {config.units} must be a multiple of {NUM_HEADS}, the "
                "attention heads of lstm-attention"
            )

    def prepare(self, config):
        self.check(config)
        frame = load_travel_times(
            config.data,
            config.time_col,
            config.value_col,
            config.series_col,
            config.series,
        )
        windows, scaler, (train_end, val_end) = make_windows(
            frame, config.lookback, config.horizon, config.split
        )
        return TrafficData(frame, windows, scaler, train_end, val_end)

    def arrays(self, data, split):
        part = data.windows[split]
        return part.inputs, _targets(part)

    def build_model(self, config, data):
        return build_forecaster(
            config.model, config.lookback, config.horizon, NUM_FEATURES, config.units
        )

    def summary(self, data):
        sizes = {k: len(v) for k, v in data.windows.items()}
        return (
            f"{data.frame['series'].nunique()} series, windows train/val/test "
            f"{sizes['train']}/{sizes['val']}/{sizes['test']}"
        )

    def write_artifacts(self, data, run_dir):
        """Files fixed at preparation, written beside config.json."""
        write_text(os.path.join(run_dir, "scaler.json"), data.scaler.to_json())

    def callbacks(self, config, data):
        return []

    def evaluate(self, model, predict, data, config, run_dir):
        """Validation and test metrics of the model and the baselines.

        Returns:
            dict for metrics.json: `results` (test) and `val_results`, each
            {forecaster: forecast_report + hour_report}; `hour_counts` and
            `common_hours` per split; the optimizer and loss; `test_windows`,
            `val_windows`. Also writes figures/forecast.png (test). A metric
            that is NaN (a step without targets, or a forecaster that
            forecast NaN or inf; the latter also warns) is None (JSON null).
        """
        out = {"units": "seconds", "model": config.model}
        for split, key in (("val", "val_results"), ("test", "results")):
            part = data.windows[split]
            scaled = np.asarray(predict(part.inputs), dtype="float64")
            forecasts = {config.model: data.scaler.inverse(scaled, part.series)}
            forecasts.update(all_baselines(part, data.frame, data.train_end))
            common = common_targets(part)
            hours = hour_of_day(part.target_times)
            for name, values in forecasts.items():
                bad = int(np.size(values) - np.isfinite(values).sum())
                if bad:
                    warnings.warn(
                        f"{name}: {bad} forecasts on the {split} split are NaN or "
                        "infinite; its metrics there are null in metrics.json",
                        stacklevel=2,
                    )
            out[key] = finite_or_none(
                {
                    name: {
                        **metrics.forecast_report(part.target_seconds, values),
                        **hour_report(part, values, common, hours),
                    }
                    for name, values in forecasts.items()
                }
            )
            out[f"{split}_windows"] = int(len(part))
            out.setdefault("hour_counts", {})[split] = hour_counts(part, hours)
            out.setdefault("common_hours", {})[split] = sorted(
                map(int, set(hours[common]))
            )
        test = data.windows["test"]  # `forecasts` holds the loop's last split: test
        first = test.series == test.series[0]
        plotting.forecast_vs_actual(
            test.target_times[first, 0],
            test.target_seconds[first, 0],
            {
                k: v[first, 0]
                for k, v in forecasts.items()
                if k in (config.model, "persistence")
            },
            os.path.join(run_dir, "figures", "forecast.png"),
            f"test split, series {test.series[0]}, 1 step ahead",
        )
        out.update(optimizer=_optimizer(model), loss=self.loss_label)
        return out

    def table_rows(self, metrics_json):
        """The printed summary: model vs persistence, MAE in seconds."""
        results = metrics_json["results"]
        model = results[metrics_json["model"]]
        return [{
            "model": metrics_json["model"],
            "MAE (s)": model["mae"],
            "RMSE (s)": model["rmse"],
            "MAPE (%)": model["mape"],
            "persistence MAE": results["persistence"]["mae"],
            "seasonal-naive MAE": results["seasonal-naive"]["mae"],
            "hist-avg MAE": results["historical-average"]["mae"],
        }]  # fmt: skip
