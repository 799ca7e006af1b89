"""`zoo.bench decode`: cache memory per generated token (facts, not timings)."""

import keras
import numpy as np
import pytest

from zoo.bench.decode import (
    _cache_growth,
    _preallocated_bytes,
    _timed_against_reference,
)
from zoo.models.seq2seq import build_seq2seq, generator_for


@pytest.mark.parametrize(
    "name, grows", [("transformer", True), ("transformer-linear", False)]
)
def test_key_value_cache_grows_and_linear_state_does_not(name, grows):
    model = build_seq2seq(name, 20, 8, num_heads=2, num_layers=1)
    sources = np.full((2, 3), 5, dtype="int32")
    sizes = _cache_growth(generator_for(model), sources, 4)
    assert sorted(sizes) == [1, 2, 4]
    if grows:  # one key row and one value row per token: linear in t
        assert sizes[4] == 4 * sizes[1] and sizes[2] == 2 * sizes[1]
    else:  # (S, z) of linear attention: constant in t
        assert sizes[1] == sizes[2] == sizes[4] > 0


def test_the_decoders_cache_is_preallocated_for_every_step():
    """What greedy decoding holds from the first token on: the key/value
    rows of all `steps` tokens (plus each block's int32 length)."""
    model = build_seq2seq("transformer", 20, 8, num_heads=2, num_layers=1)
    generator = generator_for(model)
    sources = np.full((2, 3), 5, dtype="int32")
    grown = _cache_growth(generator, sources, 4)
    assert _preallocated_bytes(generator, sources, 4) == grown[4] + 4


def test_compilations_are_counted_on_jax_only():
    row = _timed_against_reference(lambda: 7, lambda: 8, repeats=2)
    assert row["result"] == 7 and row["reference_result"] == 8
    assert row["seconds"] >= 0 and row["reference_seconds"] >= 0
    if keras.backend.backend() == "jax":
        assert row["compilations"] == {"first_run": 0, "timed_runs": 0}
    else:
        assert row["compilations"] is None


def test_the_speedup_is_the_median_of_alternating_rounds(monkeypatch):
    """Round by round: reference / decoder, in ABBA order."""
    import time

    ticks = iter([0, 1, 1, 4, 4, 12, 12, 14, 14, 18, 18, 22])
    monkeypatch.setattr(time, "perf_counter", lambda: next(ticks))
    calls = []
    row = _timed_against_reference(
        lambda: calls.append("a"), lambda: calls.append("b"), repeats=3
    )
    # Warm-up a b, then rounds a b | b a | a b: a took 1, 2, 4; b took 3, 8, 4.
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]
    assert (row["seconds"], row["reference_seconds"]) == (2, 4)
    assert row["speedup"] == 3  # ratios 3, 4, 1 (the medians' ratio is 2)
