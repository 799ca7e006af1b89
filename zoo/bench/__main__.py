"""`python -m zoo.bench BENCHMARK [--out FILE.json] [--quick]`.

BENCHMARK: attention, lstm, seq2seq, decode or precision.

Prints a table and writes the results as JSON (attention: and a PNG plot
beside it). The backend is Keras' (set KERAS_BACKEND, or pass --backend).
Bad input prints one line and exits 2 (the policy of `zoo.errors`).
"""

import argparse
import sys

from zoo.errors import USER_ERRORS, OneLineParser, ZooError, print_error

BENCHMARKS = ("attention", "lstm", "seq2seq", "decode", "precision")


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _lengths(text):
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        values = ()
    if not values or min(values) < 2:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated lengths >= 2, got {text!r}"
        )
    return values


def parse_args(argv):
    from zoo.runtime import add_backend_option

    parser = OneLineParser(
        prog="python -m zoo.bench",
        description="Benchmarks of keras-zoo on the current Keras backend.",
    )
    parser.add_argument("benchmark", choices=BENCHMARKS)
    parser.add_argument("--out", help="JSON file to write (a PNG is written beside it)")
    add_backend_option(parser)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes and lengths up to 2048 (a smoke run)",
    )
    parser.add_argument("--batch", type=_positive_int)
    parser.add_argument("--length", type=_positive_int)
    parser.add_argument("--dim", type=_positive_int)
    parser.add_argument("--heads", type=_positive_int)
    parser.add_argument("--repeats", type=_positive_int)
    parser.add_argument("--lengths", type=_lengths, help="(b) lengths, e.g. 256,1024")
    parser.add_argument(
        "--steps", type=_positive_int, help="(decode) tokens generated (default 32)"
    )
    parser.add_argument(
        "--models", help="(decode) comma-separated seq2seq models (default: all)"
    )
    return parser.parse_args(argv)


def _reject_attention_flags(args):
    ignored = [
        f"--{n}"
        for n in ("length", "dim", "heads", "lengths")
        if getattr(args, n) is not None
    ]
    if ignored:
        raise ZooError(
            f"{', '.join(ignored)}: options of the attention benchmark only; "
            f"drop them for {args.benchmark}"
        )


def _training_config(args, config_class, quick):
    """A config of a non-attention benchmark: quick sizes, --batch, --repeats."""
    _reject_attention_flags(args)
    config = config_class(**quick) if args.quick else config_class()
    for name in ("batch", "repeats"):
        if getattr(args, name) is not None:
            setattr(config, name, getattr(args, name))
    return config


def build_lstm_config(args):
    from zoo.bench.lstm import LstmBenchConfig

    quick = {"lookback": 12, "units": 16, "batches": 3, "repeats": 2}
    return _training_config(args, LstmBenchConfig, quick)


def build_seq2seq_config(args):
    from zoo.bench.seq2seq import Seq2SeqBenchConfig

    quick = {"batch": 8, "length": 6, "vocab": 50, "units": 16, "batches": 2}
    return _training_config(args, Seq2SeqBenchConfig, {**quick, "repeats": 1})


def build_decode_config(args):
    from zoo.bench.decode import DecodeBenchConfig

    quick = {"batch": 2, "source_length": 5, "steps": 4, "vocab": 50, "units": 16}
    config = _training_config(args, DecodeBenchConfig, {**quick, "repeats": 1})
    if args.steps is not None:
        config.steps = args.steps
    if args.models is not None:
        from zoo.models.seq2seq import SEQ2SEQ

        models = tuple(name.strip() for name in args.models.split(",") if name.strip())
        unknown = [name for name in models if name not in SEQ2SEQ]
        if unknown or not models:
            raise ZooError(
                f"--models: unknown {', '.join(unknown) or 'empty list'}; choose "
                f"from {', '.join(SEQ2SEQ)}"
            )
        config.models = models
    return config


def build_precision_config(args):
    from zoo.bench.precision import PrecisionBenchConfig

    _reject_attention_flags(args)
    if args.batch is not None:
        raise ZooError(
            "--batch: the precision benchmark keeps each workload's own batch; "
            "drop it (benchmark one workload with zoo.bench lstm/seq2seq/attention)"
        )
    config = PrecisionBenchConfig()
    if args.quick:
        config = PrecisionBenchConfig(
            repeats=1,
            pause=0.0,
            lstm={"lookback": 12, "units": 16, "batches": 2},
            seq2seq={
                "batch": 8,
                "length": 6,
                "vocab": 50,
                "units": 16,
                "batches": 2,
            },  # fmt: skip
            chatbots=("lstm",),
            attention={"batch": 2, "length": 16, "dim": 16, "heads": 2},
            quality_runs=(("traffic", "lstm"),),
            traffic_epochs=2,
        )
    if args.repeats is not None:
        config.repeats = args.repeats
    return config


def build_attention_config(args):
    from zoo.bench.attention import AttentionBenchConfig

    config = AttentionBenchConfig()
    if args.quick:
        config = AttentionBenchConfig(
            batch=2,
            length=128,
            dim=64,
            heads=4,
            repeats=3,
            scaling_lengths=(128, 512, 2048),
            scaling_dim=64,
            scaling_heads=2,
            scaling_repeats=2,
            short_repeats=2,
            sgemm_sizes=(256, 512),
        )
    overrides = {
        "batch": args.batch,
        "length": args.length,
        "dim": args.dim,
        "heads": args.heads,
        "repeats": args.repeats,
        "scaling_lengths": args.lengths,
    }
    for name, value in overrides.items():
        if value is not None:
            setattr(config, name, value)
    for dim, heads in (
        (config.dim, config.heads),
        (config.scaling_dim, config.scaling_heads),
    ):
        if dim % heads:
            raise ZooError(
                f"--dim/--heads: width {dim} is not divisible by {heads} heads; "
                "pass a --dim that is a multiple of --heads"
            )
    return config


def main(argv=None):
    from zoo.runtime import apply_backend_flag

    args = parse_args(argv)
    apply_backend_flag(["--backend", args.backend] if args.backend else [], "zoo.bench")
    try:
        return run_benchmark(args)
    except USER_ERRORS as error:
        return print_error("zoo.bench", error)


def run_benchmark(args):
    """Checks the settings, runs the benchmark, prints and writes its result.

    Returns:
        int, the exit code (0).

    Raises:
        ZooError: a bad setting or an --out that cannot be written.
    """
    if args.out and not args.out.endswith(".json"):
        raise ZooError(
            f"--out must name a .json file, got {args.out!r}; pass a path ending "
            "in .json"
        )
    for flag in ("steps", "models"):
        if getattr(args, flag) is not None and args.benchmark != "decode":
            raise ZooError(
                f"--{flag}: an option of the decode benchmark only; drop it for "
                f"{args.benchmark}"
            )
    builders = {
        "attention": build_attention_config,
        "lstm": build_lstm_config,
        "seq2seq": build_seq2seq_config,
        "decode": build_decode_config,
        "precision": build_precision_config,
    }
    config = builders[args.benchmark](args)
    import importlib

    from zoo.io import check_writable, write_json

    if args.out:
        try:
            check_writable(args.out)  # before minutes of benchmarking
        except OSError as error:
            raise ZooError(
                f"--out: cannot write {args.out!r} ({error.strerror}); "
                "pass a writable path"
            ) from None
    from zoo.runtime import describe

    bench = importlib.import_module(f"zoo.bench.{args.benchmark}")
    print(f"zoo.bench {args.benchmark}: {describe()}", flush=True)
    result = bench.run(config)
    bench.print_report(result)
    if args.out:
        try:
            write_json(args.out, result)
            if hasattr(bench, "plot"):
                bench.plot(result, args.out[: -len(".json")] + ".png")
        except OSError as error:
            raise ZooError(
                f"--out: cannot write {args.out!r} ({error.strerror}); "
                "pass a writable path"
            ) from None
        print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
