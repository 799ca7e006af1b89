"""n-gram blocking and the repetition penalty: against explicit formulas,
equal between cached and recomputed decoding for every model and decoder."""

import numpy as np
import pytest

from zoo.decoding import adjust_logits, beam_search, greedy, sample
from zoo.errors import ZooError
from zoo.models.seq2seq import SEQ2SEQ, generator_for
from zoo.testing import decisive_seq2seq

VOCAB = 9


def repeats(row, n):
    """True when the token row (EOS/PAD cut) holds an n-gram twice."""
    tokens = [int(t) for t in row if t > 2]
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return len(grams) != len(set(grams))


# Module scope: no test changes the model; compiled steps are traced once.
@pytest.fixture(params=list(SEQ2SEQ), scope="module")
def generator(request):
    return generator_for(decisive_seq2seq(request.param, VOCAB, eos_bias=-50.0))


def sources():
    rng = np.random.default_rng(0)
    ids = rng.integers(3, VOCAB, size=(4, 5)).astype("int32")
    ids[0, 3:] = 0
    return ids


def test_the_penalty_and_the_blocking_by_hand():
    logits = np.array([[3.0, -2.0, 0.5, 1.0], [1.0, 1.0, 1.0, 1.0]])
    history = [[0, 1, 0], [2, 3, 2]]
    out = adjust_logits(logits, history, repetition_penalty=1.5)
    # Seen tokens: positive logits divided, negative multiplied (CTRL).
    np.testing.assert_allclose(out[0], [2.0, -3.0, 0.5, 1.0])
    np.testing.assert_allclose(out[1], [1.0, 1.0, 1 / 1.5, 1 / 1.5])
    # Bigrams: row 0 ends with 0 and "0 1" came before, so 1 is banned;
    # row 1 ends with 2 and "2 3" came before, so 3 is banned.
    out = adjust_logits(logits, history, no_repeat_ngram=2)
    assert np.isneginf(out[0, 1]) and np.isfinite(np.delete(out[0], 1)).all()
    assert np.isneginf(out[1, 3]) and np.isfinite(out[1, :3]).all()
    # Trigrams: the last two tokens (1, 0) never came before in row 0.
    assert np.isfinite(adjust_logits(logits, history, no_repeat_ngram=3)).all()
    np.testing.assert_array_equal(adjust_logits(logits, history), logits)


def test_bad_options_are_refused():
    with pytest.raises(ZooError, match="--no-repeat-ngram"):
        greedy(None, sources(), 3, no_repeat_ngram=-1)
    with pytest.raises(ZooError, match="--repetition-penalty"):
        greedy(None, sources(), 3, repetition_penalty=0.5)


def test_blocking_removes_the_loops_greedy_falls_into(generator):
    plain = greedy(generator, sources(), 8)
    assert any(repeats(row, 2) for row in plain)  # the test can fail
    blocked = greedy(generator, sources(), 8, no_repeat_ngram=2)
    assert not any(repeats(row, 2) for row in blocked)


# One combination of both options: each (model, decoder) pair compiles its
# own shapes on JAX, so more combinations cost minutes, not coverage.
OPTIONS = {"no_repeat_ngram": 2, "repetition_penalty": 1.3}


def test_cached_equals_recomputed_with_options(generator):
    src = sources()
    np.testing.assert_array_equal(
        greedy(generator, src, 5, **OPTIONS),
        greedy(generator, src, 5, cached=False, **OPTIONS),
    )


# The options act on logits, whatever the model: beam search and sampling
# are checked on one model (the greedy test above covers every cache kind).
@pytest.mark.parametrize("generator", ["lstm-attention"], indirect=True)
def test_beam_and_sampling_cached_equal_recomputed_with_options(generator):
    src = sources()
    beam = beam_search(generator, src[:1], 4, width=2, **OPTIONS)
    assert not any(repeats(row, 2) for row in beam)
    np.testing.assert_array_equal(
        beam, beam_search(generator, src[:1], 4, width=2, cached=False, **OPTIONS)
    )
    np.testing.assert_array_equal(
        sample(generator, src, 4, top_k=3, seed=1, **OPTIONS),
        sample(generator, src, 4, top_k=3, seed=1, cached=False, **OPTIONS),
    )
