"""Every problem's checks can fail: a wrong claimed value in the derivation
turns its check to FAILED, in the section and in both rendered formats.

Each test builds a section twice: with the derivation's claim (it passes)
and with the claim replaced by a wrong one (it must fail). B3 and A1.4 have
their own files (test_b3.py, test_a1_4.py); A3/B1's are in test_solutions.py
(test_chatbot_checks_fail_on_a_wrong_kept_epoch_or_similarity).
"""

import pytest

from solutions.core.render import render
from solutions.sheet_a import a1_1_softmax_cost, a1_2_taylor, a1_3_linear
from solutions.sheet_b import b2_i_moments, b2_ii_cost, b2_iii_rank
from solutions.sheet_b import b4_exam as exam

META = {"backend_line": "backend test", "summary": "test"}


def assert_fails_visibly(section):
    """The section failed, and both formats say so."""
    assert not section.passed
    assert "**FAILED**" in render([section], META, "md")
    assert "\\textbf{FAILED}" in render([section], META, "tex")


@pytest.fixture
def exact_timings(monkeypatch):
    """Timings that scale exactly as L^2 D: the check logic, not the clock."""

    def measure(shapes, repeats=3):
        return [1e-10 * length * length * width for length, width in shapes]

    monkeypatch.setattr(a1_1_softmax_cost, "measure_softmax_attention", measure)


@pytest.mark.parametrize("variable", ["L", "D"])
def test_a1_1_a_wrong_exponent_fails(tmp_path, monkeypatch, exact_timings, variable):
    assert a1_1_softmax_cost.a1_1(str(tmp_path)).passed
    monkeypatch.setitem(a1_1_softmax_cost.CLAIMED_EXPONENTS, variable, 3)
    assert_fails_visibly(a1_1_softmax_cost.a1_1(str(tmp_path)))


@pytest.mark.parametrize(
    "name, wrong",
    [
        ("feature_counts", lambda d, k: (d**k, d**k)),  # the sheet's off-by-one
        ("CLAIMED_KERNEL_MINIMUM", 1.0),
    ],
)
def test_a1_2_a_wrong_claim_fails(tmp_path, monkeypatch, name, wrong):
    monkeypatch.setattr(a1_2_taylor, name, wrong)
    assert_fails_visibly(a1_2_taylor.a1_2(str(tmp_path)))


def test_a1_2_passes_and_counts_by_listing():
    assert a1_2_taylor.enumerated_counts(3, 3) == (1 + 3 + 9, 1 + 3 + 6)


def test_a1_3_a_missing_normalizer_fails(tmp_path, monkeypatch):
    assert a1_3_linear.a1_3(str(tmp_path)).passed

    def unnormalized(phi_q, phi_k, v, causal=False):
        return phi_q @ (phi_k.T @ v)

    monkeypatch.setattr(a1_3_linear, "claimed_linear_attention", unnormalized)
    assert_fails_visibly(a1_3_linear.a1_3(str(tmp_path)))


@pytest.mark.parametrize(
    "name, wrong",
    [
        ("claimed_variance", lambda sigma, *a, head_dim=1, scaled=True: sigma**2),
        ("claimed_mean", lambda: 0.1),
    ],
)
def test_b2_i_a_wrong_moment_fails(tmp_path, monkeypatch, name, wrong):
    monkeypatch.setattr(b2_i_moments, name, wrong)
    assert_fails_visibly(b2_i_moments.b2_i(str(tmp_path)))


def test_b2_ii_a_wrong_count_fails(tmp_path, monkeypatch):
    assert b2_ii_cost.b2_ii(str(tmp_path)).passed
    # Forgetting the output projection: 3Nd^2 instead of 4Nd^2.
    monkeypatch.setattr(
        b2_ii_cost,
        "claimed_total",
        lambda n, d, h: 3 * n * d * d + 2 * n * n * d + 2 * h * n * n,
    )
    assert_fails_visibly(b2_ii_cost.b2_ii(str(tmp_path)))


def test_b2_iii_a_wrong_rank_fails(tmp_path, monkeypatch):
    assert b2_iii_rank.b2_iii(str(tmp_path)).passed
    monkeypatch.setattr(b2_iii_rank, "claimed_rank", lambda d, heads: d)
    section = b2_iii_rank.b2_iii(str(tmp_path))
    assert_fails_visibly(section)
    assert sum(not c.passed for c in section.checks) == 2  # rank and Eckart-Young


def test_b2_iii_low_rank_error_is_zero_at_full_rank():
    assert b2_iii_rank.best_low_rank_error(6, 6) < 1e-12
    assert b2_iii_rank.best_low_rank_error(6, 2) > 0.1


@pytest.mark.parametrize(
    "name, wrong",
    [
        ("claimed_state_floats", lambda heads, m, dv: heads * m * dv),  # no z
        ("claimed_crossover", lambda *args: 5),
    ],
)
def test_b4_a_wrong_size_or_crossover_fails(tmp_path, monkeypatch, name, wrong):
    kwargs = {"length": 10, "dim": 4, "heads": 2}  # M = 7, t* = 6: fast
    assert exam.b4(str(tmp_path), **kwargs).passed
    monkeypatch.setattr(exam, name, wrong)
    assert_fails_visibly(exam.b4(str(tmp_path), **kwargs))
