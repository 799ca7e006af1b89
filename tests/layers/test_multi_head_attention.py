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


def twin_layers(query=X, value=Y, **kwargs):
    """A Keras MHA and ours with identical weights."""
    reference = keras.layers.MultiHeadAttention(**kwargs)
    ours = MultiHeadAttention(**kwargs)
    # Keras' fused path fails on jax when value_dim != key_dim; build through
    # its explicit path instead.
    reference(query, value, return_attention_scores=True)
    ours(query, value)
    ours.set_weights(reference.get_weights())
    return reference, ours


def assert_both_paths_match_keras(reference, ours, query, value, **kwargs):
    """Our fused path (no scores) and explicit path against Keras' explicit one."""
    ref_out, ref_scores = reference(
        query, value, return_attention_scores=True, **kwargs
    )
    fast = ours(query, value, **kwargs)
    explicit, scores = ours(query, value, return_attention_scores=True, **kwargs)
    assert tuple(scores.shape) == tuple(ref_scores.shape)
    np.testing.assert_allclose(numpy(fast), numpy(ref_out), atol=1e-5)
    np.testing.assert_allclose(numpy(explicit), numpy(ref_out), atol=1e-5)
    np.testing.assert_allclose(numpy(scores), numpy(ref_scores), atol=1e-5)


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


X4 = RNG.normal(size=(B, 3, 4, D)).astype("float32")  # (B, free, positions, d)
Y4 = RNG.normal(size=(B, 3, 5, D)).astype("float32")

# id -> (init kwargs, call tensors, output shape, trainable weights). Each is
# saved to .keras and loaded back (safe mode), trained a step, run in bfloat16.
KERAS_OPTIONS = {
    "gate-window-constraints": (
        {
            "num_heads": 2,
            "key_dim": 4,
            "use_gate": True,
            "sliding_window": 2,
            "kernel_constraint": "max_norm",
            "bias_constraint": "non_neg",
            "kernel_regularizer": "l2",
            "activity_regularizer": "l2",
        },
        {"query": X, "value": X},
        (B, T, D),
        10,
    ),
    "output-tuple": (
        {"num_heads": 2, "key_dim": 4, "output_shape": (2, 3)},
        {"query": X, "value": Y},
        (B, T, 2, 3),
        8,
    ),
    "attention-axes": (
        {"num_heads": 2, "key_dim": 4, "attention_axes": -2, "use_gate": True},
        {"query": X4, "value": Y4},
        (B, 3, 4, D),
        10,
    ),
}


@pytest.mark.parametrize("case", KERAS_OPTIONS)
def test_layer_contract_with_keras_options(case, tmp_path):
    init_kwargs, inputs, shape, trainable = KERAS_OPTIONS[case]
    run_layer_test(
        MultiHeadAttention,
        init_kwargs,
        inputs,
        expected_output_shape=shape,
        expected_num_trainable_weights=trainable,
        call_kwargs={"use_causal_mask": case != "attention-axes"},
        tmp_path=tmp_path,
    )


@pytest.mark.parametrize("self_attention", [True, False], ids=["self", "cross"])
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize(
    "options",
    [
        {"use_gate": True},
        {"use_gate": True, "use_bias": False, "value_dim": 3},
        {"sliding_window": 2},
        {"output_shape": (2, 3)},
    ],
    ids=["gate", "gate-nobias-valuedim", "window", "output-tuple"],
)
def test_keras_options_match_keras(options, causal, self_attention):
    """Gated, windowed and tuple-shaped layers take Keras' weights and agree."""
    value = X if self_attention else Y
    reference, ours = twin_layers(X, value, num_heads=2, key_dim=4, **options)
    assert_both_paths_match_keras(reference, ours, X, value, use_causal_mask=causal)


MASK_RNG = np.random.default_rng(3)


def random_mask(shape):
    """A random boolean mask in which every (query, key) block keeps key 0."""
    mask = MASK_RNG.random(shape) < 0.6
    mask[..., 0] = True  # no fully masked row: Keras gives those uniform weights
    return mask


@pytest.mark.parametrize(
    "shape",
    [(T, S), (1, T, S), (B, T, S), (B, 1, T, S), (1, 2, T, S), (B, 2, T, S)],
    ids=["TS", "1TS", "BTS", "B1TS", "1HTS", "BHTS"],
)
def test_broadcast_attention_masks_match_keras(shape):
    reference, ours = twin_layers(X, Y, num_heads=2, key_dim=4)
    assert_both_paths_match_keras(
        reference, ours, X, Y, attention_mask=random_mask(shape)
    )


# attention_axes against an explicit reference: test_attention_axes.py.


def test_attention_axes_padding_masks_equal_the_merged_mask():
    """Padding masks of rank > 3 inputs mask positions as Keras' merged
    `q[..., :, None] & k[..., None, :]` attention mask does."""
    query_mask = random_mask((B, 3, 4))
    value_mask = random_mask((B, 3, 5))
    merged = query_mask[:, :, None, :, None] & value_mask[:, :, None, None, :]
    reference, ours = twin_layers(X4, Y4, num_heads=2, key_dim=4, attention_axes=2)
    query_mask[:, :, 1] = False  # padded queries get zeros, as Keras' mask does
    merged[:, :, :, 1] = False
    expected, _ = reference(X4, Y4, attention_mask=merged, return_attention_scores=True)
    expected = numpy(expected)
    got = numpy(ours(X4, Y4, query_mask=query_mask, value_mask=value_mask))
    # Keras spreads a fully masked row uniformly; ours attends to nothing.
    rows = query_mask[..., None].repeat(D, -1)
    np.testing.assert_allclose(got[rows], expected[rows], atol=1e-5)
    bias = numpy(ours.output_dense.bias)
    np.testing.assert_allclose(
        got[~rows[..., 0]], np.broadcast_to(bias, got[~rows[..., 0]].shape), atol=1e-6
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
        ({"num_heads": 2}, lambda layer: layer(X[0], X[0]), "query.*rank 3 or more"),
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
        ({"num_heads": 2}, lambda layer: layer(X, Y, key=X), "key.*must be equal"),
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
        # Keras' wording: its own tests match "argument `...`".
        ({"num_heads": 2, "sliding_window": 0}, None, "argument `sliding_window`"),
        ({"num_heads": 1.5}, None, "argument `num_heads`"),
        ({"num_heads": 2, "value_dim": 0}, None, "argument `value_dim`"),
        ({"num_heads": 2, "output_shape": 8.0}, None, "Invalid `output_shape`"),
        ({"num_heads": 2, "attention_axes": "1"}, None, "argument `attention_axes`"),
        (
            {"num_heads": 2, "attention_axes": 3},
            lambda layer: layer(X4, Y4),
            "attention_axes.*rank 4",
        ),
        (
            {"num_heads": 2, "attention_axes": 2},
            lambda layer: layer(X4, Y4[:, :2]),
            r"outside `attention_axes`.*value.shape=\(2, 2, 5, 8\)",
        ),
        ({"num_heads": 2}, lambda layer: layer(X4, Y), "value: expected the rank"),
        (
            {"num_heads": 2},
            lambda layer: layer(X, Y, attention_mask=np.ones((B, 3, T, S), bool)),
            r"attention_mask.*scores \(2, 2, 6, 5\).*\(2, 3, 6, 5\)",
        ),
        (
            {"num_heads": 2},
            lambda layer: layer(X, Y, attention_mask=np.ones((1, B, 2, T, S), bool)),
            "attention_mask",
        ),
        (
            {"num_heads": 2, "key_dim": 4},
            lambda layer: layer.compute_output_shape((B, T, D), (B, S, D), (B, 3, D)),
            "key: all dimensions of `value` and `key` except the last one must be",
        ),
    ],
)
def test_bad_input_names_the_argument(kwargs, call, match):
    with pytest.raises(ValueError, match=match):
        layer = MultiHeadAttention(**kwargs)
        call(layer)


# -- Keras' per-projection features: the explicit (sublayer) path -------------


def functional(layer, query_shape, value_shape=None, name="mha"):
    """A model around `layer`: self-attention without `value_shape`."""
    query_in = keras.Input(query_shape, name="query")
    if value_shape is None:
        return keras.Model(query_in, layer(query_in, query_in))
    value_in = keras.Input(value_shape, name="value")
    return keras.Model([query_in, value_in], layer(query_in, value_in))


def test_activity_regularizer_runs_the_projections_as_layers():
    """Each projection's output is regularized, as in Keras; the outputs stay
    those of the fused path."""
    reference, ours = twin_layers(X, X, num_heads=2, key_dim=4)
    options = {"num_heads": 2, "key_dim": 4, "activity_regularizer": "l2"}
    ref_reg = keras.layers.MultiHeadAttention(**options)
    ours_reg = MultiHeadAttention(**options)
    ref_reg(X, X)
    ours_reg(X, X)
    ref_reg.set_weights(reference.get_weights())
    ours_reg.set_weights(reference.get_weights())
    expected = numpy(ref_reg(X, X))
    np.testing.assert_allclose(numpy(ours_reg(X, X)), expected, atol=1e-5)
    np.testing.assert_allclose(numpy(ours(X, X)), expected, atol=1e-5)
    assert len(ours_reg.losses) == len(ref_reg.losses) == 4
    np.testing.assert_allclose(
        sorted(float(numpy(loss)) for loss in ours_reg.losses),
        sorted(float(numpy(loss)) for loss in ref_reg.losses),
        rtol=1e-5,
    )
    assert not ours.losses


@pytest.mark.parametrize("self_attention", [True, False], ids=["self", "cross"])
def test_int8_quantization_matches_keras(self_attention):
    value, value_shape = (X, None) if self_attention else (Y, (S, D))
    reference, ours = twin_layers(X, value, num_heads=2, key_dim=4, use_gate=True)
    float_out = numpy(ours(X, value))
    models = [functional(layer, (T, D), value_shape) for layer in (reference, ours)]
    feed = X if self_attention else [X, Y]
    for model in models:
        model.quantize("int8")
    for dense in (
        ours.query_dense,
        ours.key_dense,
        ours.value_dense,
        ours.output_dense,
    ):
        assert dense.quantization_mode == "int8"
    expected, got = (numpy(model(feed)) for model in models)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # Quantized, not broken: close to the float layer (Keras' own bound).
    assert np.mean((got - float_out) ** 2) < 1e-2
    assert not np.allclose(got, float_out, atol=1e-6)


def lora_twins(**kwargs):
    """Keras' and our MHA with LoRA on Q, K, V and the same non-zero weights."""
    reference, ours = twin_layers(X, X, num_heads=2, key_dim=4, **kwargs)
    for layer in (reference, ours):
        for dense in (layer.query_dense, layer.key_dense, layer.value_dense):
            dense.enable_lora(2)
    weights = [
        RNG.normal(size=w.shape).astype("float32") * 0.3
        for w in reference.get_weights()
    ]
    reference.set_weights(weights)
    ours.set_weights(reference.get_weights())
    return reference, ours


@pytest.mark.parametrize("self_attention", [True, False], ids=["self", "cross"])
def test_lora_matches_keras(self_attention):
    reference, ours = lora_twins(use_gate=True, use_bias=False)
    assert len(ours.trainable_weights) == len(reference.trainable_weights) == 8
    assert len(ours.non_trainable_weights) == 3
    value = X if self_attention else Y
    assert_both_paths_match_keras(reference, ours, X, value, use_causal_mask=True)


def test_lora_trains_only_the_adapters_on_the_fused_path(tmp_path):
    _, ours = lora_twins()
    frozen = [numpy(w).copy() for w in ours.non_trainable_weights]
    model = functional(ours, (T, D))
    adapters = [numpy(w).copy() for w in ours.query_dense.trainable_weights]
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    model.fit(X, np.ones((B, T, D), "float32"), epochs=1, verbose=0)
    for before, after in zip(frozen, ours.non_trainable_weights, strict=True):
        np.testing.assert_array_equal(numpy(after), before)
    moved = [
        not np.allclose(numpy(a), b)
        for a, b in zip(ours.query_dense.trainable_weights, adapters, strict=True)
    ]
    assert any(moved)
    # A .keras file saved with LoRA loads (merged) into a plain layer.
    path = str(tmp_path / "lora.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(numpy(loaded(X)), numpy(model(X)), atol=1e-5)


def test_dtype_policy_map_matches_keras():
    """Per-projection policies from a map: int8 query and key, a bfloat16
    value, the rest float32."""
    policy_map = keras.dtype_policies.DTypePolicyMap()
    for name in ("query", "key"):
        policy_map[f"mha/{name}"] = keras.dtype_policies.QuantizedDTypePolicy(
            "int8", "float32"
        )
    policy_map["mha/value"] = keras.dtype_policies.DTypePolicy("bfloat16")
    layers = []
    for cls in (keras.layers.MultiHeadAttention, MultiHeadAttention):
        layer = cls(num_heads=2, key_dim=4, dtype=policy_map, name="mha")
        layer.build(X.shape, X.shape)
        layers.append(layer)
    reference, ours = layers
    assert ours.query_dense.quantization_mode == "int8"
    assert keras.backend.standardize_dtype(ours.query_dense._kernel.dtype) == "int8"
    assert ours.value_dense.compute_dtype == "bfloat16"
    weights = []
    for w in reference.get_weights():
        if w.dtype == np.int8:
            weights.append(RNG.integers(-100, 100, size=w.shape).astype("int8"))
        else:
            weights.append((RNG.random(size=w.shape) * 0.02).astype(w.dtype))
    reference.set_weights(weights)
    ours.set_weights(reference.get_weights())
    expected = numpy(ops.cast(reference(X, X), "float32"))
    got = numpy(ops.cast(ours(X, X), "float32"))
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_constraints_hold_on_every_projection_after_training():
    layer = MultiHeadAttention(
        num_heads=2,
        key_dim=4,
        use_gate=True,
        kernel_constraint="non_neg",
        bias_constraint="non_neg",
        bias_initializer="random_normal",
    )
    model = functional(layer, (T, D))
    assert min(float(numpy(w).min()) for w in layer.weights) < 0
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    model.fit(X, np.ones((B, T, D), "float32"), epochs=1, verbose=0)
    assert len(layer.weights) == 10
    assert all(float(numpy(w).min()) >= 0 for w in layer.weights)


# -- files ---------------------------------------------------------------------


@pytest.mark.parametrize("direction", ["keras-to-ours", "ours-to-keras"])
def test_weights_files_are_interchangeable_with_keras(direction, tmp_path):
    """The projections' names are Keras': a weights file of one loads into
    the other (gated layer, cross-attention)."""
    reference, ours = twin_layers(X, Y, num_heads=2, key_dim=4, use_gate=True)
    weights = [RNG.normal(size=w.shape).astype("float32") for w in ours.get_weights()]
    source, target = (
        (reference, MultiHeadAttention)
        if direction == "keras-to-ours"
        else (ours, keras.layers.MultiHeadAttention)
    )
    source.set_weights(weights)
    source_model = functional(source, (T, D), (S, D))
    path = str(tmp_path / "mha.weights.h5")
    source_model.save_weights(path)
    target_layer = target(num_heads=2, key_dim=4, use_gate=True, name=source.name)
    target_model = functional(target_layer, (T, D), (S, D))
    target_model.load_weights(path)
    for got, expected in zip(target_layer.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_allclose(
        numpy(target_model([X, Y])), numpy(source_model([X, Y])), atol=1e-5
    )


def test_files_of_the_older_layout_load(tmp_path):
    """Before the projections were sublayers the layer held its eight
    variables itself (`<layer>/vars/0..7`); such files still load."""
    import h5py

    layer = MultiHeadAttention(num_heads=2, key_dim=4, name="mha")
    model = functional(layer, (T, D))
    layer.set_weights([RNG.normal(size=w.shape) for w in layer.get_weights()])
    expected = numpy(model(X))
    path = str(tmp_path / "old.weights.h5")
    model.save_weights(path)
    with h5py.File(path, "r+") as f:
        group = f["layers/multi_head_attention"]  # named after the class
        old = group["vars"]  # empty: the layer holds no variables of its own
        for i, name in enumerate(
            f"{dense}/vars/{j}"
            for dense in ("query_dense", "key_dense", "value_dense", "output_dense")
            for j in (0, 1)
        ):
            old.create_dataset(str(i), data=group[name][()])
        for dense in ("query_dense", "key_dense", "value_dense", "output_dense"):
            del group[dense]
    fresh = functional(MultiHeadAttention(num_heads=2, key_dim=4, name="mha"), (T, D))
    fresh.load_weights(path)
    np.testing.assert_allclose(numpy(fresh(X)), expected, atol=1e-6)
    # Loading again (now of the new layout) works as usual.
    fresh.save_weights(str(tmp_path / "new.weights.h5"))
    fresh.load_weights(str(tmp_path / "new.weights.h5"))
    np.testing.assert_allclose(numpy(fresh(X)), expected, atol=1e-6)


def test_sliding_window_round_trips():
    layer = MultiHeadAttention(num_heads=2, key_dim=4, sliding_window=5)
    restored = MultiHeadAttention.from_config(layer.get_config())
    assert restored.sliding_window == 5
    assert restored.get_config() == layer.get_config()


def test_flash_attention_errors():
    """Flash attention asked for explicitly refuses what it cannot do."""
    with pytest.raises(ValueError, match="Dropout is not supported"):
        MultiHeadAttention(num_heads=2, flash_attention=True, dropout=0.1)
    layer = MultiHeadAttention(num_heads=2, flash_attention=True)
    with pytest.raises(ValueError, match="Returning attention scores is not"):
        layer(X, X, return_attention_scores=True)
