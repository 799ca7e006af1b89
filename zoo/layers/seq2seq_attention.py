"""Attention of a recurrent decoder over the encoder outputs (Luong, Bahdanau)."""

import keras
from keras import ops

from zoo.layers.masks import large_negative

SCORES = ("dot", "general", "additive")


@keras.saving.register_keras_serializable(package="zoo")
class Seq2SeqAttention(keras.layers.Layer):
    """Scores decoder states against encoder outputs; returns context and weights.

    Scores of decoder state h_t and encoder output s_j:
    - `dot` (Luong): h_t . s_j
    - `general` (Luong): h_t W s_j
    - `additive` (Bahdanau): v . tanh(W1 h_t + W2 s_j)

    Weights a_tj = softmax_j(score) over the unpadded encoder positions, and
    the context c_t = sum_j a_tj s_j. Every decoder step is independent of the
    others, so the same layer serves teacher forcing (all T steps at once)
    and incremental decoding (T = 1).

    Args:
        score: "dot", "general" (default) or "additive".
        units: int, hidden size of the additive score (default: encoder size).
        **kwargs: base layer arguments.

    Call arguments:
        query: `(B, T, U)` decoder outputs.
        value: `(B, S, U)` encoder outputs (`dot` needs equal sizes).
        value_mask: optional boolean `(B, S)`; Keras fills it in from the
            padding mask of `value`.

    Returns:
        `(context (B, T, U_enc), weights (B, T, S))`.

    Example:
    >>> import numpy as np
    >>> layer = Seq2SeqAttention("dot")
    >>> context, weights = layer(np.ones((1, 2, 4)), np.ones((1, 3, 4)))
    >>> tuple(weights.shape)
    (1, 2, 3)
    """

    def __init__(self, score="general", units=None, **kwargs):
        super().__init__(**kwargs)
        if score not in SCORES:
            raise ValueError(f"score: expected one of {SCORES}, got {score!r}")
        self.score, self.units = score, units
        self.supports_masking = True

    def build(self, query_shape, value_shape):
        query_dim, value_dim = query_shape[-1], value_shape[-1]
        if self.score == "dot" and query_dim != value_dim:
            raise ValueError(
                f"score='dot' needs equal sizes; got query {query_dim}, value "
                f"{value_dim}. Use score='general' or 'additive'"
            )
        if self.score == "general":
            self.kernel = self.add_weight(
                name="kernel",
                shape=(query_dim, value_dim),
                initializer="glorot_uniform",
            )
        if self.score == "additive":
            units = self.units or value_dim
            self.query_kernel = self.add_weight(
                name="query_kernel",
                shape=(query_dim, units),
                initializer="glorot_uniform",
            )
            self.value_kernel = self.add_weight(
                name="value_kernel",
                shape=(value_dim, units),
                initializer="glorot_uniform",
            )
            self.bias = self.add_weight(
                name="bias", shape=(units,), initializer="zeros"
            )
            self.vector = self.add_weight(
                name="vector", shape=(units,), initializer="glorot_uniform"
            )

    def scores(self, query, value):
        """Unnormalized scores `(B, T, S)`."""
        if self.score == "dot":
            return ops.einsum("btu,bsu->bts", query, value)
        if self.score == "general":
            return ops.einsum("btu,uv,bsv->bts", query, self.kernel, value)
        q = ops.matmul(query, self.query_kernel)[:, :, None, :]  # (B, T, 1, A)
        v = ops.matmul(value, self.value_kernel)[:, None, :, :]  # (B, 1, S, A)
        return ops.sum(ops.tanh(q + v + self.bias) * self.vector, axis=-1)

    def call(self, query, value, query_mask=None, value_mask=None):
        scores = ops.cast(self.scores(query, value), "float32")
        if value_mask is not None:
            keep = ops.expand_dims(ops.cast(value_mask, "bool"), 1)  # (B, 1, S)
            scores = ops.where(keep, scores, large_negative("float32"))
        weights = ops.cast(ops.softmax(scores, axis=-1), value.dtype)
        context = ops.einsum("bts,bsu->btu", weights, value)
        return context, weights

    def compute_mask(self, query, mask=None):
        # Keras passes the query and its mask: both outputs keep it.
        return [mask, mask]

    def compute_output_shape(self, query_shape, value_shape):
        return (
            (*query_shape[:-1], value_shape[-1]),
            (*query_shape[:-1], value_shape[1]),
        )

    def get_config(self):
        config = super().get_config()
        config.update({"score": self.score, "units": self.units})
        return config
