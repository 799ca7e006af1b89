"""Key/value caching of `zoo.layers.MultiHeadAttention` for incremental decoding.

`KeyValueCache` is a mixin of the softmax attention layer: `get_initial_state`
and `step` generate token by token from a growing or a preallocated cache,
`project_key_value` and `attend_key_value` attend to a fixed memory (a
decoder's encoder outputs) projected once.
"""

import keras
from keras import ops


class KeyValueCache:
    """Incremental decoding for a softmax attention layer.

    Mixed into `zoo.layers.MultiHeadAttention`, whose projections
    (`_project_step`, `_apply`, `_output`) and attention (`_attend`) it uses.
    Every method needs the layer built (called once, or `build()`).
    """

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
        >>> from zoo.layers import MultiHeadAttention
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
        >>> from zoo.layers import MultiHeadAttention
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
        q, k, v, gate = self._project_step(query, state, value, key, "(K, V)")
        k = ops.concatenate([ops.cast(state[0], k.dtype), k], axis=1)
        v = ops.concatenate([ops.cast(state[1], v.dtype), v], axis=1)
        new_len, total = ops.shape(q)[1], ops.shape(k)[1]
        mask = None
        if new_len > 1 or self.sliding_window is not None:
            mask = self._step_mask(total - new_len, new_len, total)
        out, _ = self._attend(q, k, v, attention_mask=mask, sliding_window=False)
        return self._output(out, gate), (k, v)

    def _step_mask(self, offset, new_len, total):
        """`(1, T_new, S)`: new token i, at position offset + i, sees keys up
        to its own position (and within the sliding window)."""
        rows = offset + ops.arange(new_len, dtype="int32")[:, None]
        cols = ops.arange(total, dtype="int32")[None, :]
        mask = cols <= rows
        if self.sliding_window is not None:
            mask = ops.logical_and(mask, rows - cols < self.sliding_window)
        return mask[None]

    def _step_preallocated(self, query, state, value, key):
        """`step` on the fixed-shape cache `(K, V, length)`."""
        keys, values, length = state
        q, k, v, gate = self._project_step(query, (keys, values), value, key, "(K, V)")
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
        mask = self._step_mask(length, new_len, capacity)
        out, _ = self._attend(
            q, keys, values, attention_mask=mask, sliding_window=False
        )
        new_length = length + ops.convert_to_tensor(new_len, "int32")
        return self._output(out, gate), (keys, values, new_length)

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
        >>> from zoo.layers import MultiHeadAttention
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
        dtype = self.compute_dtype
        keys = self._apply(self._key_dense, ops.cast(key, dtype), self._qk_dim_resolved)
        values = self._apply(
            self._value_dense, ops.cast(value, dtype), self._value_dim_resolved
        )
        return keys, values

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
        >>> from zoo.layers import MultiHeadAttention
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
        query = ops.cast(query, self.compute_dtype)
        q = self._apply(self._query_dense, query, self._qk_dim_resolved)
        gate = None
        if self._gate_dense is not None:
            gate = self._apply(self._gate_dense, query, self._value_dim_resolved)
        keys = ops.cast(keys, q.dtype)
        values = ops.cast(values, q.dtype)
        out, _ = self._attend(q, keys, values, key_padding_mask=value_mask)
        return self._output(out, gate)


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
    elif backend == "torch":
        import torch

        if torch.compiler.is_compiling():
            return None
    return int(ops.convert_to_numpy(x))
