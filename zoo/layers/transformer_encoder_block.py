"""Transformer encoder block (pre- or post-norm) on the zoo's attention layers."""

import keras

from zoo.layers.transformer_parts import TransformerBlockBase


@keras.saving.register_keras_serializable(package="zoo")
class TransformerEncoderBlock(TransformerBlockBase):
    """`x + SelfAttention(LN(x))`, then `x + FFN(LN(x))` (pre-norm; with
    `normalize_first=False`, `LN(x + SelfAttention(x))`, `LN(x + FFN(x))`).

    Args:
        num_heads: int.
        hidden_dim: int, feed-forward width.
        attention: "softmax" (`MultiHeadAttention`) or "linear"
            (`LinearAttention`, Taylor feature map).
        dropout: float. Defaults to 0.1.
        feature_dim: int or None, linear attention's query/key size per head
            fed to the feature map (None: the head size).
        activation, layer_norm_epsilon, kernel_initializer,
            bias_initializer, normalize_first: see `TransformerBlockBase`.
        **kwargs: base layer arguments.

    Call arguments:
        x: `(B, S, d)`; the Keras padding mask of `x` (or `mask`) keeps the
            padded positions out of every key set.

    Returns:
        `(B, S, d)`, carrying the same mask.

    Example:
    >>> import numpy as np
    >>> block = TransformerEncoderBlock(2, 16)
    >>> tuple(block(np.zeros((1, 3, 8), "float32")).shape)
    (1, 3, 8)
    """

    def build(self, x_shape):
        dim = x_shape[-1]
        # Every sublayer runs in the block's dtype policy. The norms keep
        # their attribute names (saved `.keras` files find them by name).
        self.norm1, self.norm2 = self._norm("norm1"), self._norm("norm2")
        self.self_attention = self._attention("self_attention", dim)
        self.feed_forward = self._feed_forward(dim)
        self.drop = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
        for layer in (self.norm1, self.norm2, self.feed_forward):
            layer.build(x_shape)
        self.self_attention.build(x_shape, x_shape)

    def call(self, x, mask=None, training=None):
        def attend(y):
            return self.self_attention(y, y, value_mask=mask, training=training)

        x = self._residual(x, self.norm1, attend, training=training)
        return self._residual(
            x,
            self.norm2,
            lambda y: self.feed_forward(y, training=training),
            training=training,
        )

    def compute_mask(self, x, mask=None):
        return mask

    def compute_output_shape(self, x_shape):
        return x_shape
