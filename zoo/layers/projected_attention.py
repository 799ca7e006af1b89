"""Shared machinery of the zoo's attention layers: projections, masks, config."""

import keras
from keras import ops

from zoo.layers import masks as mask_utils


def _check_positive_int(name, value, allow_none=False):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        expected = "a positive int or None" if allow_none else "a positive int"
        raise ValueError(f"{name}: expected {expected}. Received: {name}={value!r}")


def _shape_str(shape):
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


@keras.saving.register_keras_serializable(package="zoo")
class ProjectedAttention(keras.layers.Layer):
    """Base of the zoo's attention layers: per-head Q/K/V projections and W^(o).

    Holds the projections of sheet B2: for each head h, `Q_h = X W_h^(q)`,
    `K_h = X W_h^(k)`, `V_h = X W_h^(v)`, then `O = Concat[H_1..H_H] W^(o)`.
    The kernels are stored per head, `(d, H, d_h)`, in the same order and
    shapes as `keras.layers.MultiHeadAttention`, so
    `layer.set_weights(keras_mha.get_weights())` copies a Keras layer over.
    For self-attention (`value is query`, `key` absent or the same tensor)
    the three input projections run as one fused matrix product.

    Subclasses implement `_attend(q, k, v, ...)`, which maps projected heads
    `(B, T, H, d_qk)`, `(B, S, H, d_qk)`, `(B, S, H, d_v)` to `(B, T, H, d_v)`.

    Args:
        num_heads: int. Number of heads H.
        key_dim: int. Size d_h of each query/key head. Defaults to
            `d // num_heads`, where d is the query's last dimension.
        value_dim: int. Size of each value head. Defaults to `key_dim`.
        dropout: float. Dropout rate (its meaning is the subclass's).
            Defaults to `0.0`.
        use_bias: bool. Whether the projections have biases. Defaults to
            `True`.
        output_shape: int. Last dimension of the output. Defaults to the
            query's last dimension.
        kernel_initializer: initializer for the kernels. Defaults to
            `"glorot_uniform"`.
        bias_initializer: initializer for the biases. Defaults to `"zeros"`.
        kernel_regularizer: optional regularizer for the kernels.
        bias_regularizer: optional regularizer for the biases.
        seed: int. Seed of the dropout. Defaults to `None`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).
    """

    def __init__(
        self,
        num_heads,
        key_dim=None,
        value_dim=None,
        dropout=0.0,
        use_bias=True,
        output_shape=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check_positive_int("num_heads", num_heads)
        _check_positive_int("key_dim", key_dim, allow_none=True)
        _check_positive_int("value_dim", value_dim, allow_none=True)
        _check_positive_int("output_shape", output_shape, allow_none=True)
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(
                f"dropout: expected a rate in [0, 1). Received: dropout={dropout!r}"
            )
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.value_dim = value_dim
        self.dropout = float(dropout)
        self.use_bias = use_bias
        # `output_shape` is a read-only property of keras.layers.Layer.
        self._output_dim = output_shape
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.seed = seed
        self.supports_masking = True
        self.dropout_layer = keras.layers.Dropout(
            self.dropout, seed=seed, dtype=self.dtype_policy
        )

    # -- sizes ---------------------------------------------------------------

    def _head_sizes(self, query_dim):
        """Returns (d_qk, d_v): per-head sizes of the Q/K and V projections."""
        key_dim = self.key_dim
        if key_dim is None:
            if query_dim % self.num_heads:
                raise ValueError(
                    f"key_dim: the query's last dimension {query_dim} is not "
                    f"divisible by num_heads={self.num_heads}; pass key_dim "
                    "explicitly."
                )
            key_dim = query_dim // self.num_heads
        value_dim = self.value_dim if self.value_dim is not None else key_dim
        return key_dim, value_dim

    def _qk_dim(self, key_dim):
        """Size of each query/key head fed to the score function."""
        return key_dim

    # -- build ---------------------------------------------------------------

    def _check_rank3(self, name, shape):
        if shape is None:
            return
        if len(shape) != 3:
            raise ValueError(
                f"{name}: expected a rank-3 tensor (batch, length, features). "
                f"Received: {name}.shape={_shape_str(shape)}"
            )
        if shape[-1] is None:
            raise ValueError(
                f"{name}: the last (feature) dimension must be known. "
                f"Received: {name}.shape={_shape_str(shape)}"
            )

    def build(self, query_shape, value_shape, key_shape=None):
        self._check_rank3("query", query_shape)
        self._check_rank3("value", value_shape)
        self._check_rank3("key", key_shape)
        key_shape = value_shape if key_shape is None else key_shape
        query_dim, key_in_dim, value_in_dim = (
            query_shape[-1],
            key_shape[-1],
            value_shape[-1],
        )
        key_dim, value_dim = self._head_sizes(query_dim)
        qk_dim = self._qk_dim(key_dim)
        self._key_dim_resolved = key_dim
        self._qk_dim_resolved = qk_dim
        self._value_dim_resolved = value_dim
        out_dim = self._output_dim or query_dim
        heads = self.num_heads

        def kernel(name, shape):
            return self.add_weight(
                name=name,
                shape=shape,
                initializer=self.kernel_initializer,
                regularizer=self.kernel_regularizer,
            )

        def bias(name, shape):
            if not self.use_bias:
                return None
            return self.add_weight(
                name=name,
                shape=shape,
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
            )

        # Same order as keras.layers.MultiHeadAttention.weights.
        self.query_kernel = kernel("query_kernel", (query_dim, heads, qk_dim))
        self.query_bias = bias("query_bias", (heads, qk_dim))
        self.key_kernel = kernel("key_kernel", (key_in_dim, heads, qk_dim))
        self.key_bias = bias("key_bias", (heads, qk_dim))
        self.value_kernel = kernel("value_kernel", (value_in_dim, heads, value_dim))
        self.value_bias = bias("value_bias", (heads, value_dim))
        self.output_kernel = kernel("output_kernel", (heads, value_dim, out_dim))
        self.output_bias = bias("output_bias", (out_dim,))
        self._build_attention(qk_dim, value_dim)
        self.built = True

    def _build_attention(self, qk_dim, value_dim):
        """Hook for subclasses that own sublayers (feature maps...)."""

    # -- projections ---------------------------------------------------------

    def _flat(self, kernel, bias):
        # Explicit casts: `LinearAttention.step` runs outside Keras' autocast.
        dtype = self.compute_dtype
        k = ops.cast(ops.reshape(kernel, (ops.shape(kernel)[0], -1)), dtype)
        b = None if bias is None else ops.cast(ops.reshape(bias, (-1,)), dtype)
        return k, b  # (d, H * d_h), (H * d_h,)

    def _project(self, query, value, key):
        """Returns q (B,T,H,d_qk), k (B,S,H,d_qk), v (B,S,H,d_v)."""
        heads = self.num_heads
        qk_dim, value_dim = self._qk_dim_resolved, self._value_dim_resolved
        qw, qb = self._flat(self.query_kernel, self.query_bias)
        kw, kb = self._flat(self.key_kernel, self.key_bias)
        vw, vb = self._flat(self.value_kernel, self.value_bias)
        batch = ops.shape(query)[0]
        if value is query and (key is None or key is query):
            # Self-attention: one (d, 2*H*d_qk + H*d_v) product instead of 3.
            fused = ops.matmul(query, ops.concatenate([qw, kw, vw], axis=1))
            if self.use_bias:
                fused = fused + ops.concatenate([qb, kb, vb], axis=0)
            q, k, v = ops.split(fused, [heads * qk_dim, 2 * heads * qk_dim], axis=-1)
        else:
            key = value if key is None else key
            q, k, v = ops.matmul(query, qw), ops.matmul(key, kw), ops.matmul(value, vw)
            if self.use_bias:
                q, k, v = q + qb, k + kb, v + vb
        q = ops.reshape(q, (batch, -1, heads, qk_dim))
        k = ops.reshape(k, (batch, -1, heads, qk_dim))
        v = ops.reshape(v, (batch, -1, heads, value_dim))
        return q, k, v

    def _project_step(self, query, state, value, key, state_name):
        """Shared start of `step`: build, validate, cast and project new tokens.

        Returns:
            q (B,T,H,d_qk), k (B,T,H,d_qk), v (B,T,H,d_v) of the new tokens.
        """
        value = query if value is None else value
        if not self.built:
            self.build(query.shape, value.shape, None if key is None else key.shape)
        self._check_rank3("query", query.shape)
        if len(state) != 2:
            raise ValueError(
                f"state: expected the pair {state_name} from get_initial_state. "
                f"Received {len(state)} items"
            )
        query = ops.cast(query, self.compute_dtype)
        value = query if value is query else ops.cast(value, self.compute_dtype)
        if key is not None:
            key = ops.cast(key, self.compute_dtype)
        return self._project(query, value, key)

    def _output(self, heads_out):
        """(B, T, H, d_v) -> (B, T, d_out) through W^(o)."""
        batch = ops.shape(heads_out)[0]
        w = ops.reshape(self.output_kernel, (-1, ops.shape(self.output_kernel)[-1]))
        w = ops.cast(w, self.compute_dtype)
        out = ops.matmul(ops.reshape(heads_out, (batch, -1, ops.shape(w)[0])), w)
        if self.use_bias:
            out = out + ops.cast(self.output_bias, self.compute_dtype)
        return out

    # -- call ----------------------------------------------------------------

    def _check_mask(self, name, mask, expected):
        if mask is None:
            return
        shape = tuple(mask.shape)
        ok = len(shape) == len(expected) and all(
            e is None or s is None or s == e
            for s, e in zip(shape, expected, strict=True)
        )
        if not ok:
            raise ValueError(
                f"{name}: expected shape {_shape_str(expected)}. "
                f"Received: {name}.shape={_shape_str(shape)}"
            )

    def call(
        self,
        query,
        value,
        key=None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        use_causal_mask=False,
        return_attention_scores=False,
        training=None,
    ):
        key_input = value if key is None else key
        batch, q_len, k_len = query.shape[0], query.shape[1], key_input.shape[1]
        for name, other in (("value", value), ("key", key_input)):
            if None not in (batch, other.shape[0]) and other.shape[0] != batch:
                # Attending across batch items would mix different examples.
                raise ValueError(
                    f"{name}: the batch size must equal the query's. Received: "
                    f"query.shape={_shape_str(query.shape)}, "
                    f"{name}.shape={_shape_str(other.shape)}"
                )
        if key_input.shape[1] != value.shape[1] and None not in (
            key_input.shape[1],
            value.shape[1],
        ):
            raise ValueError(
                "key: key and value must have the same length. Received: "
                f"key.shape={_shape_str(key_input.shape)}, "
                f"value.shape={_shape_str(value.shape)}"
            )
        self._check_mask("query_mask", query_mask, (batch, q_len))
        self._check_mask("value_mask", value_mask, (batch, k_len))
        self._check_mask("key_mask", key_mask, (batch, k_len))
        self._check_mask("attention_mask", attention_mask, (batch, q_len, k_len))
        key_padding_mask = mask_utils.combine_key_masks(value_mask, key_mask)
        q, k, v = self._project(query, value, key)
        heads_out, scores = self._attend(
            q,
            k,
            v,
            query_mask=query_mask,
            key_padding_mask=key_padding_mask,
            attention_mask=attention_mask,
            use_causal_mask=use_causal_mask,
            return_attention_scores=return_attention_scores,
            training=training,
        )
        output = self._output(heads_out)
        if return_attention_scores:
            return output, scores
        return output

    def _attend(self, q, k, v, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement _attend")

    def compute_mask(self, query, mask=None):
        # Keras passes the query and its Keras mask: the output keeps it.
        return mask

    def compute_output_shape(self, query_shape, value_shape, key_shape=None):
        return (*query_shape[:-1], self._output_dim or query_shape[-1])

    def compute_output_spec(
        self,
        query,
        value,
        key=None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        use_causal_mask=False,
        return_attention_scores=False,
        training=None,
    ):
        out_dim = self._output_dim or query.shape[-1]
        output = keras.KerasTensor(
            (*query.shape[:-1], out_dim), dtype=self.compute_dtype
        )
        if return_attention_scores:
            key_len = (value if key is None else key).shape[1]
            scores = keras.KerasTensor(
                (query.shape[0], self.num_heads, query.shape[1], key_len),
                dtype=self.compute_dtype,
            )
            return output, scores
        return output

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "key_dim": self.key_dim,
                "value_dim": self.value_dim,
                "dropout": self.dropout,
                "use_bias": self.use_bias,
                "output_shape": self._output_dim,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "kernel_regularizer": keras.regularizers.serialize(
                    self.kernel_regularizer
                ),
                "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
                "seed": self.seed,
            }
        )
        return config
