"""Pieces shared by the transformer blocks: attention factory, feed-forward."""

import keras

from zoo.layers.linear_attention import LinearAttention
from zoo.layers.multi_head_attention import MultiHeadAttention

ATTENTION_KINDS = ("softmax", "linear")


def make_attention(kind, num_heads, dim, dropout, name):
    """A softmax (`MultiHeadAttention`) or linear (Taylor) attention layer.

    Args:
        kind: "softmax" or "linear".
        num_heads: int; each head gets `dim // num_heads` channels.
        dim: int, model size.
        dropout: float (softmax only: linear attention has no weights to drop).
        name: layer name.
    """
    if kind not in ATTENTION_KINDS:
        raise ValueError(f"attention: expected one of {ATTENTION_KINDS}, got {kind!r}")
    if dim % num_heads:
        raise ValueError(f"dim {dim} is not divisible by num_heads {num_heads}")
    if kind == "softmax":
        return MultiHeadAttention(
            num_heads, key_dim=dim // num_heads, dropout=dropout, name=name
        )
    return LinearAttention(num_heads, key_dim=dim // num_heads, name=name)


def make_feed_forward(dim, hidden, dropout, name):
    """Dense(hidden, gelu) -> Dropout -> Dense(dim)."""
    return keras.Sequential(
        [
            keras.layers.Dense(hidden, activation="gelu"),
            keras.layers.Dropout(dropout),
            keras.layers.Dense(dim),
        ],
        name=name,
    )


def block_config(layer):
    """The constructor arguments common to both blocks (for get_config)."""
    return {
        "num_heads": layer.num_heads,
        "hidden_dim": layer.hidden_dim,
        "attention": layer.attention,
        "dropout": layer.dropout,
    }
