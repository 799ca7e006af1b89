"""Sheet B3: travel-time forecasts against baselines, from the runs."""

import os
import shutil

import pandas as pd

from solutions.document import Figure, Section, Table, Text, check, missing_runs

DCRNN_REFERENCE = pd.DataFrame(
    [
        {"model": "historical average", "MAE (mph)": 4.16},
        {"model": "FC-LSTM", "MAE (mph)": 3.44},
        {"model": "DCRNN", "MAE (mph)": 2.77},
    ]
)


def b3(out_dir, runs, problems):
    checks, verdicts = [], []
    if runs:
        rows, horizon_rows = [], []
        baselines = {}
        for model in sorted(runs):
            results = runs[model]["metrics"]["results"]
            for name, r in results.items():
                if name != model:
                    baselines[name] = r
                    continue
                rows.append(
                    {
                        "model": model,
                        "MAE (s)": r["mae"],
                        "RMSE (s)": r["rmse"],
                        "MAPE (%)": r["mape"],
                    }
                )
                horizon_rows.append({"model": model, **{f"MAE step {i + 1}": v for i, v in enumerate(r["mae_per_step"])}})  # fmt: skip
        for name, r in sorted(baselines.items()):
            rows.append(
                {
                    "model": f"{name} (baseline)",
                    "MAE (s)": r["mae"],
                    "RMSE (s)": r["rmse"],
                    "MAPE (%)": r["mape"],
                }
            )
            horizon_rows.append({"model": f"{name} (baseline)", **{f"MAE step {i + 1}": v for i, v in enumerate(r["mae_per_step"])}})  # fmt: skip
        table = pd.DataFrame(rows)
        best_baseline = (
            min(r["mae"] for r in baselines.values()) if baselines else float("nan")
        )
        best_model = min(runs, key=lambda m: runs[m]["metrics"]["results"][m]["mae"])
        best_mae = runs[best_model]["metrics"]["results"][best_model]["mae"]
        checks += [
            Text(
                "Test split of the embedded Oregon travel times (seconds per "
                "segment), chronological split, masked metrics; every run's "
                "baselines are computed on the same windows:"
            ),
            Table(table, "Forecasters against baselines (test split)", 4),
            Table(pd.DataFrame(horizon_rows), "MAE per horizon step (hours ahead)", 4),
            Table(
                DCRNN_REFERENCE,
                "DCRNN paper, METR-LA, 15 min (a DIFFERENT dataset and unit, reference only)",
                4,
            ),
            Text(
                f"Best forecaster: **{best_model}**, MAE {best_mae:.3f} s against "
                f"{best_baseline:.3f} s for the best baseline "
                f"({100 * (1 - best_mae / best_baseline):.1f}% lower)."
            ),
        ]
        source = os.path.join(runs[best_model]["path"], "figures", "forecast.png")
        if os.path.isfile(source):
            os.makedirs(os.path.join(out_dir, "figures"), exist_ok=True)
            shutil.copyfile(source, os.path.join(out_dir, "figures", "b3_forecast.png"))
            checks.append(
                Figure(
                    "b3_forecast",
                    f"{best_model}: test forecasts, one segment, 1 step ahead",
                    png_only=True,
                )
            )
        verdicts.append(check("best forecaster MAE below the best baseline", best_mae,
                              f"< {best_baseline:.4g}", best_mae < best_baseline))  # fmt: skip
    else:
        checks.append(missing_runs("traffic", "python -m zoo.train"))
    checks += [Text(f"Note: {p}") for p in problems]
    return Section(
        "B3",
        "Forecasting travel times with an LSTM",
        statement=[
            Text(
                "Each time interval of a highway section has the average travel "
                "time through it. Predict future travel times with a recurrent "
                "network (LSTM) and evaluate against simple baselines."
            )
        ],
        derivation=[
            Text(
                "Windows of the last 6 hourly readings (standardized per segment, "
                "with calendar features) predict the next 3. Baselines: "
                "persistence (repeat the last value), seasonal naive (same time "
                "one day earlier, persistence where missing) and historical "
                "average (training mean of the segment at that time of day). "
                "The data is split "
                "chronologically 70/10/20 and the scaler is fit on the training "
                "part only, so nothing of the future leaks into the inputs."
            )
        ],
        checks=checks,
        verdicts=verdicts,
    )
