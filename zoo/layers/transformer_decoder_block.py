"""Transformer decoder block (pre- or post-norm) with cached incremental decoding."""

import keras
from keras import ops

from zoo.layers.inference_call import inference_call, layer_call
from zoo.layers.transformer_parts import TransformerBlockBase


@keras.saving.register_keras_serializable(package="zoo")
class TransformerDecoderBlock(TransformerBlockBase):
    """Causal self-attention, cross-attention to the encoder, feed-forward.

    `x + SelfAttn(LN(x), causal)`, `x + CrossAttn(LN(x), encoder)`,
    `x + FFN(LN(x))` (pre-norm; with `normalize_first=False` each is
    `LN(x + f(x))`). `step` runs the same block on new tokens only, with the
    self-attention's cache: keys/values for softmax attention, the recurrent
    state (S, z) for linear attention (constant size in the generated length).

    Args:
        num_heads: int.
        hidden_dim: int, feed-forward width.
        attention: "softmax" or "linear" (self- and cross-attention).
        dropout: float. Defaults to 0.1.
        feature_dim: int or None, linear attention's query/key size per head
            fed to the feature map (None: the head size).
        activation, layer_norm_epsilon, kernel_initializer,
            bias_initializer, normalize_first: see `TransformerBlockBase`.
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
        # Every sublayer runs in the block's dtype policy.
        self.norms = [self._norm(f"norm{i}") for i in (1, 2, 3)]
        self.self_attention = self._attention("self_attention", dim)
        self.cross_attention = self._attention("cross_attention", dim)
        self.feed_forward = self._feed_forward(dim)
        self.drop = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
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

        def attend(y):
            if cross_key_value is not None:
                return self.cross_attention.attend_key_value(
                    y, cross_key_value, value_mask=encoder_mask
                )
            return self.cross_attention(
                y, encoder_outputs, value_mask=encoder_mask, training=training
            )

        x = self._residual(x, self.norms[1], attend, run, training)
        return self._residual(
            x,
            self.norms[2],
            lambda y: run(self.feed_forward, y, training=training),
            run,
            training,
        )

    def _self_attended(self, x, training=None):
        """The causal self-attention sublayer with its residual and norm."""

        def attend(y):
            # Causality alone suffices: padding only ever follows real tokens.
            return self.self_attention(y, y, use_causal_mask=True, training=training)

        return self._residual(x, self.norms[0], attend, training=training)

    def call(self, x, encoder_outputs, encoder_outputs_mask=None, training=None):
        x = self._self_attended(x, training)
        return self._cross_and_feed_forward(
            x, encoder_outputs, encoder_outputs_mask, training
        )

    def cross_attention_scores(self, x, encoder_outputs, encoder_outputs_mask=None):
        """The cross-attention weights `(B, H, T, S)` of a full decoder pass.

        What the block's cross-attention gives each position of `x` over
        `encoder_outputs` in `call` (inference): softmax weights, or linear
        attention's normalized kernel weights.

        Args:
            x: `(B, T, d)` decoder inputs of this block.
            encoder_outputs: `(B, S, d)`.
            encoder_outputs_mask: optional boolean `(B, S)`.

        Returns:
            `(B, H, T, S)`.

        Example:
        >>> import numpy as np
        >>> block = TransformerDecoderBlock(2, 16)
        >>> x, memory = np.zeros((1, 3, 8), "float32"), np.zeros((1, 5, 8), "float32")
        >>> tuple(block.cross_attention_scores(x, memory).shape)
        (1, 2, 3, 5)
        """
        if not self.built:
            self.build(tuple(x.shape), tuple(encoder_outputs.shape))
        y = self._self_attended(ops.cast(x, self.compute_dtype), training=False)
        query = self.norms[1](y) if self.normalize_first else y
        _, scores = self.cross_attention(
            query,
            encoder_outputs,
            value_mask=encoder_outputs_mask,
            return_attention_scores=True,
        )
        return scores

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

        def attend(y):  # `_self_attended`'s sublayer, through the cache
            nonlocal state
            attended, state = self.self_attention.step(y, state)
            return attended

        x = self._residual(x, self.norms[0], attend, inference_call, False)
        return self._cross_and_feed_forward(
            x, encoder_outputs, encoder_mask, False, cross_key_value
        ), state

    def compute_mask(self, x, mask=None):
        return mask

    def compute_output_shape(self, x_shape, encoder_outputs_shape):
        return x_shape
