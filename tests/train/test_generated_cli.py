"""`python -m zoo.train`'s options are generated from `TrainConfig`'s fields
(`zoo.config.setting`): a setting added there is a flag, with its type,
choices, default, task and preset help, and nothing else to edit."""

import dataclasses

import pytest

from zoo import config as config_module
from zoo.cli import train_arguments as arguments
from zoo.config import TrainConfig, flag, setting


def options(parser):
    return {a.dest: a for a in parser._actions}


def test_every_setting_is_a_flag_with_its_default_type_and_choices():
    actions = options(arguments.build_parser())
    for spec in dataclasses.fields(TrainConfig):
        if not spec.metadata.get("cli", True):
            assert spec.name not in actions or spec.name == "task"
            continue
        action = actions[spec.name]
        assert action.option_strings == [flag(spec.name)]
        assert action.default == spec.default
        if spec.metadata["choices"] is not None:
            assert list(action.choices) == list(spec.metadata["choices"])
        assert action.help, spec.name
    assert actions["epochs"].type is int and actions["dropout"].type is float
    assert actions["data"].type is None  # strings stay strings


def test_a_new_setting_needs_one_edit(monkeypatch):
    @dataclasses.dataclass
    class WithWarmup(TrainConfig):
        warmup: int | None = setting(None, "warm-up epochs", task="chatbot",
                                     preset=True)  # fmt: skip
        fast: str = setting("yes", "go fast", choices=("yes", "no"))

    monkeypatch.setattr(config_module, "TrainConfig", WithWarmup)
    parser = arguments.build_parser()
    chatbot = next(g for g in parser._action_groups if g.title == "chatbot")
    assert "warmup" in {a.dest for a in chatbot._group_actions}
    args = parser.parse_args(["chatbot", "--warmup", "3", "--fast", "no"])
    assert (args.warmup, args.fast) == (3, "no")
    assert "warm-up epochs (default: from --preset:" in parser.format_help()
    assert "warmup" in arguments.only_for()["chatbot"]
    assert "warmup" in arguments.settings() and "fast" in arguments.settings()
    with pytest.raises(SystemExit):
        parser.parse_args(["--fast", "maybe"])


def test_only_for_comes_from_the_fields():
    tasks = arguments.only_for()
    assert tasks["traffic"] == ("time_col", "value_col", "series_col", "series",
                                "lookback", "horizon")  # fmt: skip
    assert tasks["chatbot"][0] == "corpus" and tasks["chatbot"][-1] == "seeds"
    assert "mmi_weight" in tasks["chatbot"] and "seed" not in tasks["chatbot"]
