"""Finding the newest finished run of each (task, model) under a runs folder,
and the newest multi-seed chatbot comparison."""

import csv
import json
import os

# Folders of `python -m zoo.train chatbot --seeds ...` (zoo.train.__main__).
COMPARISON_PREFIX = "chatbot-compare-"


def _read_json(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def find_runs(runs_dir, task):
    """{model: run} for finished runs of `task`; the last by path wins.

    A run is a folder with config.json and metrics.json. Paths sort by their
    UTC stamps, so the newest run of a model is used; the choice depends on
    the folder names only (same runs, same report).

    Returns:
        (runs, read_errors): runs maps model -> dict(path, metrics, history);
        read_errors lists the runs that could not be read (or only in part),
        one line each.
    """
    runs, read_errors = {}, []
    if not os.path.isdir(runs_dir):
        return runs, [f"no runs folder {runs_dir!r}"]
    found = []
    for root, dirs, files in os.walk(runs_dir):
        # The runs of a multi-seed comparison are read through its
        # comparison.json (find_comparison), not one by one.
        dirs[:] = [d for d in dirs if not d.startswith(COMPARISON_PREFIX)]
        if "metrics.json" in files and "config.json" in files:
            found.append(root)
    for path in sorted(found):
        try:
            config = _read_json(os.path.join(path, "config.json"))
            if config.get("task") != task:
                continue
            metrics = _read_json(os.path.join(path, "metrics.json"))
            model = metrics["model"]
            metrics["results"][model]  # noqa: B018  must hold the model's row
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            read_errors.append(
                f"{os.path.join(path, 'metrics.json')}: unreadable or partial "
                f"({type(error).__name__}); skipped"
            )
            continue
        history = []
        try:
            with open(os.path.join(path, "history.csv"), newline="") as handle:
                history = list(csv.DictReader(handle))
        except OSError:
            read_errors.append(
                f"{path}: no history.csv; per-epoch figures leave it out"
            )
        runs[model] = {
            "path": path,
            "config": config,
            "metrics": metrics,
            "history": history,
        }
    return runs, read_errors


def kept_epoch(history, column, pick):
    """The epoch (from 1) a keep-the-best rule picks from history.csv rows.

    Args:
        history: list of dict rows of history.csv.
        column: str, e.g. "val_loss".
        pick: `min` or `max`.

    Returns:
        int, or None when no row has `column`.

    Example:
    >>> kept_epoch([{"val_loss": "3"}, {"val_loss": "2.5"}, {"val_loss": "2.7"}],
    ...            "val_loss", min)
    2
    """
    values = [float(row[column]) for row in history if column in row]
    return 1 + values.index(pick(values)) if values else None


def find_comparison(runs_dir, fallback):
    """The newest `comparison.json` under `runs_dir`, else `fallback`'s.

    Args:
        runs_dir: str, where `python -m zoo.train chatbot --seeds ...` wrote.
        fallback: str, the committed comparison (reports/chatbot-seeds/).

    Returns:
        (comparison dict or None, where it came from or the problem).
    """
    candidates = []
    if os.path.isdir(runs_dir):
        for name in sorted(os.listdir(runs_dir)):
            path = os.path.join(runs_dir, name, "comparison.json")
            if name.startswith(COMPARISON_PREFIX) and os.path.isfile(path):
                candidates.append(path)
    for path in [*reversed(candidates), os.path.join(fallback, "comparison.json")]:
        try:
            comparison = _read_json(path)
            comparison["rows"], comparison["claims"]  # noqa: B018  must hold both
        except (OSError, ValueError, KeyError, TypeError):
            continue
        return comparison, path
    return None, "no comparison.json found"
