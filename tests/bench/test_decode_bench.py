"""`zoo.bench decode`: cache memory per generated token (facts, not timings)."""

import numpy as np
import pytest

from zoo.bench.decode import _cache_growth
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
