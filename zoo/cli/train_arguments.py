"""The command line of `python -m zoo.train`: its parser and the checks of
its arguments, before any work (imports no Keras: `--help` stays fast).

`zoo.train.__main__` runs what these describe.
"""

from zoo.errors import OneLineParser, ZooError


def build_parser():
    """The parser of `python -m zoo.train`; imports no Keras (fast --help).

    Every option that sets a run comes from a `TrainConfig` field and its
    `zoo.config.setting` metadata (help, choices, task, preset): adding a
    setting is one edit there. Only the options that are not settings (the
    TASK, --seeds, --out, --resume, --backend) are written here.

    Returns:
        OneLineParser.
    """
    from zoo.cli.help_text import DefaultsFormatter
    from zoo.config import flag
    from zoo.names import TASK_MODELS
    from zoo.runtime import add_backend_option

    models = "; ".join(f"{name}: {', '.join(m)}" for name, m in TASK_MODELS.items())
    parser = OneLineParser(
        prog="python -m zoo.train",
        description=(
            "Train a keras-zoo model and write runs/<task>-<model>-<UTC stamp>/ "
            "(config.json, history.csv, metrics.json, model.keras, scaler.json "
            "or vocab.json, figures/). Without TASK: the quick preset of every "
            "task on the embedded data, then a results table."
        ),
        epilog=f"models: {models}. Settings marked 'from --preset' and left "
        "unset come from the preset (zoo/config.py).",
        formatter_class=DefaultsFormatter,
    )
    parser.add_argument(
        "task",
        nargs="?",
        choices=sorted(TASK_MODELS),
        help="task to train; omit for the default suite (quick preset)",
    )
    chat = parser.add_argument_group("chatbot")
    for spec in _setting_fields():
        group = chat if spec.metadata["task"] == "chatbot" else parser
        group.add_argument(flag(spec.name), **_option(spec))
        if spec.name == "seed":
            parser.add_argument(
                "--seeds",
                help="chatbot: comma-separated seeds (e.g. 0,1,2): every model "
                "once per seed, then mean ± std over seeds",
            )
    parser.add_argument(
        "--out", help="run directory (default: runs/<task>-<model>-<stamp>)"
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue the interrupted run in --out"
    )
    add_backend_option(parser)
    return parser


def _setting_fields():
    """The TrainConfig fields the command line sets, in the config's order."""
    import dataclasses

    from zoo.config import TrainConfig

    return [f for f in dataclasses.fields(TrainConfig) if f.metadata.get("cli", True)]


def _option(spec):
    """`add_argument` keywords of a setting from its field and metadata."""
    import typing

    from zoo.cli.help_text import preset_default, preset_help
    from zoo.names import TASK_MODELS

    meta = spec.metadata
    kinds = typing.get_args(spec.type) or (spec.type,)  # int | None -> int
    kind = next(t for t in kinds if t is not type(None))
    option = {} if kind is str else {"type": kind}
    if meta["choices"] is not None:
        option["choices"] = meta["choices"]
    if spec.default is not None:
        option["default"] = spec.default
    text = meta["help"]
    if spec.name == "preset":
        text = preset_help()
    elif meta["preset"]:
        tasks = (meta["task"],) if meta["task"] else tuple(TASK_MODELS)
        text = f"{text} {preset_default(spec.name, tasks)}"
    option["help"] = text
    return option


def add_run_setting(parser, name, prefix=""):
    """An option of another command line that overrides a run's setting
    `name` (e.g. `zoo.chat --mmi-weight`): the setting's flag, type, choices
    and help, unset by default (the run's own value then).

    Args:
        parser: argparse.ArgumentParser.
        name: str, a TrainConfig field.
        prefix: str, put before the help (e.g. "greedy: ").

    Example:
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> add_run_setting(parser, "mmi_steps")
    >>> parser.parse_args(["--mmi-steps", "2"]).mmi_steps
    2
    """
    from zoo.config import flag

    spec = next(f for f in _setting_fields() if f.name == name)
    option = _option(spec)
    option.pop("default", None)
    help_text = spec.metadata["help"]
    option["help"] = f"{prefix}{help_text} (default: the run's setting)"
    parser.add_argument(flag(name), **option)


def settings():
    """Every TrainConfig field the command line sets (one source: the config)."""
    return [spec.name for spec in _setting_fields()]


def only_for():
    """{task: the settings only that task reads}: given to the other task,
    they would be ignored, so they are refused (from the fields' metadata;
    --seeds, not a setting, is the chatbot's)."""
    tasks = {}
    for spec in _setting_fields():
        if spec.metadata["task"]:
            tasks.setdefault(spec.metadata["task"], []).append(spec.name)
    tasks.setdefault("chatbot", []).append("seeds")
    return {task: tuple(names) for task, names in tasks.items()}


# The settings the default suite (no TASK) passes on to its runs; it runs
# every other setting at each model's quick preset (--preset is read as
# quick, as its help says: its default, full, cannot be told from unset).
SUITE_SETTINGS = ("seed", "prompts", "preset")


def check_settings(args, parser):
    """Every setting's type and range, before any work (TrainConfig.validate);
    options of the other task, or that the default suite cannot pass on, are
    refused rather than ignored."""
    from zoo.config import TrainConfig, flag

    if args.task is None:
        given = [
            flag(n)
            for n in settings()
            if n not in SUITE_SETTINGS and getattr(args, n) != parser.get_default(n)
        ]
        if given:
            raise ZooError(
                f"{', '.join(given)}: the default suite (no TASK) trains every "
                "model at its quick preset and takes only --seed, --prompts and "
                f"--out; pass a TASK to set {'them' if len(given) > 1 else 'it'} "
                f"(e.g. python -m zoo.train chatbot {given[0]} ...)"
            )
    for task, names in only_for().items():
        if args.task in (None, task):
            continue
        given = [flag(n) for n in names if getattr(args, n) != parser.get_default(n)]
        if given:
            raise ZooError(
                f"{', '.join(given)} only apply to the {task} task; drop them "
                f"for {args.task}"
            )
    values = {n: getattr(args, n) for n in settings()}
    TrainConfig(task=args.task or "traffic", **values).validate()


def models_and_seeds(args):
    """The --model list and --seeds list, checked; ([model], None) for one run."""
    models = [m.strip() for m in args.model.split(",")]
    if any(not m for m in models) or len(set(models)) != len(models):
        raise ZooError(
            f"--model: {args.model!r} is not a comma-separated list of distinct "
            "model names"
        )
    seeds = None
    if args.seeds is not None:
        try:
            seeds = [int(s) for s in args.seeds.split(",")]
        except ValueError:
            raise ZooError(
                f"--seeds: {args.seeds!r} is not a comma-separated list of "
                "integers (e.g. 0,1,2)"
            ) from None
        if len(set(seeds)) != len(seeds) or any(s < 0 for s in seeds):
            raise ZooError(f"--seeds: {args.seeds!r} must be distinct integers >= 0")
    several = len(models) > 1 or seeds is not None
    if several and args.task != "chatbot":
        raise ZooError(
            "--model lists and --seeds compare chatbots; use them with the chatbot task"
        )
    if several and args.resume:
        raise ZooError("--resume continues one run; drop the --model list / --seeds")
    return models, seeds
