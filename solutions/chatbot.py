"""Sheets A3 and B1: the chatbot runs, their comparison, the similarity measures."""

import math

import pandas as pd

from solutions import figures
from solutions.document import Figure, Math, Section, Table, Text, check, missing_runs
from zoo import metrics

SHEET_REFERENCE = pd.DataFrame(
    [
        {"decoder": "LSTM", "Jaccard": 0.7149, "cosine": 0.8324,
         "Damerau-Levenshtein": 0.5087, "loss": 1.1828},
        {"decoder": "attention", "Jaccard": 0.7648, "cosine": 0.8655,
         "Damerau-Levenshtein": 0.6344, "loss": 1.1596},
    ]
)  # fmt: skip
COMMAND = "python -m zoo.train  (or: python -m solutions --train-quick)"
ORDER = ("lstm", "lstm-attention", "transformer", "transformer-linear")


def results_table(runs):
    rows = []
    for model in sorted(runs, key=lambda m: ORDER.index(m) if m in ORDER else 99):
        m = runs[model]["metrics"]
        r = m["results"][model]
        epochs = max(int(m.get("epochs_run", 0)), 1)
        rows.append({
            "model": model, "test loss": r["loss"], "perplexity": r["perplexity"],
            "Jaccard": r["jaccard"], "cosine": r["cosine"],
            "Damerau-Levenshtein": r["damerau_levenshtein"], "BLEU": r["bleu"],
            "epochs": m.get("epochs_run"), "best epoch": m.get("best_epoch"),
            "s / epoch": round(m.get("train_seconds_this_process", 0) / epochs, 2),
        })  # fmt: skip
    return pd.DataFrame(rows)


def comparison_text(table):
    """A3.3 written from the numbers: who wins each metric and by how much."""
    lines = []
    by_model = table.set_index("model")
    for metric in ("Jaccard", "cosine", "Damerau-Levenshtein"):
        best = by_model[metric].idxmax()
        lines.append(f"{metric}: best **{best}** ({by_model[metric].max():.4f})")
    best_loss = by_model["test loss"].idxmin()
    lines.append(
        f"test loss: lowest **{best_loss}** ({by_model['test loss'].min():.4f})"
    )
    text = "; ".join(lines) + "."
    if {"lstm", "lstm-attention"} <= set(by_model.index):
        a, b = by_model.loc["lstm-attention"], by_model.loc["lstm"]
        text += (
            " Attention minus plain LSTM decoder: Jaccard "
            f"{a['Jaccard'] - b['Jaccard']:+.4f}, Damerau-Levenshtein "
            f"{a['Damerau-Levenshtein'] - b['Damerau-Levenshtein']:+.4f}, loss "
            f"{a['test loss'] - b['test loss']:+.4f}; time per epoch "
            f"{a['s / epoch']:.2f} s against {b['s / epoch']:.2f} s."
        )
    return text


def epoch_figures(runs, out_dir):
    made = []
    for key, label, stem in (
        ("val_loss", "validation loss (cross-entropy per token)", "a3_val_loss"),
        (
            "val_damerau_levenshtein",
            "validation Damerau-Levenshtein similarity",
            "a3_val_dl",
        ),
        ("val_jaccard", "validation Jaccard similarity", "a3_val_jaccard"),
    ):
        figure, axis = figures.new()
        drawn = False
        for model, run in runs.items():
            rows = [r for r in run["history"] if key in r]
            if rows:
                axis.plot([int(r["epoch"]) + 1 for r in rows], [float(r[key]) for r in rows],
                          marker=".", label=model)  # fmt: skip
                drawn = True
        axis.set_xlabel("epoch")
        axis.set_ylabel(label)
        if drawn:
            axis.legend()
            figures.save(figure, out_dir, stem)
            made.append(Figure(stem, f"Per epoch: {label}"))
        else:
            import matplotlib.pyplot as plt

            plt.close(figure)
    return made


def samples_table(runs):
    rows = []
    for model, run in runs.items():
        for sample in run["metrics"].get("samples", [])[:3]:
            rows.append({"model": model, **sample})
    return pd.DataFrame(rows)


def a3_b1(out_dir, runs, problems):
    checks, verdicts = [], []
    if runs:
        table = results_table(runs)
        corpus = next(iter(runs.values()))["metrics"]
        checks += [
            Text(
                f"Test split ({corpus.get('test_pairs')} pairs), greedy decoding, "
                f"similarities over {corpus.get('similarity_over', 'word tokens')}; "
                "the runs are read from their `metrics.json`:"
            ),
            Table(table, "Chatbot test metrics (this repository, embedded corpus)", 4),
            Table(
                SHEET_REFERENCE,
                "The sheet's reference numbers: a DIFFERENT dataset, shown as a reference only",
                4,
            ),
            Text("**A3.3 from our numbers.** " + comparison_text(table)),
            *epoch_figures(runs, out_dir),
        ]
        samples = samples_table(runs)
        if len(samples):
            checks.append(Table(samples, "Sample replies (test split, greedy)"))
        for model, run in runs.items():
            r = run["metrics"]["results"][model]
            consistent = (
                abs(math.exp(r["loss"]) - r["perplexity"])
                <= 1e-3 * r["perplexity"] + 1e-3
            )
            bounded = all(
                0 <= r[k] <= 1 for k in ("jaccard", "cosine", "damerau_levenshtein")
            )
            verdicts.append(check(f"{model}: perplexity = exp(loss), similarities in [0, 1]",
                                  f"{r['perplexity']}", f"exp({r['loss']})", consistent and bounded))  # fmt: skip
    else:
        checks.append(missing_runs("chatbot", COMMAND))
    checks += [Text(f"Note: {p}") for p in problems]
    return Section(
        "A3/B1",
        "Seq2seq chatbots: LSTM decoder, attention decoder, transformer",
        statement=[
            Text(
                "Train a single-turn chatbot (sheet B1: Cornell Movie-Dialogs or a "
                "larger corpus; greedy search decoding) as an LSTM encoder-decoder "
                "(A3.1) and with an attention decoder (A3.2): training and "
                "validation loss per epoch, per-epoch Jaccard, cosine and "
                "Damerau-Levenshtein similarity, final test metrics; compare the "
                "decoders (A3.3)."
            )
        ],
        derivation=[
            Text(
                "Both models embed the input, read it with an LSTM encoder and "
                "generate the reply token by token with teacher forcing during "
                "training (masked cross-entropy over real tokens). The plain "
                "decoder starts from the encoder's final $(h, c)$ only: the whole "
                "input is squeezed into one fixed vector. The attention decoder "
                "(Luong) scores each decoder state against every encoder output:"
            ),
            Math(
                "a_{tj} = \\mathrm{softmax}_j\\big(h_t^\\top W s_j\\big), \\quad c_t = \\sum_j a_{tj} s_j, \\quad \\tilde h_t = \\tanh(W_c[h_t; c_t])"
            ),
            Text(
                "so it has direct access to every input token (no bottleneck, "
                "shorter gradient paths for long-range dependencies) at the cost of "
                "$O(S)$ work per generated token. Neither recurrent decoder is "
                "parallel over time at inference; the transformer decoder "
                "is parallel over time in training (causal mask) and caches keys "
                "and values at inference (`zoo.decoding`, checked equal to full "
                "recomputation)."
            ),
        ],
        checks=checks,
        verdicts=verdicts,
    )


EXAMPLES = [
    ("the cat sat on the mat", "the cat sat on a mat"),
    ("i am fine thank you", "thank you i am fine"),
    ("yes", "no"),
]


def a3_4(out_dir):
    rows = []
    for reference, reply in EXAMPLES:
        r, h = reference.split(), reply.split()
        rows.append({"reference": reference, "reply": reply,
                     "Jaccard": metrics.jaccard(r, h), "cosine": metrics.cosine(r, h),
                     "Damerau-Levenshtein": metrics.damerau_levenshtein(r, h)})  # fmt: skip
    # Hand values: example 1 sets {the,cat,sat,on,mat} vs {...,a}: 5 / 6 shared;
    # counts the:2 vs the:1,a:1 -> (2+1+1+1+1)/(sqrt(8) sqrt(6)); one substitution.
    hand = [
        (5 / 6, 6 / math.sqrt(8 * 6), 1 - 1 / 6),
        (1.0, 1.0, 1 - 4 / 5),
        (0.0, 0.0, 0.0),
    ]
    worst = max(
        abs(row[k] - v)
        for row, values in zip(rows, hand, strict=True)
        for k, v in zip(
            ("Jaccard", "cosine", "Damerau-Levenshtein"), values, strict=True
        )
    )
    return Section(
        "A3.4",
        "The three similarity measures",
        statement=[
            Text(
                "Define Jaccard, cosine and Damerau-Levenshtein similarity and how they differ."
            )
        ],
        derivation=[
            Text(
                "For a reference reply $r$ and a generated reply $g$, as token sequences:"
            ),
            Math("J(r, g) = \\frac{|T(r) \\cap T(g)|}{|T(r) \\cup T(g)|}"),
            Text(
                "with $T(\\cdot)$ the *set* of tokens: order and repetition are ignored."
            ),
            Math("\\cos(r, g) = \\frac{c_r^\\top c_g}{\\|c_r\\|\\,\\|c_g\\|}"),
            Text(
                "with $c$ the token-count vectors: repetitions count, order does not."
            ),
            Math(
                "\\mathrm{DL}(r, g) = 1 - \\frac{d_{\\mathrm{DL}}(r, g)}{\\max(|r|, |g|)}"
            ),
            Text(
                "with $d_{\\mathrm{DL}}$ the least number of insertions, deletions, "
                "substitutions and transpositions of adjacent tokens turning $r$ "
                "into $g$: the only one of the three that sees order. The zoo "
                "computes it over word tokens with rapidfuzz (unrestricted "
                "Damerau-Levenshtein)."
            ),
        ],
        checks=[
            Table(pd.DataFrame(rows), "Worked examples computed by zoo.metrics", 4)
        ],
        verdicts=[
            check(
                "max |zoo.metrics - hand-computed value| over the examples",
                worst,
                "0 (< 1e-12)",
                worst < 1e-12,
                "{:.1e}",
            ),  # fmt: skip
        ],
    )
