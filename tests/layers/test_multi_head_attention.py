"""zoo.layers.MultiHeadAttention against keras.layers.MultiHeadAttention."""

import keras
import numpy as np
import pytest
from keras import ops

from zoo.layers import MultiHeadAttention
from zoo.testing import input_gradient, run_layer_test

B, T, S, D = 2, 6, 5, 8
RNG = np.random.default_rng(0)
X = RNG.normal(size=(B, T, D)).astype("float32")
Y = RNG.normal(size=(B, S, D)).astype("float32")
QUERY_MASK = np.array([[1, 1, 1, 1, 0, 0], [1] * T], bool)
KEY_MASK_T = np.array([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1]], bool)
KEY_MASK_S = np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 1]], bool)


def numpy(x):
    return ops.convert_to_numpy(x)


def twin_layers(**kwargs):
    """A Keras MHA and ours with identical weights."""
    reference = keras.layers.MultiHeadAttention(**kwargs)
    ours = MultiHeadAttention(**kwargs)
    # Keras' fused path fails on jax when value_dim != key_dim; build through
    # its explicit path instead.
    reference(X, Y, return_attention_scores=True)
    ours(X, Y)
    ours.set_weights(reference.get_weights())
    return reference, ours


def merged_mask(query_mask, key_mask, causal, t, s):
    """Keras' own merge rule, written out: q[:, :, None] & k[:, None, :] & tril."""
    mask = np.ones((B, t, s), bool)
    if query_mask is not None:
        mask &= query_mask[:, :, None]
    if key_mask is not None:
        mask &= key_mask[:, None, :]
    if causal:
        mask &= np.tril(np.ones((t, s), bool))[None]
    return mask


def test_layer_contract_self_attention(tmp_path):
    run_layer_test(
        MultiHeadAttention,
        {"num_heads": 2, "key_dim": 4, "seed": 3},
        {"query": X, "value": X},
        expected_output_shape=(B, T, D),
        expected_num_trainable_weights=8,
        call_kwargs={"use_causal_mask": True},
        tmp_path=tmp_path,
    )


def test_layer_contract_cross_attention_no_bias(tmp_path):
    run_layer_test(
        MultiHeadAttention,
        {"num_heads": 2, "value_dim": 3, "use_bias": False, "output_shape": 7},
        {"query": X, "value": Y},
        expected_output_shape=(B, T, 7),
        expected_num_trainable_weights=4,
        tmp_path=tmp_path,
    )


@pytest.mark.parametrize("self_attention", [True, False], ids=["self", "cross"])
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("masked", [False, True], ids=["nomask", "mask"])
def test_matches_keras(self_attention, causal, masked):
    value = X if self_attention else Y
    s = value.shape[1]
    key_mask = (KEY_MASK_T if self_attention else KEY_MASK_S) if masked else None
    query_mask = QUERY_MASK if masked else None
    reference, ours = twin_layers(num_heads=2, key_dim=3, value_dim=5)
    # Keras ignores an explicit query_mask argument (it reads Keras masks
    # only), so the reference gets the equivalent merged attention_mask.
    if masked or causal:
        mask = merged_mask(query_mask, key_mask, causal, T, s)
        ref_out, ref_scores = reference(
            X, value, attention_mask=mask, return_attention_scores=True
        )
    else:
        ref_out, ref_scores = reference(X, value, return_attention_scores=True)
    kwargs = {
        "query_mask": query_mask,
        "value_mask": key_mask,
        "use_causal_mask": causal,
    }
    fast = ours(X, value, **kwargs)
    explicit, scores = ours(X, value, return_attention_scores=True, **kwargs)
    np.testing.assert_allclose(numpy(fast), numpy(ref_out), atol=1e-5)
    np.testing.assert_allclose(numpy(explicit), numpy(ref_out), atol=1e-5)
    np.testing.assert_allclose(numpy(scores), numpy(ref_scores), atol=1e-5)


def test_matches_explicit_numpy_formula():
    """Sheet B2 written out in numpy: per-head softmax(QK^T/sqrt(d_h))V, W^(o)."""
    layer = MultiHeadAttention(num_heads=2, key_dim=3, value_dim=4)
    out = numpy(layer(X, Y))
    wq, bq, wk, bk, wv, bv, wo, bo = [numpy(w) for w in layer.weights]
    heads = []
    for h in range(2):
        q = X @ wq[:, h] + bq[h]
        k = Y @ wk[:, h] + bk[h]
        v = Y @ wv[:, h] + bv[h]
        logits = q @ k.transpose(0, 2, 1) / np.sqrt(3.0)
        weights = np.exp(logits - logits.max(-1, keepdims=True))
        weights /= weights.sum(-1, keepdims=True)
        heads.append(weights @ v)
    expected = np.concatenate(heads, -1) @ wo.reshape(8, D) + bo
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_keras_masks_propagate_through_a_model():
    query_in, value_in = keras.Input((T, D)), keras.Input((S, D))
    layer = MultiHeadAttention(num_heads=2, key_dim=4)
    output = layer(keras.layers.Masking()(query_in), keras.layers.Masking()(value_in))
    assert getattr(output, "_keras_mask", None) is not None
    model = keras.Model([query_in, value_in], output)
    reference = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    reference(X, Y)
    reference.set_weights(layer.get_weights())
    x, y = X * QUERY_MASK[..., None], Y * KEY_MASK_S[..., None]
    mask = merged_mask(QUERY_MASK, KEY_MASK_S, False, T, S)
    # Keras' explicit path: its fused path gives padded queries uniform
    # weights instead of none.
    expected, _ = reference(x, y, attention_mask=mask, return_attention_scores=True)
    np.testing.assert_allclose(numpy(model([x, y])), numpy(expected), atol=1e-5)


def test_fully_masked_rows_give_zeros_and_finite_gradients():
    layer = MultiHeadAttention(num_heads=2, key_dim=4, use_bias=False)
    key_mask = np.zeros((B, T), bool)
    key_mask[1] = True  # batch 0: every key padded

    def fn(x):
        return layer(x, x, value_mask=key_mask)

    out = numpy(fn(X))
    np.testing.assert_array_equal(out[0], 0.0)
    assert np.all(np.isfinite(input_gradient(fn, X)))


@pytest.mark.parametrize("causal", [False, True])
def test_gradients_match_keras(causal):
    reference, ours = twin_layers(num_heads=2, key_dim=4)
    projection = RNG.normal(size=(1, 1, D)).astype("float32")

    def loss_terms(layer):
        return lambda x: ops.multiply(layer(x, x, use_causal_mask=causal), projection)

    ours_grad = input_gradient(loss_terms(ours), X)
    ref_grad = input_gradient(loss_terms(reference), X)
    assert np.all(np.isfinite(ours_grad))
    np.testing.assert_allclose(ours_grad, ref_grad, atol=1e-5)


def test_dropout_only_in_training():
    reference, ours = twin_layers(num_heads=2, key_dim=4)
    ours_dropout = MultiHeadAttention(num_heads=2, key_dim=4, dropout=0.5, seed=1)
    ours_dropout(X, Y)
    ours_dropout.set_weights(reference.get_weights())
    inference = numpy(ours_dropout(X, Y, training=False))
    np.testing.assert_allclose(inference, numpy(reference(X, Y)), atol=1e-5)
    _, scores = ours_dropout(X, Y, training=True, return_attention_scores=True)
    np.testing.assert_allclose(numpy(scores).sum(-1), 1.0, atol=1e-5)
    trained = numpy(ours_dropout(X, Y, training=True))
    assert not np.allclose(trained, inference, atol=1e-3)


def test_mixed_precision_is_close_to_float32():
    reference, ours = twin_layers(num_heads=2, key_dim=4)
    mixed = MultiHeadAttention(num_heads=2, key_dim=4, dtype="mixed_bfloat16")
    mixed(X, Y)
    mixed.set_weights(ours.get_weights())
    got = numpy(ops.cast(mixed(X, Y, use_causal_mask=True), "float32"))
    expected = numpy(ours(X, Y, use_causal_mask=True))
    np.testing.assert_allclose(got, expected, atol=0.1)


@pytest.mark.parametrize(
    "kwargs, call, match",
    [
        ({"num_heads": 0}, None, "num_heads"),
        ({"num_heads": 2, "dropout": 1.5}, None, "dropout"),
        ({"num_heads": 2, "key_dim": -1}, None, "key_dim"),
        ({"num_heads": 3}, lambda layer: layer(X, X), "key_dim.*divisible"),
        ({"num_heads": 2}, lambda layer: layer(X[0], X[0]), "query.*rank-3"),
        (
            {"num_heads": 2},
            lambda layer: layer(X, Y, attention_mask=np.ones((B, T, T), bool)),
            r"attention_mask.*\(2, 6, 5\)",
        ),
        (
            {"num_heads": 2},
            lambda layer: layer(X, Y, value_mask=np.ones((B, T), bool)),
            "value_mask",
        ),
        ({"num_heads": 2}, lambda layer: layer(X, Y, key=X), "same length"),
        # A value (or key) from other batch items would be mixed in silently.
        (
            {"num_heads": 2},
            lambda layer: layer(X, Y[:1]),
            r"value: the batch size.*query.shape=\(2, .*value.shape=\(1, ",
        ),
        (
            {"num_heads": 2},
            lambda layer: layer(X, Y, key=Y[:1]),
            r"key: the batch size",
        ),
    ],
)
def test_bad_input_names_the_argument(kwargs, call, match):
    with pytest.raises(ValueError, match=match):
        layer = MultiHeadAttention(**kwargs)
        call(layer)
