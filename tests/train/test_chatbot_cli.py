"""`python -m zoo.train chatbot` and `python -m zoo.chat`: run directory,
REPL, one-shot replies, cross-backend decoding and bad input."""

import csv
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
from zoo.testing import TINY_WORDS, write_tsv_corpus
from zoo.train.__main__ import main as train_main

BACKEND = keras.backend.backend()
NEXT_BACKEND = {"jax": "torch", "torch": "tensorflow", "tensorflow": "jax"}


def write_chitchat(path, conversations=12, turns=5):
    """A tiny dataset.json in chitchat-dataset's format (seeded)."""
    rng = np.random.default_rng(0)
    data = {}
    for c in range(conversations):
        data[f"conv{c}"] = {"messages": [
            [{"text": " ".join(rng.choice(TINY_WORDS, size=3)), "sender": str(t % 2)}]
            for t in range(turns)
        ]}  # fmt: skip
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One tiny lstm-attention run on a chitchat fixture, shared by the tests."""
    folder = tmp_path_factory.mktemp("chat")
    write_tsv_corpus(folder / "pairs.tsv")
    corpus = write_chitchat(folder / "dataset.json")
    out = folder / "run"
    code = train_main(
        ["chatbot", "--model", "lstm-attention", "--data", str(corpus),
         "--units", "8", "--epochs", "2", "--batch-size", "16", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    return out


def test_run_directory_history_metrics_and_figures(run):
    for name in ("config.json", "history.csv", "metrics.json", "model.keras"):
        assert (run / name).is_file(), name
    for name in ("vocab.json", "samples.json"):
        assert (run / name).is_file(), name
    header = (run / "history.csv").read_text().splitlines()[0].split(",")
    for split in ("train", "val"):
        names = ("jaccard", "cosine", "damerau_levenshtein")
        assert {f"{split}_{name}" for name in names} <= set(header)
    assert {"loss", "val_loss"} <= set(header)
    for figure in ("loss.png", "similarity.png", "attention.png"):
        assert (run / "figures" / figure).stat().st_size > 0, figure
    metrics = json.loads((run / "metrics.json").read_text())
    result = metrics["results"]["lstm-attention"]
    assert set(result) >= {"loss", "perplexity", "jaccard", "cosine", "bleu"}
    assert result["perplexity"] == pytest.approx(np.exp(result["loss"]), rel=1e-3)
    assert metrics["similarity_over"] == "word tokens"
    assert len(metrics["samples"]) == 6
    assert metrics["kept_epoch_rule"] == "min val_loss"
    assert set(metrics["splits"]) == {"lstm-attention", "most-frequent", "retrieval"}
    for by_split in metrics["splits"].values():
        assert set(by_split) == {"train", "val", "test"}
    # The train/val similarities at the kept epoch are the history's row.
    with open(run / "history.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    kept = rows[metrics["best_epoch"] - 1]
    for split in ("train", "val"):
        for name, value in metrics["splits"]["lstm-attention"][split].items():
            assert value == pytest.approx(float(kept[f"{split}_{name}"]), abs=1e-4)
    samples = json.loads((run / "samples.json").read_text())
    assert samples["decoding"] == metrics["decoding"]
    assert len(samples["prompts"]) == metrics["prompt_report"]["count"] == 21


def test_zoo_chat_answers_a_prompt_as_the_run_did(run, capsys):
    entry = json.loads((run / "samples.json").read_text())["prompts"][1]
    assert chat_main(["--run", str(run), "--say", entry["prompt"]]) == 0
    assert capsys.readouterr().out.strip() == entry["reply"]


def test_a_run_written_by_an_older_zoo_still_answers(run, tmp_path, capsys):
    """Before Seq2SeqModel, model.keras held a plain functional model."""
    import shutil

    from zoo.saving import load_model

    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    model = load_model(copy / "model.keras", compile=False)
    keras.Model(model.inputs, model.outputs, name=model.name).save(copy / "model.keras")
    entry = json.loads((run / "samples.json").read_text())["prompts"][1]
    assert chat_main(["--run", str(copy), "--say", entry["prompt"]]) == 0
    assert capsys.readouterr().out.strip() == entry["reply"]


def test_an_interrupted_run_keeps_its_vocabulary(tmp_path, monkeypatch, capsys):
    """vocab.json is written at preparation, beside config.json, not at the end."""

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(keras.Model, "fit", interrupted)
    out = tmp_path / "interrupted"
    argv = ["chatbot", "--model", "lstm", "--data", str(tmp_path / "d.json"),
            "--units", "4", "--epochs", "1", "--out", str(out)]  # fmt: skip
    write_chitchat(tmp_path / "d.json")
    assert train_main(argv) == 130
    assert "--resume" in capsys.readouterr().err
    assert (out / "config.json").is_file() and (out / "vocab.json").is_file()
    assert not (out / "metrics.json").exists()


def test_seeds_compare_models_with_mean_and_std(tmp_path, capsys):
    corpus = write_chitchat(tmp_path / "dataset.json")
    out = tmp_path / "compare"
    argv = ["chatbot", "--model", "lstm,lstm-attention", "--seeds", "0,1",
            "--data", str(corpus), "--units", "4", "--epochs", "1",
            "--out", str(out)]  # fmt: skip
    assert train_main(argv) == 0
    comparison = json.loads((out / "comparison.json").read_text())
    assert comparison["seeds"] == [0, 1]
    assert comparison["models"][:2] == ["lstm", "lstm-attention"]
    assert {c["verdict"] for c in comparison["claims"]} <= {
        "held",
        "reversed",
        "undecided",
    }
    for model in ("lstm", "lstm-attention"):
        for seed in (0, 1):
            assert (out / f"{model}-seed{seed}" / "metrics.json").is_file()
    assert " ± " in (out / "comparison.md").read_text()
    assert "Sheet A3's claim" in capsys.readouterr().out


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
    afile = tmp_path / "a-file"
    afile.write_text("x")
    nothing = tmp_path / "utterances.jsonl"
    nothing.write_text('{"no": "utterance"}\n')
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n")
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\x00\x01hi")
    corrupt = tmp_path / "dataset.json"
    corrupt.write_text('{"conv": {"messages": [[{"text": "hi"')
    traffic = tmp_path / "traffic"
    traffic.mkdir()
    (traffic / "config.json").write_text('{"task": "traffic"}')

    def o(name):
        return str(tmp_path / name)

    cases = [
        (train_main, ["chatbot", "--model", "gpt", "--out", o("a")]),
        (train_main, ["chatbot", "--corpus", "tsv", "--data", str(bad_tsv),
                      "--out", o("b")]),
        (train_main, ["chatbot", "--corpus", "chatterbot", "--language", "klingon",
                      "--out", o("c")]),
        (train_main, ["chatbot", "--language", "russian",
                      "--out", o("e")]),
        (train_main, ["chatbot", "--seeds", "0,x", "--out", o("f")]),
        (train_main, ["chatbot", "--model", "lstm,gpt", "--out", o("g")]),
        (train_main, ["chatbot", "--model", "lstm,lstm", "--out", o("h")]),
        (train_main, ["traffic", "--seeds", "0,1", "--out", o("i")]),
        (train_main, ["chatbot", "--prompts", str(empty), "--out", o("j")]),
        (train_main, ["chatbot", "--prompts", str(binary), "--out", o("k")]),
        (train_main, ["chatbot", "--data", str(corrupt), "--out", o("l")]),
        (train_main, ["chatbot", "--no-repeat-ngram", "-1", "--out", o("m")]),
        (train_main, ["chatbot", "--out", str(afile)]),
        (train_main, ["chatbot", "--model", "lstm,transformer", "--units", "6",
                      "--num-heads", "4", "--out", o("n")]),
        (train_main, ["chatbot", "--corpus", "convokit", "--data", str(nothing),
                      "--out", o("p")]),
        (train_main, ["chatbot", "--model", "transformer", "--units", "9",
                      "--num-heads", "3", "--out", o("d")]),
        (chat_main, ["--run", str(run), "--decoder", "psychic", "--say", "hi"]),
        (chat_main, ["--run", str(traffic), "--say", "hi"]),
        (chat_main, ["--run", str(tmp_path / "missing"), "--say", "hi"]),
    ]  # fmt: skip
    for main, argv in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "error:" in err, err
    # Errors argparse finds: one line too (no usage block), exit 2.
    for main, argv in [(train_main, ["chatbot", "--monitor", "loss"]),
                       (chat_main, ["--say", "hi"])]:  # fmt: skip
        with pytest.raises(SystemExit) as stop:
            main(argv)
        assert stop.value.code == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "error:" in err and "see --help" in err
    for name in "abcdefghijklmnp":
        assert not (tmp_path / name).exists(), name


@pytest.mark.parametrize(
    "change, message",
    [
        ({"corpus": "bogus"}, "--corpus: unknown 'bogus'; choose from"),
        ({"max_tokens": "10"}, "--max-tokens must be an integer"),
        ({"wings": 2}, "unknown settings ['wings']"),
        ("forecaster", "is not a chatbot model"),
    ],
)
def test_chat_refuses_a_bad_run_in_one_line(run, tmp_path, capsys, change, message):
    """A run directory from someone else is checked before it is used."""
    import shutil

    from zoo.models.forecasting import build_forecaster

    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    if change == "forecaster":
        build_forecaster("gru", 6, 3, 5, 4).save(copy / "model.keras")
    else:
        config = json.loads((copy / "config.json").read_text())
        (copy / "config.json").write_text(json.dumps({**config, **change}))
    assert chat_main(["--run", str(copy), "--say", "hi"]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and err.count("\n") == 0 and "Traceback" not in err, err
