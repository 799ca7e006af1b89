"""Sheet B3: forecasting road travel times with recurrent networks."""

import os
from dataclasses import dataclass

import numpy as np

from zoo import metrics
from zoo.data.traffic import load_travel_times
from zoo.data.windows import NUM_FEATURES, make_windows
from zoo.errors import ZooError
from zoo.io import write_text
from zoo.models.forecasting import FORECASTERS, build_forecaster, masked_mse
from zoo.models.forecasting.baselines import all_baselines
from zoo.train import figures


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
        """Test metrics of the model and the baselines; figures; scaler."""
        test = data.windows["test"]
        scaled = np.asarray(predict(test.inputs), dtype="float64")
        forecasts = {config.model: data.scaler.inverse(scaled, test.series)}
        forecasts.update(all_baselines(test, data.frame, data.train_end))
        results = {
            name: metrics.forecast_report(test.target_seconds, values)
            for name, values in forecasts.items()
        }
        first = test.series == test.series[0]
        figures.forecast_vs_actual(
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
        return {
            "units": "seconds",
            "test_windows": int(len(test)),
            "model": config.model,
            "results": results,
        }

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
