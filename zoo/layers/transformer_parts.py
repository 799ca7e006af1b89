"""Pieces shared by the transformer blocks: attention factory, feed-forward."""

import keras

from zoo.layers.attention_projections import copy_initializer
from zoo.layers.inference_call import layer_call
from zoo.layers.linear_attention import LinearAttention
from zoo.layers.multi_head_attention import MultiHeadAttention

ATTENTION_KINDS = ("softmax", "linear")


def check_attention(kind, feature_dim=None):
    """Refuses an unknown attention kind, or a `feature_dim` without a feature map.

    Args:
        kind: "softmax" or "linear".
        feature_dim: int or None; only linear attention has a feature map.

    Raises:
        ValueError: naming the argument and the accepted values.

    Example:
    >>> try:
    ...     check_attention("softmax", feature_dim=3)
    ... except ValueError as error:
    ...     print(str(error).split(";")[0])
    feature_dim: only linear attention has a feature map
    """
    if kind not in ATTENTION_KINDS:
        raise ValueError(f"attention: expected one of {ATTENTION_KINDS}, got {kind!r}")
    if feature_dim is not None and kind != "linear":
        raise ValueError(
            f"feature_dim: only linear attention has a feature map; got "
            f"feature_dim={feature_dim} with attention={kind!r}"
        )


def make_attention(
    kind, num_heads, dim, dropout, name, dtype=None, feature_dim=None, **initializers
):
    """A softmax (`MultiHeadAttention`) or linear (Taylor) attention layer.

    Args:
        kind: "softmax" or "linear".
        num_heads: int; each head gets `dim // num_heads` channels.
        dim: int, model size.
        dropout: float (softmax only: linear attention has no weights to drop).
        name: layer name.
        dtype: the parent's dtype policy (mixed precision reaches the layer).
        feature_dim: int or None (linear only): the query/key size per head
            fed to the feature map; None: the head size.
        **initializers: `kernel_initializer`, `bias_initializer` of the
            projections (Keras' defaults when left out).

    Returns:
        The attention layer, not yet built.

    Raises:
        ValueError: unknown kind, `dim` not divisible by `num_heads`, or a
            `feature_dim` for softmax attention (which has no feature map).

    Example:
    >>> make_attention("linear", 2, 16, 0.0, "a", feature_dim=4).feature_dim
    4
    """
    check_attention(kind, feature_dim)
    if dim % num_heads:
        raise ValueError(f"dim {dim} is not divisible by num_heads {num_heads}")
    if kind == "softmax":
        return MultiHeadAttention(
            num_heads,
            key_dim=dim // num_heads,
            dropout=dropout,
            name=name,
            dtype=dtype,
            **initializers,
        )
    return LinearAttention(
        num_heads,
        key_dim=dim // num_heads,
        feature_dim=feature_dim,
        name=name,
        dtype=dtype,
        **initializers,
    )


def make_feed_forward(dim, hidden, dropout, name, dtype=None, activation="gelu",
                      **initializers):  # fmt: skip
    """Dense(hidden, activation) -> Dropout -> Dense(dim), in the policy `dtype`.

    Example:
    >>> ffn = make_feed_forward(8, 16, 0.1, "ffn", activation="relu")
    >>> ffn.layers[0].activation.__name__
    'relu'
    """
    return keras.Sequential(
        [
            keras.layers.Dense(
                hidden, activation=activation, dtype=dtype, **initializers
            ),
            keras.layers.Dropout(dropout, dtype=dtype),
            keras.layers.Dense(dim, dtype=dtype, **initializers),
        ],
        name=name,
    )


class TransformerBlockBase(keras.layers.Layer):
    """Arguments and config shared by the encoder and decoder blocks.

    The knobs and their names follow keras-hub's `TransformerEncoder`; the
    defaults are the zoo's (pre-norm, GELU, epsilon 1e-5).

    Args:
        num_heads: int.
        hidden_dim: int, feed-forward width.
        attention: "softmax" or "linear".
        dropout: float. Defaults to 0.1.
        feature_dim: int or None (linear attention only): query/key size per
            head fed to the Taylor map, M = 1 + f + f^2 features; None: the
            head size.
        activation: the feed-forward's hidden activation (a Keras
            activation name or function). Defaults to "gelu".
        layer_norm_epsilon: float, every LayerNormalization's epsilon.
            Defaults to 1e-5.
        kernel_initializer, bias_initializer: of every projection and dense
            layer in the block (each gets its own copy; a seeded instance
            gives them all the same draws, as in Keras' MultiHeadAttention).
            Default to "glorot_uniform" and "zeros".
        normalize_first: bool. True: pre-norm, `x + f(LN(x))`; False:
            post-norm (the original transformer), `LN(x + f(x))`. Defaults
            to True.
        **kwargs: base layer arguments.
    """

    def __init__(
        self,
        num_heads,
        hidden_dim,
        attention="softmax",
        dropout=0.1,
        feature_dim=None,
        activation="gelu",
        layer_norm_epsilon=1e-5,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        normalize_first=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_attention(attention, feature_dim)  # at construction, not at build
        if not float(layer_norm_epsilon) > 0:
            raise ValueError(
                "layer_norm_epsilon: expected a positive float. "
                f"Received: layer_norm_epsilon={layer_norm_epsilon!r}"
            )
        self.num_heads, self.hidden_dim = num_heads, hidden_dim
        self.attention, self.dropout = attention, dropout
        self.feature_dim = feature_dim
        self.activation = keras.activations.get(activation)
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        # Kept as given and resolved by each sublayer: an unseeded
        # initializer draws its seed when it is made, so making them where
        # the sublayers are made keeps the draws (and the weights of a
        # seeded model) what they were before these arguments existed.
        self.kernel_initializer = _checked_initializer(kernel_initializer)
        self.bias_initializer = _checked_initializer(bias_initializer)
        self.normalize_first = bool(normalize_first)
        self.supports_masking = True

    def _initializers(self):
        """The initializers for one sublayer: names as they are, instances
        copied from their config (as Keras' MultiHeadAttention does)."""
        return {
            name: copy_initializer(getattr(self, name))
            for name in ("kernel_initializer", "bias_initializer")
        }

    def _attention(self, name, dim):
        """The block's attention sublayer `name`, in the block's dtype policy."""
        return make_attention(
            self.attention,
            self.num_heads,
            dim,
            self.dropout,
            name,
            self.dtype_policy,
            self.feature_dim,
            **self._initializers(),
        )

    def _feed_forward(self, dim):
        """The block's feed-forward sublayer, in the block's dtype policy."""
        return make_feed_forward(
            dim,
            self.hidden_dim,
            self.dropout,
            "ffn",
            self.dtype_policy,
            self.activation,
            **self._initializers(),
        )

    def _norm(self, name):
        """A LayerNormalization of the block's epsilon and dtype policy."""
        return keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, name=name, dtype=self.dtype_policy
        )

    def _residual(self, x, norm, sublayer, run=layer_call, training=None):
        """`x + drop(sublayer(LN(x)))` pre-norm, `LN(x + drop(sublayer(x)))`
        post-norm; `run(layer, ...)` calls the norm and the dropout."""
        if self.normalize_first:
            return x + run(self.drop, sublayer(run(norm, x)), training=training)
        return run(norm, x + run(self.drop, sublayer(x), training=training))

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "hidden_dim": self.hidden_dim,
            "attention": self.attention,
            "dropout": self.dropout,
            "feature_dim": self.feature_dim,
            "activation": keras.activations.serialize(self.activation),
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "kernel_initializer": _serialized(self.kernel_initializer),
            "bias_initializer": _serialized(self.bias_initializer),
            "normalize_first": self.normalize_first,
        }


def _checked_initializer(initializer):
    """`initializer` as given: a name (checked by the sublayers that make
    it, at build), or a config dict or an instance (checked now)."""
    if isinstance(initializer, dict):
        return keras.initializers.deserialize(initializer)
    if not isinstance(initializer, str):
        keras.initializers.get(initializer)  # raises on what is not one
    return initializer


def _serialized(initializer):
    """For `get_config`: a name as it is, an instance serialized."""
    if isinstance(initializer, str):
        return initializer
    return keras.initializers.serialize(initializer)
