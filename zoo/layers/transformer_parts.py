"""Pieces shared by the transformer blocks: attention factory, feed-forward."""

import keras

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


def make_attention(kind, num_heads, dim, dropout, name, dtype=None, feature_dim=None):
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
            num_heads, key_dim=dim // num_heads, dropout=dropout, name=name, dtype=dtype
        )
    return LinearAttention(
        num_heads,
        key_dim=dim // num_heads,
        feature_dim=feature_dim,
        name=name,
        dtype=dtype,
    )


def make_feed_forward(dim, hidden, dropout, name, dtype=None):
    """Dense(hidden, gelu) -> Dropout -> Dense(dim), in the dtype policy `dtype`."""
    return keras.Sequential(
        [
            keras.layers.Dense(hidden, activation="gelu", dtype=dtype),
            keras.layers.Dropout(dropout, dtype=dtype),
            keras.layers.Dense(dim, dtype=dtype),
        ],
        name=name,
    )


class TransformerBlockBase(keras.layers.Layer):
    """Arguments and config shared by the encoder and decoder blocks.

    Args:
        num_heads: int.
        hidden_dim: int, feed-forward width.
        attention: "softmax" or "linear".
        dropout: float. Defaults to 0.1.
        feature_dim: int or None (linear attention only): query/key size per
            head fed to the Taylor map, M = 1 + f + f^2 features; None: the
            head size.
        **kwargs: base layer arguments.
    """

    def __init__(
        self,
        num_heads,
        hidden_dim,
        attention="softmax",
        dropout=0.1,
        feature_dim=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_attention(attention, feature_dim)  # at construction, not at build
        self.num_heads, self.hidden_dim = num_heads, hidden_dim
        self.attention, self.dropout = attention, dropout
        self.feature_dim = feature_dim
        self.supports_masking = True

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
        )

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "hidden_dim": self.hidden_dim,
            "attention": self.attention,
            "dropout": self.dropout,
            "feature_dim": self.feature_dim,
        }
