"""Pre-norm transformer decoder block with cached incremental decoding."""

import keras
from keras import ops

from zoo.layers.inference_call import inference_call, layer_call
from zoo.layers.transformer_parts import (
    TransformerBlockBase,
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
        feature_dim: int or None, linear attention's query/key size per head
            fed to the feature map (None: the head size).
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
        self.self_attention = self._attention("self_attention", dim)
        self.cross_attention = self._attention("cross_attention", dim)
        self.feed_forward = make_feed_forward(
            dim, self.hidden_dim, self.dropout, "ffn", policy
        )
        self.drop = keras.layers.Dropout(self.dropout, dtype=policy)
        for layer in (*self.norms, self.feed_forward):
            layer.build(x_shape)
        self.self_attention.build(x_shape, x_shape)
        self.cross_attention.build(x_shape, encoder_outputs_shape)

    def _cross_and_feed_forward(
        self, x, encoder_outputs, encoder_mask, training, cross_key_value=None
    ):
        """Cross-attention and feed-forward; `step` (training False) skips
        `Layer.__call__` where it adds nothing (`inference_call`)."""
        run = inference_call if training is False else layer_call
        normed = run(self.norms[1], x)
        if cross_key_value is not None:
            attended = self.cross_attention.attend_key_value(
                normed, cross_key_value, value_mask=encoder_mask
            )
        else:
            attended = self.cross_attention(
                normed, encoder_outputs, value_mask=encoder_mask, training=training
            )
        x = x + run(self.drop, attended, training=training)
        out = run(self.feed_forward, run(self.norms[2], x), training=training)
        return x + run(self.drop, out, training=training)

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

    def get_initial_state(self, batch_size, max_length=None):
        """The empty self-attention cache (see the attention layer's).

        Args:
            batch_size: int.
            max_length: int or None. With softmax attention, preallocate a
                key/value cache of `max_length` positions (one shape for
                the whole generation; see
                `MultiHeadAttention.get_initial_state`). Linear attention's
                state has a constant size anyway and ignores it.

        Returns:
            The self-attention's state: `(K, V)` or `(K, V, length)` for
            softmax attention, `(S, z)` for linear attention.

        Example:
        >>> import numpy as np
        >>> block = TransformerDecoderBlock(2, 16)
        >>> x, memory = np.zeros((1, 3, 8), "float32"), np.zeros((1, 5, 8), "float32")
        >>> _ = block(x, memory)
        >>> tuple(block.get_initial_state(1, max_length=10)[0].shape)
        (1, 10, 2, 4)
        """
        if self.attention == "softmax":
            return self.self_attention.get_initial_state(batch_size, max_length)
        return self.self_attention.get_initial_state(batch_size)

    def cross_key_value(self, encoder_outputs):
        """The cross-attention's projected memory, once per input, or None.

        With softmax attention, the keys and values of `encoder_outputs`
        are the same at every decoding step: pass this to `step` as
        `cross_key_value` and they are not projected again. Linear
        attention returns None (`step` then attends to `encoder_outputs`).

        Args:
            encoder_outputs: `(B, S, d)`.

        Returns:
            Tuple `(K, V)` of `(B, S, H, d_h)` tensors, or None.

        Example:
        >>> import numpy as np
        >>> block = TransformerDecoderBlock(2, 16)
        >>> x, memory = np.zeros((1, 3, 8), "float32"), np.zeros((1, 5, 8), "float32")
        >>> _ = block(x, memory)
        >>> tuple(block.cross_key_value(memory)[1].shape)
        (1, 5, 2, 4)
        """
        if self.attention != "softmax":
            return None
        return self.cross_attention.project_key_value(encoder_outputs)

    def step(self, x, encoder_outputs, state, encoder_mask=None, cross_key_value=None):
        """The block on new tokens `x` (B, T_new, d) given the cache `state`.

        Args:
            x: `(B, T_new, d)` new decoder inputs.
            encoder_outputs: `(B, S, d)`; unused (may be None) when
                `cross_key_value` is given.
            state: from `get_initial_state` or a previous `step`.
            encoder_mask: optional boolean `(B, S)`.
            cross_key_value: optional, `cross_key_value(encoder_outputs)`.

        Returns:
            `(output (B, T_new, d), new_state)`; equal to the last `T_new`
            positions of `call` on the whole sequence.

        Example:
        >>> import numpy as np
        >>> block = TransformerDecoderBlock(2, 16)
        >>> x, memory = np.zeros((1, 3, 8), "float32"), np.zeros((1, 5, 8), "float32")
        >>> _ = block(x, memory)
        >>> state = block.get_initial_state(1, max_length=3)
        >>> out, state = block.step(x[:, :1], memory, state)
        >>> tuple(out.shape)
        (1, 1, 8)
        """
        x = ops.cast(x, self.compute_dtype)  # numpy inputs become tensors
        attended, state = self.self_attention.step(
            inference_call(self.norms[0], x), state
        )
        x = x + attended
        return self._cross_and_feed_forward(
            x, encoder_outputs, encoder_mask, False, cross_key_value
        ), state

    def compute_mask(self, x, mask=None):
        return mask

    def compute_output_shape(self, x_shape, encoder_outputs_shape):
        return x_shape
