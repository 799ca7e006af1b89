"""MultiHeadAttention over inputs of rank > 3 (`attention_axes`), against an
explicit numpy reference on every case and Keras' own layer where it runs.

Keras' layer keeps the free axes in its softmax: a rank-5 query gives a
rank-6 score tensor, which TensorFlow's oneDNN softmax refuses ("Input dims
must be <= 5"; oneDNN is on by default on CPUs with AVX-512 VNNI/BF16 or AMX).
Ours folds the free axes into the batch, so its softmax is rank 4 whatever
the input's rank. The numpy reference below is the ground truth of every
case; Keras' layer is a second reference only where its score tensor has
rank <= 5, so no case depends on the CPU the tests run on.
"""

import keras
import numpy as np
import pytest
from keras import ops

from zoo.layers import MultiHeadAttention

B, D, HEADS, KEY_DIM = 2, 8, 2, 4
RNG = np.random.default_rng(0)
MASK_RNG = np.random.default_rng(3)
X4 = RNG.normal(size=(B, 3, 4, D)).astype("float32")  # (B, free, positions, d)
Y4 = RNG.normal(size=(B, 3, 5, D)).astype("float32")
# The rank oneDNN's softmax takes (TensorFlow's MklSoftmax).
ONEDNN_SOFTMAX_MAX_RANK = 5


def numpy(x):
    return ops.convert_to_numpy(x)


def random_mask(shape):
    """A random boolean mask in which every (query, key) block keeps key 0."""
    mask = MASK_RNG.random(shape) < 0.6
    mask[..., 0] = True  # no fully masked row: Keras gives those uniform weights
    return mask


def reference_attention(layer, query, value, axes, attention_mask=None):
    """Keras' attention over `axes`, written out in numpy with `layer`'s weights.

    Projections `x W + b` per head; the free axes (neither batch, attended
    nor features) index independent attentions; scores over the attended
    query positions x attended key positions, flattened; masked scores get
    -1e9 before the softmax; a sigmoid gate of the query multiplies the heads
    before the output projection.

    Args:
        layer: a built zoo MultiHeadAttention (kernels read from it).
        query: array (B, *positions, d).
        value: array (B, *positions', d), equal free axes.
        axes: tuple of int, the attended axes (negative allowed).
        attention_mask: bool array (B, *free, *query axes, *key axes) or
            broadcastable to it, or None.

    Returns:
        (output (B, *positions, d_out), scores (B, *free, H, *q axes, *k axes)).
    """

    def project(x, dense):
        out = np.einsum("...i,ihd->...hd", x, numpy(dense.kernel))
        return out + numpy(dense.bias) if dense.bias is not None else out

    rank = query.ndim
    attended = [a % rank for a in axes]  # in the given order, as Keras
    free = [a for a in range(1, rank - 1) if a not in attended]
    # (B, *free, *attended, H, d) -> (B, *free, H, positions, d)
    order = [0, *free, *attended, rank - 1, rank]

    def fold(x):
        moved = np.transpose(x, order)
        lead = moved.shape[: 1 + len(free)]
        return moved.reshape(*lead, -1, HEADS, moved.shape[-1]).swapaxes(-2, -3)

    q = fold(project(query, layer.query_dense)) / np.sqrt(KEY_DIM)
    k = fold(project(value, layer.key_dense))
    v = fold(project(value, layer.value_dense))
    scores = q @ k.swapaxes(-1, -2)  # (B, *free, H, T, S)
    q_shape = [query.shape[a] for a in attended]
    k_shape = [value.shape[a] for a in attended]
    if attention_mask is not None:
        lead = (query.shape[0], *(query.shape[a] for a in free))
        if attention_mask.ndim == scores_rank(query, axes):  # it has a head axis
            full = (*lead, HEADS, *q_shape, *k_shape)
        else:
            full = (*lead, 1, *q_shape, *k_shape)
            attention_mask = np.expand_dims(attention_mask, -len(q_shape + k_shape) - 1)
        mask = np.broadcast_to(attention_mask, full)
        scores = np.where(
            mask.reshape(*full[: len(lead) + 1], *scores.shape[-2:]), scores, -1e9
        )
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    heads = (weights @ v).swapaxes(-2, -3)  # (B, *free, T, H, d_v)
    heads = heads.reshape(*heads.shape[:-3], *q_shape, *heads.shape[-2:])
    heads = np.transpose(heads, np.argsort(order))  # back to the query's order
    if layer.use_gate:
        heads = heads / (1.0 + np.exp(-project(query, layer._gate_dense)))
    out = np.einsum("...hd,hdo->...o", heads, numpy(layer.output_dense.kernel))
    out = out + numpy(layer.output_dense.bias)
    scores_shape = (*weights.shape[:-2], *q_shape, *k_shape)
    return out, weights.reshape(scores_shape)


CASES = {
    # id -> (query, value, attention_axes, Keras-layout attention mask shape)
    "last-axis": (X4, Y4, (2,), (B, 3, 4, 5)),
    "negative-axis": (X4, Y4, (-2,), (4, 5)),
    "first-axis": (
        RNG.normal(size=(B, 4, 3, D)).astype("float32"),
        RNG.normal(size=(B, 5, 3, D)).astype("float32"),
        (1,),
        (B, 3, 2, 4, 5),
    ),
    "two-axes": (
        X4,
        RNG.normal(size=(B, 2, 5, D)).astype("float32"),
        (1, 2),
        (B, 3, 4, 2, 5),
    ),
    "rank-5": (
        RNG.normal(size=(B, 2, 3, 4, D)).astype("float32"),
        RNG.normal(size=(B, 2, 3, 2, D)).astype("float32"),
        (3,),
        (B, 2, 3, 4, 2),
    ),
    "rank-6-two-axes": (
        RNG.normal(size=(B, 2, 3, 2, 2, D)).astype("float32"),
        RNG.normal(size=(B, 2, 4, 2, 3, D)).astype("float32"),
        (-2, 2),
        (B, 2, 2, 2, 3, 3, 4),  # q axes (4, 2), then k axes
    ),
}


def scores_rank(query, axes):
    """Rank of Keras' score tensor: batch, free axes, heads, q and k axes."""
    return query.ndim + len(axes)


@pytest.mark.parametrize("masked", [False, True], ids=["nomask", "mask"])
@pytest.mark.parametrize("case", CASES)
def test_attention_axes_match_the_explicit_reference(case, masked):
    query, value, axes, mask_shape = CASES[case]
    mask = random_mask(mask_shape) if masked else None
    kwargs = {"attention_mask": mask} if masked else {}
    ours = MultiHeadAttention(
        num_heads=HEADS, key_dim=KEY_DIM, attention_axes=axes, use_gate=True
    )
    fast = numpy(ours(query, value, **kwargs))  # the fused kernel's path
    explicit, scores = ours(query, value, return_attention_scores=True, **kwargs)
    expected, expected_scores = reference_attention(ours, query, value, axes, mask)
    np.testing.assert_allclose(fast, expected, atol=1e-5)
    np.testing.assert_allclose(numpy(explicit), expected, atol=1e-5)
    assert tuple(scores.shape) == expected_scores.shape
    np.testing.assert_allclose(numpy(scores), expected_scores, atol=1e-5)
    if scores_rank(query, axes) <= ONEDNN_SOFTMAX_MAX_RANK:
        # Keras' layer, given our weights, agrees with both.
        reference = keras.layers.MultiHeadAttention(
            num_heads=HEADS, key_dim=KEY_DIM, attention_axes=axes, use_gate=True
        )
        reference(query, value, return_attention_scores=True)
        reference.set_weights(ours.get_weights())
        keras_out, keras_scores = reference(
            query, value, return_attention_scores=True, **kwargs
        )
        np.testing.assert_allclose(numpy(keras_out), expected, atol=1e-5)
        np.testing.assert_allclose(numpy(keras_scores), expected_scores, atol=1e-5)


def test_the_reference_fails_on_a_wrong_layer():
    """The explicit reference catches a layer whose attention is off: the
    same weights attending over another axis give other numbers."""
    query, value, _, _ = CASES["rank-5"]
    ours = MultiHeadAttention(num_heads=HEADS, key_dim=KEY_DIM, attention_axes=(3,))
    wrong = MultiHeadAttention(num_heads=HEADS, key_dim=KEY_DIM, attention_axes=(2,))
    ours(query, value)
    wrong(query, query)  # the axis-2 twin attends over 3 positions of query
    wrong.set_weights(ours.get_weights())
    expected, _ = reference_attention(ours, query, query, (3,))
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(numpy(wrong(query, query)), expected, atol=1e-5)
    np.testing.assert_allclose(numpy(ours(query, query)), expected, atol=1e-5)
