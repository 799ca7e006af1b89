"""zoo.layers.LinearAttention against the explicit L x L computation in numpy."""

import keras
import numpy as np
import pytest
from keras import ops

from zoo.layers import LinearAttention, MultiHeadAttention
from zoo.testing import input_gradient, run_layer_test

B, L, D, HEADS, F = 2, 11, 8, 2, 3
RNG = np.random.default_rng(7)
X = RNG.normal(size=(B, L, D)).astype("float32")
Y = RNG.normal(size=(B, L - 2, D)).astype("float32")
KEY_MASK = np.ones((B, L), bool)
KEY_MASK[0, 7:] = False
KEY_MASK[1, :2] = False
EPS = 1e-6


def numpy(x):
    return ops.convert_to_numpy(x)


def kernel_matrix(name, layer, q, k):
    """K[b, t, s] = phi(q_t) . phi(k_s), written without the layer's code."""
    if name == "taylor":
        s = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1])
        return 1.0 + s + s * s / 2.0
    if name in ("elu", "relu"):
        act = (
            (lambda x: np.where(x > 0, x + 1.0, np.exp(x)))
            if name == "elu"
            else (lambda x: np.maximum(x, 0.0))
        )
        return act(q) @ act(k).transpose(0, 2, 1)
    if name == "favor":
        proj = numpy(layer.feature_map.projection)  # (F, m)

        def phi(x):
            x = x / q.shape[-1] ** 0.25
            return np.exp(x @ proj - 0.5 * (x * x).sum(-1, keepdims=True)) / np.sqrt(
                proj.shape[1]
            )

        return phi(q) @ phi(k).transpose(0, 2, 1)
    raise AssertionError(name)


def explicit_reference(
    name, layer, query, value, key_mask=None, causal=False, query_mask=None
):
    """Quadratic linear attention: A = K(q, k) masked, out = A v / (A 1 + eps).

    Padded queries (`query_mask` False) attend to nothing: their heads are 0.
    `key_mask` is `(B, S)`, or `(B, H, S)` per head. The weights are the
    effective ones (LoRA included); the output keeps `output_shape`.
    """
    wq, bq, wk, bk, wv, bv, wo, bo = [
        numpy(getattr(layer, f"{part}_{kind}"))
        for part in ("query", "key", "value", "output")
        for kind in ("kernel", "bias")
    ]
    heads = []
    for h in range(layer.num_heads):
        q = query @ wq[:, h] + bq[h]
        k = value @ wk[:, h] + bk[h]
        v = value @ wv[:, h] + bv[h]
        a = kernel_matrix(name, layer, q.astype("float64"), k.astype("float64"))
        if key_mask is not None:
            a = a * (key_mask[:, h] if key_mask.ndim == 3 else key_mask)[:, None, :]
        if causal:
            a = a * np.tril(np.ones(a.shape[1:]))[None]
        out = a @ v / (a.sum(-1, keepdims=True) + EPS)
        if query_mask is not None:
            out = out * query_mask[:, :, None]
        heads.append(out)
    out = np.concatenate(heads, -1) @ wo.reshape(-1, bo.size) + bo.reshape(-1)
    return out.reshape(*out.shape[:-1], *bo.shape)


@pytest.mark.parametrize("feature_map", ["taylor", "elu", "relu", "favor"])
def test_layer_contract(feature_map, tmp_path):
    run_layer_test(
        LinearAttention,
        {"num_heads": HEADS, "feature_dim": F, "feature_map": feature_map, "seed": 5},
        {"query": X, "value": X},
        expected_output_shape=(B, L, D),
        expected_num_trainable_weights=8,
        expected_num_non_trainable_weights=1 if feature_map == "favor" else 0,
        call_kwargs={"use_causal_mask": True},
        tmp_path=tmp_path,
    )


def test_layer_contract_with_keras_options(tmp_path):
    run_layer_test(
        LinearAttention,
        {
            "num_heads": HEADS,
            "feature_dim": F,
            "output_shape": (2, 4),
            "kernel_constraint": "max_norm",
            "bias_constraint": "non_neg",
            "kernel_regularizer": "l2",
            "activity_regularizer": "l2",
        },
        {"query": X, "value": Y},
        expected_output_shape=(B, L, 2, 4),
        expected_num_trainable_weights=8,
        tmp_path=tmp_path,
    )


@pytest.mark.parametrize("feature_map", ["taylor", "elu", "relu", "favor"])
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("masked", [False, True], ids=["nomask", "mask"])
def test_equals_explicit_quadratic_computation(feature_map, causal, masked):
    layer = LinearAttention(
        num_heads=HEADS, feature_dim=F, feature_map=feature_map, chunk_size=4, seed=2
    )
    key_mask = KEY_MASK if masked else None
    out = numpy(layer(X, X, value_mask=key_mask, use_causal_mask=causal))
    expected = explicit_reference(feature_map, layer, X, X, key_mask, causal)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_cross_attention_equals_explicit_computation():
    layer = LinearAttention(num_heads=HEADS, key_dim=4, value_dim=3, output_shape=5)
    out = numpy(layer(X, Y))
    np.testing.assert_allclose(
        out, explicit_reference("taylor", layer, X, Y), rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize("chunk_size", [1, 3, 4, 64])
def test_causal_output_does_not_depend_on_chunk_size(chunk_size):
    layer = LinearAttention(num_heads=HEADS, feature_dim=F, chunk_size=chunk_size)
    out = numpy(layer(X, X, use_causal_mask=True))
    expected = explicit_reference("taylor", layer, X, X, causal=True)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_recurrent_steps_reproduce_the_causal_output():
    layer = LinearAttention(num_heads=HEADS, feature_dim=F, chunk_size=4)
    full = numpy(layer(X, X, use_causal_mask=True))
    state = layer.get_initial_state(B)
    steps = []
    for t in range(L):
        out, state = layer.step(X[:, t : t + 1], state)
        steps.append(numpy(out))
    np.testing.assert_allclose(np.concatenate(steps, 1), full, rtol=1e-5, atol=1e-5)
    # A prompt in one call, then single tokens, gives the same again.
    state = layer.get_initial_state(B)
    prompt, state = layer.step(X[:, :6], state)
    rest = []
    for t in range(6, L):
        out, state = layer.step(X[:, t : t + 1], state)
        rest.append(numpy(out))
    np.testing.assert_allclose(
        np.concatenate([numpy(prompt), *rest], 1), full, rtol=1e-5, atol=1e-5
    )


def test_state_size_is_constant_in_the_length():
    layer = LinearAttention(num_heads=HEADS, feature_dim=F)
    layer(X, X)
    state = layer.get_initial_state(B)
    shapes = [tuple(s.shape) for s in state]
    for t in range(4):
        _, state = layer.step(X[:, t : t + 1], state)
        assert [tuple(s.shape) for s in state] == shapes
    assert shapes == [(B, HEADS, 1 + F + F * F, D // HEADS), (B, HEADS, 1 + F + F * F)]
    assert all(keras.backend.standardize_dtype(s.dtype) == "float32" for s in state)


def test_padded_keys_have_no_influence():
    layer = LinearAttention(num_heads=HEADS, feature_dim=F)
    changed = X.copy()
    changed[~KEY_MASK] = 100.0
    first = numpy(layer(X, X, value_mask=KEY_MASK))
    # Only keys/values change: pass the original queries.
    second = numpy(layer(X, changed, value_mask=KEY_MASK))
    np.testing.assert_allclose(first, second, rtol=1e-5, atol=1e-5)


def test_keras_masking_reaches_the_layer():
    inputs = keras.Input((L, D))
    masked = keras.layers.Masking()(inputs)
    layer = LinearAttention(num_heads=HEADS, feature_dim=F)
    output = layer(masked, masked)
    model = keras.Model(inputs, output)
    x = X * KEY_MASK[..., None]
    # Self-attention: the mask pads the keys and the queries alike.
    expected = explicit_reference("taylor", layer, x, x, KEY_MASK, query_mask=KEY_MASK)
    np.testing.assert_allclose(numpy(model(x)), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "shape",
    [(B, 1, L), (1, L), (B, HEADS, 1, L)],
    ids=["B1S", "1S", "BH1S"],
)
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_key_attention_masks_apply_in_linear_time(shape, causal):
    """An attention_mask of query axis 1 masks keys (per head if it has heads)."""
    layer = LinearAttention(num_heads=HEADS, feature_dim=F, chunk_size=4)
    mask = np.random.default_rng(1).random(shape) < 0.7
    mask[..., 0] = True
    out = numpy(layer(X, X, attention_mask=mask, use_causal_mask=causal))
    # Keras' rule: axes go in front of the (query, key) axes, then broadcast.
    keras_rank = mask.reshape(
        mask.shape[:-2] + (1,) * (4 - mask.ndim) + mask.shape[-2:]
    )
    per_head = np.broadcast_to(keras_rank, (B, HEADS, 1, L))[:, :, 0]
    expected = explicit_reference("taylor", layer, X, X, per_head, causal)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_padded_queries_attend_to_nothing():
    """As in MultiHeadAttention: a padded query's heads are zero."""
    layer = LinearAttention(num_heads=HEADS, feature_dim=F, bias_initializer="ones")
    query_mask = KEY_MASK
    out, weights = layer(X, Y, query_mask=query_mask, return_attention_scores=True)
    expected = explicit_reference("taylor", layer, X, Y, query_mask=query_mask)
    np.testing.assert_allclose(numpy(out), expected, rtol=1e-5, atol=1e-5)
    weights = numpy(weights).transpose(0, 2, 1, 3)  # (B, T, H, S)
    assert np.all(weights[~query_mask] == 0.0)
    np.testing.assert_allclose(weights[query_mask].sum(-1), 1.0, atol=1e-5)


def test_output_shape_tuple_equals_explicit_computation():
    layer = LinearAttention(num_heads=HEADS, key_dim=4, output_shape=(2, 3))
    out = numpy(layer(X, Y))
    assert out.shape == (B, L, 2, 3)
    expected = explicit_reference("taylor", layer, X, Y)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_lora_equals_explicit_computation(causal):
    layer = LinearAttention(num_heads=HEADS, feature_dim=F, chunk_size=4)
    layer(X, X)
    for dense in (layer.query_dense, layer.key_dense, layer.value_dense):
        dense.enable_lora(2)
        dense.lora_kernel_b.assign(0.3 * RNG.normal(size=dense.lora_kernel_b.shape))
    # 3 biases, 6 adapters, the output kernel and bias; frozen Q, K, V kernels.
    assert (len(layer.trainable_weights), len(layer.non_trainable_weights)) == (11, 3)
    out = numpy(layer(X, X, use_causal_mask=causal))
    expected = explicit_reference("taylor", layer, X, X, causal=causal)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    # The adapters matter: without them the output differs.
    plain = LinearAttention(num_heads=HEADS, feature_dim=F, chunk_size=4)
    plain(X, X)
    plain.set_weights([numpy(w) for w in layer.weights if "lora" not in w.path])
    assert not np.allclose(numpy(plain(X, X, use_causal_mask=causal)), out, atol=1e-3)


def test_int8_quantization_and_policy_maps_reach_the_projections():
    layer = LinearAttention(num_heads=HEADS, feature_dim=F, name="lin")
    inputs = keras.Input((L, D))
    model = keras.Model(inputs, layer(inputs, inputs, use_causal_mask=True))
    float_out = numpy(model(X))
    model.quantize("int8")
    assert layer.query_dense.quantization_mode == "int8"
    got = numpy(model(X))
    assert 0 < np.mean((got - float_out) ** 2) < 1e-2
    # The recurrent form goes through the same quantized projections.
    state = layer.get_initial_state(B)
    steps = []
    for t in range(L):
        out, state = layer.step(X[:, t : t + 1], state)
        steps.append(numpy(out))
    np.testing.assert_allclose(np.concatenate(steps, 1), got, rtol=1e-5, atol=1e-5)
    policy_map = keras.dtype_policies.DTypePolicyMap()
    policy_map["lin/key"] = keras.dtype_policies.QuantizedDTypePolicy("int8", "float32")
    mapped = LinearAttention(
        num_heads=HEADS, feature_dim=F, dtype=policy_map, name="lin"
    )
    mapped.build(X.shape, X.shape)
    assert keras.backend.standardize_dtype(mapped.key_dense._kernel.dtype) == "int8"
    assert mapped.query_dense.quantization_mode is None


def test_keras_weights_copy_over():
    """The projections are Keras MultiHeadAttention's: its weights load."""
    reference = keras.layers.MultiHeadAttention(num_heads=HEADS, key_dim=4)
    reference(X, Y)
    layer = LinearAttention(num_heads=HEADS, key_dim=4)
    layer(X, Y)
    layer.set_weights(reference.get_weights())
    for ours, theirs in zip(layer.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_attention_scores_are_the_normalized_kernel():
    layer = LinearAttention(num_heads=HEADS, feature_dim=F)
    _, weights = layer(X, X, use_causal_mask=True, return_attention_scores=True)
    weights = numpy(weights)
    assert weights.shape == (B, HEADS, L, L)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
    assert np.all(np.triu(weights, 1) == 0)


def test_gradients_are_finite_and_match_finite_differences():
    layer = LinearAttention(num_heads=HEADS, feature_dim=F, chunk_size=4)
    projection = RNG.normal(size=(1, 1, D)).astype("float32")

    def fn(x):
        return ops.multiply(layer(x, x, use_causal_mask=True), projection)

    grad = input_gradient(fn, X)
    assert np.all(np.isfinite(grad))
    step = 1e-2
    bumped = X.copy()
    bumped[1, 3, 2] += step
    lowered = X.copy()
    lowered[1, 3, 2] -= step
    numeric = (numpy(fn(bumped)).sum() - numpy(fn(lowered)).sum()) / (2 * step)
    np.testing.assert_allclose(grad[1, 3, 2], numeric, rtol=2e-2, atol=2e-3)


def test_mixed_precision_accumulates_in_float32():
    exact = LinearAttention(num_heads=HEADS, feature_dim=F)
    exact(X, X)
    mixed = LinearAttention(num_heads=HEADS, feature_dim=F, dtype="mixed_bfloat16")
    mixed(X, X)
    mixed.set_weights(exact.get_weights())
    got = numpy(ops.cast(mixed(X, X, use_causal_mask=True), "float32"))
    np.testing.assert_allclose(got, numpy(exact(X, X, use_causal_mask=True)), atol=0.1)
    state = mixed.get_initial_state(B)
    _, state = mixed.step(X[:, :1], state)
    assert all(keras.backend.standardize_dtype(s.dtype) == "float32" for s in state)


@pytest.mark.parametrize("attention_cls", [MultiHeadAttention, LinearAttention])
def test_swapping_attention_is_one_argument(attention_cls):
    """The same decoder-style block trains with either attention class."""
    inputs = keras.Input((L, D))
    attended = attention_cls(num_heads=HEADS, key_dim=4)(
        inputs, inputs, use_causal_mask=True
    )
    outputs = keras.layers.Dense(1)(
        keras.layers.LayerNormalization()(inputs + attended)
    )
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    target = X[..., :1].cumsum(1) / np.arange(1, L + 1)[None, :, None]
    losses = model.fit(X, target, epochs=8, batch_size=B, verbose=0).history["loss"]
    assert losses[-1] < losses[0]


@pytest.mark.parametrize(
    "kwargs, call, match",
    [
        ({"num_heads": 2, "feature_map": "cosine"}, None, "feature_map.*cosine"),
        ({"num_heads": 2, "feature_map": 3}, None, "feature_map"),
        ({"num_heads": 2, "chunk_size": 0}, None, "chunk_size"),
        ({"num_heads": 2, "chunk_size": -4}, None, "chunk_size"),
        ({"num_heads": 2, "epsilon": 0.0}, None, "epsilon"),
        ({"num_heads": 2, "feature_dim": 0}, None, "feature_dim"),
        (
            {"num_heads": 2},
            lambda layer: layer(X, X, attention_mask=np.ones((B, L, L), bool)),
            "attention_mask",
        ),
        (
            {"num_heads": 2},
            lambda layer: layer(X, Y, use_causal_mask=True),
            "use_causal_mask",
        ),
        (
            {"num_heads": 2},
            lambda layer: layer(X, X, value_mask=np.ones((B, 3), bool)),
            "value_mask",
        ),
        (
            {"num_heads": 2},
            lambda layer: layer.get_initial_state(1),
            "not built",
        ),
        # A value (or key) from other batch items would be mixed in silently.
        (
            {"num_heads": 2},
            lambda layer: layer(X, Y[:1]),
            r"value: the batch size.*query.shape=\(2, .*value.shape=\(1, ",
        ),
        (
            {"num_heads": 2},
            lambda layer: layer(X, X, attention_mask=np.ones((L, L), bool)),
            r"attention_mask.*query axis 1.*\(11, 11\)",
        ),
        (
            {"num_heads": 2},
            lambda layer: layer(X, X, attention_mask=np.ones((B, 1, 3), bool)),
            r"attention_mask: expected a mask of shape \(2, 11, 11\)",
        ),
        ({"num_heads": 2}, lambda layer: layer(X, Y, key=X), "must be equal"),
        ({"num_heads": 2}, lambda layer: layer(X[:, None], X[:, None]), "rank-3"),
        ({"num_heads": 2, "output_shape": 8.0}, None, "Invalid `output_shape`"),
        ({"num_heads": 0}, None, "argument `num_heads`"),
        (
            {"num_heads": 2},
            lambda layer: layer(X, Y, key=Y[:1]),
            r"key: the batch size",
        ),
    ],
)
def test_bad_input_names_the_argument(kwargs, call, match):
    with pytest.raises(ValueError, match=match):
        layer = LinearAttention(**kwargs)
        call(layer)
