"""Pieces shared by the transformer blocks: attention factory, feed-forward."""

import keras

from zoo.layers.linear_attention import LinearAttention
from zoo.layers.multi_head_attention import MultiHeadAttention

ATTENTION_KINDS = ("softmax", "linear")


def make_attention(kind, num_heads, dim, dropout, name, dtype=None):
    """A softmax (`MultiHeadAttention`) or linear (Taylor) attention layer.

    Args:
        kind: "softmax" or "linear".
        num_heads: int; each head gets `dim // num_heads` channels.
        dim: int, model size.
        dropout: float (softmax only: linear attention has no weights to drop).
        name: layer name.
        dtype: the parent's dtype policy (mixed precision reaches the layer).
    """
    if kind not in ATTENTION_KINDS:
        raise ValueError(f"attention: expected one of {ATTENTION_KINDS}, got {kind!r}")
    if dim % num_heads:
        raise ValueError(f"dim {dim} is not divisible by num_heads {num_heads}")
    if kind == "softmax":
        return MultiHeadAttention(
            num_heads, key_dim=dim // num_heads, dropout=dropout, name=name, dtype=dtype
        )
    return LinearAttention(num_heads, key_dim=dim // num_heads, name=name, dtype=dtype)


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
        **kwargs: base layer arguments.
    """

    def __init__(
        self, num_heads, hidden_dim, attention="softmax", dropout=0.1, **kwargs
    ):
        super().__init__(**kwargs)
        if attention not in ATTENTION_KINDS:
            raise ValueError(
                f"attention: expected one of {ATTENTION_KINDS}, got {attention!r}"
            )
        self.num_heads, self.hidden_dim = num_heads, hidden_dim
        self.attention, self.dropout = attention, dropout
        self.supports_masking = True

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "hidden_dim": self.hidden_dim,
            "attention": self.attention,
            "dropout": self.dropout,
        }
