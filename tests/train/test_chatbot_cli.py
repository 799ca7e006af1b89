"""`python -m zoo.train chatbot` and `python -m zoo.chat`: run directory,
REPL, one-shot replies, cross-backend decoding and bad input."""

import io
import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from zoo.chat import Chatbot, repl
from zoo.chat import main as chat_main
from zoo.train.__main__ import main as train_main

BACKEND = keras.backend.backend()
NEXT_BACKEND = {"jax": "torch", "torch": "tensorflow", "tensorflow": "jax"}
WORDS = "hello hi how are you fine thanks what is your name bot good day night".split()


def write_corpus(path, rows=48):
    rng = np.random.default_rng(0)
    lines = []
    for i in range(rows):
        q = " ".join(rng.choice(WORDS, size=3))
        lines.append(f"{q} {i % 7}\t{' '.join(rng.choice(WORDS, size=2))}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One tiny lstm-attention run shared by the tests of this module."""
    folder = tmp_path_factory.mktemp("chat")
    corpus = write_corpus(folder / "pairs.tsv")
    out = folder / "run"
    code = train_main(
        ["chatbot", "--model", "lstm-attention", "--corpus", "tsv", "--data",
         str(corpus), "--units", "8", "--epochs", "2", "--batch-size", "16",
         "--max-tokens", "6", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    return out


def test_run_directory_history_metrics_and_figures(run):
    for name in ("config.json", "history.csv", "metrics.json", "model.keras"):
        assert (run / name).is_file(), name
    for name in ("vocab.json", "samples.json"):
        assert (run / name).is_file(), name
    header = (run / "history.csv").read_text().splitlines()[0].split(",")
    assert {"val_jaccard", "val_cosine", "val_damerau_levenshtein"} <= set(header)
    for figure in ("loss.png", "similarity.png", "attention.png"):
        assert (run / "figures" / figure).stat().st_size > 0, figure
    metrics = json.loads((run / "metrics.json").read_text())
    result = metrics["results"]["lstm-attention"]
    assert set(result) >= {"loss", "perplexity", "jaccard", "cosine", "bleu"}
    assert result["perplexity"] == pytest.approx(np.exp(result["loss"]), rel=1e-3)
    assert metrics["similarity_over"] == "word tokens"
    assert len(metrics["samples"]) == 6


def test_the_summary_prints_sample_replies(run, capsys):
    # The module's run was trained before capsys; a second tiny run prints.
    out_dir = run.parent / "again"
    argv = ["chatbot", "--model", "lstm", "--corpus", "tsv", "--data",
            str(run.parent / "pairs.tsv"), "--units", "4", "--epochs", "1",
            "--max-tokens", "6", "--out", str(out_dir)]  # fmt: skip
    assert train_main(argv) == 0
    out = capsys.readouterr().out
    assert "Sample replies" in out and "reply:" in out and "reference:" in out


def test_say_and_the_repl_survive_any_input(run, capsys):
    assert chat_main(["--run", str(run), "--say", "hello how are you"]) == 0
    assert capsys.readouterr().out.count("\n") == 1  # one reply line
    bot = Chatbot(str(run))
    stdin = io.StringIO(
        "\n".join(["", "zzzz qqqq", "word " * 500, "Привет 我爱你 🙂", "q"]) + "\n"
    )
    stdout = io.StringIO()
    assert repl(bot, stdin, stdout) == 0
    assert stdout.getvalue().count("bot: ") == 3  # the empty line is skipped
    assert repl(bot, io.StringIO(""), io.StringIO()) == 0  # end of input


@pytest.mark.parametrize("decoder", ["beam", "top-k", "top-p"])
def test_every_decoder_answers(run, decoder):
    bot = Chatbot(str(run), decoder, width=3, top_k=5, top_p=0.9, seed=1)
    assert isinstance(bot.reply("hello there"), str)


def test_another_backend_decodes_the_same_tokens(run, tmp_path):
    expected = Chatbot(str(run)).reply("hello how are you")
    script = textwrap.dedent(
        f"""
        from zoo.chat import Chatbot
        print(repr(Chatbot({str(run)!r}).reply("hello how are you")))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**__import__("os").environ, "KERAS_BACKEND": NEXT_BACKEND[BACKEND]},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert done.stdout.strip().splitlines()[-1] == repr(expected)


def test_bad_input_is_one_line_and_exit_2(run, tmp_path, capsys):
    bad_tsv = tmp_path / "bad.tsv"
    bad_tsv.write_text("only one column\n")
    traffic = tmp_path / "traffic"
    traffic.mkdir()
    (traffic / "config.json").write_text('{"task": "traffic"}')
    cases = [
        (train_main, ["chatbot", "--model", "gpt", "--out", str(tmp_path / "a")]),
        (train_main, ["chatbot", "--corpus", "tsv", "--data", str(bad_tsv),
                      "--out", str(tmp_path / "b")]),
        (train_main, ["chatbot", "--language", "klingon",
                      "--out", str(tmp_path / "c")]),
        (train_main, ["chatbot", "--model", "transformer", "--units", "9",
                      "--num-heads", "3", "--out", str(tmp_path / "d")]),
        (chat_main, ["--run", str(run), "--decoder", "psychic", "--say", "hi"]),
        (chat_main, ["--run", str(traffic), "--say", "hi"]),
        (chat_main, ["--run", str(tmp_path / "missing"), "--say", "hi"]),
    ]  # fmt: skip
    for main, argv in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "error:" in err, err
    for name in ("a", "b", "c", "d"):
        assert not (tmp_path / name).exists()
