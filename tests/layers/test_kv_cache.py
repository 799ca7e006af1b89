"""The preallocated (fixed-shape) key/value cache of MultiHeadAttention:
equal to the causal call, blind to unused slots, one shape per generation;
the cross-attention memory projected once; the transformer generator's
cache through beam reordering."""

import keras
import numpy as np
import pytest
from keras import ops

from zoo.decoding import beam_search, greedy
from zoo.layers import MultiHeadAttention
from zoo.layers.transformer_decoder_block import TransformerDecoderBlock
from zoo.models.seq2seq import build_seq2seq, generator_for

B, T, D, HEADS = 2, 7, 8, 2
RNG = np.random.default_rng(0)
X = RNG.normal(size=(B, T, D)).astype("float32")
MEMORY = RNG.normal(size=(B, 5, D)).astype("float32")
MEMORY_MASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)


def numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


def built_layer(value_dim=None):
    """value_dim=None runs the fused kernel, value_dim=6 the explicit path."""
    layer = MultiHeadAttention(HEADS, key_dim=4, value_dim=value_dim)
    layer(X, X)
    return layer


def run_steps(layer, state, chunks, start=0):
    """Steps through X from `start` in chunks of the given sizes."""
    outputs = []
    for size in chunks:
        out, state = layer.step(X[:, start : start + size], state)
        outputs.append(numpy(out))
        start += size
    return np.concatenate(outputs, axis=1), state


def with_garbage(state, seed=1):
    """The same cache with large random values in every slot."""
    keys, values, length = state
    rng = np.random.default_rng(seed)
    return (
        ops.convert_to_tensor(100 * rng.normal(size=keys.shape).astype("float32")),
        ops.convert_to_tensor(100 * rng.normal(size=values.shape).astype("float32")),
        length,
    )


@pytest.mark.parametrize("value_dim", [None, 6])
@pytest.mark.parametrize(
    "chunks",
    [[1] * T, [3, 1, 2, 1]],
    ids=["one-token", "multi-token"],
)
def test_fixed_cache_equals_the_causal_call(value_dim, chunks):
    layer = built_layer(value_dim)
    full = numpy(layer(X, X, use_causal_mask=True))
    state = layer.get_initial_state(B, max_length=T + 3)  # spare slots too
    shapes = (tuple(state[0].shape), tuple(state[1].shape))
    got, state = run_steps(layer, state, chunks)
    np.testing.assert_allclose(got, full, atol=1e-5)
    assert (tuple(state[0].shape), tuple(state[1].shape)) == shapes
    assert shapes == ((B, T + 3, HEADS, 4), (B, T + 3, HEADS, value_dim or 4))
    assert tuple(state[2].shape) == ()
    assert int(numpy(state[2])) == T


@pytest.mark.parametrize("value_dim", [None, 6])
def test_unused_slots_are_masked(value_dim):
    """Garbage beyond the filled length, and in the slots that new tokens
    overwrite, changes nothing: only positions < length + i + 1 are read."""
    layer = built_layer(value_dim)
    full = numpy(layer(X, X, use_causal_mask=True))
    state = with_garbage(layer.get_initial_state(B, max_length=T + 2))
    prompt, state = layer.step(X[:, :3], state)
    np.testing.assert_allclose(numpy(prompt), full[:, :3], atol=1e-5)
    # Refill the not yet written slots (3..) with other garbage.
    keys, values, length = state
    fresh = with_garbage(state, seed=2)
    filled = (np.arange(T + 2) < 3)[None, :, None, None]
    state = (
        ops.where(filled, keys, fresh[0]),
        ops.where(filled, values, fresh[1]),
        length,
    )
    rest, _ = run_steps(layer, state, [2, 1, 1], start=3)
    np.testing.assert_allclose(rest, full[:, 3:], atol=1e-5)


def test_stepping_past_max_length_raises():
    layer = built_layer()
    state = layer.get_initial_state(B, max_length=4)
    _, state = layer.step(X[:, :3], state)
    with pytest.raises(ValueError, match=r"holds 4 positions.*3 are filled.*2 new"):
        layer.step(X[:, 3:5], state)
    _, state = layer.step(X[:, 3:4], state)  # exactly full is fine
    with pytest.raises(ValueError, match="max_length"):
        layer.step(X[:, 4:5], state)
    with pytest.raises(ValueError, match="max_length"):
        layer.step(X[:, :5], layer.get_initial_state(B, max_length=4))


@pytest.mark.parametrize("max_length", [0, -2, 2.5, True, "8"])
def test_bad_max_length_is_refused(max_length):
    with pytest.raises(ValueError, match="max_length: expected a positive int"):
        built_layer().get_initial_state(B, max_length=max_length)


def test_mixed_precision_fixed_cache_is_close_to_float32():
    layer = built_layer()
    mixed = MultiHeadAttention(HEADS, key_dim=4, dtype="mixed_bfloat16")
    mixed(X, X)
    mixed.set_weights(layer.get_weights())
    state = mixed.get_initial_state(B, max_length=T)
    assert keras.backend.standardize_dtype(state[0].dtype) == "bfloat16"
    got, state = run_steps(mixed, state, [2] + [1] * (T - 2))
    expected = numpy(layer(X, X, use_causal_mask=True))
    np.testing.assert_allclose(got.astype("float32"), expected, atol=0.1)
    assert keras.backend.standardize_dtype(state[0].dtype) == "bfloat16"


@pytest.mark.parametrize("fixed", [False, True], ids=["growing", "fixed"])
@pytest.mark.parametrize(
    "options",
    [
        {"use_gate": True},
        {"sliding_window": 3},
        {"use_gate": True, "sliding_window": 2, "value_dim": 6},
        {"int8": True, "use_gate": True},
    ],
    ids=["gate", "window", "gate-window-explicit", "int8"],
)
def test_cache_with_keras_options_equals_the_causal_call(options, fixed):
    """Gated, windowed (the window slides with the cache) and quantized
    layers step as they call."""
    options = dict(options)
    quantize = options.pop("int8", False)
    layer = MultiHeadAttention(HEADS, key_dim=4, **options)
    layer(X, X)
    if quantize:
        for sublayer in layer._flatten_layers(include_self=False):
            if isinstance(sublayer, keras.layers.EinsumDense):
                sublayer.quantize("int8")
    full = numpy(layer(X, X, use_causal_mask=True))
    state = layer.get_initial_state(B, max_length=T + 1 if fixed else None)
    got, _ = run_steps(layer, state, [3, 1, 2, 1])
    np.testing.assert_allclose(got, full, atol=1e-5)


def test_projected_memory_with_gate_and_window_equals_the_call():
    layer = MultiHeadAttention(HEADS, key_dim=4, use_gate=True, sliding_window=2)
    expected = numpy(layer(X, MEMORY, value_mask=MEMORY_MASK))
    key_value = layer.project_key_value(MEMORY)
    got = layer.attend_key_value(X, key_value, value_mask=MEMORY_MASK)
    np.testing.assert_allclose(numpy(got), expected, atol=1e-5)


def test_projected_memory_equals_cross_attention_call():
    layer = MultiHeadAttention(HEADS, key_dim=4)
    expected = numpy(layer(X, MEMORY, value_mask=MEMORY_MASK))
    key_value = layer.project_key_value(MEMORY)
    assert tuple(key_value[0].shape) == (B, 5, HEADS, 4)
    got = layer.attend_key_value(X, key_value, value_mask=MEMORY_MASK)
    np.testing.assert_allclose(numpy(got), expected, atol=1e-5)
    # The mask is applied: without it the padded keys would change row 0.
    unmasked = numpy(layer.attend_key_value(X, key_value))
    assert np.abs(unmasked[0] - expected[0]).max() > 1e-3


@pytest.mark.parametrize(
    "attention, feature_dim", [("softmax", None), ("linear", None), ("linear", 3)]
)
def test_decoder_block_steps_equal_its_call(attention, feature_dim):
    block = TransformerDecoderBlock(
        HEADS, 16, attention, dropout=0.0, feature_dim=feature_dim
    )
    full = numpy(block(X, MEMORY, encoder_outputs_mask=MEMORY_MASK))
    state = block.get_initial_state(B, max_length=T)
    cross = block.cross_key_value(MEMORY)
    assert (cross is None) == (attention == "linear")
    outputs = []
    for t in range(T):
        out, state = block.step(
            X[:, t : t + 1], MEMORY, state, MEMORY_MASK, cross_key_value=cross
        )
        outputs.append(numpy(out))
    np.testing.assert_allclose(np.concatenate(outputs, 1), full, atol=1e-5)


def test_generator_fixed_cache_equals_the_model_and_reorders_rows():
    keras.utils.set_random_seed(0)
    model = build_seq2seq("transformer", 12, 8, num_heads=2, num_layers=1)
    generator = generator_for(model)
    sources = RNG.integers(4, 12, size=(3, 5)).astype("int32")
    sources[0, 3:] = 0
    decoder_in = np.array([[1, 5, 6, 7], [1, 8, 9, 4], [1, 4, 4, 5]], "int32")
    full = numpy(model([sources, decoder_in]))
    memory = generator.encode(sources)
    state = generator.initial_state(memory, max_length=6)
    for t in range(2):
        logits, state = generator.step(decoder_in[:, t : t + 1], state, memory)
        np.testing.assert_allclose(numpy(logits), full[:, t], atol=1e-4)
    # Beam search reorders the rows of the caches: the length (a scalar
    # shared by every row) stays; later steps follow the reordered rows.
    rows = [2, 0, 0]
    state = generator.reorder(state, rows)
    memory = generator.reorder(memory, rows)
    for block_cache in state["caches"]:
        assert tuple(block_cache[0].shape)[:2] == (3, 6)
        assert int(numpy(block_cache[2])) == 2
    for t in range(2, 4):
        logits, state = generator.step(decoder_in[rows, t : t + 1], state, memory)
        np.testing.assert_allclose(numpy(logits), full[rows, t], atol=1e-4)


def test_generator_refuses_steps_past_max_length_and_sees_new_weights():
    """Also for JAX's compiled step: the check runs before the program, and
    the weights are its arguments, not constants baked in at tracing."""
    keras.utils.set_random_seed(0)
    model = build_seq2seq("transformer", 12, 8, num_heads=2, num_layers=1)
    generator = generator_for(model)
    sources = np.array([[5, 6, 7]], "int32")
    decoder_in = np.array([[1, 5]], "int32")
    memory = generator.encode(sources)
    state = generator.initial_state(memory, max_length=2)
    _, state = generator.step(decoder_in[:, :1], state, memory)
    bias = model.get_layer("logits").bias
    bias.assign(bias + np.arange(12, dtype="float32"))
    logits, state = generator.step(decoder_in[:, 1:], state, memory)
    full = numpy(model([sources, decoder_in]))
    np.testing.assert_allclose(numpy(logits), full[:, 1], atol=1e-4)
    with pytest.raises(ValueError, match="holds 2 positions.*max_length"):
        generator.step(decoder_in[:, 1:], state, memory)


def test_the_decoders_preallocate_the_generation_length(monkeypatch):
    keras.utils.set_random_seed(0)
    generator = generator_for(
        build_seq2seq("transformer", 12, 8, num_heads=2, num_layers=1)
    )
    requested, original = [], generator.initial_state

    def recording(memory, max_length=None):
        requested.append(max_length)
        return original(memory, max_length=max_length)

    monkeypatch.setattr(generator, "initial_state", recording)
    sources = np.array([[5, 6, 7]], "int32")
    greedy(generator, sources, max_length=3)
    beam_search(generator, sources, max_length=2, width=2)
    assert requested == [3, 2]


@pytest.mark.jax_only
def test_one_compiled_program_per_generation_on_jax():
    """After the first step, a fixed cache compiles nothing new; the
    growing cache compiles again at every new length."""
    import jax

    compiles = []

    def listener(event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            compiles.append(event)

    # Sizes no other test uses: nothing of this layer is compiled yet.
    x = np.random.default_rng(3).normal(size=(3, T, 10)).astype("float32")
    layer = MultiHeadAttention(5, key_dim=3)
    layer(x, x)
    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        counts = {}
        for max_length in (T, None):
            state = layer.get_initial_state(3, max_length=max_length)
            _, state = layer.step(x[:, :1], state)
            before = len(compiles)
            for t in range(1, T):
                _, state = layer.step(x[:, t : t + 1], state)
            counts[max_length] = len(compiles) - before
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    assert counts[T] == 0
    assert counts[None] >= T - 1  # the test can fail


@pytest.mark.jax_only
def test_fixed_cache_step_traces_under_jit():
    """The length is a tensor: one traced program serves every step."""
    import jax

    layer = built_layer()
    full = numpy(layer(X, X, use_causal_mask=True))
    traces = []

    @jax.jit
    def step(query, keys, values, length):
        traces.append(1)
        return layer.step(query, (keys, values, length))

    state = layer.get_initial_state(B, max_length=T)
    outputs = []
    for t in range(T):
        out, state = step(X[:, t : t + 1], *state)
        outputs.append(numpy(out))
    np.testing.assert_allclose(np.concatenate(outputs, 1), full, atol=1e-5)
    assert len(traces) == 1


def test_feature_dim_sets_the_linear_state_to_the_taylor_size():
    # The recurrent state S per head is M x d_v with M = 1 + f + f^2 (Taylor
    # map of the f-wide queries and keys), z is M: f = 3 gives 13 rows,
    # the head size (D / HEADS = 4) 21.
    for feature_dim, features in ((3, 13), (None, 21)):
        block = TransformerDecoderBlock(
            HEADS, 16, "linear", dropout=0.0, feature_dim=feature_dim
        )
        block(X, MEMORY)
        s, z = block.get_initial_state(B)
        assert tuple(s.shape) == (B, HEADS, features, D // HEADS)
        assert tuple(z.shape)[-1] == features


def test_feature_dim_without_linear_attention_is_refused():
    with pytest.raises(ValueError, match="only linear attention has a feature map"):
        TransformerDecoderBlock(HEADS, 16, "softmax", feature_dim=3)
    with pytest.raises(ValueError, match="'transformer-linear' only"):
        build_seq2seq("transformer", 20, 8, num_heads=2, feature_dim=3)
