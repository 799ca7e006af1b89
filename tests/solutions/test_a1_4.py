"""Sheet A1.4 (when linear attention wins) from the committed attention
benchmark and from bench files written here: it passes, a crossover at the
grid's edge is printed as a bound, and each claim of the derivation fails
its check when it is wrong, in the section and in both rendered formats."""

import json
import os

import pytest

from solutions.core.render import render
from solutions.sheet_a import a1_4_crossover as a14

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
COMMITTED = os.path.join(ROOT, "reports", "bench")
META = {"backend_line": "backend jax | test", "summary": "test"}
CONFIG = {"scaling_dim": 128, "scaling_heads": 4, "feature_dim": 16,
          "chunk_size": 128}  # fmt: skip


@pytest.fixture
def without_the_figure(monkeypatch):
    """For tests that read no figure: drawing the six log-log panels and
    saving them twice is 2.5 s of each `a1_4` call. The committed-bench
    test still draws and checks it."""
    monkeypatch.setattr(a14, "plot_crossovers", lambda results, out_dir, stem: None)


def rendered(section):
    return render([section], META, "md"), render([section], META, "tex")


def assert_fails_visibly(section):
    assert not section.passed
    md, tex = rendered(section)
    assert "**FAILED**" in md
    assert "\\textbf{FAILED}" in tex


def fabricated_rows(backend, lengths, causal, fixed=(0.1, 0.2), rates=(20, 20)):
    """Timings that follow T = a + F/R exactly, F the derivation's counts."""
    w = a14.widths(CONFIG)
    skips = causal and a14.softmax_skips_masked(backend)
    rows = []
    for n in lengths:
        soft = fixed[0] + a14.softmax_flops(n, w, causal, skips) / (rates[0] * 1e6)
        lin = fixed[1] + a14.linear_flops(n, w, causal) / (rates[1] * 1e6)
        rows.append({"length": n, "softmax_ms": soft, "linear_ms": lin,
                     "softmax_peak_mb": 1.0, "linear_peak_mb": 1.0,
                     "speedup_linear": soft / lin})  # fmt: skip
    return rows


def write_bench(folder, backend, lengths, **timing):
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "backend": backend,
        "config": {**CONFIG, "scaling_lengths": list(lengths)},
        "scaling": {
            form: {
                "rows": fabricated_rows(backend, lengths, form == "causal", **timing)
            }
            for form in a14.FORMS
        },
    }
    (folder / f"attention-{backend}.json").write_text(json.dumps(data))
    return folder


def test_committed_bench_passes_with_bracketed_crossovers(tmp_path):
    section = a14.a1_4(str(tmp_path), COMMITTED)
    assert section.passed, [c for c in section.checks if not c.passed]
    # M, three closed forms, six crossovers, three causal/non-causal ratios.
    assert len(section.checks) == 13
    md, tex = rendered(section)
    assert "FAILED" not in md and "FAILED" not in tex
    # The new grid starts where softmax still wins: no crossover is a bound.
    assert "≤" not in md.split("### Check")[1].split("| quantity |")[0]
    assert "measured inside the grid" in md
    for ext in ("png", "pdf"):
        assert (tmp_path / "figures" / f"a1_4_crossover.{ext}").stat().st_size > 0


def test_fabricated_bench_recovers_its_own_crossover(tmp_path, without_the_figure):
    lengths = [32 * 2**i for i in range(8)]  # 32 .. 4096
    bench = write_bench(tmp_path / "bench", "jax", lengths)
    section = a14.a1_4(str(tmp_path / "out"), str(bench))
    assert section.passed, [c for c in section.checks if not c.passed]
    result = a14.analyse(a14.load_bench(str(bench)))["jax", "non_causal"]
    assert result["relation"] == "="
    # Equal rates and 0.1 ms more fixed time for linear: the fit finds them
    # back, and the interpolated crossover is the model's within 5 %.
    assert result["fit_softmax"][0] == pytest.approx(0.1, rel=1e-3)
    assert result["fit_linear"][1] == pytest.approx(20, rel=1e-3)
    assert result["measured"] == pytest.approx(result["model"], rel=0.05)


def test_crossover_at_the_grid_edge_is_printed_as_a_bound(tmp_path, without_the_figure):
    # Linear is already faster at L = 512 > L* (non-causal): the crossover is
    # "≤ 512", never "512" as if it had been measured there.
    bench = write_bench(tmp_path / "bench", "jax", [512, 1024, 2048, 4096])
    result = a14.analyse(a14.load_bench(str(bench)))["jax", "non_causal"]
    assert (result["measured"], result["relation"]) == (512, "≤")
    section = a14.a1_4(str(tmp_path / "out"), str(bench))
    assert section.passed, [c for c in section.checks if not c.passed]
    md, tex = rendered(section)
    assert "| ≤ 512 " in md and "≤ 2.31" in md
    assert "an upper bound, not a measurement" in md
    assert "$\\le$ 512" in tex


def test_measured_crossover_relations():
    rows = [{"length": n, "softmax_ms": s, "linear_ms": lin}
            for n, s, lin in ((100, 1.0, 10.0), (1000, 10.0, 1.0))]  # fmt: skip
    assert a14.measured_crossover(rows) == (pytest.approx(316.2, abs=0.1), "=")
    assert a14.measured_crossover(rows[1:]) == (1000, "≤")
    assert a14.measured_crossover(rows[:1]) == (100, ">")


def test_no_bench_says_how_to_make_one(tmp_path):
    section = a14.a1_4(str(tmp_path), str(tmp_path / "none"))
    assert section.passed and not section.checks
    assert "make bench" in rendered(section)[0]


def wrong_claims():
    """{claim: a wrong version of it}, each built on the right one."""
    right_crossover, right_flops = a14.predicted_crossover, a14.linear_flops

    def forgets_the_projections(w, causal=False, skips_masked=False):
        # L* without the projections' difference d - H D_f.
        return right_crossover(w, causal, skips_masked) + w["d"] - w["H"] * w["D_f"]

    def drops_the_ones_column(length, w, causal=False):
        # The normalizer's column of ones left out of Phi(K)^T [V, 1].
        return right_flops(length, w, causal) - 4 * length * w["H"] * w["M"]

    return {
        "predicted_crossover": forgets_the_projections,
        "linear_flops": drops_the_ones_column,
        # The symmetric map's width 1 + D + D(D+1)/2: not what the bench runs.
        "taylor_width": lambda dim: 1 + dim + dim * (dim + 1) // 2,
        # torch's causal kernel computing all L^2 scores, like XLA's.
        "softmax_skips_masked": lambda backend: False,
    }


@pytest.mark.parametrize("name", sorted(wrong_claims()))
def test_a_wrong_claim_fails_its_check(tmp_path, monkeypatch, without_the_figure, name):
    monkeypatch.setattr(a14, name, wrong_claims()[name])
    assert_fails_visibly(a14.a1_4(str(tmp_path), COMMITTED))
