"""Prompts, degenerate replies and the over-seeds comparison, by hand."""

import pytest

from zoo.errors import ZooError
from zoo.replies import is_degenerate, prompt_report, read_prompts
from zoo.train.compare import compare, comparison_frame, mean_std, verdict


def test_the_shipped_prompts():
    prompts = read_prompts()
    assert 20 <= len(prompts) <= 22
    assert "how's it going?" in prompts
    assert any("\u0400" <= c <= "\u04ff" for p in prompts for c in p)  # Cyrillic
    assert any("\u4e00" <= c <= "\u9fff" for p in prompts for c in p)  # Han


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", "holds no prompt"),
        (b"# only a comment\n\n", "holds no prompt"),
        (b"\x00\x01\x02binary", "binary"),
        (b"\xff\xfe caf\xe9", "not UTF-8"),
    ],
)
def test_bad_prompt_files_are_refused(tmp_path, content, match):
    path = tmp_path / "prompts.txt"
    path.write_bytes(content)
    with pytest.raises(ZooError, match=match):
        read_prompts(str(path))
    with pytest.raises(ZooError, match="no file"):
        read_prompts(str(tmp_path / "missing.txt"))


def test_degenerate_and_distinct_counts():
    assert is_degenerate("a a a".split()) and not is_degenerate("a a b a".split())
    assert not is_degenerate([])
    replies = [["hi"], ["hi"], ["no", "no", "no"], []]
    report = prompt_report(["p1", "p2", "p3", "p4"], replies)
    assert report == {"count": 4, "distinct": 3, "degenerate": 1, "empty": 1}


def test_verdicts_on_intervals():
    assert mean_std([1.0, 3.0]) == (2.0, pytest.approx(2**0.5))
    assert mean_std([5.0]) == (5.0, 0.0)
    assert verdict([0.6, 0.62], [0.5, 0.52], higher_is_better=True) == "held"
    assert verdict([0.5, 0.52], [0.6, 0.62], higher_is_better=True) == "reversed"
    assert verdict([0.5, 0.6], [0.54, 0.56], higher_is_better=True) == "undecided"
    # One seed has no spread: never a verdict.
    assert verdict([0.9], [0.1], higher_is_better=True) == "undecided"
    # For a loss, lower is better.
    assert verdict([4.0, 4.1], [4.5, 4.6], higher_is_better=False) == "held"


def fake_metrics(model, value, val_loss):
    split = {"jaccard": value, "cosine": value, "damerau_levenshtein": value}
    baseline = {s: dict(split, jaccard=0.1) for s in ("train", "val", "test")}
    return {
        "model": model,
        "results": {model: {"val_loss": val_loss}, "retrieval": {}},
        "splits": {model: {s: split for s in ("train", "val", "test")},
                   "retrieval": baseline},
    }  # fmt: skip


def test_compare_aggregates_seeds_and_judges_the_claim():
    runs = [
        ("lstm", 0, fake_metrics("lstm", 0.20, 4.5)),
        ("lstm-attention", 0, fake_metrics("lstm-attention", 0.30, 4.4)),
        ("lstm", 1, fake_metrics("lstm", 0.22, 4.6)),
        ("lstm-attention", 1, fake_metrics("lstm-attention", 0.32, 4.7)),
    ]
    result = compare(runs)
    assert result["seeds"] == [0, 1]
    assert result["models"] == ["lstm", "lstm-attention", "retrieval"]
    # A baseline counts once per seed, not once per model and seed.
    retrieval = [r for r in result["rows"] if r["model"] == "retrieval"]
    assert all(len(r["values"]) == 2 for r in retrieval)
    row = next(
        r for r in result["rows"]
        if (r["model"], r["split"], r["metric"]) == ("lstm", "test", "jaccard")
    )  # fmt: skip
    assert row["values"] == [0.20, 0.22] and row["mean"] == pytest.approx(0.21)
    verdicts = {(c["split"], c["metric"]): c["verdict"] for c in result["claims"]}
    assert verdicts[("test", "jaccard")] == "held"
    assert verdicts[("val", "loss")] == "undecided"  # 4.55 ± 0.21 vs 4.55 ± 0.07
    table = comparison_frame(result)
    assert list(table["model"]) == ["lstm", "lstm-attention", "retrieval"]
    assert table.loc[0, "test J"] == "0.2100 ± 0.0141"
    assert table.loc[2, "val loss"] == ""  # baselines have no loss
