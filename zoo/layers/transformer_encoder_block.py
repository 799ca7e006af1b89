"""Pre-norm transformer encoder block on the zoo's attention layers."""

import keras

from zoo.layers.transformer_parts import (
    TransformerBlockBase,
    make_feed_forward,
)


@keras.saving.register_keras_serializable(package="zoo")
class TransformerEncoderBlock(TransformerBlockBase):
    """`x + SelfAttention(LN(x))`, then `x + FFN(LN(x))`.

    Args:
        num_heads: int.
        hidden_dim: int, feed-forward width.
        attention: "softmax" (`MultiHeadAttention`) or "linear"
            (`LinearAttention`, Taylor feature map).
        dropout: float. Defaults to 0.1.
        feature_dim: int or None, linear attention's query/key size per head
            fed to the feature map (None: the head size).
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
        policy = self.dtype_policy  # every sublayer runs in the block's policy
        self.norm1 = keras.layers.LayerNormalization(
            epsilon=1e-5, name="norm1", dtype=policy
        )
        self.norm2 = keras.layers.LayerNormalization(
            epsilon=1e-5, name="norm2", dtype=policy
        )
        self.self_attention = self._attention("self_attention", dim)
        self.feed_forward = make_feed_forward(
            dim, self.hidden_dim, self.dropout, "ffn", policy
        )
        self.drop = keras.layers.Dropout(self.dropout, dtype=policy)
        for layer in (self.norm1, self.norm2, self.feed_forward):
            layer.build(x_shape)
        self.self_attention.build(x_shape, x_shape)

    def call(self, x, mask=None, training=None):
        normed = self.norm1(x)
        attended = self.self_attention(
            normed, normed, value_mask=mask, training=training
        )
        x = x + self.drop(attended, training=training)
        return x + self.drop(self.feed_forward(self.norm2(x), training=training))

    def compute_mask(self, x, mask=None):
        return mask

    def compute_output_shape(self, x_shape):
        return x_shape
