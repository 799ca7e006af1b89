"""Softmax multi-head attention (sheet B2), backend-agnostic."""

import math

import keras
from keras import ops

from zoo.layers import masks as mask_utils
from zoo.layers.attention_checks import check_positive_int as _check_positive_int
from zoo.layers.attention_checks import normalize_attention_axes
from zoo.layers.kv_cache import KeyValueCache
from zoo.layers.projected_attention import ProjectedAttention


@keras.saving.register_keras_serializable(package="zoo")
class MultiHeadAttention(KeyValueCache, ProjectedAttention):
    """Multi-head scaled dot-product attention.

    For each head h: `H_h = softmax(Q_h K_h^T / sqrt(d_h)) V_h`; the heads are
    concatenated and projected by `W^(o)` (sheet B2). A drop-in for
    `keras.layers.MultiHeadAttention`: same arguments, same projections
    (`keras.layers.EinsumDense` sublayers of the same names and shapes, so
    `set_weights(keras_layer.get_weights())` and weights files copy over one
    to one, gated and LoRA-enabled layers included), and Keras' own test
    suite for its layer passes against this one
    (`tests/layers/test_keras_mha_suite.py`). Two things make it faster:
    self-attention projects Q, K and V with one fused matrix product, and
    whenever no scores are requested and dropout is inactive the heads go
    through `keras.ops.dot_product_attention` (the backend's fused kernel,
    flash attention where the backend and device support it), inputs of
    rank > 3 included. Otherwise the explicit path computes the softmax
    itself; both give the same numbers.

    Masks: Keras padding masks of `query`/`value`/`key` are picked up
    automatically (`query_mask`, `value_mask`, `key_mask`) and the output
    carries the query's mask. A query row whose keys are all masked (e.g. a
    padded query) receives zero attention, on every path.

    Args:
        num_heads: int. Number of heads H.
        key_dim: int. Size d_h of each query/key head. Defaults to
            `d // num_heads` for a query of last dimension d.
        value_dim: int. Size of each value head. Defaults to `key_dim`.
        dropout: float. Dropout rate on the attention probabilities.
            Defaults to `0.0`.
        use_bias: bool. Whether the projections have biases. Defaults to
            `True`.
        output_shape: int or tuple of ints. Output dimensions replacing the
            query's last one. Defaults to d.
        attention_axes: int or tuple of ints. The query axes attended over,
            for inputs of rank > 3; the other axes between batch and features
            are independent positions. Defaults to all of them.
        sliding_window: int or None. Query i attends only to keys j with
            `|i - j| < sliding_window` (with `use_causal_mask`, the window of
            Mistral-style models). Defaults to `None` (everywhere).
        flash_attention: bool or None. Passed to
            `keras.ops.dot_product_attention`; `None` follows
            `keras.config.is_flash_attention_enabled()`. `True` refuses
            dropout and attention scores, as in Keras.
        kernel_initializer: Defaults to `"glorot_uniform"`.
        bias_initializer: Defaults to `"zeros"`.
        kernel_regularizer, bias_regularizer: Default to `None`.
        activity_regularizer: regularizes each projection's output. Defaults
            to `None`.
        kernel_constraint, bias_constraint: Default to `None`.
        use_gate: bool. Gated attention: the heads are multiplied by
            `sigmoid(query W^(g))` before `W^(o)`. Defaults to `False`.
        seed: int. Seed of the dropout. Defaults to `None`.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        query: `(B, T, d)` (or `(B, ..., d)` with `attention_axes`).
        value: `(B, S, d_v_in)`.
        key: `(B, S, d_k_in)`; defaults to `value`.
        query_mask, value_mask, key_mask: `(B, T)` / `(B, S)` padding masks;
            filled in from Keras masks when not given.
        attention_mask: boolean `(B, T, S)`; `True` = may attend. Shapes
            that broadcast to the scores `(B, H, T, S)` once axes are
            inserted in front of `(T, S)` work too: `(T, S)`, `(1, T, S)`,
            `(B, H, T, S)`.
        return_attention_scores: bool. Also return `(B, H, T, S)` weights.
        training: bool. Enables dropout.
        use_causal_mask: bool. Query i attends to keys j <= i.

    Returns:
        `(B, T, *output_shape)`, and the scores when requested.

    Example:
    >>> import numpy as np
    >>> layer = MultiHeadAttention(num_heads=2, use_gate=True, sliding_window=3)
    >>> x = np.zeros((1, 5, 8), "float32")
    >>> tuple(layer(x, x, use_causal_mask=True).shape)
    (1, 5, 8)

    References:
        Vaswani et al., "Attention Is All You Need", 2017.
        Qiu et al., "Gated Attention for Large Language Models", 2025.
    """

    _accepts_attention_axes = True

    def __init__(
        self,
        num_heads,
        key_dim=None,
        value_dim=None,
        dropout=0.0,
        use_bias=True,
        output_shape=None,
        attention_axes=None,
        sliding_window=None,
        flash_attention=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        use_gate=False,
        seed=None,
        **kwargs,
    ):
        _check_positive_int("sliding_window", sliding_window, allow_none=True)
        attention_axes = normalize_attention_axes(attention_axes)
        super().__init__(
            num_heads,
            key_dim=key_dim,
            value_dim=value_dim,
            dropout=dropout,
            use_bias=use_bias,
            output_shape=output_shape,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint,
            seed=seed,
            **kwargs,
        )
        if flash_attention is True and self.dropout > 0.0:
            raise ValueError(
                "Dropout is not supported when flash attention is enabled. "
                "Please set dropout to 0.0 to use flash attention. Received: "
                f"flash_attention=True, dropout={dropout!r}"
            )
        self.attention_axes = attention_axes
        self.sliding_window = sliding_window
        self.flash_attention = flash_attention
        self.use_gate = bool(use_gate)

    def _flash(self):
        """The kernel choice passed to `ops.dot_product_attention`.

        Unset on torch without CUDA, False: flash attention is a CUDA kernel,
        and leaving None makes Keras ask torch so at every call (building
        an `SDPAParams`, which also stops `torch.compile`'s tracing).
        """
        if self.flash_attention is not None:
            return self.flash_attention
        enabled = keras.config.is_flash_attention_enabled()
        if enabled is None and keras.backend.backend() == "torch":
            import torch

            return None if torch.cuda.is_available() else False
        return enabled

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
        sliding_window=True,
    ):
        """Softmax attention of `(B, T, H, d)` heads; `sliding_window=False`
        leaves the window to the caller's `attention_mask` (the cache)."""
        if return_attention_scores and self.flash_attention is True:
            raise ValueError(
                "Returning attention scores is not supported when flash "
                "attention is enabled. Please disable flash attention to access"
                " attention scores."
            )
        window = self.sliding_window if sliding_window else None
        scale = 1.0 / math.sqrt(float(self._qk_dim_resolved))
        q_len, k_len = ops.shape(q)[1], ops.shape(k)[1]
        only_causal = (
            use_causal_mask
            and query_mask is None
            and key_padding_mask is None
            and attention_mask is None
            and window is None
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
                sliding_window=window,
            )
        dropout_active = self.dropout > 0.0 and bool(training)
        # jax.nn.dot_product_attention needs value heads as wide as key heads.
        kernel_fits = self._qk_dim_resolved == self._value_dim_resolved
        if kernel_fits and not return_attention_scores and not dropout_active:
            return self._fused(q, k, v, mask, only_causal, scale), None
        if only_causal:
            mask = mask_utils.causal_mask(q_len, k_len)[:, None]
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
                flash_attention=self._flash(),
            )
        # A fully masked row makes some kernels return NaN (and NaN leaks into
        # gradients even through `where`), so such rows attend everywhere
        # inside the kernel and are zeroed afterwards.
        row_has_key = ops.any(mask, axis=-1, keepdims=True)  # (B|1, H|1, T, 1)
        safe_mask = ops.logical_or(mask, ops.logical_not(row_has_key))
        out = ops.dot_product_attention(
            q,
            k,
            v,
            mask=safe_mask,
            scale=scale,
            flash_attention=self._flash(),
        )  # (B, T, H, d_v)
        keep = ops.transpose(row_has_key, (0, 2, 1, 3))  # (B|1, T, H|1, 1)
        return ops.where(keep, out, ops.zeros_like(out))

    def _explicit(self, q, k, v, mask, scale, training):
        """softmax(Q K^T / sqrt(d_h)) V with the weights materialized."""
        q = q * ops.cast(scale, q.dtype)
        scores = ops.einsum("bthd,bshd->bhts", q, k)  # (B, H, T, S)
        # The softmax runs in float32 even under mixed precision.
        scores = ops.cast(scores, "float32")
        if mask is not None:  # (B|1, H|1, T, S)
            scores = ops.where(mask, scores, mask_utils.large_negative("float32"))
        weights = ops.softmax(scores, axis=-1)
        if mask is not None:
            weights = ops.where(mask, weights, ops.zeros_like(weights))
        weights = ops.cast(weights, v.dtype)
        dropped = self.dropout_layer(weights, training=training)
        out = ops.einsum("bhts,bshd->bthd", dropped, v)  # (B, T, H, d_v)
        return out, weights

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "attention_axes": self.attention_axes,
                "sliding_window": self.sliding_window,
                "flash_attention": self.flash_attention,
                "use_gate": self.use_gate,
            }
        )
        return config
