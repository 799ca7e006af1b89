"""`python -m zoo.bench attention [--out FILE.json] [--quick]`.

Prints a table and writes the results as JSON (and a PNG plot beside it).
The backend is Keras' (set KERAS_BACKEND, or pass --backend).
"""

import argparse
import os
import sys

BENCHMARKS = ("attention",)


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
    parser = argparse.ArgumentParser(
        prog="python -m zoo.bench",
        description="Benchmarks of keras-zoo on the current Keras backend.",
    )
    parser.add_argument("benchmark", choices=BENCHMARKS)
    parser.add_argument("--out", help="JSON file to write (a PNG is written beside it)")
    parser.add_argument(
        "--backend",
        choices=("jax", "torch", "tensorflow"),
        help="sets KERAS_BACKEND when it is not already set",
    )
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
    return parser.parse_args(argv)


def build_config(args):
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
            raise ValueError(
                f"--dim/--heads: width {dim} is not divisible by {heads} heads"
            )
    return config


def print_report(result):
    speed = result["speed"]
    print(
        f"\n(a) self-attention B={result['config']['batch']} "
        f"L={result['config']['length']} d={result['config']['dim']} "
        f"H={result['config']['heads']}; sgemm peak "
        f"{speed['sgemm_peak_gflops']} GFLOP/s"
    )
    print(
        f"{'mode':<17} {'implementation':<38} {'ms':>9} {'x keras':>8} "
        f"{'GFLOP/s':>8} {'of peak':>8}"
    )
    for row in speed["rows"]:
        print(
            f"{row['mode']:<17} {row['implementation']:<38} "
            f"{row['milliseconds']:>9.1f} {row['speedup_vs_keras']:>8.2f} "
            f"{row['gflops']:>8.1f} {row['fraction_of_sgemm_peak']:>8.2f}"
        )
    for form, block in result["scaling"].items():
        print(
            f"\n(b) {form}, B=1 d={result['config']['scaling_dim']} "
            f"H={result['config']['scaling_heads']}: linear (taylor, feature_dim "
            f"{result['config']['feature_dim']}) vs softmax; crossover "
            f"L = {block['crossover_length']}"
        )
        print(
            f"{'L':>7} {'softmax ms':>11} {'linear ms':>10} {'speedup':>8} "
            f"{'softmax MiB':>12} {'linear MiB':>11}"
        )
        for row in block["rows"]:
            print(
                f"{row['length']:>7} {row['softmax_ms']:>11.2f} "
                f"{row['linear_ms']:>10.2f} {row['speedup_linear']:>8.2f} "
                f"{row['softmax_peak_mb']:>12.1f} {row['linear_peak_mb']:>11.1f}"
            )


def main(argv=None):
    args = parse_args(argv)
    if args.backend and "KERAS_BACKEND" not in os.environ:
        os.environ["KERAS_BACKEND"] = args.backend
    if args.out and not args.out.endswith(".json"):
        print(
            f"zoo.bench: --out must name a .json file, got {args.out!r}",
            file=sys.stderr,
        )
        return 2
    try:
        config = build_config(args)
    except ValueError as error:
        print(f"zoo.bench: {error}", file=sys.stderr)
        return 2
    from zoo.bench import attention
    from zoo.io import write_json
    from zoo.runtime import describe

    print(f"zoo.bench attention: {describe()}", flush=True)
    result = attention.run(config)
    print_report(result)
    if args.out:
        try:
            write_json(args.out, result)
            attention.plot(result, args.out[: -len(".json")] + ".png")
        except OSError as error:
            print(
                f"zoo.bench: cannot write {args.out!r}: {error.strerror}; "
                "pass a writable --out path",
                file=sys.stderr,
            )
            return 2
        print(f"\nwrote {args.out} and its .png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
