"""The committed summary of the runs a report used: `runs.json`.

`python -m solutions` writes `runs.json` beside the report whenever its
tables come from training runs: each run's settings, metrics and per-epoch
history, the versions and the date. The copy committed in `reports/` lets a
fresh clone, which has no runs yet, print every table with its numbers; the
report then names the summary as the tables' source.

Example:
>>> import tempfile, os
>>> folder = tempfile.mkdtemp()
>>> runs = {"lstm": {"path": "runs/x", "config": {"task": "traffic"},
...                  "metrics": {"model": "lstm"}, "history": []}}
>>> path = write_summary(folder, {"traffic": runs}, "jax | cpu")
>>> loaded, source = load_summary(path, "traffic")
>>> loaded["lstm"]["metrics"], source.startswith("the committed summary")
({'model': 'lstm'}, True)
"""

import json
import os
import time

from zoo.io import write_json

SUMMARY_NAME = "runs.json"
FORMAT_VERSION = 1


def write_summary(out_dir, runs_by_task, backend_line):
    """Writes `<out_dir>/runs.json` (atomically) from the runs a report used.

    Args:
        out_dir: str, the report's folder.
        runs_by_task: {task: {model: run}}, runs as `find_runs` returns them.
        backend_line: str, the backend and versions that made the report.

    Returns:
        str, the path written.
    """
    summary = {
        "format": FORMAT_VERSION,
        "written": time.strftime("%Y-%m-%d", time.gmtime()),
        "backend": backend_line,
        "tasks": {
            task: {
                model: {
                    key: run[key] for key in ("path", "config", "metrics", "history")
                }
                for model, run in sorted(runs.items())
            }
            for task, runs in sorted(runs_by_task.items())
            if runs
        },
    }
    path = os.path.join(out_dir, SUMMARY_NAME)
    write_json(path, summary)
    return path


def load_summary(path, task):
    """The runs of `task` recorded in a summary, as `find_runs` gives them.

    Args:
        path: str, a runs.json.
        task: str, "chatbot" or "traffic".

    Returns:
        ({model: run}, a sentence naming the source), or ({}, the problem)
        when the file is missing, unreadable or holds no run of `task`.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            summary = json.load(handle)
        runs = summary["tasks"].get(task, {})
        for run in runs.values():
            run["metrics"]["model"]  # noqa: B018  must hold the model
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        return {}, f"{path}: unreadable summary ({type(error).__name__})"
    if not runs:
        return {}, f"{path} holds no {task} run"
    return runs, (
        "the committed summary "
        f"`{os.path.basename(os.path.dirname(os.path.abspath(path)))}/{SUMMARY_NAME}` (runs of "
        f"{summary.get('written', '?')}, {summary.get('backend', '?')}): "
        "no run was found under --runs"
    )
