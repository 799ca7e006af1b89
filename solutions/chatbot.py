"""Sheets A3 and B1: the chatbot runs, their comparison, the similarity measures."""

import math

import pandas as pd

from solutions import chatbot_tables as tables
from solutions.document import Math, Section, Table, Text, check, missing_runs
from zoo import metrics

COMMAND = "python -m zoo.train  (or: python -m solutions --train-quick)"
# Two code spans, so the line can break between them in the PDF.
SEEDS_COMMAND = (
    "`python -m zoo.train chatbot` `--preset quick --seeds 0,1,2` "
    "`--model lstm,lstm-attention,transformer`"
)


def _kept_epoch_checks(model, run):
    """Checks that can fail: the kept epoch is the history's best, and the
    train/val similarities of metrics.json are that epoch's row."""
    metrics, history = run["metrics"], run["history"]
    result = metrics["results"][model]
    checks = []
    perplexity = result.get("perplexity")
    consistent = perplexity is not None and (
        abs(math.exp(result["loss"]) - perplexity) <= 1e-3 * perplexity + 1e-3
    )
    bounded = all(
        0 <= metrics["splits"][model][split][key] <= 1
        for split in ("train", "val", "test")
        for key in tables.SIMILARITIES
    )
    checks.append(check(f"{model}: perplexity = exp(test loss), similarities in [0, 1]",
                        f"{perplexity}", f"exp({result['loss']})",
                        consistent and bounded))  # fmt: skip
    rule = metrics.get("kept_epoch_rule", "min val_loss")
    mode, column = rule.split(" ", 1)
    values = [float(r[column]) for r in history if column in r]
    if values:
        pick = min if mode == "min" else max
        best = 1 + values.index(pick(values))
        checks.append(check(f"{model}: kept epoch = {rule} over history.csv",
                            metrics.get("best_epoch"), best,
                            metrics.get("best_epoch") == best, "{}"))  # fmt: skip
        row = history[best - 1]
        gap = max(
            abs(metrics["splits"][model][split][key] - float(row[f"{split}_{key}"]))
            for split in ("train", "val")
            for key in tables.SIMILARITIES
            if f"{split}_{key}" in row
        )
        checks.append(check(f"{model}: train/val similarities in metrics.json minus "
                            "the kept epoch's history row (max abs)", gap,
                            "0 (< 1e-4, same weights, same samples)",
                            gap < 1e-4, "{:.1e}"))  # fmt: skip
    return checks


def a3_b1(out_dir, runs, problems, comparison=None, comparison_source=None):
    checks, verdicts = [], []
    runs = {m: r for m, r in runs.items() if "splits" in r["metrics"]}
    if runs:
        first = runs[tables.ordered(runs)[0]]
        kept, config = first["metrics"], first.get("config", {})
        rule = kept.get("kept_epoch_rule", "min val_loss")
        rule_text = rule.replace("min ", "lowest ").replace("max ", "highest ")
        data = kept.get("data", {})
        sizes = data.get("pairs", {})
        dropped = data.get("dropped", {})
        summary = (
            f"{sizes.get('train', 0):,} / {sizes.get('val', 0):,} / "
            f"{sizes.get('test', 0):,} training / validation / test pairs, "
            f"vocabulary {data.get('vocabulary', 0):,}; dropped: "
            + ", ".join(f"{n:,} {reason}" for reason, n in dropped.items() if n)
        )
        samples = kept.get("epoch_sample_pairs", {})
        decoding = kept.get("decoding", {})
        checks += [
            Text(
                f"Corpus `{config.get('corpus', '?')}` (split by conversation where "
                f"the corpus has them): {summary}. The kept epoch is the one with "
                f"the {rule_text} (validation, "
                "never test); early stopping watches the same column. Replies are "
                f"greedy with {decoding.get('no_repeat_ngram', 0)}-gram blocking and "
                f"repetition penalty {decoding.get('repetition_penalty', 1.0)}; "
                f"similarities over word tokens. Train and validation similarities "
                f"are measured after every epoch on fixed samples of "
                f"{samples.get('train', '?')} and {samples.get('val', '?')} pairs, "
                f"test ones on the whole test split ({kept.get('test_pairs')} pairs)."
            ),
            Table(
                tables.train_vs_sheet(runs),
                "Training-split similarities and training loss at the kept epoch "
                "(this repository, one seed) beside the sheet's, which are "
                "training numbers on a DIFFERENT dataset (a reference, not a "
                "target)",
            ),  # fmt: skip
            Text(
                "The retrieval baseline answers each training input with its own "
                "reply: on the training split it measures memorization, which is "
                "why training similarities alone cannot rank chatbots. The "
                "held-out numbers below can."
            ),
            Table(
                tables.held_out(runs),
                "Validation sample and test split, with the baselines (most "
                "frequent training reply; reply of the nearest training input by "
                "TF-IDF cosine)",
                4,
            ),  # fmt: skip
        ]
        checks += tables.epoch_figures(runs, out_dir)
        prompts = tables.prompts_table(runs)
        if prompts is not None:
            width = 11.0 / max(1, len(prompts.columns) - 1)
            checks.append(Table(prompts, "Replies to the everyday prompts "
                                "(datasets/dialogs/everyday_prompts.txt)", 4,
                                "p{3.2cm}" + f"p{{{width:.1f}cm}}" * (len(prompts.columns) - 1)))  # fmt: skip
        for model in tables.ordered(runs):
            verdicts += _kept_epoch_checks(model, runs[model])
    else:
        checks.append(missing_runs("chatbot", COMMAND))
    if comparison:
        checks += [
            Text(
                f"**Several seeds.** {SEEDS_COMMAND} ({comparison_source}): "
                "mean ± standard deviation over seeds; the claim column judges "
                "the sheet's claim (attention decoder better than the LSTM "
                "decoder) on these intervals: held when they lie apart in its "
                "favour, reversed when apart the other way, undecided when they "
                "overlap."
            ),  # fmt: skip
            Table(tables.seeds_table(comparison), "Mean ± std over seeds: the models"),
            Table(
                tables.seeds_table(comparison, baselines=True),
                "Mean ± std over seeds: the baselines",
            ),  # fmt: skip
            Text(
                "**Which of the sheet's claims hold.** "
                + tables.claims_text(comparison)
            ),  # fmt: skip
        ]
    else:
        checks.append(missing_runs("multi-seed chatbot", SEEDS_COMMAND))
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
