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

    def _check_built(self, method):
        if not self.built:
            raise ValueError(
                f"{method}: the layer is not built; call it once on inputs "
                "(or call build()) first"
            )

    def get_initial_state(self, batch_size, max_length=None):
        """The empty key/value cache for `batch_size` sequences.

        Without `max_length` the cache starts empty and every `step` appends
        to it, so its shape changes at every generated token (memory exactly
        proportional to the tokens seen). With `max_length` the cache is
        preallocated: `step` writes the new keys and values in place at the
        current length and attends over all `max_length` slots with a mask
        hiding the unused ones, so every step of a generation sees the same
        shapes (one compiled program on JAX, instead of one per length).

        Args:
            batch_size: int.
            max_length: int or None. Positions to preallocate: the most
                tokens (prompt included) that `step` will ever hold.

        Returns:
            Without `max_length`, the pair `(K, V)`: zeros `(B, 0, H, d_h)`
            and `(B, 0, H, d_v)`. With it, the triple `(K, V, length)`: zeros
            `(B, max_length, H, d_h)` and `(B, max_length, H, d_v)` and the
            int32 scalar tensor 0, the number of positions filled.

        Example:
        >>> import numpy as np
        >>> layer = MultiHeadAttention(num_heads=2)
        >>> x = np.zeros((1, 4, 8), "float32")
        >>> _ = layer(x, x)
        >>> keys, values, length = layer.get_initial_state(1, max_length=4)
        >>> tuple(keys.shape), int(ops.convert_to_numpy(length))
        ((1, 4, 2, 4), 0)
        """
        self._check_built("get_initial_state")
        if max_length is not None and (
            isinstance(max_length, bool)
            or not isinstance(max_length, int)
            or max_length <= 0
        ):
            raise ValueError(
                "max_length: expected a positive int or None. "
                f"Received: max_length={max_length!r}"
            )
        length = 0 if max_length is None else max_length
        heads, dtype = self.num_heads, self.compute_dtype
        keys = ops.zeros((batch_size, length, heads, self._qk_dim_resolved), dtype)
        values = ops.zeros((batch_size, length, heads, self._value_dim_resolved), dtype)
        if max_length is None:
            return keys, values
        return keys, values, ops.convert_to_tensor(0, "int32")

    def step(self, query, state, value=None, key=None):
        """Causal self-attention of new tokens over the cache and themselves.

        The keys and values of the new tokens are projected once and stored
        in the cache, so generating token t costs O(t d) instead of
        recomputing all t tokens (O(t^2 d)). New token i (of `T_new`) sees
        the cached tokens and new tokens 0..i, exactly as
        `call(..., use_causal_mask=True)` on the whole sequence.

        Args:
            query: `(B, T_new, d)` new tokens.
            state: `(K, V)` (growing cache) or `(K, V, length)` (preallocated
                cache) from `get_initial_state` or a previous `step`.
            value: `(B, T_new, d_v_in)`; defaults to `query`.
            key: defaults to `value`.

        Returns:
            Tuple `(output, new_state)`: `(B, T_new, output_shape)` and the
            cache holding `T_new` more positions: `(K, V)` extended by
            `T_new` rows, or `(K, V, length + T_new)` of unchanged shapes.

        Raises:
            ValueError: when a preallocated cache has no room left for the
                new tokens (checked whenever `length` is a concrete value).

        Example:
        >>> import numpy as np
        >>> layer = MultiHeadAttention(num_heads=2)
        >>> x = np.random.default_rng(0).normal(size=(1, 4, 8)).astype("float32")
        >>> full = layer(x, x, use_causal_mask=True)
        >>> state = layer.get_initial_state(1, max_length=4)
        >>> prompt, state = layer.step(x[:, :3], state)
        >>> last, state = layer.step(x[:, 3:], state)
        >>> expected = ops.convert_to_numpy(full)[:, 3:]
        >>> bool(np.allclose(ops.convert_to_numpy(last), expected, atol=1e-5))
        True
        >>> int(ops.convert_to_numpy(state[2]))
        4
        """
        if len(state) == 3:
            return self._step_preallocated(query, state, value, key)
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

    def _step_preallocated(self, query, state, value, key):
        """`step` on the fixed-shape cache `(K, V, length)`."""
        keys, values, length = state
        q, k, v = self._project_step(query, (keys, values), value, key, "(K, V)")
        new_len, capacity = q.shape[1], keys.shape[1]
        filled = _concrete_int(length)
        if new_len is not None and (
            new_len > capacity or (filled is not None and filled + new_len > capacity)
        ):
            raise ValueError(
                f"step: the key/value cache holds {capacity} positions "
                f"(get_initial_state's max_length) and {filled} are filled; "
                f"{new_len} new token(s) do not fit. Pass a larger max_length."
            )
        length = ops.cast(length, "int32")
        zero = ops.zeros((), "int32")
        start = (zero, length, zero, zero)
        keys = ops.slice_update(ops.cast(keys, k.dtype), start, k)
        values = ops.slice_update(ops.cast(values, v.dtype), start, v)
        # New token i sits at position length + i and may attend to every
        # position up to its own: older tokens, new tokens 0..i. The slots
        # after it (later new tokens, unused ones) are masked.
        query_positions = length + ops.arange(new_len, dtype="int32")
        key_positions = ops.arange(capacity, dtype="int32")
        mask = key_positions[None, None, :] <= query_positions[None, :, None]
        out, _ = self._attend(q, keys, values, attention_mask=mask)
        new_length = length + ops.convert_to_tensor(new_len, "int32")
        return self._output(out), (keys, values, new_length)

    # -- attention to a fixed sequence (the encoder memory) --------------------

    def project_key_value(self, value, key=None):
        """Projected keys and values of an attended sequence, computed once.

        In a decoder, cross-attention attends at every step to the same
        encoder outputs: projecting them once per input and passing the
        result to `attend_key_value` at each step saves two matrix products
        over the whole memory per step and block.

        Args:
            value: `(B, S, d_v_in)`.
            key: `(B, S, d_k_in)`; defaults to `value`.

        Returns:
            Tuple `(K, V)`: `(B, S, H, d_h)` and `(B, S, H, d_v)`.

        Example:
        >>> import numpy as np
        >>> layer = MultiHeadAttention(num_heads=2)
        >>> x, memory = np.ones((1, 1, 8), "float32"), np.ones((1, 5, 8), "float32")
        >>> _ = layer(x, memory)
        >>> tuple(layer.project_key_value(memory)[0].shape)
        (1, 5, 2, 4)
        """
        self._check_built("project_key_value")
        key = value if key is None else key
        self._check_rank3("value", value.shape)
        self._check_rank3("key", key.shape)
        batch, heads = ops.shape(value)[0], self.num_heads
        projected = []
        for inputs, kernel, bias, size in (
            (key, self.key_kernel, self.key_bias, self._qk_dim_resolved),
            (value, self.value_kernel, self.value_bias, self._value_dim_resolved),
        ):
            weight, offset = self._flat(kernel, bias)
            out = ops.matmul(ops.cast(inputs, self.compute_dtype), weight)
            if offset is not None:
                out = out + offset
            projected.append(ops.reshape(out, (batch, -1, heads, size)))
        return tuple(projected)

    def attend_key_value(self, query, key_value, value_mask=None):
        """Attention of `query` to keys and values from `project_key_value`.

        Equal to `call(query, value, key, value_mask=value_mask)` (inference,
        no dropout) for the `value` and `key` that were projected.

        Args:
            query: `(B, T, d)`.
            key_value: the pair `(K, V)` from `project_key_value`.
            value_mask: optional boolean `(B, S)` padding mask of the keys.

        Returns:
            `(B, T, output_shape)`.

        Example:
        >>> import numpy as np
        >>> layer = MultiHeadAttention(num_heads=2)
        >>> x, memory = np.ones((1, 1, 8), "float32"), np.ones((1, 5, 8), "float32")
        >>> full = layer(x, memory)
        >>> out = layer.attend_key_value(x, layer.project_key_value(memory))
        >>> bool(np.allclose(ops.convert_to_numpy(out), ops.convert_to_numpy(full)))
        True
        """
        self._check_built("attend_key_value")
        self._check_rank3("query", query.shape)
        if len(key_value) != 2:
            raise ValueError(
                "key_value: expected the pair (K, V) from project_key_value. "
                f"Received {len(key_value)} items"
            )
        keys, values = key_value
        weight, offset = self._flat(self.query_kernel, self.query_bias)
        q = ops.matmul(ops.cast(query, self.compute_dtype), weight)
        if offset is not None:
            q = q + offset
        q = ops.reshape(
            q, (ops.shape(query)[0], -1, self.num_heads, self._qk_dim_resolved)
        )
        keys = ops.cast(keys, q.dtype)
        values = ops.cast(values, q.dtype)
        out, _ = self._attend(q, keys, values, key_padding_mask=value_mask)
        return self._output(out)

    def get_config(self):
        config = super().get_config()
        config["flash_attention"] = self.flash_attention
        return config


def _concrete_int(x):
    """The value of an int or scalar tensor, or None while tracing (jit)."""
    if isinstance(x, int):
        return x
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        if isinstance(x, jax.core.Tracer):
            return None
    elif backend == "tensorflow":
        import tensorflow as tf

        if not tf.executing_eagerly():
            return None
    return int(ops.convert_to_numpy(x))
