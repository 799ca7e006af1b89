"""`Seq2SeqGenerator.generate_greedy`: the whole greedy loop as one program,
and its maximum-mutual-information option (anti-LM form, Li et al. 2016)
against a numpy reference written out from its formula.

A scripted generator whose every choice is known in advance checks the
loop itself (PAD and SOS never chosen, EOS then PAD, rows ending at
different steps, rows that never end); `tests/models/test_seq2seq.py`
holds the real models to the step-by-step loop and to recomputation.
"""

import keras
import numpy as np
import pytest
from keras import ops

from zoo.data.text import EOS_ID, PAD_ID, SOS_ID
from zoo.decoding import _run, adjust_logits, check_options, greedy
from zoo.errors import ZooError
from zoo.greedy_loop import repeated_ngram_mask
from zoo.models.seq2seq import SEQ2SEQ, generator_for
from zoo.models.seq2seq.generator import Seq2SeqGenerator
from zoo.testing import decisive_seq2seq

VOCAB = 12


class ScriptedGenerator(Seq2SeqGenerator):
    """Row b says 4, 5, 6, ... and EOS as its (n_b)th token, n_b = the number
    of non-padding input ids; PAD and SOS always get the highest logit, so
    a loop that fails to ban them chooses them."""

    def __init__(self):
        super().__init__(keras.Sequential([], name="scripted"))

    def vocabulary_size(self):
        return VOCAB

    def _encode(self, sources):
        return {"ends": ops.sum(ops.cast(ops.not_equal(sources, 0), "int32"), axis=1)}

    def loop_state(self, memory, max_length):
        return ops.zeros_like(memory["ends"])  # tokens said so far, per row

    def loop_step(self, tokens, state, memory):
        said = state + 1
        token = ops.where(said >= memory["ends"], EOS_ID, 3 + said)
        logits = 10.0 * ops.one_hot(token, VOCAB)
        banned = ops.one_hot(PAD_ID, VOCAB) + ops.one_hot(SOS_ID, VOCAB)
        return logits + 20.0 * banned[None], said


def scripted_reply(length, max_length):
    """Row of `ScriptedGenerator` for an input of `length` ids, by hand."""
    reply = [4 + i for i in range(length - 1)] + [EOS_ID]
    return (reply + [PAD_ID] * max_length)[:max_length]


@pytest.mark.parametrize("max_length", [1, 3, 6])
def test_the_loop_bans_pad_and_sos_and_pads_after_eos(max_length):
    sources = np.array([[5, 0, 0, 0, 0], [5, 5, 5, 0, 0], [5, 5, 5, 5, 5]], "int32")
    expected = [scripted_reply(n, max_length) for n in (1, 3, 5)]
    ids = ScriptedGenerator().generate_greedy(sources, max_length)
    assert ids.dtype == np.int32
    np.testing.assert_array_equal(ids, expected)


def test_the_loop_on_rows_that_never_end():
    ids = ScriptedGenerator().generate_greedy(np.full((2, 9), 7, "int32"), 4)
    np.testing.assert_array_equal(ids, [[4, 5, 6, 7]] * 2)


@pytest.mark.jax_only
def test_jax_compiles_the_loop_once_per_shape():
    from zoo.bench.decode import _counting_compilations

    generator = generator_for(decisive_seq2seq("transformer", VOCAB))
    sources = np.full((2, 5), 6, "int32")
    generator.generate_greedy(sources, 5)
    with _counting_compilations() as compiled:
        generator.generate_greedy(sources + 1, 5)
        assert compiled == []
        generator.generate_greedy(sources, 6)  # another max_length: a program
        assert len(compiled) == 1


class BigramGenerator(ScriptedGenerator):
    """Logits from the previous token alone (a fixed random table; the first
    token follows the input's first id; EOS never wins): greedy search
    loops within a few tokens, as small chatbots do."""

    table = np.random.default_rng(3).normal(size=(VOCAB, VOCAB)).astype("float32")
    table[:, EOS_ID] = -30.0

    def _encode(self, sources):
        return {"first": ops.convert_to_tensor(sources)[:, :1]}

    def initial_state(self, memory):
        return ops.zeros((), "int32")  # no state: the previous token is enough

    def loop_state(self, memory, max_length):
        return self.initial_state(memory)

    def step(self, tokens, state, memory):
        return self.loop_step(tokens, state, memory)

    def loop_step(self, tokens, state, memory):
        previous = ops.where(tokens == SOS_ID, memory["first"], tokens)
        table = ops.convert_to_tensor(self.table)
        return ops.take(table, previous[:, 0], axis=0), state


@pytest.mark.parametrize(
    "options",
    [
        {"no_repeat_ngram": 1},
        {"no_repeat_ngram": 2},
        {"no_repeat_ngram": 3, "repetition_penalty": 1.5},
        {"repetition_penalty": 1.5},
    ],
)
def test_the_options_equal_the_step_by_step_loop(options):
    generator = BigramGenerator()
    sources = np.arange(4, 10, dtype="int32").reshape(6, 1)  # every first token
    plain = generator.generate_greedy(sources, 10)
    ids = generator.generate_greedy(sources, 10, **options)
    assert (ids != plain).any()  # the options change replies: the test can fail
    by_step = _run(generator, sources, 10, lambda logits: logits.argmax(-1), **options)
    np.testing.assert_array_equal(ids, by_step)


def test_the_ngram_mask_equals_adjust_logits_for_every_n_and_length():
    """Every n (up to beyond the buffer) at every filled length, 3 tokens."""
    rng = np.random.default_rng(0)
    length, vocab = 6, 6
    for n in range(1, length + 3):
        for t in range(length + 1):
            output = np.full((8, length), PAD_ID, "int32")
            output[:, :t] = rng.integers(3, vocab, size=(8, t))
            mask = repeated_ngram_mask(output, np.int32(t), n, vocab)
            mask = np.asarray(ops.convert_to_numpy(mask))
            history = output[:, :t]
            reference = adjust_logits(np.zeros((8, vocab)), history, no_repeat_ngram=n)
            expected = np.isneginf(reference)
            expected[:, PAD_ID] = mask[:, PAD_ID]  # PAD: banned by the loop anyway
            np.testing.assert_array_equal(mask, expected, err_msg=f"n={n}, t={t}")


def log_softmax(row):
    row = np.asarray(row, "float64")
    shifted = row - row.max()
    return shifted - np.log(np.exp(shifted).sum())


def reference_mmi(table, first_ids, max_length, weight, steps):
    """The anti-LM greedy search by its formula: the first `steps` tokens
    maximize log p(y_t | y_<t, x) - weight * log p(y_t | y_<t), p(.| ., x)
    from the input's first id, p(y) from an empty input (its first id PAD);
    PAD and SOS never chosen. BigramGenerator's logits: table[previous]."""
    table = np.asarray(table, "float64").copy()
    table[:, [PAD_ID, SOS_ID]] = -np.inf
    replies = []
    for first in first_ids:
        previous_x, previous_0, reply = first, PAD_ID, []
        for t in range(max_length):
            scores = table[previous_x]
            if t < steps:
                with np.errstate(invalid="ignore"):
                    anti = log_softmax(scores) - weight * log_softmax(table[previous_0])
                scores = np.where(np.isneginf(scores), -np.inf, anti)  # PAD, SOS
            token = int(np.argmax(scores))
            reply.append(token)
            if token == EOS_ID:
                break
            previous_x = previous_0 = token
        replies.append((reply + [PAD_ID] * max_length)[:max_length])
    return np.array(replies)


@pytest.mark.parametrize("weight, steps", [(0.5, 1), (0.5, 3), (0.9, 10)])
def test_mmi_equals_its_formula_compiled_and_step_by_step(weight, steps):
    generator = BigramGenerator()
    sources = np.arange(4, VOCAB, dtype="int32").reshape(-1, 1)  # every first id
    expected = reference_mmi(generator.table, sources[:, 0], 8, weight, steps)
    plain = generator.generate_greedy(sources, 8)
    ids = generator.generate_greedy(sources, 8, mmi_weight=weight, mmi_steps=steps)
    assert (ids != plain).any()  # MMI changes replies: the test can fail
    np.testing.assert_array_equal(ids, expected)
    by_step = _run(generator, sources, 8, lambda s: s.argmax(-1), mmi_weight=weight,
                   mmi_steps=steps)  # fmt: skip
    np.testing.assert_array_equal(by_step, expected)


def test_mmi_off_is_plain_greedy():
    generator = BigramGenerator()
    sources = np.arange(4, VOCAB, dtype="int32").reshape(-1, 1)
    plain = generator.generate_greedy(sources, 8)
    for weight, steps in ((0.0, 3), (0.5, 0)):
        ids = generator.generate_greedy(sources, 8, mmi_weight=weight, mmi_steps=steps)
        np.testing.assert_array_equal(ids, plain)


@pytest.fixture(params=list(SEQ2SEQ), scope="module")
def model(request):
    return decisive_seq2seq(request.param, 20)


def test_mmi_cached_equals_recomputed_on_every_model(model):
    rng = np.random.default_rng(1)
    sources = rng.integers(4, 20, size=(4, 5)).astype("int32")
    sources[0, 2:] = PAD_ID
    options = {"mmi_weight": 0.5, "mmi_steps": 2, "no_repeat_ngram": 2}
    generator = generator_for(model)
    cached = greedy(generator, sources, max_length=5, **options)  # compiled: JAX/TF
    recomputed = greedy(generator, sources, max_length=5, cached=False, **options)
    np.testing.assert_array_equal(cached, recomputed)
    by_step = _run(generator, sources, 5, lambda s: s.argmax(-1), **options)
    np.testing.assert_array_equal(cached, by_step)


@pytest.mark.parametrize(
    "options, flag",
    [({"mmi_weight": 1.0}, "--mmi-weight"), ({"mmi_weight": -0.1}, "--mmi-weight"),
     ({"mmi_steps": -1}, "--mmi-steps")],
)  # fmt: skip
def test_bad_mmi_options_name_the_flag(options, flag):
    with pytest.raises(ZooError, match=flag):
        check_options(**options)
