"""README's results tables regenerated from the committed JSON (`make report`)."""

import json
import pathlib

import pytest

from solutions.readme_tables import TABLES, main, rewrite

ROOT = pathlib.Path(__file__).resolve().parents[2]
MARKED = "".join(
    f"intro\n<!-- results:{n} -->\nold\n<!-- /results:{n} -->\n" for n in TABLES
)
ENV = {"backend": "torch", "code": "commit 0123abc", "started": "2026-12-01 10:00 UTC"}


def traffic_run(mae):
    results = {
        "lstm": {"mae": mae, "rmse": 5.0, "mape": 9.123},
        "persistence": {"mae": 3.6326},
        "historical-average": {"mae": 3.3302},
    }
    return {"path": "runs/suite-A/traffic-lstm", "config": {"environment": ENV},
            "metrics": {"results": results, "test_windows": 294}}  # fmt: skip


def chatbot_run():
    sims = {"jaccard": 0.05514, "damerau_levenshtein": 0.0526}
    results = {
        "lstm": {**sims, "val_loss": 4.38019, "distinct_2": 0.0103,
                 "generic_rate": 0.5113, "on_topic": 19},
        "most-frequent": {**sims, "distinct_2": 0.0, "generic_rate": 1.0,
                          "on_topic": 12},
        "retrieval": {**sims, "distinct_2": 0.3894, "generic_rate": 0.0131,
                      "on_topic": 29},
    }  # fmt: skip
    metrics = {"results": results, "best_epoch": 5, "epochs_run": 6,
               "rubric": {"prompts": 48},
               "prompt_report": {"distinct": 9, "count": 21}}  # fmt: skip
    return {"path": "runs/suite-A/chatbot-lstm", "config": {"environment": ENV},
            "metrics": metrics}  # fmt: skip


def comparison():
    def row(model, split, metric, values, mean, std):
        return {"model": model, "split": split, "metric": metric,
                "values": values, "mean": mean, "std": std}  # fmt: skip

    return {
        "seeds": [0, 1],
        "models": ["lstm", "lstm-attention"],
        "written": "2026-12-02 09:00 UTC",
        "code": "commit 4567def",
        "rows": [
            row("lstm", "val", "loss", [4.3, 4.4], 4.35, 0.0707),
            row("lstm-attention", "val", "loss", [4.5, 4.6], 4.55, 0.0707),
            row("lstm", "rubric", "on_topic", [20, 22], 21.0, 1.414),
            row("lstm-attention", "rubric", "on_topic", [10, 12], 11.0, 1.414),
        ],
        "claims": [
            {"split": "val", "metric": "loss", "verdict": "reversed"},
            {"split": "rubric", "metric": "on_topic", "verdict": "reversed"},
        ],
    }


def write_reports(folder, runs_summary, seeds=None):
    (folder / "chatbot-seeds").mkdir(parents=True)
    (folder / "runs.json").write_text(json.dumps(runs_summary))
    (folder / "chatbot-seeds" / "comparison.json").write_text(
        json.dumps(seeds or comparison())
    )


def test_each_table_says_what_its_json_says(tmp_path):
    summary = {"tasks": {"traffic": {"lstm": traffic_run(3.2124)},
                         "chatbot": {"lstm": chatbot_run()}}}  # fmt: skip
    write_reports(tmp_path, summary)
    text = rewrite(MARKED, tmp_path)
    assert "old" not in text and text.count("intro\n") == len(TABLES)
    traffic = text.split("results:traffic -->")[1]
    assert "| lstm | **3.21** | 5.00 | 9.12 |" in traffic
    assert "| persistence (last value) | 3.63 |  |  |" in traffic
    assert "seasonal naive" not in traffic  # not in the JSON, not in the table
    assert "Test split (294 windows)" in traffic
    assert "torch, started 2026-12-01 10:00 UTC, commit 0123abc" in traffic
    chat = text.split("results:chatbot -->")[1]
    assert ("| lstm | 5 of 6 | 4.380 | 0.0551 | 0.0526 | 0.0103 | 0.511 "
            "| 19 / 48 | 9 of 21 |") in chat  # fmt: skip
    assert "| retrieval |  |  | 0.0551 | 0.0526 | 0.3894 | 0.013 | 29 / 48 |  |" in chat
    seeds = text.split("results:chatbot-seeds -->")[1]
    made = "(2026-12-02 09:00 UTC, commit 4567def)"
    assert f"Seeds 0, 1, `reports/chatbot-seeds/` {made}" in seeds
    assert "| lstm | 4.350 ± 0.071 | 21.0 ± 1.4 |" in seeds
    assert "the LSTM decoder is ahead on: val loss, rubric on topic" in seeds


def test_a_wrong_number_changes_the_table(tmp_path):
    """The committed-README test below can fail: another MAE, another table."""
    first, second = tmp_path / "a", tmp_path / "b"
    for folder, mae in ((first, 3.2124), (second, 3.3124)):
        write_reports(folder, {"tasks": {"traffic": {"lstm": traffic_run(mae)}}})
    text = rewrite(MARKED, first)
    assert rewrite(text, first) == text
    assert rewrite(text, second) != text
    assert "No chatbot runs in reports/runs.json" in text


@pytest.mark.parametrize(
    "damage, message",
    [
        ("no marker", "README has no <!-- results:traffic -->"),
        ("no runs", "runs.json: no such file; run `make run`, then `make report`"),
        ("not json", "runs.json: not valid JSON"),
        ("wrong shape", "the runs JSON is not what zoo.train"),
    ],
)
def test_bad_input_is_one_line_and_leaves_the_readme(tmp_path, capsys, damage, message):
    reports = tmp_path / "reports"
    write_reports(reports, {"tasks": {"traffic": {"lstm": traffic_run(3.0)}}})
    readme = tmp_path / "README.md"
    readme.write_text(MARKED)
    if damage == "no marker":
        readme.write_text(MARKED.replace("<!-- results:traffic -->\n", ""))
    elif damage == "no runs":
        (reports / "runs.json").unlink()
    elif damage == "not json":
        (reports / "runs.json").write_text("{")
    else:
        shapeless = {"tasks": {"traffic": {"lstm": {}}}}
        (reports / "runs.json").write_text(json.dumps(shapeless))
    before = readme.read_text()
    assert main(["--readme", str(readme), "--reports", str(reports)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("solutions.readme_tables: error:")
    assert message in err, err
    assert readme.read_text() == before


def test_the_committed_readme_holds_the_committed_results():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in TABLES:
        assert text.count(f"<!-- results:{name} -->") == 1
    assert rewrite(text, ROOT / "reports") == text
