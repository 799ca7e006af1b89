"""Assembles the sections in sheet order and writes the chosen formats.

`BUILDERS` is the one registry of the report: problem id -> the function
that builds its section, in sheet order; `PROBLEMS` and the `--only` groups
come from it.
"""

import os
from dataclasses import dataclass

from solutions.core.document import Text, checks_summary
from solutions.core.render import compile_pdf, write_report
from solutions.core.runs import find_comparison, find_runs
from solutions.core.summary import SUMMARY_NAME, load_summary, write_summary
from solutions.sheet_a import (
    a1_1_softmax_cost,
    a1_2_taylor,
    a1_3_linear,
    a1_4_crossover,
    a2_missing,
    a3_b1_chatbot,
)
from solutions.sheet_b import b2_i_moments, b2_ii_cost, b2_iii_rank, b3_traffic, b4_exam
from zoo.errors import ZooError

# The multi-seed comparison committed with the reports: used when --runs
# holds none (a fresh clone), and named as such in the report.
COMMITTED_COMPARISON = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "reports", "chatbot-seeds"
)
# The summary of the runs behind the committed report: used when --runs
# holds no run of a task (a fresh clone), and named as such in the report.
COMMITTED_SUMMARY = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "reports", SUMMARY_NAME
)
# Which sections' tables come from training runs, by task.
RUN_SECTIONS = {"chatbot": "A3/B1", "traffic": "B3"}


@dataclass
class _Inputs:
    """What the section builders read besides the code."""

    out_dir: str  # the report folder (figures/ under it)
    bench_dir: str  # `python -m zoo.bench` JSON (A1.4)
    runs: dict  # task -> (runs, read errors), as `find_runs` returns them
    comparison: object  # the multi-seed chatbot comparison, or None
    comparison_source: str  # where it came from, in words


# Problem id -> builder of its Section, in sheet order.
BUILDERS = {
    "A1.1": lambda inputs: a1_1_softmax_cost.a1_1(inputs.out_dir),
    "A1.2": lambda inputs: a1_2_taylor.a1_2(inputs.out_dir),
    "A1.3": lambda inputs: a1_3_linear.a1_3(inputs.out_dir),
    "A1.4": lambda inputs: a1_4_crossover.a1_4(inputs.out_dir, inputs.bench_dir),
    "A2": lambda inputs: a2_missing.a2(inputs.out_dir),
    "A3/B1": lambda inputs: a3_b1_chatbot.a3_b1(
        inputs.out_dir,
        *inputs.runs["chatbot"],
        inputs.comparison,
        inputs.comparison_source,
    ),
    "A3.4": lambda inputs: a3_b1_chatbot.a3_4(inputs.out_dir),
    "B2.i": lambda inputs: b2_i_moments.b2_i(inputs.out_dir),
    "B2.ii": lambda inputs: b2_ii_cost.b2_ii(inputs.out_dir),
    "B2.iii": lambda inputs: b2_iii_rank.b2_iii(inputs.out_dir),
    "B3": lambda inputs: b3_traffic.b3(inputs.out_dir, *inputs.runs["traffic"]),
    "B4": lambda inputs: b4_exam.b4(inputs.out_dir),
}
PROBLEMS = tuple(BUILDERS)
# A group is every problem whose id starts with it ("A1" -> A1.1 ... A1.4;
# "B1" -> A3/B1), so inserting a problem never shifts another group.
GROUPS = {
    group: tuple(
        p for p in PROBLEMS if p.startswith(group + ".") or group in p.split("/")
    )
    for group in ("A1", "A3", "B1", "B2")
}


def select(only):
    """The problem ids to generate from a comma-separated --only (None: all)."""
    if not only:
        return list(PROBLEMS)
    wanted = []
    for item in (i.strip() for i in only.split(",") if i.strip()):
        ids = GROUPS.get(item) or ((item,) if item in PROBLEMS else None)
        if ids is None:
            raise ZooError(
                f"--only: unknown problem {item!r}; choose from {', '.join(PROBLEMS)} "
                f"or a group {', '.join(GROUPS)}"
            )
        wanted += [i for i in ids if i not in wanted]
    return [p for p in PROBLEMS if p in wanted]


def build_sections(wanted, runs_dir, out_dir, bench_dir):
    """(sections, meta) for the wanted problem ids."""
    from zoo.runtime import describe

    found, sources, from_summary = {}, {}, set()
    for task in RUN_SECTIONS:
        found[task] = find_runs(runs_dir, task)
        sources[task] = f"runs under `{runs_dir}` (the newest run of each model)"
        if not found[task][0]:
            runs, source = load_summary(COMMITTED_SUMMARY, task)
            if runs:
                found[task], sources[task] = (runs, []), source
                from_summary.add(task)
    comparison, source = find_comparison(runs_dir, COMMITTED_COMPARISON)
    if comparison is not None:
        source = (
            "the committed reports/chatbot-seeds/"
            if source.startswith(COMMITTED_COMPARISON)
            else "the newest comparison under --runs"
        )
    inputs = _Inputs(out_dir, bench_dir, found, comparison, source)
    sections = [BUILDERS[p](inputs) for p in wanted]
    for section in sections:
        for task, problem in RUN_SECTIONS.items():
            if section.id == problem and found[task][0]:
                section.evidence.insert(
                    0, Text(f"Source of the run tables: {sources[task]}.")
                )
    meta = {
        "backend_line": describe(),
        "provenance": provenance(
            {task: found[task][0] for task in found}, comparison, source, from_summary
        ),
        "summary": f"Checks: {checks_summary(sections)}.",
        # Only runs read from --runs are summarized again, never the summary.
        "runs": {
            task: found[task][0]
            for task, problem in RUN_SECTIONS.items()
            if problem in wanted and task not in from_summary
        },
    }
    return sections, meta


def runs_provenance(task, runs):
    """One clause: which runs of `task`, when, by which code.

    Args:
        task: str, "chatbot" or "traffic".
        runs: {model: run}, each with `path` and `config.environment`
            (older runs recorded no code version and the clause says so).

    Returns:
        str.
    """
    environments = [
        run.get("config", {}).get("environment", {}) for run in runs.values()
    ]
    folders = sorted(
        {
            os.path.dirname(os.path.normpath(run.get("path", "")))
            for run in runs.values()
        }
    )
    started = sorted(e["started"] for e in environments if e.get("started"))
    codes = sorted({e["code"] for e in environments if e.get("code")})
    backends = sorted({e["backend"] for e in environments if e.get("backend")})
    when = (
        f"started {started[0]}"
        if started and started[0] == started[-1]
        else f"started {started[0]} to {started[-1]}"
        if started
        else "start not recorded"
    )
    return (f"{task} runs ({', '.join(sorted(runs))}) in "
            f"{', '.join(f'`{f}`' for f in folders) or '?'}, {'/'.join(backends) or '?'}, "
            f"{when}, {', '.join(codes) or 'code version not recorded (older runs)'}")  # fmt: skip


def provenance(runs_by_task, comparison, comparison_source, from_summary=()):
    """The report's provenance: when, from which code, from which runs.

    Args:
        runs_by_task: {task: {model: run}} the sections read.
        comparison: the multi-seed comparison dict, or None.
        comparison_source: str, where it came from.
        from_summary: tasks whose runs were read from the committed runs.json.

    Returns:
        str, one paragraph.

    Example:
    >>> env = {"started": "2026-12-06 05:21 UTC", "code": "commit abc", "backend": "jax"}
    >>> run = {"path": "runs/suite-X/chatbot-lstm", "config": {"environment": env}}
    >>> line = provenance({"chatbot": {"lstm": run}}, None, "none")
    >>> line.split("; ")[1]
    'chatbot runs (lstm) in `runs/suite-X`, jax, started 2026-12-06 05:21 UTC, commit abc.'
    """
    import time

    from zoo.runtime import code_version

    parts = [
        f"Made on {time.strftime('%Y-%m-%d', time.gmtime())} from {code_version()}"
    ]
    for task, runs in sorted(runs_by_task.items()):
        if runs:
            read = (
                " (read from the committed runs.json)" if task in from_summary else ""
            )
            parts.append(runs_provenance(task, runs) + read)
    if comparison is not None:
        made = ", ".join(
            v for v in (comparison.get("written"), comparison.get("code")) if v
        )
        parts.append(f"seeds comparison: {comparison_source} "
                     f"({made or 'date and code version not recorded'})")  # fmt: skip
    return "**Provenance.** " + "; ".join(parts) + "."


def write(sections, meta, out_dir, formats):
    """Writes each format; returns the paths written."""
    written = []
    if any(meta.get("runs", {}).values()):
        written.append(write_summary(out_dir, meta["runs"], meta["backend_line"]))
    for fmt in ("md", "tex"):
        if fmt in formats:
            written.append(write_report(sections, meta, out_dir, fmt))
    if "pdf" in formats:
        try:
            overfull = []
            pdf = compile_pdf(
                os.path.join(out_dir, "solutions.tex"), out_dir, overfull=overfull
            )
            for line in overfull:
                print(f"solutions: warning: layout: {line}")
        except RuntimeError as error:
            raise ZooError(f"{error}; solutions.md and .tex were written") from None
        if pdf is None:
            print("solutions: pdflatex not found; skipped the PDF (install "
                  "texlive-latex-recommended)")  # fmt: skip
        else:
            written.append(pdf)
    return written
