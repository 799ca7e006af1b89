"""`python -m solutions`: worked solutions of both sheets, checked by code.

Writes solutions.md, solutions.tex, solutions.pdf (when pdflatex is
installed) and figures/ into --out. Bad input prints one line and exits 2;
missing or broken runs leave a stated gap in the report instead.
"""

import os
import sys
import time

from zoo.errors import USER_ERRORS, OneLineParser, ZooError, print_error

FORMATS = ("md", "tex", "pdf")


def build_parser():
    from solutions.core.report import PROBLEMS

    parser = OneLineParser(
        prog="python -m solutions",
        description="Write the worked solutions (Markdown, LaTeX, PDF) with checks "
        "computed on the current Keras backend.",
        epilog=f"problems: {', '.join(PROBLEMS)}",
    )
    parser.add_argument("--runs", default="runs", help="folder of training runs")
    parser.add_argument("--out", default="reports", help="output folder")
    parser.add_argument(
        "--formats", default="md,tex,pdf", help="comma-separated: md,tex,pdf"
    )
    parser.add_argument("--only", help="comma-separated problem ids, e.g. A1.2,B2")
    parser.add_argument("--bench", default=os.path.join("reports", "bench"),
                        help="folder of `python -m zoo.bench` JSON (A1.4)")  # fmt: skip
    parser.add_argument("--train-quick", action="store_true",
                        help="run the quick training suite into --runs first")  # fmt: skip
    return parser


def parse_formats(text):
    formats = [f.strip() for f in text.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ZooError(
            f"--formats: unknown {unknown or text!r}; use a subset of md,tex,pdf"
        )
    if "pdf" in formats and "tex" not in formats:
        formats.insert(formats.index("pdf"), "tex")  # the PDF is made from it
    return formats


def main(argv=None):
    from zoo.runtime import apply_backend_flag

    apply_backend_flag([], "solutions")  # a bad KERAS_BACKEND: one line, exit 2
    args = build_parser().parse_args(argv)
    started = time.perf_counter()
    try:
        from solutions.core.document import checks_summary
        from solutions.core.report import build_sections, select, write
        from zoo.io import check_writable

        formats = parse_formats(args.formats)
        wanted = select(args.only)
        if args.train_quick:
            from zoo.run_dir import run_stamp
            from zoo.train.__main__ import main as train

            if train(["--out", os.path.join(args.runs, f"suite-{run_stamp()}")]) != 0:
                raise ZooError("--train-quick: the training suite failed (see above)")
        try:
            check_writable(os.path.join(args.out, "figures", "probe"))
        except OSError as error:
            raise ZooError(
                f"--out: cannot write to {args.out!r} ({error.strerror}); "
                "pass a folder you can write to"
            ) from None
        sections, meta = build_sections(wanted, args.runs, args.out, args.bench)
        written = write(sections, meta, args.out, formats)
    except USER_ERRORS as error:
        return print_error("solutions", error)
    failed = [s.id for s in sections if not s.passed]
    for path in written:
        print(f"wrote {path}")
    print(
        f"solutions: {len(sections)} problems, {checks_summary(sections)} "
        f"({time.perf_counter() - started:.0f} s, {meta['backend_line']})"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
