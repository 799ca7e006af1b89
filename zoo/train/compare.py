"""Chatbots compared over several seeds: mean ± standard deviation, and the
sheet's claim (the attention decoder beats the plain LSTM decoder) judged
per metric on those intervals, never on one run.

A claim is `held` when the attention decoder's interval (mean ± std) lies
wholly on the better side of the LSTM decoder's, `reversed` when it lies
wholly on the worse side, and `undecided` when the intervals overlap.

Example:
>>> verdict([0.50, 0.52, 0.54], [0.40, 0.41, 0.42], higher_is_better=True)
'held'
>>> verdict([0.40, 0.50], [0.44, 0.46], higher_is_better=True)
'undecided'
"""

import numpy as np

from zoo.train.chatbot_task import SIMILARITY_LABELS, SPLITS

CLAIM = ("lstm-attention", "lstm")  # (challenger, reference) of sheet A3
# What a person notices (zoo.relevance): test replies and the rubric.
RELEVANCE_LABELS = {
    "distinct_1": "test d-1",
    "distinct_2": "test d-2",
    "generic_rate": "test generic",
    "on_topic": "rubric on topic",
}
# (split, key) of every compared quantity; all but these are higher-better.
LOWER_IS_BETTER = ("loss", "generic_rate")
QUANTITIES = (
    [("val", "loss")]
    + [(split, key) for split in SPLITS for key in SIMILARITY_LABELS]
    + [("test", key) for key in RELEVANCE_LABELS if key != "on_topic"]
    + [("rubric", "on_topic")]
)


def _values(metrics_json, name, split, key):
    """One quantity of one model (or baseline) in one run's metrics.json
    (None for a relevance measure of a run older than them)."""
    if key == "loss":
        return metrics_json["results"][name].get("val_loss")
    if key in RELEVANCE_LABELS:
        return metrics_json["results"][name].get(key)
    return metrics_json["splits"][name][split][key]


def mean_std(values):
    """(mean, sample standard deviation; 0 for one value) of a list."""
    values = np.asarray(values, dtype="float64")
    std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return float(values.mean()), std


def verdict(challenger, reference, higher_is_better):
    """ "held", "reversed" or "undecided" for the claim challenger > reference.

    Fewer than two seeds a side is always "undecided": one run has no spread.
    """
    if min(len(challenger), len(reference)) < 2:
        return "undecided"
    (a, sa), (b, sb) = mean_std(challenger), mean_std(reference)
    sign = 1.0 if higher_is_better else -1.0
    if sign * (a - b) > sa + sb:
        return "held"
    if sign * (b - a) > sa + sb:
        return "reversed"
    return "undecided"


def compare(runs):
    """Aggregates finished runs of several models and seeds.

    Args:
        runs: list of (model name, seed, metrics.json dict).

    Returns:
        dict with `seeds`, `models` (the trained models, then the
        baselines), `rows` (one per model and quantity: split, key, mean,
        std, values) and `claims` (one per quantity the claim applies to).
    """
    if not runs:
        raise ValueError("runs: expected at least one finished run, got 0")
    seeds = sorted({seed for _, seed, _ in runs})
    trained = list(dict.fromkeys(model for model, _, _ in runs))
    baselines = [
        name for name in runs[0][2]["splits"] if name not in {m for m, _, _ in runs}
    ]
    collected, seen = {}, set()
    for model, seed, metrics_json in runs:
        # A baseline depends on the seed (through the split), not on the
        # model: it is counted once per seed.
        names = [model, *(b for b in baselines if (b, seed) not in seen)]
        seen.update((b, seed) for b in baselines)
        for name in names:
            for split, key in QUANTITIES:
                if key == "loss" and name != model:
                    continue  # baselines have no loss
                value = _values(metrics_json, name, split, key)
                if value is not None:
                    collected.setdefault((name, split, key), []).append(value)
    rows = []
    for (name, split, key), values in collected.items():
        mean, std = mean_std(values)
        rows.append({"model": name, "split": split, "metric": key,
                     "mean": round(mean, 6), "std": round(std, 6),
                     "values": values})  # fmt: skip
    claims = []
    challenger, reference = CLAIM
    if challenger in trained and reference in trained:
        for split, key in QUANTITIES:
            a = collected.get((challenger, split, key))
            b = collected.get((reference, split, key))
            if not a or not b:
                continue
            claims.append({"split": split, "metric": key,
                           "verdict": verdict(a, b, key not in LOWER_IS_BETTER),
                           challenger: [round(v, 6) for v in mean_std(a)],
                           reference: [round(v, 6) for v in mean_std(b)]})  # fmt: skip
    return {"seeds": seeds, "models": trained + baselines, "rows": rows,
            "claims": claims}  # fmt: skip


def quantity_label(split, metric):
    """The column title of one compared quantity.

    Args:
        split: str, "val", "train", "test" or "rubric".
        metric: str, a key of QUANTITIES.

    Returns:
        str.

    Example:
    >>> quantity_label("val", "loss"), quantity_label("test", "distinct_2")
    ('val loss', 'test d-2')
    """
    if metric == "loss":
        return "val loss"
    if metric in RELEVANCE_LABELS:
        return RELEVANCE_LABELS[metric]
    return f"{split} {SIMILARITY_LABELS[metric]}"


def comparison_frame(comparison):
    """A wide table: one row per model, "mean ± std" per (split, metric)."""
    import pandas as pd

    table = {}
    for row in comparison["rows"]:
        metric = row["metric"]
        label = quantity_label(row["split"], metric)
        digits = {"loss": 3, "on_topic": 1}.get(metric, 4)
        table.setdefault(row["model"], {"model": row["model"]})[label] = (
            f"{row['mean']:.{digits}f} ± {row['std']:.{digits}f}"
        )
    order = [m for m in comparison["models"] if m in table]
    return pd.DataFrame([table[m] for m in order]).fillna("")


def comparison_markdown(comparison):
    """comparison.md: the seeds, the mean ± std table and the claims."""
    lines = [
        f"# Chatbots over seeds {', '.join(map(str, comparison['seeds']))}",
        "",
        "Mean ± sample standard deviation over seeds (a seed sets the weights, "
        "the shuffling and the split). Train and val similarities are on the "
        "fixed per-epoch samples at the kept epoch, test on the test split.",
        "",
        comparison_frame(comparison).to_markdown(index=False),
    ]
    if comparison["claims"]:
        lines += [
            "",
            "Sheet A3's claim, the attention decoder (lstm-attention) better than "
            "the LSTM decoder (lstm): held when the intervals lie apart in its "
            "favour, reversed when apart the other way, undecided when they "
            "overlap (or with fewer than two seeds).",
            "",
            "| split | metric | verdict |",
            "|---|---|---|",
            *(f"| {c['split']} | {c['metric']} | {c['verdict']} |"
              for c in comparison["claims"]),
        ]  # fmt: skip
    return "\n".join(lines) + "\n"
