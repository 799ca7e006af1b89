"""Pre-norm transformer decoder block with cached incremental decoding."""

import keras

from zoo.layers.transformer_parts import (
    TransformerBlockBase,
    make_attention,
    make_feed_forward,
)


@keras.saving.register_keras_serializable(package="zoo")
class TransformerDecoderBlock(TransformerBlockBase):
    """Causal self-attention, cross-attention to the encoder, feed-forward.

    `x + SelfAttn(LN(x), causal)`, `x + CrossAttn(LN(x), encoder)`,
    `x + FFN(LN(x))`. `step` runs the same block on new tokens only, with the
    self-attention's cache: keys/values for softmax attention, the recurrent
    state (S, z) for linear attention (constant size in the generated length).

    Args:
        num_heads: int.
        hidden_dim: int, feed-forward width.
        attention: "softmax" or "linear" (self- and cross-attention).
        dropout: float. Defaults to 0.1.
        **kwargs: base layer arguments.

    Call arguments:
        x: `(B, T, d)` decoder inputs (embedded, shifted right).
        encoder_outputs: `(B, S, d)`.
        encoder_outputs_mask: optional boolean `(B, S)`; Keras fills it in
            from the padding mask of `encoder_outputs`.

    Returns:
        `(B, T, d)`, carrying the mask of `x`.

    Example:
    >>> import numpy as np
    >>> block = TransformerDecoderBlock(2, 16)
    >>> x, memory = np.zeros((1, 3, 8), "float32"), np.zeros((1, 5, 8), "float32")
    >>> tuple(block(x, memory).shape)
    (1, 3, 8)
    """

    def build(self, x_shape, encoder_outputs_shape):
        dim = x_shape[-1]
        policy = self.dtype_policy  # every sublayer runs in the block's policy
        self.norms = [
            keras.layers.LayerNormalization(epsilon=1e-5, name=f"norm{i}", dtype=policy)
            for i in (1, 2, 3)
        ]
        self.self_attention = make_attention(
            self.attention, self.num_heads, dim, self.dropout, "self_attention", policy
        )
        self.cross_attention = make_attention(
            self.attention, self.num_heads, dim, self.dropout, "cross_attention", policy
        )
        self.feed_forward = make_feed_forward(
            dim, self.hidden_dim, self.dropout, "ffn", policy
        )
        self.drop = keras.layers.Dropout(self.dropout, dtype=policy)
        for layer in (*self.norms, self.feed_forward):
            layer.build(x_shape)
        self.self_attention.build(x_shape, x_shape)
        self.cross_attention.build(x_shape, encoder_outputs_shape)

    def _cross_and_feed_forward(self, x, encoder_outputs, encoder_mask, training):
        attended = self.cross_attention(
            self.norms[1](x),
            encoder_outputs,
            value_mask=encoder_mask,
            training=training,
        )
        x = x + self.drop(attended, training=training)
        out = self.feed_forward(self.norms[2](x), training=training)
        return x + self.drop(out, training=training)

    def call(self, x, encoder_outputs, encoder_outputs_mask=None, training=None):
        normed = self.norms[0](x)
        # Causality alone suffices: padding only ever follows real tokens.
        attended = self.self_attention(
            normed, normed, use_causal_mask=True, training=training
        )
        x = x + self.drop(attended, training=training)
        return self._cross_and_feed_forward(
            x, encoder_outputs, encoder_outputs_mask, training
        )

    def get_initial_state(self, batch_size):
        """The empty self-attention cache (see the attention layer's)."""
        return self.self_attention.get_initial_state(batch_size)

    def step(self, x, encoder_outputs, state, encoder_mask=None):
        """The block on new tokens `x` (B, T_new, d) given the cache `state`.

        Returns:
            `(output (B, T_new, d), new_state)`; equal to the last `T_new`
            positions of `call` on the whole sequence.
        """
        attended, state = self.self_attention.step(self.norms[0](x), state)
        x = x + attended
        return self._cross_and_feed_forward(
            x, encoder_outputs, encoder_mask, False
        ), state

    def compute_mask(self, x, mask=None):
        return mask

    def compute_output_shape(self, x_shape, encoder_outputs_shape):
        return x_shape
