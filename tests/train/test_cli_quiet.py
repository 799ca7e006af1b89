"""A quiet and quick command line: `--help` without a backend, every default
in the help, inference without compiling, plain progress in logs, one-line
messages for empty input and replies, the names and their registries."""

import argparse
import io
import json
import os
import re
import subprocess
import sys
import textwrap
import warnings

import keras
import pytest

from zoo import chat
from zoo.cli.train_arguments import build_parser
from zoo.config import PRESETS, TASK_PRESETS, TrainConfig
from zoo.train.__main__ import main as train_main

BACKEND = keras.backend.backend()
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEAVY = ("keras", "jax", "torch", "tensorflow")


def imported_packages(argv, cache_home):
    """Top-level packages `python -X importtime ARGV` imports; its result."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "XDG_CACHE_HOME": str(cache_home)},
        timeout=120,
    )
    found = re.findall(r"^import time:.*\|\s+([\w.]+)$", done.stderr, re.M)
    return {name.split(".")[0] for name in found}, done


@pytest.mark.parametrize(
    "argv, code",
    [
        (["-m", "zoo.train", "--help"], 0),
        (["-m", "zoo.train", "--epochs", "x"], 2),
        (["-m", "zoo.train", "nonsense"], 2),
        (["-m", "zoo.chat", "--help"], 0),
        (["-m", "zoo.chat", "--say", "hi"], 2),  # no --run
        (["-m", "zoo.chat", "--run", ".", "--decoder", "psychic"], 2),
        (["-m", "zoo.chat", "--run", ".", "--say", ""], 2),
        (
            [
                "-m",
                "zoo.chat",
                "--run",
                ".",
                "--decoder",
                "beam",
                "--mmi-weight",
                "0.5",
            ],
            2,
        ),
    ],
)
def test_help_and_argument_errors_import_no_backend(argv, code, tmp_path):
    packages, done = imported_packages(argv, tmp_path)
    assert done.returncode == code, done.stderr[-500:]
    assert not packages & set(HEAVY), sorted(packages & set(HEAVY))
    if code:  # one line, no traceback
        lines = [x for x in done.stderr.splitlines() if not x.startswith("import ")]
        assert len(lines) == 1 and "error:" in lines[0], lines


def test_build_parser_alone_imports_no_backend():
    script = textwrap.dedent(
        """
        import sys
        from zoo.cli.train_arguments import build_parser
        from zoo.chat import build_parser as chat_parser
        build_parser().format_help(), chat_parser().format_help()
        print(sorted(m for m in sys.modules if m.split(".")[0] in
                     ("keras", "jax", "torch", "tensorflow")))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    assert done.stdout.strip() == "[]"


def test_names_agree_with_the_registries():
    from zoo import metrics, names
    from zoo.data.dialog_pairs import LONG_PAIRS
    from zoo.data.dialogs import CORPORA
    from zoo.data.text import LEVELS
    from zoo.decoding import DECODERS
    from zoo.layers.seq2seq_attention import SCORES
    from zoo.train.chatbot_task import MONITORS
    from zoo.train.tasks import TASKS

    assert {t: tuple(task.models) for t, task in TASKS.items()} == names.TASK_MODELS
    assert tuple(CORPORA) == names.CORPORA
    assert tuple(LEVELS) == names.LEVELS
    assert tuple(LONG_PAIRS) == names.LONG_PAIRS
    assert tuple(SCORES) == names.ATTENTION_SCORES
    assert tuple(metrics.SIMILARITIES) == names.SIMILARITIES
    assert tuple(MONITORS) == names.MONITORS
    assert tuple(DECODERS) == names.DECODERS


def option_helps(parser):
    """{flag: expanded help} of every option (argparse's own expansion)."""
    formatter = parser._get_formatter()
    return {
        action.option_strings[-1]: formatter._expand_help(action)
        for action in parser._actions
        if action.option_strings and action.help
    }


@pytest.mark.parametrize("which", ["train", "chat"])
def test_help_shows_every_default_and_never_none(which):
    parser = build_parser() if which == "train" else chat.build_parser()
    text = parser.format_help()
    assert "default: None" not in text and "default: False" not in text
    for action in parser._actions:
        if not action.option_strings or action.help == argparse.SUPPRESS:
            continue
        flag = action.option_strings[-1]
        assert action.help, f"{flag} has no help"
        unset = any(action.default is v for v in (None, False, argparse.SUPPRESS))
        if not unset or flag in ("--epochs", "--learning-rate"):
            assert "(default:" in option_helps(parser)[flag], flag
    for flag in ("--seed", "--lookback", "--horizon", "--preset", "--beam-width"):
        if flag in option_helps(parser):
            assert re.search(r"\(default: \w", option_helps(parser)[flag]), flag


def test_preset_defaults_come_from_the_config():
    helps = option_helps(build_parser())
    traffic, chatbot = PRESETS, TASK_PRESETS["chatbot"]
    for setting in ("epochs", "units", "patience"):
        flag = "--" + setting.replace("_", "-")
        assert "from --preset" in helps[flag]
        for task, presets in (("traffic", traffic), ("chatbot", chatbot)):
            quick, full = presets["quick"][setting], presets["full"][setting]
            assert f"{task} quick {quick} / full {full}" in helps[flag], flag
    assert f"full {chatbot['full']['dropout']}" in helps["--dropout"]
    # A single-task run's preset and its longest run are said.
    default = TrainConfig().preset
    assert f"uses {default}" in helps["--preset"]
    assert f"{PRESETS[default]['epochs']} epochs for traffic" in helps["--preset"]


def test_progress_is_plain_unless_on_a_terminal():
    from zoo.train.__main__ import progress_verbosity

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert progress_verbosity(io.StringIO()) == 2
    assert progress_verbosity(Terminal()) == "auto"
    assert progress_verbosity(object()) == 2  # no isatty at all


def test_a_logged_run_has_one_plain_line_per_epoch(tmp_path, capsys):
    argv = ["traffic", "--preset", "quick", "--epochs", "2", "--units", "4",
            "--out", str(tmp_path / "run")]  # fmt: skip
    assert train_main(argv) == 0
    out = capsys.readouterr().out
    assert "\r" not in out and "\x1b" not in out and "\b" not in out
    assert len(re.findall(r"^\d+/\d+ - .*loss", out, re.M)) == 2, out


def test_data_summaries_read_as_sentences():
    from zoo.train.summary import data_sentence, run_directory_sentence

    chatbot = (
        "pairs train/val/test 12002/1712/3427, vocabulary 4221, dropped "
        "{'too long': 107095, 'duplicate': 287, 'rare word': 7025, 'empty': 0}"
    )
    text = run_directory_sentence("runs/x", chatbot)
    assert "{" not in text and "'" not in text and text.endswith(".")
    assert "12,002 training, 1,712 validation and 3,427 test pairs" in text
    assert "107,095 too long, 287 duplicates and 7,025 with a rare word" in text
    assert data_sentence({"dropped": {"empty": 0}}) == "dropped none"


def test_loading_for_inference_compiles_nothing_on_any_backend(tmp_path):
    from zoo.saving import load_model

    path = str(tmp_path / "jit.keras")
    # jit_compile=True is what JAX's "auto" saves; torch used to restore it
    # and wrap the model in torch.compile.
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse", jit_compile=True)
    model.optimizer.build(model.trainable_variables)
    model.save(path)
    assert not load_model(path, compile=False).compiled
    # This backend: compiled to train on, with this backend's "auto".
    model = load_model(path)
    assert model.compiled and model.jit_compile == model._resolve_auto_jit_compile()
    if BACKEND == "torch":
        assert model.jit_compile is False
    other = "torch" if BACKEND != "torch" else "jax"
    script = textwrap.dedent(
        f"""
        from zoo.saving import load_model
        inference = load_model({path!r}, compile=False)
        training = load_model({path!r})
        print(inference.compiled, training.compiled, training.jit_compile)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "KERAS_BACKEND": other},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    inference, training, jit = done.stdout.split()[-3:]
    assert inference == "False" and training == "True"
    assert jit == str(other != "torch"), done.stderr[-800:]
    assert "dynamo" not in done.stderr.lower()


def test_the_chatbot_loads_for_inference(monkeypatch, tmp_path):
    seen = {}

    def fake(path, compile=True):
        seen["compile"] = compile
        raise OSError("stop here")

    monkeypatch.setattr("zoo.saving.load_model", fake)
    with pytest.raises(chat.ZooError):
        chat.Chatbot(str(tiny_chatbot_run(tmp_path)))
    assert seen == {"compile": False}


def tiny_chatbot_run(folder):
    """An untrained lstm chatbot run directory (config, vocab, model)."""
    from zoo.data.text import Vocabulary
    from zoo.models.seq2seq import build_seq2seq

    run = folder / "run"
    run.mkdir()
    config = TrainConfig(task="chatbot", model="lstm", units=4).to_dict()
    (run / "config.json").write_text(json.dumps(config), encoding="utf-8")
    vocab = Vocabulary(["hello", "hi", "there"])
    (run / "vocab.json").write_text(vocab.to_json(), encoding="utf-8")
    build_seq2seq("lstm", len(vocab), 4).save(str(run / "model.keras"))
    return run


def test_empty_input_and_empty_replies_say_so_in_one_line(
    tmp_path, capsys, monkeypatch
):
    run = str(tiny_chatbot_run(tmp_path))
    for text in ("", "   \n"):
        assert chat.main(["--run", run, "--say", text]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.count("\n") == 1
        assert "--say" in captured.err and "empty" in captured.err
    monkeypatch.setattr(chat.Chatbot, "reply", lambda self, text: "")
    assert chat.main(["--run", run, "--say", "hello"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "\n"  # the reply line, empty, for scripts
    assert captured.err == f"zoo.chat: {chat.EMPTY_REPLY}\n"
    stdout = io.StringIO()
    chat.repl(chat.Chatbot(run), io.StringIO("hello\nq\n"), stdout)
    assert f"bot: {chat.EMPTY_REPLY}\n" in stdout.getvalue()


def test_chat_warnings_are_one_line_and_the_softmax_one_is_gone(capsys):
    with warnings.catch_warnings():
        chat._quiet_warnings()
        warnings.warn(
            "You are using a softmax over axis -1 of a tensor of shape (1, 1). "
            "This axis has size 1.",
            UserWarning,
            stacklevel=1,
        )
        warnings.warn("something else\nspans lines", UserWarning, stacklevel=1)
    err = capsys.readouterr().err
    assert "softmax" not in err
    assert err.startswith("zoo.chat: warning: something else")
    assert "UserWarning" not in err and ".py:" not in err


def test_skipped_corpus_lines_are_one_plain_sentence(tmp_path):
    from zoo.data.dialogs import load_dialogs

    path = tmp_path / "pairs.tsv"
    path.write_text("hello\tthere\nonly one column\nhi\tyou\n", encoding="utf-8")
    with pytest.warns(UserWarning) as caught:
        load_dialogs("tsv", str(path))
    (message,) = [str(w.message) for w in caught]
    assert message.startswith("tsv: skipped 1 item that was malformed")
    assert "dangling" not in message and "\n" not in message


def test_the_command_line_keeps_jax_compilations(monkeypatch, tmp_path):
    for name in ("DIR", "MIN_COMPILE_TIME_SECS", "MIN_ENTRY_SIZE_BYTES"):
        monkeypatch.delenv(f"JAX_COMPILATION_CACHE_{name}", raising=False)
        monkeypatch.delenv(f"JAX_PERSISTENT_CACHE_{name}", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    chat._keep_jax_compilations()
    folder = os.environ["JAX_COMPILATION_CACHE_DIR"]
    assert folder == str(tmp_path / "keras-zoo" / "jax") and os.path.isdir(folder)
    assert os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] == "0"
    # The user's own setting (an empty one turns the cache off) wins.
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", "")
    chat._keep_jax_compilations()
    assert os.environ["JAX_COMPILATION_CACHE_DIR"] == ""
