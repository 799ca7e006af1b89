"""Forecasting metrics that ignore missing targets (the DCRNN convention).

Each function takes (N, H) arrays of targets (NaN = missing) and forecasts in
the data's own units and returns the metric per horizon step (H,) and
overall.
"""

import numpy as np


def _masked(targets, forecasts):
    targets = np.asarray(targets, dtype="float64")
    forecasts = np.asarray(forecasts, dtype="float64")
    if targets.shape != forecasts.shape:
        raise ValueError(
            "targets and forecasts differ in shape: "
            f"{targets.shape} vs {forecasts.shape}"
        )
    present = ~np.isnan(targets)
    return targets, forecasts, present


def _reduce(values, present):
    """Means per horizon step (H,) and overall over present entries."""
    counts = present.sum(0)
    per_step = np.where(
        counts > 0, np.where(present, values, 0).sum(0) / np.maximum(counts, 1), np.nan
    )
    overall = values[present].mean() if present.any() else float("nan")
    return per_step, float(overall)


def mae(targets, forecasts):
    """Mean absolute error. Returns (per_step (H,), overall)."""
    t, f, present = _masked(targets, forecasts)
    return _reduce(np.abs(f - t), present)


def rmse(targets, forecasts):
    """Root mean squared error. Returns (per_step (H,), overall)."""
    t, f, present = _masked(targets, forecasts)
    per_step, overall = _reduce((f - t) ** 2, present)
    return np.sqrt(per_step), float(np.sqrt(overall))


def mape(targets, forecasts):
    """Mean absolute percentage error in %, over targets that are not 0."""
    t, f, present = _masked(targets, forecasts)
    present &= t != 0
    return _reduce(100.0 * np.abs((f - t) / np.where(present, t, 1.0)), present)


def forecast_report(targets, forecasts):
    """dict with mae/rmse/mape overall and per horizon step (JSON-ready)."""
    report = {}
    for name, fn in (("mae", mae), ("rmse", rmse), ("mape", mape)):
        per_step, overall = fn(targets, forecasts)
        report[name] = round(overall, 4)
        report[f"{name}_per_step"] = [round(float(v), 4) for v in per_step]
    return report
