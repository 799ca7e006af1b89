"""`python -m zoo.bench attention`: output contract and bad input (no timings)."""

import json

import numpy as np
import pytest

from zoo.bench.__main__ import main
from zoo.bench.attention import _crossover, _crossover_is_upper_bound, mha_flops

TINY = [
    "--quick",
    "--batch",
    "1",
    "--length",
    "16",
    "--repeats",
    "1",
    "--lengths",
    "8,16",
]


def test_writes_json_and_plot(tmp_path, capsys):
    out = tmp_path / "bench" / "attention.json"
    assert main(["attention", *TINY, "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert (tmp_path / "bench" / "attention.png").stat().st_size > 0
    implementations = {row["implementation"] for row in result["speed"]["rows"]}
    assert {
        "zoo.layers.MultiHeadAttention",
        "keras.layers.MultiHeadAttention",
    } <= implementations
    assert len(implementations) == 3  # plus the backend's native attention
    anchors = [
        row
        for row in result["speed"]["rows"]
        if row["implementation"] == "keras.layers.MultiHeadAttention"
    ]
    assert [row["speedup_vs_keras"] for row in anchors] == [1.0, 1.0]
    for form in ("causal", "non_causal"):
        lengths = [row["length"] for row in result["scaling"][form]["rows"]]
        assert lengths == [8, 16]
    assert "(a) self-attention" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["attention", "--out", "x.txt"], "--out must name a .json file"),
        (["attention", "--quick", "--dim", "30", "--heads", "4"], "not divisible"),
        (["lstm", "--dim", "64"], "--dim: options of the attention benchmark only"),
        (["lstm", "--steps", "8"], "--steps: an option of the decode benchmark only"),
        (["seq2seq", "--models", "lstm"], "--models: an option of the decode"),
        (["decode", "--models", "lstm,gpt"], "--models: unknown gpt; choose from"),
        (["decode", "--models", ","], "--models: unknown empty list"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


@pytest.mark.parametrize(
    "argv",
    [["nope"], ["attention", "--lengths", "a,b"], ["attention", "--repeats", "0"]],
)
def test_argparse_rejects_malformed_values(argv):
    with pytest.raises(SystemExit) as raised:
        main(argv)
    assert raised.value.code == 2


def test_unwritable_out_exits_2(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["attention", *TINY, "--out", str(blocker / "x.json")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_flop_count_and_crossover():
    # B=1, L=2, d=1: 4 projections of 2 MACs each, 2 attention products of 4.
    assert mha_flops(1, 2, 1) == 2 * (4 * 2 + 2 * 4)
    assert _crossover([100, 1000], [1.0, 10.0], [10.0, 1.0]) == 316
    assert _crossover([100, 1000], [1.0, 2.0], [5.0, 5.0]) is None
    assert not _crossover_is_upper_bound([1.0, 10.0], [10.0, 1.0])


def test_crossover_at_the_grid_edge_is_flagged_as_a_bound():
    # Linear already faster at the shortest length: the crossover is <= 100.
    assert _crossover([100, 1000], [2.0, 20.0], [1.0, 2.0]) == 100
    assert _crossover_is_upper_bound([2.0, 20.0], [1.0, 2.0])


def test_crossover_is_where_linear_stays_faster():
    # A noisy early win (at 200) is not the crossover: softmax wins again at
    # 400; linear is faster from between 400 and 800 on.
    lengths, softmax = [100, 200, 400, 800], [1.0, 2.0, 4.0, 16.0]
    linear = [2.0, 1.5, 8.0, 4.0]
    assert _crossover(lengths, softmax, linear) == round(400 * 2 ** (1 / 3))
    assert not _crossover_is_upper_bound(softmax, linear)


def test_lstm_bench_writes_json(tmp_path):
    out = tmp_path / "lstm.json"
    assert main(["lstm", "--quick", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["keras_lstm_samples_per_second"] > 0
    assert result["torch_reference_samples_per_second"] > 0
    expected = (
        result["keras_lstm_samples_per_second"]
        / result["torch_reference_samples_per_second"]
    )
    assert result["ratio_to_torch"] == pytest.approx(expected, rel=1e-2)


def test_seq2seq_bench_pads_like_a_corpus_and_reports_ratios():
    from zoo.bench.seq2seq import Seq2SeqBenchConfig, _data, run

    config = Seq2SeqBenchConfig(batch=4, length=6, vocab=30, units=8, batches=1,
                                repeats=1, layers=1, pause=0.0)  # fmt: skip
    source, decoder_in, target = _data(config)
    lengths = (target != 0).sum(1)
    assert lengths.min() >= 3 and lengths.max() <= 6 and len(set(lengths)) > 1
    # Teacher forcing: SOS, then the reply shifted by one, padded alike.
    assert (decoder_in[:, 0] == 1).all()
    np.testing.assert_array_equal(decoder_in[:, 1:] != 0, target[:, 1:] != 0)
    np.testing.assert_array_equal(decoder_in[:, 1:][target[:, 1:] != 0],
                                  target[:, :-1][target[:, 1:] != 0])  # fmt: skip
    result = run(config, ("lstm", "transformer"))
    assert result["real_target_tokens_per_round"] == int(lengths.sum())
    assert result["models"]["transformer"]["reference"] == "torch nn.Transformer"
    assert all(row["ratio_to_reference"] > 0 for row in result["models"].values())
