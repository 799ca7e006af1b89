"""`python -m zoo.train [TASK] [options]`: train a zoo model, write a run directory.

Without a task: the quick preset of every task's default models on the
embedded data, then a table of results. Errors in the input print one line
and exit with code 2.
"""

import datetime
import os
import sys

from zoo.cli.train_arguments import (
    build_parser,
    check_settings,
    models_and_seeds,
    settings,
)
from zoo.errors import USER_ERRORS, ZooError, one_line_warnings, print_error
from zoo.run_dir import run_stamp


def progress_verbosity(stream=None):
    """Keras `fit` verbosity: the progress bar on a terminal, else one line.

    Keras draws its bar with carriage returns and ANSI codes whenever it
    runs on a POSIX system, even into a file; a log gets one plain line per
    epoch instead (verbose=2).

    Args:
        stream: the file progress goes to (default: sys.stdout).

    Returns:
        "auto" or 2.
    """
    stream = sys.stdout if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return "auto" if isatty is not None and isatty() else 2


def run_one(args, parser):
    from zoo.config import TrainConfig, flag
    from zoo.run_dir import check_out_dir, read_config
    from zoo.train.engine import train_and_evaluate

    if args.resume:
        if not args.out:
            raise ZooError("--resume needs --out RUN_DIR (the run to continue)")
        changed = [
            flag(n) for n in settings() if getattr(args, n) != parser.get_default(n)
        ]
        if changed:
            raise ZooError(
                f"--resume takes every setting from RUN_DIR/config.json; drop {changed}"
            )
        check_out_dir(args.out, resume=True)  # a finished run says so first
        config = read_config(args.out)
        if config.task != args.task:
            raise ZooError(
                f"--resume: {args.out!r} is a {config.task} run; pass "
                f"{config.task} as the TASK"
            )
        out = args.out
    else:
        values = {n: getattr(args, n) for n in settings()}
        config = TrainConfig(task=args.task, **values)
        stamp = run_stamp()
        out = args.out or os.path.join("runs", f"{args.task}-{args.model}-{stamp}")
    return out, train_and_evaluate(
        config, out, resume=args.resume, verbose=progress_verbosity()
    )


def run_suite(args):
    """The quick preset of every task's default models; prints a table."""
    from zoo.config import TrainConfig
    from zoo.run_dir import check_out_dir
    from zoo.train.engine import train_and_evaluate
    from zoo.train.summary import print_suite
    from zoo.train.tasks import TASKS

    suite_dir = args.out or os.path.join("runs", f"suite-{run_stamp()}")
    check_out_dir(suite_dir, resume=False)  # a new or empty folder, not a run
    results = []
    for task_name, task in TASKS.items():
        for model in task.default_suite:
            # The suite's own settings (arguments.SUITE_SETTINGS).
            passed = {"prompts": args.prompts} if task_name == "chatbot" else {}
            config = TrainConfig(
                task=task_name, model=model, preset="quick", seed=args.seed, **passed
            )
            out = os.path.join(suite_dir, f"{task_name}-{model}")
            print(f"\n== {task_name} / {model} -> {out}", flush=True)
            result = train_and_evaluate(config, out, verbose=2)
            results.append((task_name, result))
    print_suite(results, suite_dir)
    return 0


def run_comparison(args, models, seeds):
    """Each chatbot model once per seed, then mean ± std over the seeds."""
    from zoo.config import TrainConfig
    from zoo.io import write_json, write_text
    from zoo.runtime import code_version
    from zoo.train.compare import compare, comparison_frame, comparison_markdown
    from zoo.train.engine import train_and_evaluate
    from zoo.train.summary import print_comparison
    from zoo.train.tasks import get_task

    task = get_task(args.task)
    unknown = [m for m in models if m not in task.models]
    if unknown:
        raise ZooError(
            f"--model: unknown chatbot models {unknown}; choose from "
            f"{list(task.models)}"
        )
    seeds = seeds or [args.seed]
    folder = args.out or os.path.join("runs", f"chatbot-compare-{run_stamp()}")
    plan = []
    for seed in seeds:
        for model in models:
            values = {n: getattr(args, n) for n in settings()}
            values.update(model=model, seed=seed)
            config = TrainConfig(task="chatbot", **values)
            task.check(config.resolved())  # every model's settings, up front
            out = os.path.join(folder, f"{model}-seed{seed}")
            if os.path.exists(os.path.join(out, "config.json")):
                raise ZooError(
                    f"--out: {folder!r} already holds runs of this comparison; "
                    "pass a new --out"
                )
            plan.append((model, seed, config, out))
    runs = []
    for model, seed, config, out in plan:
        print(f"\n== chatbot / {model} / seed {seed} -> {out}", flush=True)
        runs.append((model, seed, train_and_evaluate(config, out, verbose=2)))
    comparison = compare(runs)
    # Which code and when, for the report's provenance line.
    comparison["code"] = code_version()
    comparison["written"] = datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M UTC"
    )
    write_json(os.path.join(folder, "comparison.json"), comparison)
    table = comparison_frame(comparison)
    write_text(os.path.join(folder, "comparison.md"), comparison_markdown(comparison))
    print_comparison(comparison, table, folder)
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    from zoo.runtime import apply_backend_flag

    apply_backend_flag(argv, "zoo.train")  # before anything imports keras
    parser = build_parser()
    args = parser.parse_args(argv)

    from zoo.distributed import supervisor
    from zoo.distributed.cluster import join as join_cluster
    from zoo.distributed.cluster import launched_processes
    from zoo.runtime import describe

    try:
        launched = launched_processes()
    except USER_ERRORS as error:
        return print_error("zoo.train", error)
    if launched and not supervisor.is_child():
        _, processes, rank = launched
        return supervisor.supervise(argv, "zoo.train", f"process {rank} of {processes}")
    try:
        # Before the backend runs anything (JAX requires it).
        cluster = join_cluster()
    except USER_ERRORS as error:
        return print_error("zoo.train", error)
    print(f"zoo.train: {describe()}{cluster.describe()}", flush=True)
    one_line_warnings("zoo.train")
    if cluster.processes == 1:
        return _run(args, parser, cluster)
    try:
        code = _run(args, parser, cluster)
    except BaseException:  # a bug: its traceback, then the same quick exit
        import traceback

        traceback.print_exc()
        code = 1
    if code == 0:
        # Through JAX's exit hooks: their shutdown barrier keeps process 0,
        # which hosts the coordinator, until the others are done too.
        return code
    # Not through them after a failure: they would wait for a lost process.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _run(args, parser, cluster):
    """The work of `main` once the process group is joined; the exit code."""
    try:
        check_settings(args, parser)
        if cluster.processes > 1 and (args.task is None or args.out is None):
            raise ZooError(
                "several processes train one run: pass its TASK, one --model "
                "and --out RUN_DIR (the same on every process)"
            )
        if args.task is None:
            if args.resume:
                raise ZooError(
                    "--resume continues one run: pass its TASK (traffic or chatbot)"
                )
            return run_suite(args)
        models, seeds = models_and_seeds(args)
        if len(models) > 1 or seeds is not None:
            if cluster.processes > 1:
                raise ZooError(
                    "several processes train one run: pass one --model and no "
                    "--seeds (compare runs one after the other)"
                )
            return run_comparison(args, models, seeds)
        out, result = run_one(args, parser)
    except USER_ERRORS as error:
        return print_error("zoo.train", error)
    except KeyboardInterrupt:
        print(
            "zoo.train: interrupted; continue with --resume --out RUN_DIR",
            file=sys.stderr,
        )
        return 130
    if cluster.writes:  # the others' copies of the run are gone
        from zoo.train.summary import print_run

        print_run(args.task, result)
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
