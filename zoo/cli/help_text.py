"""Help texts of the command lines: every default shown, presets spelled out.

Light on purpose (no Keras): `--help` must answer at once. The numbers a
preset fills in are read from `zoo.config` (the same resolution a run
uses), never typed here by hand.

Example:
>>> preset_default("epochs", ["traffic"])
'(default: from --preset: quick 25 / full 150)'
"""

import argparse

from zoo.names import TASK_MODELS


class DefaultsFormatter(argparse.HelpFormatter):
    """Appends "(default: X)" to every option whose default says something.

    Unlike `argparse.ArgumentDefaultsHelpFormatter`, it leaves out the
    default of options that are unset (None) or off (False), whose help says
    what happens then, and help that already names its default.
    """

    def _get_help_string(self, action):
        """The help of `action`, with its default appended where useful.

        Args:
            action: argparse.Action.

        Returns:
            str (argparse expands `%(default)s` in it).
        """
        text = action.help or ""
        if (
            "%(default)" in text
            or "(default:" in text
            or not action.option_strings
            or any(action.default is v for v in (None, False, argparse.SUPPRESS))
        ):
            return text
        return f"{text} (default: %(default)s)"


def _presets():
    from zoo.config import PRESETS

    return tuple(PRESETS)


def preset_values(setting, task, model):
    """The value each preset gives `setting` for `task` and `model`.

    Args:
        setting: str, a TrainConfig field (e.g. "epochs").
        task: str, a task name.
        model: str, one of the task's models.

    Returns:
        tuple, one value per preset, in `PRESETS` order (quick, full).
    """
    from zoo.config import TrainConfig

    return tuple(
        getattr(TrainConfig(task=task, model=model, preset=p).resolved(), setting)
        for p in _presets()
    )


def _values_text(values):
    """(25, 150) -> "quick 25 / full 150"; (64, 64) -> "64"."""
    if len(set(values)) == 1:
        return str(values[0])
    return " / ".join(f"{p} {v}" for p, v in zip(_presets(), values, strict=True))


def _task_text(setting, task):
    """The task's values; models whose preset differs are named after it."""
    groups = {}
    for model in TASK_MODELS[task]:
        groups.setdefault(preset_values(setting, task, model), []).append(model)
    # The values most models share are the task's; the others are exceptions.
    common = max(groups, key=lambda values: len(groups[values]))
    parts = [_values_text(common)]
    parts += [
        f"{' and '.join(models)} {_values_text(values)}"
        for values, models in groups.items()
        if values != common
    ]
    return ", ".join(parts)


def preset_default(setting, tasks=tuple(TASK_MODELS)):
    """ "(default: from --preset: ...)" for a setting the preset fills in.

    Args:
        setting: str, a TrainConfig field.
        tasks: the tasks the option applies to.

    Returns:
        str, e.g. "(default: from --preset: traffic quick 25 / full 150;
        chatbot quick 6 / full 20, transformer and transformer-linear
        quick 3 / full 10)".
    """
    texts = {task: _task_text(setting, task) for task in tasks}
    if len(set(texts.values())) == 1:
        return f"(default: from --preset: {next(iter(texts.values()))})"
    joined = "; ".join(f"{task} {text}" for task, text in texts.items())
    return f"(default: from --preset: {joined})"


def preset_help():
    """The help of --preset: what each preset is and which one a run gets.

    Returns:
        str.
    """
    from zoo.config import TrainConfig

    default = TrainConfig().preset
    index = _presets().index(default)
    epochs = [
        (preset_values("epochs", task, TrainConfig().model)[index], task)
        for task in TASK_MODELS
    ]
    longest = " and ".join(
        f"{count} epochs for {task}" if i == 0 else f"{count} for {task}"
        for i, (count, task) in enumerate(epochs)
    )
    return (
        "quick: smoke-sized; full: the real run. The preset fills in every "
        "setting marked 'from --preset' below that is left unset. A single-task "
        f"run uses {default} unless told (up to {longest}; early "
        "stopping usually ends sooner); without TASK the default suite always "
        "runs quick (default: %(default)s)"
    )
