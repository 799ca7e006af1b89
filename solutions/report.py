"""Assembles the sections in sheet order and writes the chosen formats."""

import os

from solutions import (
    chatbot,
    exam,
    sheet_a1,
    sheet_a1_crossover,
    sheet_a2,
    sheet_b2,
    traffic,
)
from solutions.document import Text, checks_summary
from solutions.render import compile_pdf, write_report
from solutions.runs import find_comparison, find_runs
from solutions.summary import SUMMARY_NAME, load_summary, write_summary
from zoo.errors import ZooError

# The multi-seed comparison committed with the reports: used when --runs
# holds none (a fresh clone), and named as such in the report.
COMMITTED_COMPARISON = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "reports", "chatbot-seeds"
)
# The summary of the runs behind the committed report: used when --runs
# holds no run of a task (a fresh clone), and named as such in the report.
COMMITTED_SUMMARY = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "reports", SUMMARY_NAME
)
# Which sections' tables come from training runs, by task.
RUN_SECTIONS = {"chatbot": "A3/B1", "traffic": "B3"}
PROBLEMS = (
    "A1.1",
    "A1.2",
    "A1.3",
    "A1.4",
    "A2",
    "A3/B1",
    "A3.4",
    "B2.i",
    "B2.ii",
    "B2.iii",
    "B3",
    "B4",
)
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
    chat_runs, chat_problems = found["chatbot"]
    traffic_runs, traffic_problems = found["traffic"]
    comparison, source = find_comparison(runs_dir, COMMITTED_COMPARISON)
    if comparison is not None:
        source = (
            "the committed reports/chatbot-seeds/"
            if source.startswith(COMMITTED_COMPARISON)
            else "the newest comparison under --runs"
        )
    builders = {
        "A1.1": lambda: sheet_a1.a1_1(out_dir),
        "A1.2": lambda: sheet_a1.a1_2(out_dir),
        "A1.3": lambda: sheet_a1.a1_3(out_dir),
        "A1.4": lambda: sheet_a1_crossover.a1_4(out_dir, bench_dir),
        "A2": lambda: sheet_a2.a2(out_dir),
        "A3/B1": lambda: chatbot.a3_b1(
            out_dir, chat_runs, chat_problems, comparison, source
        ),
        "A3.4": lambda: chatbot.a3_4(out_dir),
        "B2.i": lambda: sheet_b2.b2_i(out_dir),
        "B2.ii": lambda: sheet_b2.b2_ii(out_dir),
        "B2.iii": lambda: sheet_b2.b2_iii(out_dir),
        "B3": lambda: traffic.b3(out_dir, traffic_runs, traffic_problems),
        "B4": lambda: exam.b4(out_dir),
    }
    sections = [builders[p]() for p in wanted]
    for section in sections:
        for task, problem in RUN_SECTIONS.items():
            if section.id == problem and found[task][0]:
                section.checks.insert(
                    0, Text(f"Source of the run tables: {sources[task]}.")
                )
    meta = {
        "backend_line": describe(),
        "summary": f"Checks: {checks_summary(sections)}.",
        # Only runs read from --runs are summarized again, never the summary.
        "runs": {
            task: found[task][0]
            for task, problem in RUN_SECTIONS.items()
            if problem in wanted and task not in from_summary
        },
    }
    return sections, meta


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
