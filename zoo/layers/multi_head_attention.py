"""Softmax multi-head attention (sheet B2), backend-agnostic."""

import math

import keras
from keras import ops

from zoo.layers import masks as mask_utils
from zoo.layers.projected_attention import ProjectedAttention


@keras.saving.register_keras_serializable(package="zoo")
class MultiHeadAttention(ProjectedAttention):
    """Multi-head scaled dot-product attention.

    For each head h: `H_h = softmax(Q_h K_h^T / sqrt(d_h)) V_h`; the heads are
    concatenated and projected by `W^(o)` (sheet B2). Numerically this is
    `keras.layers.MultiHeadAttention` for rank-3 inputs: copy its weights
    with `set_weights(keras_layer.get_weights())` and outputs and scores
    agree to float32 rounding. Two things make it faster: self-attention
    projects Q, K and V with one fused matrix product, and whenever no
    scores are requested and dropout is inactive the heads go through
    `keras.ops.dot_product_attention` (the backend's fused kernel, flash
    attention where the backend and device support it). Otherwise the
    explicit path computes the softmax itself; both give the same numbers.

    Masks: Keras padding masks of `query`/`value`/`key` are picked up
    automatically (`query_mask`, `value_mask`, `key_mask`) and the output
    carries the query's mask. A query row whose keys are all masked (e.g. a
    padded query) receives zero attention, as in Keras.

    Args:
        num_heads: int. Number of heads H.
        key_dim: int. Size d_h of each query/key head. Defaults to
            `d // num_heads` for a query of last dimension d.
        value_dim: int. Size of each value head. Defaults to `key_dim`.
        dropout: float. Dropout rate on the attention probabilities.
            Defaults to `0.0`.
        use_bias: bool. Whether the projections have biases. Defaults to
            `True`.
        output_shape: int. Last dimension of the output. Defaults to d.
        kernel_initializer: Defaults to `"glorot_uniform"`.
        bias_initializer: Defaults to `"zeros"`.
        kernel_regularizer: Defaults to `None`.
        bias_regularizer: Defaults to `None`.
        seed: int. Seed of the dropout. Defaults to `None`.
        flash_attention: bool or None. Passed to
            `keras.ops.dot_product_attention`; `None` lets the backend decide.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        query: `(B, T, d)`.
        value: `(B, S, d_v_in)`.
        key: `(B, S, d_k_in)`; defaults to `value`.
        query_mask, value_mask, key_mask: `(B, T)` / `(B, S)` padding masks;
            filled in from Keras masks when not given.
        attention_mask: boolean `(B, T, S)`; `True` = may attend.
        use_causal_mask: bool. Query i attends to keys j <= i.
        return_attention_scores: bool. Also return `(B, H, T, S)` weights.
        training: bool. Enables dropout.

    Returns:
        `(B, T, output_shape)`, and the scores when requested.

    Example:
    >>> import numpy as np
    >>> layer = MultiHeadAttention(num_heads=2)
    >>> x = np.zeros((1, 5, 8), "float32")
    >>> tuple(layer(x, x, use_causal_mask=True).shape)
    (1, 5, 8)

    References:
        Vaswani et al., "Attention Is All You Need", 2017.
    """

    def __init__(self, num_heads, key_dim=None, flash_attention=None, **kwargs):
        super().__init__(num_heads, key_dim=key_dim, **kwargs)
        self.flash_attention = flash_attention

    def _attend(
        self,
        q,
        k,
        v,
        query_mask=None,
        key_padding_mask=None,
        attention_mask=None,
        use_causal_mask=False,
        return_attention_scores=False,
        training=None,
    ):
        scale = 1.0 / math.sqrt(float(self._qk_dim_resolved))
        q_len, k_len = ops.shape(q)[1], ops.shape(k)[1]
        only_causal = (
            use_causal_mask
            and query_mask is None
            and key_padding_mask is None
            and attention_mask is None
        )
        mask = None
        if not only_causal:
            mask = mask_utils.merge_attention_mask(
                q_len,
                k_len,
                query_mask=query_mask,
                key_padding_mask=key_padding_mask,
                attention_mask=attention_mask,
                use_causal_mask=use_causal_mask,
            )
        dropout_active = self.dropout > 0.0 and bool(training)
        # jax.nn.dot_product_attention needs value heads as wide as key heads.
        kernel_fits = self._qk_dim_resolved == self._value_dim_resolved
        if kernel_fits and not return_attention_scores and not dropout_active:
            return self._fused(q, k, v, mask, only_causal, scale), None
        if only_causal:
            mask = mask_utils.causal_mask(q_len, k_len)
        return self._explicit(q, k, v, mask, scale, training)

    def _fused(self, q, k, v, mask, is_causal, scale):
        """The backend's fused kernel; rows with no allowed key give zeros."""
        if mask is None:
            return ops.dot_product_attention(
                q,
                k,
                v,
                scale=scale,
                is_causal=is_causal,
                flash_attention=self.flash_attention,
            )
        # A fully masked row makes some kernels return NaN (and NaN leaks into
        # gradients even through `where`), so such rows attend everywhere
        # inside the kernel and are zeroed afterwards.
        row_has_key = ops.any(mask, axis=-1, keepdims=True)  # (B|1, T, 1)
        safe_mask = ops.logical_or(mask, ops.logical_not(row_has_key))
        out = ops.dot_product_attention(
            q,
            k,
            v,
            mask=ops.expand_dims(safe_mask, 1),  # (B|1, 1, T, S)
            scale=scale,
            flash_attention=self.flash_attention,
        )  # (B, T, H, d_v)
        keep = ops.expand_dims(row_has_key, -1)  # (B|1, T, 1, 1)
        return ops.where(keep, out, ops.zeros_like(out))

    def _explicit(self, q, k, v, mask, scale, training):
        """softmax(Q K^T / sqrt(d_h)) V with the weights materialized."""
        q = q * ops.cast(scale, q.dtype)
        scores = ops.einsum("bthd,bshd->bhts", q, k)  # (B, H, T, S)
        # The softmax runs in float32 even under mixed precision.
        scores = ops.cast(scores, "float32")
        if mask is not None:
            head_mask = ops.expand_dims(mask, 1)  # (B|1, 1, T, S)
            scores = ops.where(head_mask, scores, mask_utils.large_negative("float32"))
        weights = ops.softmax(scores, axis=-1)
        if mask is not None:
            weights = ops.where(head_mask, weights, ops.zeros_like(weights))
        weights = ops.cast(weights, v.dtype)
        dropped = self.dropout_layer(weights, training=training)
        out = ops.einsum("bhts,bshd->bthd", dropped, v)  # (B, T, H, d_v)
        return out, weights

    # -- incremental decoding (key/value cache) --------------------------------

    def get_initial_state(self, batch_size):
        """The empty key/value cache for `batch_size` sequences.

        Args:
            batch_size: int.

        Returns:
            Tuple `(K, V)`: zeros `(B, 0, H, d_h)` and `(B, 0, H, d_v)`.
        """
        if not self.built:
            raise ValueError(
                "get_initial_state: the layer is not built; call it once on "
                "inputs (or call build()) first"
            )
        heads = self.num_heads
        return (
            ops.zeros(
                (batch_size, 0, heads, self._qk_dim_resolved), self.compute_dtype
            ),
            ops.zeros(
                (batch_size, 0, heads, self._value_dim_resolved), self.compute_dtype
            ),
        )

    def step(self, query, state, value=None, key=None):
        """Causal self-attention of new tokens over the cache and themselves.

        The keys and values of the new tokens are projected once and appended
        to the cache, so generating token t costs O(t d) instead of
        recomputing all t tokens (O(t^2 d)). New token i (of `T_new`) sees
        the cached tokens and new tokens 0..i, exactly as
        `call(..., use_causal_mask=True)` on the whole sequence.

        Args:
            query: `(B, T_new, d)` new tokens.
            state: `(K, V)` from `get_initial_state` or a previous `step`.
            value: `(B, T_new, d_v_in)`; defaults to `query`.
            key: defaults to `value`.

        Returns:
            Tuple `(output, new_state)`: `(B, T_new, output_shape)` and the
            cache extended by `T_new` positions.
        """
        q, k, v = self._project_step(query, state, value, key, "(K, V)")
        k = ops.concatenate([ops.cast(state[0], k.dtype), k], axis=1)
        v = ops.concatenate([ops.cast(state[1], v.dtype), v], axis=1)
        new_len, total = ops.shape(q)[1], ops.shape(k)[1]
        mask = None
        if new_len > 1:
            rows = ops.arange(new_len)[:, None] + (total - new_len)
            mask = ops.expand_dims(rows >= ops.arange(total)[None, :], 0)
        out, _ = self._attend(q, k, v, attention_mask=mask)
        return self._output(out), (k, v)

    def get_config(self):
        config = super().get_config()
        config["flash_attention"] = self.flash_attention
        return config
