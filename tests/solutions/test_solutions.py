"""`python -m solutions`: every check against its derivation, rendering,
the LaTeX compile, bad input, and the committed report's derivations."""

import json
import math
import os
import re
import shutil

import numpy as np
import pytest

from solutions.__main__ import main
from solutions.core.document import Math, Section, Table, Text
from solutions.core.render import latex_escape, markdown_cell, render
from solutions.sheet_a import a1_1_softmax_cost, a1_2_taylor, a1_3_linear
from solutions.sheet_a import a3_b1_chatbot as chatbot
from solutions.sheet_b import b2_i_moments, b2_ii_cost, b2_iii_rank
from solutions.sheet_b import b4_exam as exam

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def test_a1_2_taylor_kernel_and_feature_counts():
    errors = a1_2_taylor.taylor_kernel_errors(dim=4, n=32)
    assert errors["numpy"] < 1e-12 and errors["full"] < 1e-5
    assert errors["symmetric"] < 1e-5
    assert errors["width_full"] == 1 + 4 + 16
    for dim in (2, 3, 5):
        full, symmetric = a1_2_taylor.feature_counts(dim, 4)
        assert full == 1 + dim + dim**2 + dim**3
        monomials = a1_2_taylor.distinct_monomials
        assert symmetric == sum(monomials(dim, i) for i in range(4))
    assert errors["width_symmetric"] == a1_2_taylor.feature_counts(4, 3)[1]


@pytest.mark.parametrize("causal", [False, True])
def test_a1_3_linear_attention_equals_the_explicit_kernel(causal):
    assert a1_3_linear.linear_attention_error(length=6, dim=4, causal=causal) < 1e-5


def test_a1_1_slope_fit_recovers_a_known_power():
    rows = [(n, 3e-9 * n**2) for n in (100, 200, 400, 800)]
    assert a1_1_softmax_cost.fit_slope(rows) == pytest.approx(2.0)


def test_b2_i_moments_exact_and_monte_carlo():
    mean, residual = b2_i_moments.symbolic_variance(d=2, dh=2)
    assert mean == 0 and residual == 0
    rows = b2_i_moments.monte_carlo_scores(d=8, head_dims=(4, 64), trials=3000)
    for row in rows:
        assert abs(row["mean (scaled)"]) < 0.05
        assert row["Var (scaled)"] == pytest.approx(row["sigma^4"], rel=0.1)
        assert row["Var (unscaled)"] == pytest.approx(row["d_h sigma^4"], rel=0.1)
    entropy = b2_i_moments.softmax_entropy(head_dims=(4, 256), trials=50)
    # Unscaled scores saturate: their entropy falls far below the scaled one.
    assert entropy[-1]["unscaled"] < entropy[-1]["scaled"] - 1.0


def test_b2_ii_counted_multiplications_equal_the_formula():
    from keras import ops

    from zoo.layers import MultiHeadAttention

    n, d, heads = 5, 8, 2
    layer = MultiHeadAttention(heads, key_dim=d // heads, use_bias=False)
    x = np.random.default_rng(0).standard_normal((n, d))
    x32 = x[None].astype("float32")
    expected = ops.convert_to_numpy(layer(x32, x32))[0]
    out, counted = b2_ii_cost.counted_forward(layer, x)
    np.testing.assert_allclose(out, expected, atol=1e-5)
    assert counted == b2_ii_cost.multiplication_formula(n, d, heads)
    assert sum(counted.values()) == 4 * n * d * d + 2 * n * n * d + 2 * heads * n * n


def test_a_wrong_formula_fails_its_check(monkeypatch, tmp_path):
    right = b2_ii_cost.multiplication_formula

    def wrong(n, d, heads):  # forgets the output projection
        stages = right(n, d, heads)
        stages.pop("output projection")
        return stages

    monkeypatch.setattr(b2_ii_cost, "multiplication_formula", wrong)
    section = b2_ii_cost.b2_ii(str(tmp_path))
    assert not section.passed


def test_b2_iii_low_rank_form():
    from zoo.layers import MultiHeadAttention

    layer = MultiHeadAttention(4, key_dim=2, use_bias=False)
    x = np.random.default_rng(0).standard_normal((5, 8))
    error, ranks, dh = b2_iii_rank.low_rank_forms(layer, x)
    assert error < 1e-4 and dh == 2 and max(ranks) <= 2


def test_b4_recurrent_form_and_constant_state():
    error, sizes, cache_bytes = exam.recurrent_check(length=6, dim=4, heads=2)
    assert error < 1e-5
    assert len(set(sizes.values())) == 1
    assert cache_bytes(6) == 6 * cache_bytes(1)
    # Bisection finds the first length whose cache outgrows the state.
    grows = {t: 10 * t for t in range(1, 9)}
    assert exam.first_larger({t: 45 for t in grows}, grows.get) == 5
    assert exam.first_larger({t: 500 for t in grows}, grows.get) is None


def test_a3_4_worked_examples_by_hand(tmp_path):
    section = chatbot.a3_4(str(tmp_path))
    assert section.passed
    assert section.evidence[0].frame["Jaccard"].iloc[0] == pytest.approx(5 / 6)


def test_render_markdown_and_latex_from_one_source():
    import pandas as pd

    section = Section(
        "X1",
        "50% of a_b & c",
        statement=[Text("Cost $O(L^2 D)$, **bold**, `code_x` and 100% #1.")],
        derivation=[Math("a &= b \\\\ c &= d")],
        evidence=[Table(pd.DataFrame({"what": ["x_1 < 2"], "v": [0.5]}), "cap_tion")],
    )
    meta = {"backend_line": "backend jax | x", "summary": "ok"}
    md = render([section], meta, "md")
    tex = render([section], meta, "tex")
    assert "$O(L^2 D)$" in md and "$O(L^2 D)$" in tex  # math untouched
    assert "\\textbf{bold}" in tex and "\\texttt{code\\_x}" in tex
    assert "100\\% \\#1" in tex and "50\\% of a\\_b \\& c" in tex
    assert "\\begin{align*}" in tex and "\\toprule" in tex
    assert latex_escape("a|b<c") == "a\\textbar{}b\\textless{}c"
    # pdflatex's fonts have no Cyrillic or Han: a marker, not "??????".
    assert latex_escape("привет, как дела?") == "(Cyrillic text)?"
    assert latex_escape("你好吗?") == "(Chinese text)?"
    assert markdown_cell("max |x|") == "max \\|x\\|"  # a bare | ends a cell


def fake_chatbot_metrics(model="lstm", best_epoch=2, train_dl=0.1):
    sims = {"jaccard": 0.2, "cosine": 0.3, "damerau_levenshtein": 0.1}
    result = {"loss": 2.0, "perplexity": round(math.exp(2.0), 3), "val_loss": 2.5,
              "bleu": 0.01, **sims}  # fmt: skip
    splits = {s: dict(sims) for s in ("train", "val", "test")}
    splits["train"]["damerau_levenshtein"] = train_dl
    return {
        "model": model, "results": {model: result, "most-frequent": sims,
                                    "retrieval": sims},
        "splits": {model: splits, "most-frequent": splits, "retrieval": splits},
        "epochs_run": 2, "best_epoch": best_epoch, "test_pairs": 10,
        "kept_epoch_rule": "min val_loss", "kept_epoch_history": {"loss": 2.0},
        "train_seconds_this_process": 4.0,
        "samples": [{"input": "hi", "reference": "hello", "reply": "hi"}],
        "prompts": [{"prompt": "hi", "reply": "hello"}],
        "prompt_report": {"count": 1, "distinct": 1, "degenerate": 0, "empty": 0},
    }  # fmt: skip


FAKE_HISTORY = (
    "epoch,loss,val_loss,train_jaccard,train_cosine,train_damerau_levenshtein,"
    "val_jaccard,val_cosine,val_damerau_levenshtein\n"
    "0,3,3,0.1,0.2,0.1,0.1,0.2,0.1\n1,2,2.5,0.2,0.3,0.1,0.2,0.3,0.1\n"
)


def write_fake_runs(folder):
    run = folder / "suite" / "chatbot-lstm"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"task": "chatbot"}))
    (run / "metrics.json").write_text(json.dumps(fake_chatbot_metrics()))
    (run / "history.csv").write_text(FAKE_HISTORY)
    broken = folder / "suite" / "chatbot-transformer"
    broken.mkdir()
    (broken / "config.json").write_text(json.dumps({"task": "chatbot"}))
    (broken / "metrics.json").write_text('{"model": "transformer", "resu')


def test_chatbot_checks_fail_on_a_wrong_kept_epoch_or_similarity(tmp_path):
    import csv
    import io

    history = list(csv.DictReader(io.StringIO(FAKE_HISTORY)))
    good = {"lstm": {"metrics": fake_chatbot_metrics(), "history": history}}
    section = chatbot.a3_b1(str(tmp_path), good, [])
    assert section.passed
    # The replies table wraps its long replies in fixed-width columns.
    tex = render([section], {"backend_line": "b", "summary": "s"}, "tex")
    assert "p{3.2cm}" in tex.split("Replies to the everyday prompts")[0]
    # The kept epoch is not the history's lowest val_loss.
    wrong_epoch = {"lstm": {"metrics": fake_chatbot_metrics(best_epoch=1),
                            "history": history}}  # fmt: skip
    assert not chatbot.a3_b1(str(tmp_path), wrong_epoch, []).passed
    # metrics.json's training similarity is not the kept epoch's row.
    wrong_value = {"lstm": {"metrics": fake_chatbot_metrics(train_dl=0.3),
                            "history": history}}  # fmt: skip
    assert not chatbot.a3_b1(str(tmp_path), wrong_value, []).passed
    # The restored weights are not the kept epoch's: re-evaluated val loss differs.
    restored_elsewhere = fake_chatbot_metrics()
    restored_elsewhere["results"]["lstm"]["val_loss"] = 3.0
    wrong_weights = {"lstm": {"metrics": restored_elsewhere, "history": history}}
    section = chatbot.a3_b1(str(tmp_path), wrong_weights, [])
    assert not section.passed
    meta = {"backend_line": "backend test", "summary": "test"}
    assert "**FAILED**" in render([section], meta, "md")
    assert "\\textbf{FAILED}" in render([section], meta, "tex")


def test_the_chatbot_section_states_the_long_pair_rule_of_its_runs(tmp_path):
    import csv
    import io

    history = list(csv.DictReader(io.StringIO(FAKE_HISTORY)))
    meta = {"backend_line": "b", "summary": "s"}
    texts = {}
    for rule in ("drop", "cut"):
        metrics = fake_chatbot_metrics()
        metrics["data"] = {"max_tokens": 10, "long_pairs": rule}
        runs = {"lstm": {"metrics": metrics, "history": history}}
        texts[rule] = render([chatbot.a3_b1(str(tmp_path), runs, [])], meta, "md")
    assert "over 10 tokens is dropped" in texts["drop"]
    assert "over 10 tokens is cut to whole sentences" in texts["cut"]
    assert "cut to whole" not in texts["drop"]


@pytest.fixture
def no_committed_summary(monkeypatch, tmp_path):
    """A checkout without reports/runs.json: runs come from --runs only."""
    from solutions.core import report

    monkeypatch.setattr(report, "COMMITTED_SUMMARY", str(tmp_path / "absent.json"))


def test_report_falls_back_to_the_summary_and_names_it(tmp_path, monkeypatch):
    from solutions.core import report

    runs = tmp_path / "runs"
    write_fake_runs(runs)
    first = tmp_path / "first"
    argv = ["--formats", "md", "--only", "A3/B1", "--bench", str(tmp_path / "none")]
    assert main(["--runs", str(runs), "--out", str(first), *argv]) == 0
    text = (first / "solutions.md").read_text()
    assert f"Source of the run tables: runs under `{runs}`" in text
    summary = json.loads((first / "runs.json").read_text())
    assert list(summary["tasks"]) == ["chatbot"]
    assert summary["tasks"]["chatbot"]["lstm"]["metrics"]["best_epoch"] == 2
    # A fresh clone: no runs; the tables come from the summary, which says so.
    monkeypatch.setattr(report, "COMMITTED_SUMMARY", str(first / "runs.json"))
    second = tmp_path / "second"
    assert main(["--runs", str(tmp_path / "none"), "--out", str(second), *argv]) == 0
    text = (second / "solutions.md").read_text()
    assert "Source of the run tables: the committed summary" in text
    assert "| lstm " in text and "No chatbot runs found" not in text
    assert not (second / "runs.json").exists()  # never a summary of the summary


def test_report_from_runs_states_gaps_and_bad_input(
    tmp_path, capsys, no_committed_summary
):
    runs = tmp_path / "runs"
    write_fake_runs(runs)
    out = tmp_path / "out"
    argv = ["--runs", str(runs), "--out", str(out), "--formats", "md",
            "--only", "A3,B3", "--bench", str(tmp_path / "none")]  # fmt: skip
    assert main(argv) == 0
    text = (out / "solutions.md").read_text()
    assert "| lstm " in text and "another corpus, split unstated" in text
    assert "| sheet: LSTM" in text and "1.1828" in text  # printed exactly
    assert '"the final testing metrics"' in text  # the sheet's own words
    assert "chatbot-transformer/metrics.json: unreadable or partial" in text
    assert "No traffic runs found" in text and "python -m zoo.train" in text
    assert (out / "figures" / "a3_loss.png").is_file()
    capsys.readouterr()
    assert main(["--runs", str(tmp_path / "nowhere"), "--out", str(out),
                 "--formats", "md", "--only", "B3"]) == 0  # fmt: skip
    assert "no runs folder" in (out / "solutions.md").read_text()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for bad in (
        ["--only", "Z9"],
        ["--formats", "docx"],
        ["--out", str(blocker / "sub"), "--only", "A3.4"],
    ):
        assert main(["--runs", str(runs), *bad]) == 2, bad
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and err.startswith("solutions: error:"), err


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_latex_compiles_to_pdf(tmp_path):
    out = tmp_path / "out"
    argv = ["--runs", str(tmp_path), "--out", str(out), "--only", "A1.2,A3.4"]
    assert main(argv) == 0
    assert (out / "solutions.pdf").read_bytes()[:5] == b"%PDF-"
    assert (out / "figures" / "a1_2_taylor.pdf").is_file()


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_pdf_has_no_overfull_box_wider_than_1pt(tmp_path):
    """The widest parts: the B2 setting, the replies table with long replies."""
    import csv
    import io

    from solutions.core.render import compile_pdf, write_report
    from solutions.sheet_a import a2_missing

    history = list(csv.DictReader(io.StringIO(FAKE_HISTORY)))
    runs = {}
    for model in ("lstm", "lstm-attention", "transformer"):
        metrics = fake_chatbot_metrics(model)
        metrics["prompts"] = [
            {"prompt": "what are you doing this weekend with your friends?",
             "reply": "i am from the best of the summer and i don't know what to say"},
            {"prompt": "привет, как дела?", "reply": "i am doing well, how about you?"},
        ]  # fmt: skip
        runs[model] = {"metrics": metrics, "history": history}
    out = str(tmp_path)
    sections = [
        a2_missing.a2(out),
        b2_i_moments.b2_i(out),
        chatbot.a3_b1(out, runs, []),
    ]
    tex = write_report(sections, {"backend_line": "b", "summary": "s"}, out, "tex")
    overfull = []
    assert compile_pdf(tex, out, overfull=overfull)
    assert overfull == []


def _derivations(markdown):
    """{section heading: text from '### Problem' up to '### Check'}."""
    parts = re.split(r"\n## ", markdown)
    found = {}
    for part in parts[1:]:
        heading, _, body = part.partition("\n")
        if " — " in heading:  # a problem, not the table of contents
            found[heading] = body.split("### Check")[0]
    return found


def test_committed_report_has_the_same_derivations(tmp_path):
    committed = os.path.join(ROOT, "reports", "solutions.md")
    out = tmp_path / "out"
    only = "A1.2,A1.3,A3.4,B2.iii,B4"
    assert main(["--runs", str(tmp_path), "--out", str(out), "--formats", "md",
                 "--only", only]) == 0  # fmt: skip
    fresh = _derivations((out / "solutions.md").read_text())
    with open(committed, encoding="utf-8") as handle:
        saved = _derivations(handle.read())
    assert len(fresh) == 5
    for heading, text in fresh.items():
        assert saved[heading] == text, heading
