"""`python -m zoo.bench.tables`: docs/benchmarks.md's tables from the JSON results.

`make bench` runs every benchmark on every backend into `reports/bench/`
and then this, which rewrites each table of docs/benchmarks.md between its two
markers, `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`, from those
files, so that the tables always say what the committed results say. A
result file that is missing leaves its rows out (a row says so); a marker
that is missing is an error (exit 2), and the page is rewritten in one
atomic step or not at all.
"""

import json
import pathlib
import sys

from zoo.errors import OneLineParser, ZooError, print_error
from zoo.io import write_text
from zoo.markdown import replace_marked
from zoo.markdown import table as _table

BACKENDS = ("jax", "tensorflow", "torch")
SEQ2SEQ_MODELS = ("lstm", "lstm-attention", "transformer", "transformer-linear")


def _load(folder, name):
    path = pathlib.Path(folder) / f"{name}.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ZooError(
            f"{path}: not valid JSON ({error}); rerun `make bench`"
        ) from None


def _per_backend(folder, name, header, rows_of):
    """A table with rows per backend from `{name}-{backend}.json`:
    `rows_of(result)` gives the cells after the backend's; a missing file
    gives one "not measured" row."""
    rows = []
    for backend in BACKENDS:
        result = _load(folder, f"{name}-{backend}")
        if result is None:
            rows.append([backend, "not measured"] + [""] * (len(header) - 2))
            continue
        rows += [[backend, *cells] for cells in rows_of(result)]
    return _table(header, rows)


def attention_table(folder):
    """Self-attention speed: milliseconds, ratios, fraction of the sgemm peak."""
    rows = []
    for backend in BACKENDS:
        result = _load(folder, f"attention-{backend}")
        if result is None:
            rows.append([backend, "not measured", "", "", "", ""])
            continue
        for mode in ("forward", "forward+backward"):
            by_name = {
                row["implementation"]: row
                for row in result["speed"]["rows"]
                if row["mode"] == mode
            }
            ours = by_name.pop("zoo.layers.MultiHeadAttention")
            keras_row = by_name.pop("keras.layers.MultiHeadAttention")
            native_name, native = next(iter(by_name.items()))
            rows.append(
                [
                    backend,
                    mode,
                    f"{ours['milliseconds']:.1f}",
                    f"{keras_row['milliseconds'] / ours['milliseconds']:.2f}",
                    f"{native['milliseconds'] / ours['milliseconds']:.2f} "
                    f"(`{native_name}`)",
                    f"{ours['fraction_of_sgemm_peak']:.2f}",
                ]
            )
    header = ["backend", "pass", "ours ms", "Keras / ours", "native / ours"]
    return _table(header + ["ours, of sgemm peak"], rows)


def lstm_table(folder):
    """LSTM training samples/s against plain PyTorch."""

    def rows_of(result):
        yield [
            f"{result['keras_lstm_samples_per_second']:,.0f}",
            f"{result['torch_reference_samples_per_second']:,.0f}",
            f"{result['ratio_to_torch']:.2f}",
        ]

    header = ["backend", "ours samples/s", "PyTorch samples/s", "ratio"]
    return _per_backend(folder, "lstm", header, rows_of)


def seq2seq_table(folder):
    """Seq2seq training tokens/s as a ratio to plain PyTorch."""
    rows = []
    for backend in BACKENDS:
        result = _load(folder, f"seq2seq-{backend}")
        if result is None:
            rows.append([backend, "not measured", "", "", ""])
            continue
        models = result["models"]
        rows.append(
            [backend]
            + [
                f"{models[m]['ratio_to_reference']:.3g}" if m in models else "-"
                for m in SEQ2SEQ_MODELS
            ]
        )
    return _table(["backend", *SEQ2SEQ_MODELS], rows)


def decode_table(folder):
    """Cached over recomputed greedy decoding, 32 and 128 tokens."""
    rows = []
    for backend in BACKENDS:
        for name in (f"decode-{backend}", f"decode-128-{backend}"):
            result = _load(folder, name)
            if result is None:
                if name.startswith("decode-128"):
                    continue  # the 128-token run is optional
                rows.append([f"{backend}, 32", "not measured", "", "", ""])
                continue
            models, steps = result["models"], result["config"]["steps"]
            rows.append([f"{backend}, {steps}", *_decode_cells(models, None)])
            if any("torch_compile" in row for row in models.values()):
                rows.append(
                    [f"{backend} + torch.compile, {steps}"]
                    + _decode_cells(models, "torch_compile")
                )
    header = [f"{m}: speed-up (cached s)" for m in SEQ2SEQ_MODELS]
    return _table(["backend, tokens", *header], rows)


def _decode_cells(models, variant):
    """One cell per model: speed-up (cached s), of `models[m][variant]` if set
    (a compiled variant also gives its first call, compiling included)."""
    cells = []
    for model in SEQ2SEQ_MODELS:
        row = models.get(model)
        if row is not None and variant is not None:
            row = row.get(variant)
        if row is None:
            cells.append("-")
            continue
        same = "" if row["same_tokens"] else " (tokens differ)"
        first = (
            f"; first {row['first_call_seconds']:.0f} s"
            if "first_call_seconds" in row
            else ""
        )
        cells.append(
            f"{row['speedup']:.1f}x ({row['cached_seconds']:.3f} s{first}){same}"
        )
    return cells


def precision_table(folder):
    """float32 against mixed bfloat16 training throughput, per workload."""

    def rows_of(result):
        for row in result["throughput"]:
            unit = row["unit"]
            yield [
                row["workload"],
                f"{row['float32_per_second']:,.0f} {unit}/s",
                f"{row['bfloat16_per_second']:,.0f} {unit}/s",
                f"{row['speedup']:.2f}x",
            ]

    header = ["backend", "workload", "float32", "mixed bfloat16", "bfloat16 speed-up"]
    return _per_backend(folder, "precision", header, rows_of)


def precision_quality_table(folder):
    """Validation loss after the same epochs in float32 and mixed bfloat16."""

    def rows_of(result):
        for row in result["quality"]:
            yield [
                row["run"],
                str(row["epochs"]),
                f"{row['float32_val_loss']:.4f}",
                f"{row['bfloat16_val_loss']:.4f}",
                f"{100 * row['relative_difference']:+.2f}%",
            ]

    header = ["backend", "run", "epochs", "float32 val loss", "bfloat16 val loss"]
    return _per_backend(folder, "precision", header + ["difference"], rows_of)


TABLES = {
    "attention": attention_table,
    "lstm": lstm_table,
    "seq2seq": seq2seq_table,
    "decode": decode_table,
    "precision": precision_table,
    "precision-quality": precision_quality_table,
}


def rewrite(text, folder):
    r"""`text` with every table between its markers regenerated.

    Example:
    >>> text = "".join(f"<!-- bench:{n} -->\n<!-- /bench:{n} -->\n" for n in TABLES)
    >>> print(rewrite(text, "/nowhere").splitlines()[3])
    | jax | not measured |  |  |  |  |
    """
    for name, build in TABLES.items():
        try:
            table = build(folder)
        except (KeyError, TypeError, ValueError, StopIteration, ZeroDivisionError):
            raise ZooError(
                f"{folder}: the {name} results are not what zoo.bench writes; "
                "rerun `make bench`"
            ) from None
        text = replace_marked(text, f"bench:{name}", table)
    return text


def main(argv=None):
    parser = OneLineParser(
        prog="python -m zoo.bench.tables", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--readme", default="docs/benchmarks.md")
    parser.add_argument("--results", default="reports/bench")
    args = parser.parse_args(argv)
    try:
        readme = pathlib.Path(args.readme)
        if not readme.is_file():
            raise ZooError(f"--readme {readme}: no such file")
        if not pathlib.Path(args.results).is_dir():
            # Every table would say "not measured": refuse rather than blank them.
            raise ZooError(
                f"--results {args.results}: no such folder; pass the folder "
                "`make bench` writes (reports/bench)"
            )
        text = readme.read_text(encoding="utf-8")
        write_text(readme, rewrite(text, args.results))
    except OSError as error:
        return print_error("zoo.bench.tables", f"{error.filename}: {error.strerror}")
    except ZooError as error:
        return print_error("zoo.bench.tables", error)
    print(f"{args.readme}: {len(TABLES)} tables rewritten from {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
