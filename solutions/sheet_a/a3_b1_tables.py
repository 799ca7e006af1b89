"""Tables and figures of sheet A3/B1 built from chatbot runs and comparisons.

A run is a dict (path, config, metrics, history) from `solutions.runs`;
a comparison is the `comparison.json` of `python -m zoo.train chatbot
--model A,B,C --seeds 0,1,2`.
"""

import pandas as pd

from solutions.core import figures
from solutions.core.document import Figure
from zoo import metrics
from zoo.sheet_reference import SHEET_REFERENCE
from zoo.train.compare import LOWER_IS_BETTER, quantity_label

ORDER = ("lstm", "lstm-attention", "transformer", "transformer-linear")
BASELINES = ("most-frequent", "retrieval")
SIMILARITIES = metrics.SIMILARITY_TITLES
# The sheet's reference rows (similarities and loss on another corpus, of a
# split the sheet leaves ambiguous), printed with the four decimals PROBLEMS.md gives them.
SHEET = [
    {"decoder": name.replace("sheet ", "sheet: "), "split": "unstated",
     **{label: f"{values[key]:.4f}" for key, label in SIMILARITIES.items()},
     "loss": f"{values['loss']:.4f}"}
    for name, values in SHEET_REFERENCE.items()
]  # fmt: skip


def ordered(names):
    """Model names in the sheet's order, then baselines, then the rest."""
    rank = {name: i for i, name in enumerate((*ORDER, *BASELINES))}
    return sorted(names, key=lambda name: (rank.get(name, 99), name))


def ours_vs_sheet(runs):
    """Our training-sample and test similarities and losses beside the sheet's.

    The sheet calls its numbers "the final testing metrics" beside figures
    titled "Training ... similarity per epoch": which split they are is
    ambiguous, so each model shows both of ours, the training sample at the
    kept epoch (training loss) and the whole test split (test loss), and
    retrieval its training row (what memorizing the split gives).
    """
    rows = []
    for model in ordered(runs):
        metrics = runs[model]["metrics"]
        train = metrics["splits"][model]["train"]
        test = metrics["results"][model]
        kept = metrics.get("kept_epoch_history", {})
        for split, values, loss in (("train", train, kept.get("loss")),
                                    ("test", test, test.get("loss"))):  # fmt: skip
            rows.append({"decoder": model, "split": split,
                         **{label: f"{values[key]:.4f}"
                            for key, label in SIMILARITIES.items()},
                         "loss": "" if loss is None else f"{loss:.4f}"})  # fmt: skip
    first = runs[ordered(runs)[0]]["metrics"]
    memorized = first["splits"]["retrieval"]["train"]
    rows.append({"decoder": "retrieval (baseline)", "split": "train",
                 **{label: f"{memorized[key]:.4f}" for key, label in SIMILARITIES.items()},
                 "loss": ""})  # fmt: skip
    return pd.DataFrame(rows + SHEET)


def held_out(runs):
    """Validation-sample and test similarities, test loss, with the baselines."""
    rows, first = [], runs[ordered(runs)[0]]["metrics"]
    names = [*ordered(runs), *BASELINES]
    for name in names:
        metrics = runs[name]["metrics"] if name in runs else first
        splits, result = metrics["splits"][name], metrics["results"][name]
        row = {"model": name}
        for split in ("val", "test"):
            for key, label in (("jaccard", "J"), ("cosine", "cos"),
                               ("damerau_levenshtein", "DL")):  # fmt: skip
                row[f"{split} {label}"] = f"{splits[split][key]:.4f}"
        row["test BLEU"] = f"{result['bleu']:.4f}" if "bleu" in result else ""
        row["test loss"] = f"{result['loss']:.3f}" if "loss" in result else ""
        rows.append(row)
    return pd.DataFrame(rows)


def relevance_table(runs):
    """What a person notices, per model and baseline: distinct-1/2 and the
    generic rate of the test replies, the rubric's prompts answered on
    topic; None when no run measured them (runs older than the rubric)."""
    names = [m for m in ordered(runs) if "rubric" in runs[m]["metrics"]]
    if not names:
        return None
    first = runs[names[0]]["metrics"]
    rows = []
    for name in [*names, *BASELINES]:
        metrics_json = runs[name]["metrics"] if name in runs else first
        result = metrics_json["results"][name]
        rows.append({
            "model": name,
            "distinct-1": f"{result['distinct_1']:.3f}",
            "distinct-2": f"{result['distinct_2']:.3f}",
            "generic rate": f"{result['generic_rate']:.3f}",
            "on topic": f"{result['on_topic']} of {metrics_json['rubric']['prompts']}",
        })  # fmt: skip
    return pd.DataFrame(rows)


def seeds_table(comparison, baselines=False):
    """One row per quantity, one column per model: mean ± std over seeds.

    Args:
        comparison: comparison.json dict.
        baselines: False for the trained models (with the claim's verdict),
            True for the baselines (a second table keeps both on the page).
    """
    claims = {(c["split"], c["metric"]): c["verdict"] for c in comparison["claims"]}
    cells = {}
    for row in comparison["rows"]:
        cells.setdefault((row["split"], row["metric"]), {})[row["model"]] = (
            f"{row['mean']:.3f} ± {row['std']:.3f}"
        )
    models = [m for m in ordered(comparison["models"])
              if (m in BASELINES) == baselines]  # fmt: skip
    rows = []
    for (split, metric), by_model in cells.items():
        if baselines and metric == "loss":
            continue
        label = quantity_label(split, metric)
        if metric in LOWER_IS_BETTER and metric != "loss":
            label += " (lower is better)"
        row = {"quantity": label, **{m: by_model.get(m, "") for m in models}}
        if not baselines:
            row["attention > LSTM"] = claims.get((split, metric), "")
        rows.append(row)
    return pd.DataFrame(rows)


def claims_text(comparison):
    """Which of the sheet's claims hold, from the verdicts."""
    groups = {}
    for claim in comparison["claims"]:
        name = quantity_label(claim["split"], claim["metric"])
        groups.setdefault(claim["verdict"], []).append(name)
    seeds = ", ".join(str(s) for s in comparison["seeds"])
    parts = [f"Over seeds {seeds}, the LSTM decoder with attention beats the plain LSTM "
             f"decoder (intervals mean ± std apart) on: "
             f"{', '.join(groups.get('held', [])) or 'nothing'}"]  # fmt: skip
    if groups.get("reversed"):
        parts.append(f"the LSTM decoder is ahead on: {', '.join(groups['reversed'])}")
    if groups.get("undecided"):
        parts.append(f"the intervals overlap on: {', '.join(groups['undecided'])}")
    return "; ".join(parts) + "."


def prompts_table(runs):
    """Each model's reply to every everyday prompt, side by side."""
    models = [m for m in ordered(runs) if runs[m]["metrics"].get("prompts")]
    if not models:
        return None
    first = runs[models[0]]["metrics"]["prompts"]
    rows = []
    for index, entry in enumerate(first):
        row = {"prompt": entry["prompt"]}
        for model in models:
            row[model] = runs[model]["metrics"]["prompts"][index]["reply"] or "(empty)"
        rows.append(row)
    counts = {"prompt": "distinct replies / degenerate (a token 3 times in a row)"}
    for model in models:
        report = runs[model]["metrics"]["prompt_report"]
        counts[model] = (
            f"{report['distinct']} of {report['count']} / {report['degenerate']}"
        )
    return pd.DataFrame([*rows, counts])


def epoch_figures(runs, out_dir):
    """Loss, DL and cosine per epoch (train dashed, validation solid)."""
    made = []
    panels = (
        ("a3_loss", "loss", "val_loss", "cross-entropy per token",
         "Per epoch: training (dashed) and validation (solid) loss"),
        ("a3_dl", "train_damerau_levenshtein", "val_damerau_levenshtein",
         "Damerau-Levenshtein similarity",
         "Per epoch: Damerau-Levenshtein similarity of greedy replies on the "
         "fixed training sample (dashed, the sheet's Figures 2 and 4) and "
         "validation sample (solid)"),
        ("a3_cos", "train_cosine", "val_cosine", "cosine similarity",
         "Per epoch: cosine similarity of greedy replies on the fixed training "
         "sample (dashed) and validation sample (solid)"),
    )  # fmt: skip
    for stem, train_key, val_key, ylabel, caption in panels:
        figure, axis = figures.new()
        drawn = False
        for model in ordered(runs):
            rows = [
                r for r in runs[model]["history"] if val_key in r and train_key in r
            ]
            if not rows:
                continue
            epochs = [int(r["epoch"]) + 1 for r in rows]
            line = axis.plot(epochs, [float(r[val_key]) for r in rows], marker=".",
                             label=model)[0]  # fmt: skip
            axis.plot(epochs, [float(r[train_key]) for r in rows], "--",
                      color=line.get_color())  # fmt: skip
            drawn = True
        axis.set_xlabel("epoch")
        axis.set_ylabel(ylabel)
        if drawn:
            axis.legend(fontsize=8)
            figures.save(figure, out_dir, stem)
            made.append(Figure(stem, caption))
        else:
            import matplotlib.pyplot as plt

            plt.close(figure)
    return made


def attention_figures(runs, out_dir):
    """The runs' attention heatmaps (one greedy test reply), copied as PNG.

    Returns:
        list of Figure blocks, one per model whose run drew one.
    """
    import os
    import shutil

    made = []
    for model in ordered(runs):
        source = os.path.join(runs[model].get("path", ""), "figures", "attention.png")
        if "path" not in runs[model] or not os.path.isfile(source):
            continue
        stem = f"a3_attention_{model.replace('-', '_')}"
        os.makedirs(os.path.join(out_dir, "figures"), exist_ok=True)
        shutil.copyfile(source, os.path.join(out_dir, "figures", f"{stem}.png"))
        made.append(
            Figure(
                stem,
                f"{model}: attention weights of the greedy reply (rows) over the "
                "input tokens (columns), first test pair with a non-empty reply"
                + (
                    ", cross-attention of the last decoder block, mean over heads"
                    if "transformer" in model
                    else ""
                ),
                png_only=True,
            )
        )
    return made
