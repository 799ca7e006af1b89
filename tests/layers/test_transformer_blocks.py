"""The transformer blocks' knobs (keras-hub's names): post-norm wiring by
its formula, the cached step under every knob, and a config that keeps them."""

import keras
import numpy as np
import pytest
from keras import ops

from zoo.layers import TransformerDecoderBlock, TransformerEncoderBlock

KNOBS = dict(
    activation="relu",
    layer_norm_epsilon=1e-3,
    kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.3, seed=1),
    bias_initializer="ones",
    normalize_first=False,
)


def numpy_of(x):
    return np.asarray(ops.convert_to_numpy(x))


def tensors(*shapes):
    rng = np.random.default_rng(0)
    return [ops.convert_to_tensor(rng.normal(size=s), "float32") for s in shapes]


@pytest.mark.parametrize("normalize_first", [True, False])
def test_encoder_block_is_its_formula(normalize_first):
    (x,) = tensors((2, 5, 8))
    block = TransformerEncoderBlock(2, 16, dropout=0.0, normalize_first=normalize_first)
    out = numpy_of(block(x))

    def attend(y):
        return block.self_attention(y, y)

    if normalize_first:
        y = x + attend(block.norm1(x))
        expected = y + block.feed_forward(block.norm2(y))
    else:
        y = block.norm1(x + attend(x))
        expected = block.norm2(y + block.feed_forward(y))
    np.testing.assert_allclose(out, numpy_of(expected), atol=1e-5)


def test_post_norm_decoder_block_is_its_formula():
    x, memory = tensors((2, 4, 8), (2, 6, 8))
    block = TransformerDecoderBlock(2, 16, dropout=0.0, normalize_first=False)
    out = numpy_of(block(x, memory))
    norm1, norm2, norm3 = block.norms
    attended = norm1(x + block.self_attention(x, x, use_causal_mask=True))
    y = norm2(attended + block.cross_attention(attended, memory))
    expected = norm3(y + block.feed_forward(y))
    np.testing.assert_allclose(out, numpy_of(expected), atol=1e-5)
    scores = numpy_of(block.cross_attention_scores(x, memory))
    _, reference = block.cross_attention(attended, memory, return_attention_scores=True)
    np.testing.assert_allclose(scores, numpy_of(reference), atol=1e-6)


@pytest.mark.parametrize("attention", ["softmax", "linear"])
def test_the_cached_step_equals_the_full_block_with_every_knob(attention):
    x, memory = tensors((2, 5, 8), (2, 6, 8))
    block = TransformerDecoderBlock(2, 16, attention, dropout=0.0, **KNOBS)
    full = numpy_of(block(x, memory))
    state = block.get_initial_state(2, max_length=5)
    for t in range(5):
        out, state = block.step(x[:, t : t + 1], memory, state)
        np.testing.assert_allclose(numpy_of(out)[:, 0], full[:, t], atol=1e-4)


def test_the_knobs_reach_the_sublayers():
    (x,) = tensors((2, 3, 8))
    block = TransformerEncoderBlock(2, 16, **KNOBS)
    block(x)
    assert [n.epsilon for n in (block.norm1, block.norm2)] == [1e-3, 1e-3]
    hidden, _, output = block.feed_forward.layers
    assert hidden.activation is keras.activations.relu
    # "ones" biases everywhere; kernels drawn from the truncated normal (|w| < 2 sd).
    biases = [v for v in block.weights if v.path.endswith("bias")]
    kernels = [v for v in block.weights if v.path.endswith("kernel")]
    assert len(biases) == len(kernels) == 6  # q, k, v, o and two dense
    for bias in biases:
        np.testing.assert_array_equal(numpy_of(bias), 1.0)
    for kernel in kernels:
        values = numpy_of(kernel)
        assert np.abs(values).max() <= 0.6 and values.std() > 0.1


def test_a_plain_function_initializer_builds():
    def halves(shape, dtype=None):
        return ops.full(shape, 0.5, dtype=dtype)

    (x,) = tensors((2, 3, 8))
    block = TransformerEncoderBlock(2, 16, kernel_initializer=halves)
    block(x)
    np.testing.assert_array_equal(numpy_of(block.feed_forward.layers[0].kernel), 0.5)


@pytest.mark.parametrize("cls", [TransformerEncoderBlock, TransformerDecoderBlock])
def test_a_block_rebuilt_from_its_config_keeps_every_knob(cls):
    x, memory = tensors((2, 3, 8), (2, 4, 8))
    args = (x,) if cls is TransformerEncoderBlock else (x, memory)
    block = cls(2, 16, dropout=0.0, **KNOBS)
    expected = numpy_of(block(*args))
    config = block.get_config()
    copy = cls.from_config(config)
    copy(*args)
    copy.set_weights(block.get_weights())
    assert copy.get_config() == config
    assert config["activation"] == "relu" and config["normalize_first"] is False
    np.testing.assert_allclose(numpy_of(copy(*args)), expected, atol=1e-6)


def test_defaults_are_the_zoo_s_pre_norm_gelu_block():
    config = TransformerEncoderBlock(2, 16).get_config()
    assert config["activation"] == "gelu" and config["normalize_first"] is True
    assert config["layer_norm_epsilon"] == 1e-5
    assert config["kernel_initializer"] == "glorot_uniform"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(layer_norm_epsilon=0.0), "layer_norm_epsilon: expected a positive"),
        (dict(kernel_initializer=3), "Could not interpret initializer"),
    ],
)
def test_bad_knobs_are_refused_at_construction(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TransformerEncoderBlock(2, 16, **kwargs)
