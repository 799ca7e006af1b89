"""Seq2seq chatbots: incremental decoding equals full recomputation, the
decoders against brute force, attention scores against numpy, saving."""

import keras
import numpy as np
import pytest
from keras import ops

from zoo.decoding import _filter_logits, _run, beam_search, greedy, sample
from zoo.layers import MultiHeadAttention, Seq2SeqAttention
from zoo.models.seq2seq import SEQ2SEQ, build_seq2seq, generator_for
from zoo.saving import load_model
from zoo.testing import decisive_seq2seq

VOCAB = 12


def numpy_of(x):
    return np.asarray(ops.convert_to_numpy(x))


def sources():
    rng = np.random.default_rng(0)
    ids = rng.integers(4, VOCAB, size=(3, 5)).astype("int32")
    ids[0, 3:] = 0  # padding
    return ids


# Module scope: no test changes the model, and sharing it lets the compiled
# steps of a compiling backend be traced once for the whole module.
@pytest.fixture(params=list(SEQ2SEQ), scope="module")
def model(request):
    return decisive_seq2seq(request.param, VOCAB)


def test_cached_steps_equal_the_full_model_and_greedy_equals_recompute(model):
    src = sources()
    decoder_in = np.array([[1, 5, 6, 7]] * 3, dtype="int32")
    full = numpy_of(model([src, decoder_in]))
    generator = generator_for(model)
    memory = generator.encode(src)
    state = generator.initial_state(memory)
    for t in range(decoder_in.shape[1]):
        logits, state = generator.step(decoder_in[:, t : t + 1], state, memory)
        np.testing.assert_allclose(numpy_of(logits), full[:, t], atol=1e-4)
    cached = greedy(generator, src, max_length=4)  # one program on JAX / TF
    recomputed = greedy(generator, src, max_length=4, cached=False)
    np.testing.assert_array_equal(cached, recomputed)
    step_by_step = _run(generator, src, 4, lambda logits: logits.argmax(-1))
    np.testing.assert_array_equal(cached, step_by_step)


# Beam search is model-agnostic but reorders each kind of cache: LSTM (h, c)
# with attention memory, and the key/value cache.
@pytest.mark.parametrize("model", ["lstm-attention", "transformer"], indirect=True)
def test_beam_search_with_a_wide_beam_finds_the_exhaustive_best(model):
    """Every sequence of <= 2 tokens scored by one full-model call (alpha 0)."""
    generator = generator_for(model)
    src = sources()[1:2]
    real = range(2, VOCAB)  # PAD and SOS are never generated
    candidates = [(2,)] + [(a, b) for a in real if a != 2 for b in real]
    prefixes = np.array([[1, c[0]] for c in candidates], dtype="int32")
    logits = numpy_of(model([np.repeat(src, len(candidates), 0), prefixes]))
    logits = logits.astype("float64")[:, :, 2:]  # over the real tokens only
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    scores = [
        sum(logp[i, t, token - 2] for t, token in enumerate(c))
        for i, c in enumerate(candidates)
    ]
    best = candidates[int(np.argmax(scores))]
    found = beam_search(generator, src, 2, width=VOCAB**2, length_penalty=0.0)
    assert tuple(int(t) for t in found[0] if t != 0) == best


@pytest.mark.parametrize("model", ["lstm", "transformer"], indirect=True)
def test_beam_search_steps_at_one_batch_size(model, monkeypatch):
    """The beam stays `width` rows wide (dead rows pad it): one step shape."""
    generator = generator_for(model)
    step, batches = generator.step, []

    def counted(tokens, state, memory):
        batches.append(len(tokens))
        return step(tokens, state, memory)

    monkeypatch.setattr(generator, "step", counted)
    beam_search(generator, sources(), max_length=6, width=3)
    assert set(batches) == {3}


def test_sampling_is_seeded_and_top_k_1_is_greedy(model):
    generator = generator_for(model)
    src = sources()
    first = sample(generator, src, 3, top_p=0.9, temperature=1.5, seed=3)
    again = sample(generator, src, 3, top_p=0.9, temperature=1.5, seed=3)
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(
        sample(generator, src, 3, top_k=1, seed=9), greedy(generator, src, 3)
    )


def test_top_k_and_top_p_filters_by_hand():
    logits = np.log(np.array([[0.5, 0.3, 0.15, 0.05]]))
    kept_k = np.isfinite(_filter_logits(logits, top_k=2))
    np.testing.assert_array_equal(kept_k, [[True, True, False, False]])
    # Nucleus 0.75: 0.5 + 0.3 reaches it, so the first two tokens stay.
    kept_p = np.isfinite(_filter_logits(logits, top_p=0.75))
    np.testing.assert_array_equal(kept_p, [[True, True, False, False]])
    kept_all = np.isfinite(_filter_logits(logits, top_p=1.0))
    assert kept_all.all()


def test_a_saved_model_loads_safely_and_decodes_the_same(model, tmp_path):
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = load_model(path, compile=False)
    np.testing.assert_array_equal(
        greedy(generator_for(loaded), sources(), 3),
        greedy(generator_for(model), sources(), 3),
    )


def test_loss_is_the_mean_cross_entropy_over_real_tokens():
    from zoo.train.chatbot_task import ChatbotTask

    keras.utils.set_random_seed(0)
    model = build_seq2seq("lstm", VOCAB, 8)
    model.compile(loss=ChatbotTask.loss)
    decoder_in = np.array([[1, 5, 6, 0], [1, 7, 0, 0]], dtype="int32")
    target = np.array([[5, 6, 2, 0], [7, 2, 0, 0]], dtype="int32")
    src = sources()[:2]
    logits = numpy_of(model([src, decoder_in])).astype("float64")
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    real = target != 0
    expected = -np.take_along_axis(logp, target[..., None], -1)[..., 0][real].mean()
    got = model.evaluate([src, decoder_in], target, verbose=0)
    assert got == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("score", ["dot", "general", "additive"])
def test_seq2seq_attention_against_numpy(score):
    rng = np.random.default_rng(1)
    query = rng.normal(size=(2, 3, 4)).astype("float32")
    value = rng.normal(size=(2, 5, 4)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=bool)
    layer = Seq2SeqAttention(score)
    context, weights = layer(query, value, value_mask=mask)
    q, v = query.astype("float64"), value.astype("float64")
    if score == "dot":
        scores = np.einsum("btu,bsu->bts", q, v)
    elif score == "general":
        w = numpy_of(layer.kernel).astype("float64")
        scores = np.einsum("btu,uv,bsv->bts", q, w, v)
    else:
        w1, w2 = (
            numpy_of(k).astype("float64")
            for k in (layer.query_kernel, layer.value_kernel)
        )
        vec = numpy_of(layer.vector).astype("float64")
        hidden = np.tanh((q @ w1)[:, :, None] + (v @ w2)[:, None])
        scores = hidden @ vec
    scores = np.where(mask[:, None], scores, -np.inf)
    expected = np.exp(scores - scores.max(-1, keepdims=True))
    expected /= expected.sum(-1, keepdims=True)
    np.testing.assert_allclose(numpy_of(weights), expected, atol=1e-5)
    np.testing.assert_allclose(numpy_of(context), expected @ v, atol=1e-5)
    restored = Seq2SeqAttention.from_config(layer.get_config())
    assert restored.score == score


def test_multi_head_attention_cache_equals_causal_call():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 5, 8)).astype("float32")
    layer = MultiHeadAttention(2, key_dim=4)
    full = numpy_of(layer(x, x, use_causal_mask=True))
    state = layer.get_initial_state(2)
    prompt, state = layer.step(x[:, :3], state)  # a prompt chunk, then tokens
    outputs = [numpy_of(prompt)]
    for t in (3, 4):
        out, state = layer.step(x[:, t : t + 1], state)
        outputs.append(numpy_of(out))
    np.testing.assert_allclose(np.concatenate(outputs, 1), full, atol=1e-5)
    assert tuple(state[0].shape) == (2, 5, 2, 4)


@pytest.mark.parametrize("model", ["lstm-attention", "transformer"], indirect=True)
def test_torch_compile_gives_the_same_tokens_and_is_ignored_off_torch(model):
    generator = SEQ2SEQ[model.kind]
    compiled = generator.generator(model, torch_compile="eager")  # fast to trace
    src = sources()
    tokens = greedy(compiled, src, max_length=4)
    np.testing.assert_array_equal(tokens, greedy(generator_for(model), src, 4))
    np.testing.assert_array_equal(tokens, greedy(compiled, src, 4, cached=False))
    on_torch = keras.backend.backend() == "torch"
    assert compiled.compiles_steps() is (on_torch or compiled.compiles())
    if on_torch:  # the steps ran through torch.compile, the encoder did not
        assert "step" in compiled._programs and "encode" not in compiled._programs
