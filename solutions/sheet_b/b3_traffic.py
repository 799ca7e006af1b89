"""Sheet B3: travel-time forecasts against baselines, from the runs.

On the embedded data no window crosses the night, so each horizon step sees
its own hours of the day: steps are compared on the targets common to all
steps, errors are also given by hour, and the best forecaster is picked on
the validation split. Each claim of the derivation is a module-level
constant or function, so that a wrong one fails its check.
"""

import json
import os
import shutil
import zipfile

import pandas as pd

from solutions.core.document import (
    Figure,
    Math,
    Section,
    Table,
    Text,
    check,
    missing_runs,
)
from solutions.core.runs import kept_epoch

COMMAND = "python -m zoo.train traffic"
PLAIN = "lstm"  # the sheet's model
SHORT = {
    "persistence": "persist.",
    "seasonal-naive": "seas. naive",
    "historical-average": "hist. avg",
}
DCRNN_REFERENCE = pd.DataFrame(
    {
        "model": ["historical average", "FC-LSTM", "DCRNN"],
        "MAE (mph)": [4.16, 3.44, 2.77],
    }
)
# Claims of the derivation, each checked against the data or the runs.
READING_HOURS = (6, 19)  # embedded data: whole hours 06:00 to 19:00 every day
HORIZON_FREE = ("seasonal-naive", "historical-average")  # ignore the step ahead
KEPT_EPOCH = ("val_loss", min)  # the kept epoch: lowest validation loss


def target_hours(step, lookback, horizon, hours=READING_HOURS):
    """(first, last) hour of the targets of step `step` (from 1).

    A day of readings at hours a..b gives windows whose first input is at
    t = a..b-P-F+1 (lookback P, horizon F); their step-s target is at t+P+s-1.

    Args:
        step, lookback, horizon: int.
        hours: (a, b), the first and last reading of a day.

    Returns:
        (int, int).
    """
    first, last = hours
    return first + lookback + step - 1, last - horizon + step


def common_hours(lookback, horizon, hours=READING_HOURS):
    """(first, last) hour that every step reaches: step H's first, step 1's last."""
    last_step, first_step = (
        target_hours(s, lookback, horizon, hours) for s in (horizon, 1)
    )
    return last_step[0], first_step[1]


def lstm_parameters(features, units, horizon):
    """One LSTM layer (4 gates: input and recurrent weights, bias), dense head."""
    return 4 * units * (features + units + 1) + horizon * (units + 1)


def pooled_mae(per_hour, counts):
    """The overall MAE from per-hour MAEs, the hours partitioning the targets.

    Args:
        per_hour: {hour: MAE}.
        counts: {hour: number of targets}.

    Returns:
        float.
    """
    total = sum(counts[h] for h in per_hour)
    return sum(per_hour[h] * counts[h] for h in per_hour) / total


def _span(pair):
    return f"{pair[0]:02d}–{pair[1]:02d} h"


def _name(forecaster):
    return forecaster.replace("-", " ") if forecaster in SHORT else forecaster


def _fresh(run):
    """Whether metrics.json has the validation, per-hour and common-target
    fields (none when no target is common to all steps)."""
    metrics = run["metrics"]
    return "val_results" in metrics and bool(
        metrics.get("common_hours", {}).get("test")
    )


def _data_facts(config):
    """Facts of the embedded data (None when the run read another file)."""
    if config.get("data") is not None:
        return None
    from zoo.data.traffic import load_travel_times

    frame = load_travel_times(series=config.get("series"))
    times = frame["time"]
    per_day = frame.groupby([frame["series"], times.dt.date]).size()
    return {
        "series": frame["series"].nunique(),
        "days": times.dt.date.nunique(),
        "dates": (times.min().date(), times.max().date()),
        "hours": (int(times.dt.hour.min()), int(times.dt.hour.max())),
        "per_day": ", ".join(map(str, sorted(set(per_day)))),
        "whole": "whole hours" if (times.dt.minute == 0).all() else "minutes too",
    }


def _optimizer(run):
    """(name, learning rate) from metrics.json, else the run's model.keras."""
    if run["metrics"].get("optimizer"):
        recorded = run["metrics"]["optimizer"]
        return recorded["name"], recorded["learning_rate"]
    try:
        with zipfile.ZipFile(os.path.join(run["path"], "model.keras")) as archive:
            compiled = json.loads(archive.read("config.json"))["compile_config"]
        optimizer = compiled["optimizer"]
        return optimizer["class_name"], round(optimizer["config"]["learning_rate"], 8)
    except (OSError, KeyError, TypeError, ValueError, zipfile.BadZipFile):
        return None, None


def _model(run):
    """(paragraph, layer table, Keras' parameter count) of a run's network."""
    from zoo.data.windows import NUM_FEATURES
    from zoo.models.forecasting import build_forecaster
    from zoo.train.traffic_task import TrafficTask

    c, metrics = run["config"], run["metrics"]
    model = build_forecaster(
        c["model"], c["lookback"], c["horizon"], NUM_FEATURES, c["units"]
    )
    rows = [
        {
            "layer": type(layer).__name__,
            "units": getattr(layer, "units", ""),
            "parameters": layer.count_params(),
        }
        for layer in model.layers[1:]
    ]
    name, rate = _optimizer(run)
    optimizer = f"{name}, learning rate {rate:g}" if name else "not recorded"
    loss = metrics.get("loss", TrafficTask.loss_label)
    text = f"**Model** (the `{c['model']}` run: its config.json and the builder in `zoo.models.forecasting`): input {c['lookback']} × {NUM_FEATURES}, the layers below, {model.count_params():,} parameters. Loss {loss}; optimizer {optimizer}; batch {c['batch_size']}, at most {c['epochs']} epochs, early stopping after {c['patience']} epochs without a lower `{c['monitor']}`, keeping the epoch with the lowest: epoch {metrics['best_epoch']} of {metrics['epochs_run']}."
    table = Table(pd.DataFrame(rows).astype(object), f"Layers of `{c['model']}`")
    return [Text(text), table], model.count_params()


def _step_verdict(values, s, networks, baselines, plain):
    """(key, sentence) at step s: the baselines better than every network,
    else than `plain`; equal keys mean the same verdict."""
    best = min(networks, key=lambda n: values[n][s])
    beat = [b for b in baselines if values[b][s] < values[best][s]]
    whom = f"every network (best {best}, {values[best][s]:.2f} s)"
    if not beat or len(networks) == 1:
        beat = [b for b in baselines if values[b][s] < values[plain][s]]
        whom = f"{plain} ({values[plain][s]:.2f} s)"
    if not beat:
        return (), f"{plain} ({values[plain][s]:.2f} s) beats every baseline"
    who = ", ".join(f"{_name(b)} ({values[b][s]:.2f} s)" for b in beat)
    verb = "beats" if len(beat) == 1 else "beat"
    return (*beat, whom.split()[0]), f"{who} {verb} {whom}"


def _findings(results, val, networks, baselines, plain, counts, span):
    """The Result paragraphs, every statement computed from the numbers."""
    best_net, best_base = min(networks, key=val.get), min(baselines, key=val.get)
    mae = {n: r["mae"] for n, r in results.items()}

    def percent(n, base=best_base):
        change = 100 * (1 - mae[n] / mae[base])
        return f"{abs(change):.1f}% {'lower' if change >= 0 else 'higher'}"

    sheet = " (the plain LSTM, the sheet's model)" if best_net == PLAIN else ""
    texts = [
        f"Chosen on the validation split: **{best_net}**{sheet} among the networks (validation MAE {val[best_net]:.3f} s) and **{_name(best_base)}** among the baselines ({val[best_base]:.3f} s). On test, {best_net} scores {mae[best_net]:.3f} s against {mae[best_base]:.3f} s for {_name(best_base)}: {percent(best_net)}."
    ]
    if plain != best_net:
        texts.append(
            f"The plain `{plain}` (the sheet's model) scores {mae[plain]:.3f} s on test, {percent(plain)} than {_name(best_base)}."
        )
    test_best = min(baselines, key=mae.get)
    if test_best != best_base:
        texts[-1] += (
            f" The {_name(test_best)} does better on test ({mae[test_best]:.3f} s; `{plain}` is {percent(plain, test_best)}) but was not chosen: the choice is made on validation."
        )
    fair = {n: r["mae_per_step_common"] for n, r in results.items()}
    raw = {n: r["mae_per_step"] for n, r in results.items()}
    steps, args = range(len(fair[plain])), (networks, baselines, plain)
    verdicts = {
        k: [_step_verdict(v, s, *args) for s in steps]
        for k, v in (("fair", fair), ("raw", raw))
    }
    said = "; ".join(f"step {s + 1}: {verdicts['fair'][s][1]}" for s in steps)
    texts.append(f"Per step, on the same targets ({_span(span)}): {said}.")
    differ = [s for s in steps if verdicts["fair"][s][0] != verdicts["raw"][s][0]]
    if differ:
        said = "; ".join(f"step {s + 1}: {verdicts['raw'][s][1]}" for s in differ)
        texts.append(
            f"Pooled over all targets instead, each step at its own hours, the verdict would differ at {said}."
        )
    hours = sorted(counts, key=int)
    per_hour = {n: r["mae_per_hour"] for n, r in results.items()}
    worst = max(hours, key=lambda h: per_hour[plain][h])
    reach = [str(s + 1) for s, n in enumerate(counts[worst]) if n]
    reach = f"step {reach[0]} only" if len(reach) == 1 else f"steps {', '.join(reach)}"
    lose = {
        b: [h for h in hours if per_hour[b][h] < per_hour[plain][h]] for b in baselines
    }
    wins = ", ".join(h for h in hours if not any(h in v for v in lose.values()))
    lost = "; ".join(f"{_name(b)} at {', '.join(v)} h" for b, v in lose.items() if v)
    lost = (
        f"the baselines beat it as follows: {lost}"
        if lost
        else "no baseline beats it at any hour"
    )
    wins = f"at {wins} h" if wins else "at no hour"
    texts.append(
        f"By hour, `{plain}` errs most at {int(worst):02d}:00 ({per_hour[plain][worst]:.2f} s; targets of {reach}). It beats every baseline {wins}; {lost}."
    )
    free = next((b for b in reversed(HORIZON_FREE) if b in results), None)
    if free:
        shown = [", ".join(f"{v:.2f}" for v in d[free]) for d in (raw, fair)]
        texts.append(
            f"The {_name(free)} ignores the step, yet pooled over all targets its MAE per step reads {shown[0]} s; on the common targets it is {shown[1]} s: the rise is the hour mix."
        )
    return [Text(t) for t in texts], best_net


def _tables(results, networks, baselines, plain, counts, span):
    """The per-step table on common targets and the per-hour tables."""
    label = {n: n if n in networks else f"{_name(n)} (baseline)" for n in results}
    steps = pd.DataFrame(
        [
            {
                "forecaster": label[n],
                **{f"step {s + 1}": v for s, v in enumerate(r["mae_per_step_common"])},
            }
            for n, r in results.items()
        ]
    )
    blocks = [
        Table(
            steps,
            f"Test MAE (s) per step on the targets common to all steps ({_span(span)})",
            decimals=2,
        )
    ]
    hours = sorted(counts, key=int)
    reach = [[s + 1 for s, n in enumerate(counts[h]) if n] for h in hours]
    first = {
        "hour": [f"{int(h):02d}" for h in hours],
        "steps": [f"{r[0]}–{r[-1]}" if len(r) > 1 else str(r[0]) for r in reach],
    }
    others = [n for n in networks if n != plain]  # 4 at most in the registry
    for i, group in enumerate(
        [[plain, *baselines], others] if others else [[plain, *baselines]]
    ):
        columns = {
            SHORT.get(n, n): [results[n]["mae_per_hour"][h] for h in hours]
            for n in group
        }
        caption = (
            "The same for the other networks"
            if i
            else "Test MAE (s) by hour of the target, pooled over the steps that reach it"
        )
        blocks.append(Table(pd.DataFrame({**first, **columns}), caption, decimals=2))
    return blocks


def _fresh_part(runs, ref, config):
    """(result texts, tables, checks, validation MAEs, best network) of the
    runs that hold validation and per-hour metrics."""
    from zoo.models.forecasting.baselines import BASELINES

    metrics = runs[ref]["metrics"]
    networks = sorted(runs)
    baselines = [b for b in BASELINES if b in metrics["results"]]
    results = {n: runs[n]["metrics"]["results"][n] for n in networks}
    results.update({b: metrics["results"][b] for b in baselines})
    val = {n: runs[n]["metrics"]["val_results"][n]["mae"] for n in networks}
    val.update({b: metrics["val_results"][b]["mae"] for b in baselines})
    plain = PLAIN if PLAIN in runs else ref
    counts = metrics["hour_counts"]["test"]
    span = (metrics["common_hours"]["test"][0], metrics["common_hours"]["test"][-1])
    args = (networks, baselines, plain, counts, span)
    texts, best = _findings(results, val, *args)
    lookback, horizon, checks = config["lookback"], config["horizon"], []
    if config.get("data") is None:  # the hour claims are about the embedded data
        hours = [[int(h) for h in counts if counts[h][s]] for s in range(horizon)]
        seen = ", ".join(_span((min(h), max(h))) for h in hours)
        claimed = ", ".join(
            _span(target_hours(s + 1, lookback, horizon)) for s in range(horizon)
        )
        common = common_hours(lookback, horizon)
        checks.append(
            check(
                "hours of the test targets, step by step",
                seen,
                claimed,
                seen == claimed,
            )
        )
        checks.append(
            check(
                "hours of the targets common to all steps",
                _span(span),
                _span(common),
                span == common,
            )
        )
    fair = [results[b]["mae_per_step_common"] for b in HORIZON_FREE if b in results]
    spread = max(max(v) - min(v) for v in fair)
    checks.append(
        check(
            f"spread over the steps of the common-target MAE of {', '.join(map(_name, HORIZON_FREE))}",
            spread,
            "0 (< 1e-3): they ignore the step",
            spread < 1e-3,
            "{:.1e}",
        )
    )
    totals = {h: sum(n) for h, n in counts.items()}
    gap = max(
        abs(pooled_mae(results[n]["mae_per_hour"], totals) - results[n]["mae"])
        for n in [ref, *baselines]
    )
    checks.append(
        check(
            f"max over the {ref} run of MAE pooled from the hours minus the overall MAE",
            gap,
            "0 (< 1e-3)",
            gap < 1e-3,
            "{:.1e}",
        )
    )
    return texts, _tables(results, *args), checks, val, best


def _overview(runs, ref, val):
    """Validation and test metrics of every network and of the baselines."""
    results = dict(runs[ref]["metrics"]["results"])
    results.update({n: runs[n]["metrics"]["results"][n] for n in runs})
    order = sorted(runs) + [n for n in results if n not in runs]
    rows = [
        {
            "forecaster": n if n in runs else f"{_name(n)} (baseline)",
            "val MAE": val.get(n),
            "test MAE": results[n]["mae"],
            "RMSE": results[n]["rmse"],
            "MAPE (%)": results[n]["mape"],
        }
        for n in order
    ]
    caption = "Seconds (MAPE in %); the validation MAE picks the best, the test columns report"
    return Table(pd.DataFrame(rows).astype(object), caption)


def _kept_epoch_check(runs):
    """Each run's best_epoch against the history's pick (KEPT_EPOCH)."""
    column, pick = KEPT_EPOCH
    found = {}
    for model, run in sorted(runs.items()):
        epoch = kept_epoch(run["history"], column, pick)
        if epoch is not None:
            found[model] = epoch
    kept = {m: runs[m]["metrics"].get("best_epoch") for m in found}
    kept_text, found_text = (
        ", ".join(f"{m} {e}" for m, e in d.items()) for d in (kept, found)
    )
    return check(
        f"kept epoch = {pick.__name__} {column} over history.csv",
        kept_text,
        found_text,
        kept == found,
    )


def _derivation(config, facts, model_blocks):
    """The data, the windows and baselines, the model, the hours of each step."""
    lb, hz = config["lookback"], config["horizon"]
    a, b = READING_HOURS
    if facts:
        data = f"the data shipped in the package, `zoo/datasets/traffic/sunnyside_travel_times.parquet`: the sample data of the PyPI package traffic-anomaly 2.5.4 (Oregon Department of Transportation, MIT licence), hourly travel times in seconds on {facts['series']} road segments of SE Sunnyside Rd, Oregon, over {facts['days']} days ({facts['dates'][0]} to {facts['dates'][1]}), read from {facts['hours'][0]:02d}:00 to {facts['hours'][1]:02d}:00 only"
    else:
        data = f"the file `{config['data']}` given with --data"
    split = "/".join(str(round(100 * f)) for f in config["split"])
    data = f"**Data.** The sheet's own road data is not public (and the report is built offline), so the runs use {data}. The unit is seconds, not the mph of METR-LA."
    windows = f"Windows of the last {lb} readings (standardized per segment with the training part's mean and deviation, plus sin/cos of the time of day and week) predict the next {hz}. Baselines: persistence (repeat the last value), seasonal naive (same time one day earlier, persistence where missing) and historical average (training mean of the segment at that time of day). The split is chronological, {split}; no window crosses the night."
    why = "**Why not MAE per step.** Write $P$ for the lookback (readings in a window) and $F$ for the horizon (steps forecast): letters of their own, since $L$ and $H$ mean length and heads in the other sections. A day of readings from hour $a$ to hour $b$ gives windows whose first input is at $t = a, \\dots, b-P-F+1$; the target of step $s$ is at $t+P+s-1$, so"
    hours = "\\text{hours of step } s = [\\,a+P+s-1,\\; b-F+s\\,], \\qquad \\text{common to all steps: } [\\,a+P+F-1,\\; b-F+1\\,]."
    so = f"With $a = {a}$, $b = {b}$, $P = {lb}$, $F = {hz}$: step 1 at {_span(target_hours(1, lb, hz))}, step {hz} at {_span(target_hours(hz, lb, hz))}. Each step sees another part of the day, so even a forecaster that ignores the step (the historical average) scores differently per step. Steps are therefore compared on the common targets (the same segment and time at every step, {_span(common_hours(lb, hz))}), where such a forecaster scores the same at each, and errors are also given by hour of day. The best forecaster is chosen on the validation split; the test split only reports."
    return [Text(data), Text(windows), *model_blocks, Text(why), Math(hours), Text(so)]


def b3(out_dir, runs, read_errors):
    """Section B3 from the traffic runs.

    Args:
        out_dir: str, the report folder (figures/ is written under it).
        runs: {model: run} from `solutions.runs.find_runs(..., "traffic")`.
        read_errors: list of str, unreadable runs, printed as notes.

    Returns:
        Section.
    """
    from zoo.config import TrainConfig
    from zoo.data.windows import NUM_FEATURES

    evidence, checks, result, model_blocks = [], [], [], []
    fresh = {m: r for m, r in runs.items() if _fresh(r)}
    pool = fresh or runs
    ref = (PLAIN if PLAIN in pool else sorted(pool)[0]) if runs else None
    config = runs[ref]["config"] if runs else TrainConfig().resolved().to_dict()
    facts = _data_facts(config)
    if facts:
        first, last = READING_HOURS
        seen = f"{facts['hours'][0]:02d}–{facts['hours'][1]:02d} h, {facts['per_day']} a day, {facts['whole']}"
        claim = f"{first:02d}–{last:02d} h, {last - first + 1} a day, whole hours"
        checks.append(
            check("readings of the embedded data", seen, claim, seen == claim)
        )
    if runs:
        model_blocks, counted = _model(runs[ref])
        if config["model"] == PLAIN:
            claimed = lstm_parameters(NUM_FEATURES, config["units"], config["horizon"])
            checks.append(
                check(
                    "parameters of the LSTM, counted by Keras",
                    counted,
                    claimed,
                    counted == claimed,
                    "{:,}",
                )
            )
        val, best, blocks = {}, ref, []
        if fresh:
            result, blocks, more, val, best = _fresh_part(fresh, ref, config)
            checks += more
        intro = f"Seconds per segment, masked metrics; the baselines are those of the `{ref}` run, on the same windows."
        evidence += [Text(intro), _overview(runs, ref, val), *blocks]
        stale = ", ".join(sorted(set(runs) - set(fresh)))
        if stale:
            evidence.append(
                Text(
                    f"**Missing:** the runs of {stale} predate the validation and per-hour metrics (no `val_results` or `common_hours` in metrics.json), so they are left out of the choice and of the per-step and per-hour tables; produce them with `{COMMAND} --model NAME` and generate the report again."
                )
            )
        evidence.append(
            Table(
                DCRNN_REFERENCE,
                "DCRNN paper, METR-LA, 15 min (a DIFFERENT dataset and unit, reference only)",
            )
        )
        source = os.path.join(runs[best]["path"], "figures", "forecast.png")
        if os.path.isfile(source):
            os.makedirs(os.path.join(out_dir, "figures"), exist_ok=True)
            shutil.copyfile(source, os.path.join(out_dir, "figures", "b3_forecast.png"))
            evidence.append(
                Figure(
                    "b3_forecast",
                    f"{best}: test forecasts, one segment, 1 step ahead",
                    png_only=True,
                )
            )
        checks.append(_kept_epoch_check(runs))
    else:
        evidence.append(missing_runs("traffic", COMMAND))
    evidence += [Text(f"Note: {p}") for p in read_errors]
    statement = "Each time interval of a highway section has the average travel time through it. Predict future travel times with a recurrent network (LSTM) and evaluate against simple baselines."
    missing = f"No result: no run holds validation and per-hour metrics; produce one with `{COMMAND}`."
    return Section(
        "B3",
        "Forecasting travel times with an LSTM",
        statement=[Text(statement)],
        derivation=_derivation(config, facts, model_blocks),
        result=result or [Text(missing)],
        evidence=evidence,
        checks=checks,
    )
