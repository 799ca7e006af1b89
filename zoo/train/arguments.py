"""The command line of `python -m zoo.train`: its parser and the checks of
its arguments, before any work (imports no Keras: `--help` stays fast).

`zoo.train.__main__` runs what these describe.
"""

from zoo.errors import OneLineParser, ZooError


def build_parser():
    """The parser of `python -m zoo.train`; imports no Keras (fast --help).

    Returns:
        OneLineParser.
    """
    from zoo.config import DISTRIBUTE, PRECISIONS, PRESETS, TrainConfig
    from zoo.names import (
        ATTENTION_SCORES,
        CORPORA,
        LEVELS,
        LONG_PAIRS,
        MONITORS,
        TASK_MODELS,
    )
    from zoo.runtime import add_backend_option
    from zoo.train.help_text import DefaultsFormatter, preset_default, preset_help

    defaults = TrainConfig()
    models = "; ".join(f"{name}: {', '.join(m)}" for name, m in TASK_MODELS.items())

    def preset(what, setting, tasks=tuple(TASK_MODELS)):
        return f"{what} {preset_default(setting, tasks)}"

    def chatbot_preset(what, setting):
        return preset(what, setting, ("chatbot",))

    parser = OneLineParser(
        prog="python -m zoo.train",
        description=(
            "Train a keras-zoo model and write runs/<task>-<model>-<UTC stamp>/ "
            "(config.json, history.csv, metrics.json, model.keras, scaler.json "
            "or vocab.json, figures/). Without TASK: the quick preset of every "
            "task on the embedded data, then a results table."
        ),
        epilog=f"models: {models}. Settings marked 'from --preset' and left "
        "unset come from the preset (zoo/config.py).",
        formatter_class=DefaultsFormatter,
    )
    parser.add_argument(
        "task",
        nargs="?",
        choices=sorted(TASK_MODELS),
        help="task to train; omit for the default suite (quick preset)",
    )
    parser.add_argument(
        "--model",
        default=defaults.model,
        help="model name (see below); chatbot: a comma-separated list trains "
        "each and writes a comparison",
    )
    parser.add_argument(
        "--data", help="CSV, parquet or METR-LA .h5 file (default: embedded)"
    )
    parser.add_argument("--time-col", help="time column (default: detected)")
    parser.add_argument("--value-col", help="value column (default: detected)")
    parser.add_argument("--series-col", help="series id column (default: detected)")
    parser.add_argument("--series", help="keep only this series id (default: all)")
    parser.add_argument(
        "--lookback",
        type=int,
        default=defaults.lookback,
        help="traffic: hours of readings each window sees",
    )
    parser.add_argument(
        "--horizon",
        type=int,
        default=defaults.horizon,
        help="traffic: hours each window forecasts",
    )
    parser.add_argument("--epochs", type=int, help=preset("maximum epochs", "epochs"))
    parser.add_argument("--units", type=int, help=preset("recurrent units", "units"))
    parser.add_argument(
        "--patience",
        type=int,
        help=preset("early-stopping patience (epochs)", "patience"),
    )
    parser.add_argument(
        "--batch-size", type=int, help=preset("batch size", "batch_size")
    )
    parser.add_argument(
        "--learning-rate",
        type=float,
        help=preset("Adam's learning rate", "learning_rate"),
    )
    parser.add_argument(
        "--monitor",
        choices=MONITORS,
        help=preset(
            "validation column that picks the kept epoch (chatbot; traffic "
            "keeps val_loss)",
            "monitor",
        ),
    )
    parser.add_argument(
        "--preset", choices=sorted(PRESETS), default=defaults.preset, help=preset_help()
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=defaults.seed,
        help="seeds the weights, shuffling and splits",
    )
    parser.add_argument(
        "--seeds",
        help="chatbot: comma-separated seeds (e.g. 0,1,2): every model once "
        "per seed, then mean ± std over seeds",
    )
    chat = parser.add_argument_group("chatbot")
    chat.add_argument(
        "--corpus",
        choices=CORPORA,
        default=defaults.corpus,
        help="chitchat, chatterbot: embedded; cornell: --data FOLDER or the "
        "Keras cache; convokit: utterances.jsonl; tsv: input<TAB>response rows",
    )
    chat.add_argument(
        "--language", default=defaults.language, help="chatterbot-corpus language"
    )
    chat.add_argument(
        "--level",
        choices=LEVELS,
        default=defaults.level,
        help="tokens: words or characters",
    )
    chat.add_argument(
        "--max-tokens",
        type=int,
        help="longest side kept (default: 10 on chitchat/Cornell/ConvoKit, 20 "
        "else; 5 times that at --level char)",
    )
    chat.add_argument(
        "--min-count",
        type=int,
        help="rarer words drop their pairs (default: 3 on chitchat/Cornell/"
        "ConvoKit, 1 else)",
    )
    chat.add_argument(
        "--max-train-pairs",
        type=int,
        help="seeded sample of the training split (default: all pairs)",
    )
    chat.add_argument(
        "--long-pairs",
        choices=LONG_PAIRS,
        help=chatbot_preset(
            "a pair with a side over --max-tokens: drop it, or cut it to whole "
            "sentences (the prompt's last, the reply's first)",
            "long_pairs",
        ),
    )
    chat.add_argument(
        "--dropout", type=float, help=chatbot_preset("seq2seq dropout", "dropout")
    )
    chat.add_argument(
        "--attention-score",
        choices=ATTENTION_SCORES,
        default=defaults.attention_score,
        help="lstm-attention score (Luong dot/general, Bahdanau additive)",
    )
    chat.add_argument(
        "--num-heads",
        type=int,
        default=defaults.num_heads,
        help="transformer attention heads",
    )
    chat.add_argument(
        "--num-layers",
        type=int,
        default=defaults.num_layers,
        help="transformer blocks per side",
    )
    chat.add_argument(
        "--feature-dim",
        type=int,
        help=chatbot_preset(
            "transformer-linear: query/key size per head fed to the Taylor "
            "feature map (1 + f + f^2 features; None: the head size)",
            "feature_dim",
        ),
    )
    chat.add_argument(
        "--no-repeat-ngram",
        type=int,
        help=chatbot_preset(
            "replies never repeat an n-gram of this size, 0 for off",
            "no_repeat_ngram",
        ),
    )
    chat.add_argument(
        "--repetition-penalty",
        type=float,
        help=chatbot_preset(
            "CTRL repetition penalty, 1.0 for off", "repetition_penalty"
        ),
    )
    chat.add_argument(
        "--mmi-weight",
        type=float,
        help=chatbot_preset(
            "maximum mutual information against generic replies: lambda of "
            "log p(y|x) - lambda log p(y), 0 for off",
            "mmi_weight",
        ),
    )
    chat.add_argument(
        "--mmi-steps",
        type=int,
        help=chatbot_preset("the first tokens MMI scores", "mmi_steps"),
    )
    chat.add_argument(
        "--prompts",
        help="prompts file every run answers (default: the 21 shipped ones)",
    )
    parser.add_argument(
        "--out", help="run directory (default: runs/<task>-<model>-<stamp>)"
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue the interrupted run in --out"
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=defaults.precision,
        help="Keras dtype policy: mixed_bfloat16 computes in bfloat16 and keeps "
        "weights, losses and metrics in float32",
    )
    parser.add_argument(
        "--distribute",
        choices=[name for name in DISTRIBUTE if name],
        help="data-parallel: split every batch over the devices, and over the "
        "processes a launcher started (torchrun, TF_CONFIG, KERAS_DISTRIBUTION_*); "
        "model-parallel: shard attention heads and LSTM gates over the local "
        "devices (JAX); see docs/scaling-out.md (default: one device)",
    )
    add_backend_option(parser)
    return parser


def settings():
    """Every TrainConfig field the command line sets (one source: the config)."""
    import dataclasses

    from zoo.config import TrainConfig

    fixed = {"task", "split", "environment"}
    return [f.name for f in dataclasses.fields(TrainConfig) if f.name not in fixed]


# Options that only one task reads: given to the other, they would be ignored.
ONLY_FOR = {
    "traffic": ("time_col", "value_col", "series_col", "series", "lookback",
                "horizon"),
    "chatbot": ("corpus", "language", "level", "max_tokens", "min_count",
                "max_train_pairs", "long_pairs", "dropout", "attention_score",
                "num_heads", "num_layers", "feature_dim", "no_repeat_ngram",
                "repetition_penalty", "mmi_weight", "mmi_steps", "prompts",
                "seeds"),
}  # fmt: skip


# The settings the default suite (no TASK) passes on to its runs; it runs
# every other setting at each model's quick preset (--preset is read as
# quick, as its help says: its default, full, cannot be told from unset).
SUITE_SETTINGS = ("seed", "prompts", "preset")


def check_settings(args, parser):
    """Every setting's type and range, before any work (TrainConfig.validate);
    options of the other task, or that the default suite cannot pass on, are
    refused rather than ignored."""
    from zoo.config import TrainConfig, flag

    if args.task is None:
        given = [
            flag(n)
            for n in settings()
            if n not in SUITE_SETTINGS and getattr(args, n) != parser.get_default(n)
        ]
        if given:
            raise ZooError(
                f"{', '.join(given)}: the default suite (no TASK) trains every "
                "model at its quick preset and takes only --seed, --prompts and "
                f"--out; pass a TASK to set {'them' if len(given) > 1 else 'it'} "
                f"(e.g. python -m zoo.train chatbot {given[0]} ...)"
            )
    for task, names in ONLY_FOR.items():
        if args.task in (None, task):
            continue
        given = [flag(n) for n in names if getattr(args, n) != parser.get_default(n)]
        if given:
            raise ZooError(
                f"{', '.join(given)} only apply to the {task} task; drop them "
                f"for {args.task}"
            )
    values = {n: getattr(args, n) for n in settings()}
    TrainConfig(task=args.task or "traffic", **values).validate()


def models_and_seeds(args):
    """The --model list and --seeds list, checked; ([model], None) for one run."""
    models = [m.strip() for m in args.model.split(",")]
    if any(not m for m in models) or len(set(models)) != len(models):
        raise ZooError(
            f"--model: {args.model!r} is not a comma-separated list of distinct "
            "model names"
        )
    seeds = None
    if args.seeds is not None:
        try:
            seeds = [int(s) for s in args.seeds.split(",")]
        except ValueError:
            raise ZooError(
                f"--seeds: {args.seeds!r} is not a comma-separated list of "
                "integers (e.g. 0,1,2)"
            ) from None
        if len(set(seeds)) != len(seeds) or any(s < 0 for s in seeds):
            raise ZooError(f"--seeds: {args.seeds!r} must be distinct integers >= 0")
    several = len(models) > 1 or seeds is not None
    if several and args.task != "chatbot":
        raise ZooError(
            "--model lists and --seeds compare chatbots; use them with the chatbot task"
        )
    if several and args.resume:
        raise ZooError("--resume continues one run; drop the --model list / --seeds")
    return models, seeds
