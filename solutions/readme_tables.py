"""`python -m solutions.readme_tables`: README's results tables from the committed JSON.

`make report` writes `reports/runs.json` (the runs of a `make run` suite)
and maintainers commit `reports/chatbot-seeds/comparison.json` (the
multi-seed comparison); this rewrites each README table between its two
markers, `<!-- results:NAME -->` and `<!-- /results:NAME -->`, from those
files, each with a line naming the runs it shows (folder, backend, date,
commit), so that a number on the front page is the number the committed
results hold. A test fails when the committed README differs from what
the JSON gives. A missing marker or an unreadable file is an error (exit
2), and README.md is rewritten in one atomic step or not at all.
"""

import json
import os
import pathlib
import sys

from zoo import quiet_startup

# The tables import the report's modules, which import Keras: its backend's
# start-up lines stay off stderr, as in every CLI of the zoo.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
quiet_startup.install()

from solutions.core.report import runs_provenance  # noqa: E402
from solutions.sheet_a.a3_b1_tables import BASELINES, claims_text, ordered  # noqa: E402
from zoo.errors import OneLineParser, ZooError, print_error  # noqa: E402
from zoo.io import write_text  # noqa: E402
from zoo.markdown import replace_marked  # noqa: E402
from zoo.markdown import table as markdown_table  # noqa: E402
from zoo.train.compare import comparison_frame  # noqa: E402

TRAFFIC_BASELINES = {
    "persistence": "persistence (last value)",
    "seasonal-naive": "seasonal naive (same hour yesterday)",
    "historical-average": "historical average (time of day)",
}
SEEDS_COLUMNS = ("val loss", "test J", "test DL", "test d-2", "test generic",
                 "rubric on topic")  # fmt: skip


def _bold_min(rows, column):
    """Bolds the smallest number of `column` (cells as strings)."""
    values = [float(row[column]) for row in rows if row[column] != ""]
    best = f"{min(values):.2f}" if values else None
    for row in rows:
        if row[column] == best:
            row[column] = f"**{best}**"
    return rows


def traffic_table(summary):
    """Test MAE / RMSE / MAPE of every forecaster of the suite and baselines.

    Args:
        summary: dict, a runs.json.

    Returns:
        str, a provenance line and a Markdown table.
    """
    runs = summary["tasks"].get("traffic", {})
    if not runs:
        return (
            "No traffic runs in reports/runs.json: run `make run`, then `make report`."
        )
    rows = []
    for model in sorted(runs):
        result = runs[model]["metrics"]["results"][model]
        rows.append([model, f"{result['mae']:.2f}", f"{result['rmse']:.2f}",
                     f"{result['mape']:.2f}"])  # fmt: skip
    first = runs[sorted(runs)[0]]["metrics"]["results"]
    for key, name in TRAFFIC_BASELINES.items():
        if key in first:
            rows.append([name, f"{first[key]['mae']:.2f}", "", ""])
    rows = _bold_min(rows, 1)
    windows = runs[sorted(runs)[0]]["metrics"].get("test_windows", "?")
    return (
        f"Test split ({windows} windows), seconds. From {runs_provenance('traffic', runs)}.\n\n"
        + markdown_table(["forecaster", "MAE (s)", "RMSE (s)", "MAPE (%)"], rows)
    )


def chatbot_table(summary):
    """Each chatbot of the suite and the baselines, one seed.

    Args:
        summary: dict, a runs.json.

    Returns:
        str, a provenance line and a Markdown table: kept epoch, validation
        loss, test similarities, distinct-2, generic rate, rubric score and
        distinct replies to the everyday prompts.
    """
    runs = summary["tasks"].get("chatbot", {})
    if not runs:
        return (
            "No chatbot runs in reports/runs.json: run `make run`, then `make report`."
        )
    rows = []
    first = runs[ordered(runs)[0]]["metrics"]
    for name in [*ordered(runs), *BASELINES]:
        metrics_json = runs[name]["metrics"] if name in runs else first
        result = metrics_json["results"][name]
        prompts = metrics_json.get("prompt_report", {}) if name in runs else {}
        rubric = metrics_json.get("rubric", {}).get("prompts", "?")
        rows.append([
            name,
            f"{metrics_json['best_epoch']} of {metrics_json['epochs_run']}" if name in runs else "",
            f"{result['val_loss']:.3f}" if "val_loss" in result else "",
            f"{result['jaccard']:.4f}", f"{result['damerau_levenshtein']:.4f}",
            f"{result['distinct_2']:.4f}", f"{result['generic_rate']:.3f}",
            f"{result['on_topic']} / {rubric}",
            f"{prompts['distinct']} of {prompts['count']}" if prompts else "",
        ])  # fmt: skip
    header = ["model", "kept epoch", "val loss", "test Jaccard", "test DL",
              "distinct-2", "generic rate", "on topic (rubric)",
              "distinct replies"]  # fmt: skip
    return f"From {runs_provenance('chatbot', runs)}.\n\n" + markdown_table(
        header, rows
    )


def seeds_table(comparison):
    """Mean ± std over seeds of the headline quantities, and the claim.

    Args:
        comparison: dict, a comparison.json.

    Returns:
        str, a provenance line, a Markdown table and the verdicts.
    """
    frame = comparison_frame(comparison)
    columns = ["model", *(c for c in SEEDS_COLUMNS if c in frame.columns)]
    rows = frame[columns].values.tolist()
    seeds = ", ".join(str(s) for s in comparison["seeds"])
    made = ", ".join(
        v for v in (comparison.get("written"), comparison.get("code")) if v
    )
    return (
        f"Seeds {seeds}, `reports/chatbot-seeds/` ({made or 'date and code not recorded'}).\n\n"
        + markdown_table(columns, rows)
        + "\n\n"
        + claims_text(comparison)
    )


def _read(path, make):
    try:
        return json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ZooError(f"{path}: no such file; {make}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ZooError(f"{path}: not valid JSON ({error}); {make}") from None


TABLES = {
    "traffic": ("runs", traffic_table),
    "chatbot": ("runs", chatbot_table),
    "chatbot-seeds": ("seeds", seeds_table),
}


def rewrite(text, reports):
    r"""`text` with every results table between its markers regenerated.

    Args:
        text: str, README.md.
        reports: path of the committed reports folder.

    Returns:
        str.
    """
    sources = {
        "runs": _read(
            pathlib.Path(reports) / "runs.json", "run `make run`, then `make report`"
        ),
        "seeds": _read(
            pathlib.Path(reports) / "chatbot-seeds" / "comparison.json",
            "see reports/chatbot-seeds/README.md for the command that writes it",
        ),
    }
    for name, (source, build) in TABLES.items():
        try:
            table = build(sources[source])
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            raise ZooError(
                f"{reports}: the {source} JSON is not what zoo.train and "
                "`python -m solutions` write; regenerate it"
            ) from None
        text = replace_marked(text, f"results:{name}", table)
    return text


def main(argv=None):
    parser = OneLineParser(
        prog="python -m solutions.readme_tables", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--readme", default="README.md")
    parser.add_argument("--reports", default="reports")
    args = parser.parse_args(argv)
    try:
        readme = pathlib.Path(args.readme)
        if not readme.is_file():
            raise ZooError(f"--readme {readme}: no such file")
        text = readme.read_text(encoding="utf-8")
        write_text(readme, rewrite(text, args.reports))
    except OSError as error:
        return print_error(
            "solutions.readme_tables", f"{error.filename}: {error.strerror}"
        )
    except ZooError as error:
        return print_error("solutions.readme_tables", error)
    print(f"{args.readme}: {len(TABLES)} tables rewritten from {args.reports}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
