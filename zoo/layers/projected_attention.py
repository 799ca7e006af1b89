"""Shared machinery of the zoo's attention layers: projections, masks, config."""

import keras
from keras import ops

from zoo.layers import attention_checks as checks
from zoo.layers import attention_layout as layout
from zoo.layers.attention_checks import check_positive_int as _check_positive_int
from zoo.layers.attention_projections import EinsumProjections
from zoo.layers.masks import combine_key_masks


@keras.saving.register_keras_serializable(package="zoo")
class ProjectedAttention(EinsumProjections, keras.layers.Layer):
    """Base of the zoo's attention layers: per-head Q/K/V projections and W^(o).

    Holds the projections of sheet B2: for each head h, `Q_h = X W_h^(q)`,
    `K_h = X W_h^(k)`, `V_h = X W_h^(v)`, then `O = Concat[H_1..H_H] W^(o)`.
    They are `keras.layers.EinsumDense` sublayers named, shaped and ordered
    as in `keras.layers.MultiHeadAttention` (`query_dense`, `key_dense`,
    `value_dense`, `output_dense`), so `layer.set_weights(keras_mha.get_weights())`
    copies a Keras layer over, a weights file of one loads into the other,
    and Keras' per-layer features work on each projection: LoRA
    (`layer.query_dense.enable_lora(r)`), int8 quantization
    (`model.quantize("int8")`), constraints, `keras.dtype_policies.DTypePolicyMap`.

    While the projections are plain float layers their kernels are read
    directly: self-attention (`value is query`, `key` absent or the same
    tensor) then projects Q, K and V with one fused matrix product. A
    quantized projection, or one with an activity regularizer, is called as
    a layer instead (the explicit path); both give the same numbers.

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
        output_shape: int or tuple of ints. Trailing output dimensions,
            replacing the query's last one. Defaults to the query's last
            dimension.
        kernel_initializer: initializer for the kernels (a fresh copy per
            projection). Defaults to `"glorot_uniform"`.
        bias_initializer: initializer for the biases. Defaults to `"zeros"`.
        kernel_regularizer: optional regularizer for the kernels.
        bias_regularizer: optional regularizer for the biases.
        activity_regularizer: optional regularizer of each projection's
            output (as in Keras' layer).
        kernel_constraint: optional constraint on the kernels.
        bias_constraint: optional constraint on the biases.
        seed: int. Seed of the dropout. Defaults to `None`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Returns:
        Called as `layer(query, value, key=None, ...)`: the attention output
        `(B, T, *output_shape)`, and the scores with
        `return_attention_scores=True` (see the subclasses).

    Example:
    >>> from zoo.layers import MultiHeadAttention
    >>> layer = MultiHeadAttention(num_heads=2, key_dim=4, use_gate=True, name="mha")
    >>> layer.build((1, 5, 8), (1, 5, 8))
    >>> for weight in layer.weights[::2]:
    ...     print(weight.path, tuple(weight.shape))
    mha/query/kernel (8, 2, 4)
    mha/key/kernel (8, 2, 4)
    mha/gate/kernel (8, 2, 4)
    mha/value/kernel (8, 2, 4)
    mha/attention_output/kernel (2, 4, 8)
    """

    # Subclasses that attend over inputs of rank > 3 set these.
    _accepts_attention_axes = False
    attention_axes = None
    use_gate = False

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
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        seed=None,
        **kwargs,
    ):
        _check_positive_int("num_heads", num_heads)
        _check_positive_int("key_dim", key_dim, allow_none=True)
        _check_positive_int("value_dim", value_dim, allow_none=True)
        output_shape = checks.normalize_output_shape(output_shape)
        try:
            rate_ok = not isinstance(dropout, bool) and 0.0 <= float(dropout) < 1.0
        except (TypeError, ValueError):
            rate_ok = False
        if not rate_ok:
            raise ValueError(
                "Invalid value for argument `dropout`: expected a rate in "
                f"[0, 1). Received: dropout={dropout!r}"
            )
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.value_dim = value_dim
        self.dropout = float(dropout)
        self.use_bias = use_bias
        self._output_shape = output_shape
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        # Applied to the projections, not to this layer's output (Keras' rule).
        self.projection_activity_regularizer = keras.regularizers.get(
            activity_regularizer
        )
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.bias_constraint = keras.constraints.get(bias_constraint)
        self.seed = seed
        self.supports_masking = True
        self.dropout_layer = keras.layers.Dropout(
            self.dropout, seed=seed, dtype=self.dtype_policy
        )
        self._gate_dense = None
        self._layout = None

    # -- the projections, as Keras names them --------------------------------

    @property
    def query_dense(self):
        return self._query_dense

    @property
    def key_dense(self):
        return self._key_dense

    @property
    def value_dense(self):
        return self._value_dense

    @property
    def output_dense(self):
        return self._output_dense

    # The effective kernels and biases (LoRA included), under the names the
    # layer had before its projections became sublayers.
    query_kernel = property(lambda self: self._query_dense.kernel)
    query_bias = property(lambda self: self._query_dense.bias)
    key_kernel = property(lambda self: self._key_dense.kernel)
    key_bias = property(lambda self: self._key_dense.bias)
    value_kernel = property(lambda self: self._value_dense.kernel)
    value_bias = property(lambda self: self._value_dense.bias)
    output_kernel = property(lambda self: self._output_dense.kernel)
    output_bias = property(lambda self: self._output_dense.bias)

    # -- sizes and shapes ----------------------------------------------------

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

    def _check_rank3(self, name, shape):
        checks.check_rank3(name, shape)

    def _check_shapes(self, query_shape, value_shape, key_shape):
        axes = self.attention_axes if self._accepts_attention_axes else False
        checks.check_shapes(query_shape, value_shape, key_shape, axes)

    # -- build ---------------------------------------------------------------

    def build(self, query_shape, value_shape, key_shape=None):
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        self._check_shapes(query_shape, value_shape, key_shape)
        rank = len(query_shape)
        if rank > 3:
            axes = layout.resolve_attention_axes(self.attention_axes, rank)
            self._layout = layout.AttentionLayout(rank, axes)
        key_dim, value_dim = self._head_sizes(query_shape[-1])
        qk_dim = self._qk_dim(key_dim)
        self._key_dim_resolved = key_dim
        self._qk_dim_resolved = qk_dim
        self._value_dim_resolved = value_dim
        self._output_dims = self._output_shape or (query_shape[-1],)
        heads = self.num_heads
        # Keras' order (query, key, gate, value, output): get_weights() lines up.
        self._query_dense = self._projection("query", query_shape, 1, (heads, qk_dim))
        self._key_dense = self._projection("key", key_shape, 1, (heads, qk_dim))
        if self.use_gate:
            self._gate_dense = self._projection(
                "gate", query_shape, 1, (heads, value_dim), activation="sigmoid"
            )
        self._value_dense = self._projection(
            "value", value_shape, 1, (heads, value_dim)
        )
        self._output_dense = self._projection(
            "attention_output",
            (*query_shape[:-1], heads, value_dim),
            2,
            self._output_dims,
        )
        self._build_attention(qk_dim, value_dim)
        self.built = True

    def _build_attention(self, qk_dim, value_dim):
        """Hook for subclasses that own sublayers (feature maps...)."""

    # -- call ----------------------------------------------------------------

    def call(
        self,
        query,
        value,
        key=None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        return_attention_scores=False,
        training=None,
        use_causal_mask=False,
    ):
        key_input = value if key is None else key
        self._check_shapes(query.shape, value.shape, key_input.shape)
        checks.check_mask("query_mask", query_mask, query.shape[:-1])
        checks.check_mask("value_mask", value_mask, key_input.shape[:-1])
        checks.check_mask("key_mask", key_mask, key_input.shape[:-1])
        checks.check_attention_mask(
            attention_mask,
            query.shape,
            key_input.shape,
            self.num_heads,
            self.attention_axes,
        )
        key_padding_mask = combine_key_masks(value_mask, key_mask)
        q, k, v, gate = self._project(query, value, key)
        grid = self._layout
        if grid is not None:  # rank > 3: fold the free axes into the batch
            query_shape, key_shape = ops.shape(query), ops.shape(key_input)
            q, k, v = grid.to_heads(q), grid.to_heads(k), grid.to_heads(v)
            if query_mask is not None:
                query_mask = grid.flatten_mask(query_mask)
            if key_padding_mask is not None:
                key_padding_mask = grid.flatten_mask(key_padding_mask)
            if attention_mask is not None:
                attention_mask = grid.flatten_attention_mask(
                    attention_mask, query_shape, key_shape
                )
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
        if grid is not None:
            heads_out = grid.from_heads(heads_out, query_shape)
            if scores is not None:
                scores = grid.unflatten_scores(scores, query_shape, key_shape)
        output = self._output(heads_out, gate)
        if return_attention_scores:
            return output, scores
        return output

    def _attend(self, q, k, v, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement _attend")

    def compute_mask(self, query, mask=None):
        # Keras passes the query and its Keras mask: the output keeps it.
        return mask

    def compute_output_shape(self, query_shape, value_shape, key_shape=None):
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        self._check_shapes(query_shape, value_shape, key_shape)
        return (*query_shape[:-1], *(self._output_shape or (query_shape[-1],)))

    def compute_output_spec(
        self,
        query,
        value,
        key=None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        return_attention_scores=False,
        training=None,
        use_causal_mask=False,
    ):
        key_shape = None if key is None else key.shape
        output = keras.KerasTensor(
            self.compute_output_shape(query.shape, value.shape, key_shape),
            dtype=self.compute_dtype,
        )
        if return_attention_scores:
            scores_shape = checks.scores_shape(
                query.shape,
                value.shape if key is None else key.shape,
                self.num_heads,
                self.attention_axes,
            )
            return output, keras.KerasTensor(scores_shape, dtype=self.compute_dtype)
        return output

    # -- saving --------------------------------------------------------------

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "key_dim": self.key_dim,
                "value_dim": self.value_dim,
                "dropout": self.dropout,
                "use_bias": self.use_bias,
                "output_shape": self._output_shape,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "kernel_regularizer": keras.regularizers.serialize(
                    self.kernel_regularizer
                ),
                "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
                "activity_regularizer": keras.regularizers.serialize(
                    self.projection_activity_regularizer
                ),
                "kernel_constraint": keras.constraints.serialize(
                    self.kernel_constraint
                ),
                "bias_constraint": keras.constraints.serialize(self.bias_constraint),
                "seed": self.seed,
            }
        )
        return config
