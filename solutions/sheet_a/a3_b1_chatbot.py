"""Sheets A3 and B1: the chatbot runs, their comparison, the similarity measures."""

import math

import pandas as pd

from solutions.core.document import Math, Section, Table, Text, check, missing_runs
from solutions.core.runs import kept_epoch
from solutions.sheet_a import a3_b1_tables as tables
from zoo import metrics

COMMAND = "python -m zoo.train  (or: python -m solutions --train-quick)"
# Two code spans, so the line can break between them in the PDF.
SEEDS_COMMAND = (
    "`python -m zoo.train chatbot` `--preset quick --seeds 0,1,2` "
    "`--model lstm,lstm-attention,transformer`"
)


def _mmi_text(decoding):
    """ ", with MMI (lambda ... over the first ... tokens)", or "" when off."""
    if not (decoding.get("mmi_weight") and decoding.get("mmi_steps")):
        return ""
    return (
        f", maximum mutual information against generic replies ($\\lambda = "
        f"{decoding['mmi_weight']}$ over the first {decoding['mmi_steps']} tokens)"
    )


def _kept_epoch_checks(model, run):
    """Checks that can fail: the kept epoch is the history's best, and the
    train/val similarities of metrics.json are that epoch's row."""
    metrics, history = run["metrics"], run["history"]
    result = metrics["results"][model]
    checks = []
    rule = metrics.get("kept_epoch_rule", "min val_loss")
    mode, column = rule.split(" ", 1)
    best = kept_epoch(history, column, min if mode == "min" else max)
    if best is not None:
        checks.append(check(f"{model}: kept epoch = {rule} over history.csv",
                            metrics.get("best_epoch"), best,
                            metrics.get("best_epoch") == best, "{}"))  # fmt: skip
        row = history[best - 1]
        # Two computations of one number: fit's end-of-epoch validation
        # loss, and evaluate's on the restored weights after training.
        recomputed = result.get("val_loss")
        if recomputed is not None and "val_loss" in row:
            logged = float(row["val_loss"])
            checks.append(check(f"{model}: val loss re-evaluated on the kept weights "
                                "minus the kept epoch's logged one",
                                recomputed - logged, "0 (within 1e-3 relative)",
                                abs(recomputed - logged) <= 1e-3 * abs(logged),
                                "{:.1e}"))  # fmt: skip
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


def settings_text(runs):
    """The runs' training settings and why this corpus, as one paragraph.

    Args:
        runs: dict model -> run (config.json as `config`).

    Returns:
        str.

    Example:
    >>> config = {"preset": "quick", "epochs": 6, "units": 128,
    ...           "learning_rate": 0.005, "batch_size": 64, "dropout": 0.2}
    >>> settings_text({"lstm": {"config": config}})[:61]
    '**Settings.** lstm: quick preset, at most 6 epochs, 128 units'
    """
    parts = []
    for model in tables.ordered(runs):
        config = runs[model].get("config", {})
        part = (
            f"{model}: {config.get('preset', '?')} preset, at most "
            f"{config.get('epochs', '?')} epochs, {config.get('units', '?')} units"
        )
        if model.startswith("transformer"):
            part += (
                f" ({config.get('num_layers', '?')} blocks per side, "
                f"{config.get('num_heads', '?')} heads)"
            )
        part += (
            f", Adam at learning rate {config.get('learning_rate', '?')}, batch "
            f"{config.get('batch_size', '?')}, dropout {config.get('dropout', '?')}"
        )
        parts.append(part)
    return (
        "**Settings.** "
        + "; ".join(parts)
        + " (`zoo/config.py`). Why the chitchat corpus: the sheet "
        "suggests Cornell Movie-Dialogs (about 220,000 exchanges of film "
        "lines) or a larger corpus; chitchat (BYU's Chit-Chat Challenge, "
        "7,168 conversations between people, 131,548 consecutive-turn pairs) "
        "is smaller but is everyday conversation, what a chatbot is asked, "
        "and it installs as a package, so the runs need no download (Cornell "
        "is fetched from the web). "
        "`--corpus cornell` trains on Cornell where its files are at hand."
    )


def last_epoch_text(runs):
    """Says which runs kept their last epoch (early stopping never fired),
    with the validation loss still falling; "" when none did.

    Args:
        runs: dict model -> run (`metrics` with best_epoch and epochs_run,
            `history` rows with val_loss).

    Returns:
        str.

    Example:
    >>> history = [{"val_loss": "4.6"}, {"val_loss": "4.5"}]
    >>> run = {"metrics": {"best_epoch": 2, "epochs_run": 2}, "history": history}
    >>> last_epoch_text({"lstm": run})
    '**Trained to the end.** Every run kept its last epoch: lstm epoch 2 of 2 (validation loss down 0.100 in that epoch). Early stopping never fired, so these models are still improving when they stop, and the claim below is judged on models the budget leaves undertrained (the seed runs below use the same settings).'
    """
    kept_last = []
    for model in tables.ordered(runs):
        metrics, history = runs[model]["metrics"], runs[model].get("history") or []
        last = metrics.get("epochs_run")
        if not last or metrics.get("best_epoch") != last:
            continue
        losses = [float(row["val_loss"]) for row in history if row.get("val_loss")]
        change = (
            f" (validation loss {'down' if losses[-1] < losses[-2] else 'up'} "
            f"{abs(losses[-1] - losses[-2]):.3f} in that epoch)"
            if len(losses) >= 2
            else ""
        )
        kept_last.append(f"{model} epoch {last} of {last}{change}")
    if not kept_last:
        return ""
    who = "Every run" if len(kept_last) == len(runs) else "These runs"
    return (
        f"**Trained to the end.** {who} kept its last epoch: "
        + ", ".join(kept_last)
        + ". Early stopping never fired, so these models are still improving "
        "when they stop, and the claim below is judged on models the budget "
        "leaves undertrained (the seed runs below use the same settings)."
    )


def transformer_verdicts(comparison):
    """{verdict: [quantity]} for "transformer better than lstm" over seeds.

    The sheet's attention decoder is a transformer decoder, so its claim is
    judged for `transformer` as well as for `lstm-attention`. Lower is
    better for the loss and the generic rate, higher for the rest.

    Args:
        comparison: dict, `zoo.train.compare.compare`'s output (rows of
            model, split, metric and per-seed values).

    Returns:
        dict verdict -> list of column titles.

    Example:
    >>> row = lambda model, metric, values: {
    ...     "model": model, "split": "test", "metric": metric, "values": values}
    >>> transformer_verdicts({"rows": [
    ...     row("lstm", "generic_rate", [0.5, 0.6]),
    ...     row("transformer", "generic_rate", [0.1, 0.11]),
    ...     row("lstm", "distinct_2", [0.5, 0.6]),
    ...     row("transformer", "distinct_2", [0.1, 0.11])]})
    {'held': ['test generic'], 'reversed': ['test d-2']}
    """
    from zoo.train.compare import LOWER_IS_BETTER, quantity_label, verdict

    values = {
        (r["model"], r["split"], r["metric"]): r["values"] for r in comparison["rows"]
    }
    groups = {}
    for (model, split, metric), challenger in values.items():
        reference = values.get(("lstm", split, metric))
        if model != "transformer" or reference is None:
            continue
        outcome = verdict(
            challenger, reference, higher_is_better=metric not in LOWER_IS_BETTER
        )
        groups.setdefault(outcome, []).append(quantity_label(split, metric))
    return groups


def claim_conclusion(comparison):
    """The closing sentence on the sheet's claim, from the verdicts.

    Args:
        comparison: dict with `claims` (split, metric, verdict).

    Returns:
        str.

    Example:
    >>> claim = lambda m, v: {"split": "test", "metric": m, "verdict": v}
    >>> claim_conclusion({"claims": [claim("jaccard", "undecided")]})[:40]
    'Every difference is within seed-to-seed '
    >>> claim_conclusion({"claims": [claim("jaccard", "held"),
    ...                              claim("cosine", "reversed")]})[:45]
    'The verdicts are mixed (attention ahead on 1 '
    """
    verdicts = [c["verdict"] for c in comparison["claims"]]
    held, reversed_ = verdicts.count("held"), verdicts.count("reversed")
    if held and not reversed_ and held == len(verdicts):
        return "The claim holds on every quantity at this budget."
    if not held and not reversed_:
        opening = "Every difference is within seed-to-seed spread"
    else:
        opening = (f"The verdicts are mixed (attention ahead on {held} of "
                   f"{len(verdicts)} quantities, behind on {reversed_})")  # fmt: skip
    return (
        opening + ": with a few epochs on a 12,000-pair corpus every model "
        "stays close to the baselines, so the claim as the sheet states it "
        "(attention better across the board) is not reproduced on this "
        "budget, which says more about the budget than about attention."
    )


def interpretation(runs, comparison):
    """A3.3: what the numbers say about the two decoders, as Text blocks."""
    blocks = []
    timing = [
        f"{model} {m['train_seconds_this_process'] / m['epochs_run']:.0f} s"
        for model in tables.ordered(runs)
        if (m := runs[model]["metrics"]).get("train_seconds_this_process")
        and m.get("epochs_run")
    ]
    if timing:
        blocks.append(
            Text(
                "**Training time** per epoch on this machine (CPU): "
                + ", ".join(timing)
                + ". Attention adds an $O(S)$ context per decoder step to the LSTM "
                "($S$ input tokens). "
                "The transformer has no recurrence, so its training parallelizes "
                "over time, which pays off on a GPU far more than on a few CPU "
                "cores. The sheet's remark that "
                "its attention model trained about 10 minutes faster over 15 "
                "epochs fits a transformer on a GPU, not an LSTM with attention."
            )
        )
    if runs and (note := last_epoch_text(runs)):
        blocks.append(Text(note))
    if comparison:
        groups = transformer_verdicts(comparison)
        blocks.append(
            Text(
                "**Do the sheet's claims hold?** The sheet's *attention decoder* "
                "is a transformer decoder; A3.2's wording also fits an LSTM "
                "decoder with attention, so both are judged against the plain "
                "LSTM decoder, on intervals mean ± std over seeds. "
                + tables.claims_text(comparison)
                + " The transformer against the plain LSTM decoder: better on "
                + (", ".join(groups.get("held", [])) or "nothing")
                + "; worse on "
                + (", ".join(groups.get("reversed", [])) or "nothing")
                + "; undecided on "
                + (", ".join(groups.get("undecided", [])) or "nothing")
                + ". "
                + claim_conclusion(comparison)
            )
        )
    return blocks


def a3_b1(out_dir, runs, read_errors, comparison=None, comparison_source=None):
    evidence, checks = [], []
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
        limit = data.get("max_tokens", "the corpus' limit of")
        if data.get("long_pairs") == "cut":
            long_rule = (
                f"A pair with a side over {limit} tokens is cut to whole "
                "sentences: the prompt keeps its last sentences that fit (what "
                "the reply answers is said last), the reply its first ones; a "
                "reply whose first sentence is longer is dropped. "
            )
        else:
            long_rule = (
                f"A pair with a side over {limit} tokens is dropped (the "
                "PyTorch chatbot tutorial's rule). "
            )
        evidence += [
            Text(settings_text(runs)),
            Text(
                f"Corpus `{config.get('corpus', '?')}` (split by conversation where "
                f"the corpus has them): {summary}. {long_rule}"
                "The kept epoch is the one with "
                f"the {rule_text} (validation, "
                "never test); early stopping watches the same column. Replies are "
                f"greedy with {decoding.get('no_repeat_ngram', 0)}-gram blocking and "
                f"repetition penalty {decoding.get('repetition_penalty', 1.0)}"
                f"{_mmi_text(decoding)}; "
                f"similarities over word tokens. Train and validation similarities "
                f"are measured after every epoch on fixed samples of "
                f"{samples.get('train', '?')} and {samples.get('val', '?')} pairs, "
                f"test ones on the whole test split ({kept.get('test_pairs')} pairs)."
            ),
            Text(
                "**The sheet's numbers.** The sheet introduces them as \"the "
                'final testing metrics", while its figures beside them are '
                'titled "Training ... similarity per epoch": which split '
                "they come from is ambiguous. They are from another corpus, "
                "so they are a reference, not a target; the table sets them "
                "beside both of ours, the fixed training sample at the kept "
                "epoch (with the training loss) and the whole test split "
                "(with the test loss)."
            ),
            Table(
                tables.ours_vs_sheet(runs),
                "Our training-sample and test-split similarities and losses at "
                "the kept epoch (one seed) beside the sheet's (another corpus, "
                "split unstated)",
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
        relevance = tables.relevance_table(runs)
        if relevance is not None:
            evidence += [
                Text(
                    "**Generic replies.** A model trained by maximum likelihood "
                    "on chit-chat learns that a few openings (\"i don't "
                    "know.\", \"yeah\", \"i am doing well\") are likely after "
                    "almost any input; greedy decoding then picks them whatever "
                    "was said, and overlap metrics barely notice. Three "
                    "measures show it: distinct-1 and distinct-2 (distinct "
                    "words and word pairs over all words and pairs of the test "
                    "replies; Li et al., 2016), the generic rate (the share of "
                    "the test split answered by the single most frequent "
                    "reply), and the rubric (`zoo/datasets/dialogs/rubric.yaml`, "
                    "version 1): everyday prompts, each with the forms of reply "
                    "a person takes as an answer (a name to \"what's your "
                    "name?\", a yes or no to a yes/no question); of the replies "
                    "people gave to those prompts in the chitchat corpus, it "
                    "accepts 82%. Retrieval, which answers with the reply of "
                    "the nearest training input, is the bar a generator must "
                    "clear."
                ),
                Table(relevance, "What a person notices: diversity of the test "
                      "replies and everyday prompts answered on topic"),
            ]  # fmt: skip
        evidence += tables.epoch_figures(runs, out_dir)
        evidence += tables.attention_figures(runs, out_dir)
        prompts = tables.prompts_table(runs)
        if prompts is not None:
            width = 11.0 / max(1, len(prompts.columns) - 1)
            evidence.append(Table(prompts, "Replies to the everyday prompts "
                                "(zoo/datasets/dialogs/everyday_prompts.txt)", column_format=
                                "p{3.2cm}" + f"p{{{width:.1f}cm}}" * (len(prompts.columns) - 1)))  # fmt: skip
        for model in tables.ordered(runs):
            checks += _kept_epoch_checks(model, runs[model])
    else:
        evidence.append(missing_runs("chatbot", COMMAND))
    if comparison:
        evidence += [
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
        ]
    else:
        evidence.append(missing_runs("multi-seed chatbot", SEEDS_COMMAND))
    evidence += interpretation(runs, comparison)
    evidence += [Text(f"Note: {p}") for p in read_errors]
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
                "$O(S)$ work per generated token, $S$ being the number of input "
                "tokens (the encoder outputs $s_1, \\dots, s_S$). Neither recurrent decoder is "
                "parallel over time at inference; the transformer decoder "
                "is parallel over time in training (causal mask) and caches keys "
                "and values at inference (`zoo.decoding`, checked equal to full "
                "recomputation)."
            ),
            Text(
                "**Greedy search** (the sheet's decoder): feed the start token, "
                "take the most probable next token $y_t = \\arg\\max_w "
                "p(w \\mid y_{<t}, x)$, feed it back, and stop at the end token "
                "or a length limit. It is one forward step per token and keeps "
                "one hypothesis, so it can miss a reply whose first word is less "
                "likely but whose whole is more likely (beam search keeps several). "
                "On a small corpus greedy replies collapse to the most frequent "
                "phrases and repeat themselves; the zoo's decoders therefore "
                "block repeated bigrams and scale down a repeated token's logit by a "
                "penalty (CTRL's repetition penalty), both stated below."
            ),
        ],
        evidence=evidence,
        checks=checks,
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
        evidence=[
            Table(pd.DataFrame(rows), "Worked examples computed by zoo.metrics", 4)
        ],
        checks=[
            check(
                "max |zoo.metrics - hand-computed value| over the examples",
                worst,
                "0 (< 1e-12)",
                worst < 1e-12,
                "{:.1e}",
            ),  # fmt: skip
        ],
    )
