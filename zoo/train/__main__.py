"""`python -m zoo.train [TASK] [options]`: train a zoo model, write a run directory.

Without a task: the quick preset of every task's default models on the
embedded data, then a table of results. Errors in the input print one line
and exit with code 2.
"""

import argparse
import datetime
import os
import sys

from zoo.errors import ZooError


def build_parser():
    from zoo.train.config import PRESETS, TrainConfig
    from zoo.train.engine import TASKS

    defaults = TrainConfig()
    models = "; ".join(f"{name}: {', '.join(t.models)}" for name, t in TASKS.items())
    parser = argparse.ArgumentParser(
        prog="python -m zoo.train",
        description=(
            "Train a keras-zoo model and write runs/<task>-<model>-<UTC stamp>/ "
            "(config.json, history.csv, metrics.json, model.keras, scaler.json, "
            "figures/). Without TASK: the quick preset of every task on the "
            "embedded data, then a results table."
        ),
        epilog=f"models: {models}. presets: "
        + "; ".join(f"{k}: {v}" for k, v in PRESETS.items()),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "task",
        nargs="?",
        choices=sorted(TASKS),
        help="task to train; omit for the default suite",
    )
    parser.add_argument(
        "--model", default=defaults.model, help="model name (see below)"
    )
    parser.add_argument(
        "--data", help="CSV, parquet or METR-LA .h5 file; default: embedded"
    )
    parser.add_argument("--time-col", help="time column (detected when omitted)")
    parser.add_argument("--value-col", help="value column (detected when omitted)")
    parser.add_argument("--series-col", help="series id column (detected when omitted)")
    parser.add_argument("--series", help="keep only this series id")
    parser.add_argument("--lookback", type=int, default=defaults.lookback)
    parser.add_argument("--horizon", type=int, default=defaults.horizon)
    parser.add_argument("--epochs", type=int, help="maximum epochs (preset)")
    parser.add_argument("--units", type=int, help="recurrent units (preset)")
    parser.add_argument("--patience", type=int, help="early-stopping patience (preset)")
    parser.add_argument("--batch-size", type=int, help="batch size (preset)")
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--preset", choices=sorted(PRESETS), default=defaults.preset)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    chat = parser.add_argument_group("chatbot")
    chat.add_argument(
        "--corpus",
        choices=["chatterbot", "cornell", "convokit", "tsv"],
        default=defaults.corpus,
        help="chatterbot: embedded; cornell: --data FOLDER or the Keras cache; "
        "convokit: utterances.jsonl; tsv: input<TAB>response rows",
    )
    chat.add_argument(
        "--language", default=defaults.language, help="chatterbot-corpus language"
    )
    chat.add_argument("--level", choices=["word", "char"], default=defaults.level)
    chat.add_argument(
        "--max-tokens", type=int, help="longest side kept (10 on Cornell, 20 else)"
    )
    chat.add_argument(
        "--min-count", type=int, help="rarer words trimmed (3 on Cornell, 1 else)"
    )
    chat.add_argument(
        "--attention-score",
        choices=["dot", "general", "additive"],
        default=defaults.attention_score,
        help="lstm-attention score (Luong dot/general, Bahdanau additive)",
    )
    chat.add_argument("--num-heads", type=int, default=defaults.num_heads)
    chat.add_argument("--num-layers", type=int, default=defaults.num_layers)
    parser.add_argument(
        "--out", help="run directory (default: runs/<task>-<model>-<stamp>)"
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue the interrupted run in --out"
    )
    parser.add_argument(
        "--distribute",
        choices=["data-parallel"],
        help="data-parallel over all local devices (JAX)",
    )
    parser.add_argument(
        "--backend",
        choices=["jax", "torch", "tensorflow"],
        help="sets KERAS_BACKEND when it is not set already",
    )
    return parser


SETTINGS = (
    "model",
    "data",
    "time_col",
    "value_col",
    "series_col",
    "series",
    "lookback",
    "horizon",
    "epochs",
    "units",
    "patience",
    "batch_size",
    "learning_rate",
    "preset",
    "seed",
    "distribute",
    "corpus",
    "language",
    "level",
    "max_tokens",
    "min_count",
    "attention_score",
    "num_heads",
    "num_layers",
)


def _check_numbers(args):
    numbers = ("lookback", "horizon", "epochs", "units", "patience", "batch_size")
    for name in (*numbers, "max_tokens", "min_count", "num_heads", "num_layers"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ZooError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    if not args.learning_rate > 0:
        raise ZooError(f"--learning-rate must be > 0, got {args.learning_rate}")


def _stamp():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def run_one(args, parser):
    from zoo.train.config import TrainConfig
    from zoo.train.engine import load_run_config, train_and_evaluate

    if args.resume:
        if not args.out:
            raise ZooError("--resume needs --out RUN_DIR (the run to continue)")
        changed = [
            f"--{n.replace('_', '-')}"
            for n in SETTINGS
            if getattr(args, n) != parser.get_default(n)
        ]
        if changed:
            raise ZooError(
                f"--resume takes every setting from RUN_DIR/config.json; drop {changed}"
            )
        config = load_run_config(args.out)
        out = args.out
    else:
        config = TrainConfig(task=args.task, **{n: getattr(args, n) for n in SETTINGS})
        out = args.out or os.path.join("runs", f"{args.task}-{args.model}-{_stamp()}")
    return out, train_and_evaluate(config, out, resume=args.resume)


def print_samples(samples):
    """Sample replies of chatbot runs: (model, {input, reference, reply})."""
    if samples:
        print("\nSample replies (test split, greedy):")
    for model, sample in samples:
        print(
            f"  [{model}] > {sample['input']}\n"
            f"      reply: {sample['reply'] or '(empty)'}   "
            f"(reference: {sample['reference']})"
        )


def run_suite(args):
    """The quick preset of every task's default models; prints a table."""
    import pandas as pd

    from zoo.train.config import TrainConfig
    from zoo.train.engine import TASKS, train_and_evaluate

    suite_dir = args.out or os.path.join("runs", f"suite-{_stamp()}")
    rows, samples = [], []
    for task_name, task in TASKS.items():
        for model in task.default_suite:
            config = TrainConfig(
                task=task_name, model=model, preset="quick", seed=args.seed
            )
            out = os.path.join(suite_dir, f"{task_name}-{model}")
            print(f"\n== {task_name} / {model} -> {out}", flush=True)
            result = train_and_evaluate(config, out, verbose=2)
            samples += [(model, s) for s in result.get("samples", [])[:3]]
            rows.append(
                {
                    "task": task_name,
                    "model": model,
                    **task.table_row(result),
                    "epochs": result["epochs_run"],
                    "train s": result["train_seconds_this_process"],
                }
            )
    table = pd.DataFrame(rows)
    print(f"\nResults (test split, embedded data) in {suite_dir}:")
    for _, part in table.groupby("task", sort=False):
        # Each task's own columns: the other tasks' would only show NaN.
        print("\n" + part.dropna(axis=1, how="all").to_string(index=False))
    print_samples(samples)
    table.to_csv(os.path.join(suite_dir, "results.csv"), index=False)
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    from zoo.runtime import apply_backend_flag

    apply_backend_flag(argv)  # before anything imports keras
    parser = build_parser()
    args = parser.parse_args(argv)

    from zoo.runtime import describe

    print(f"zoo.train: {describe()}", flush=True)
    try:
        _check_numbers(args)
        if args.task is None:
            return run_suite(args)
        out, result = run_one(args, parser)
    except ZooError as error:
        print(f"zoo.train: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "zoo.train: interrupted; continue with --resume --out RUN_DIR",
            file=sys.stderr,
        )
        return 130
    from zoo.train.engine import get_task

    row = get_task(args.task).table_row(result)
    print("\n" + "\n".join(f"{k:>20}: {v}" for k, v in row.items()))
    print_samples([(result["model"], s) for s in result.get("samples", [])[:3]])
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
