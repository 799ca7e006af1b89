"""Projection equations and the attention-axes layout of the attention layers.

Helpers of `zoo.layers.ProjectedAttention` and its subclasses: the einsum
equations of the projections (those of `keras.layers.MultiHeadAttention`),
and `AttentionLayout`, which maps inputs of rank > 3 with `attention_axes`
onto the `(batch, length, heads, size)` form the attention kernels take.
"""

import math
import string

from keras import ops


def projection_equation(free_dims, bound_dims, output_dims):
    """Einsum equation and bias axes of a projection (Keras' MHA convention).

    Args:
        free_dims: int. Leading input axes carried over (batch, positions).
        bound_dims: int. Input axes contracted with the kernel.
        output_dims: int. New trailing axes the kernel produces.

    Returns:
        Tuple `(equation, bias_axes)`.

    Example:
    >>> projection_equation(2, 1, 2)
    ('abc,cde->abde', 'de')
    """
    letters = string.ascii_lowercase
    free = letters[:free_dims]
    bound = letters[free_dims : free_dims + bound_dims]
    out = letters[free_dims + bound_dims : free_dims + bound_dims + output_dims]
    return f"{free}{bound},{bound}{out}->{free}{out}", out


def resolve_attention_axes(attention_axes, query_rank):
    """Absolute attention axes of a query of rank `query_rank`.

    Negative axes count as in `keras.layers.MultiHeadAttention` (from the
    end of the projected query, whose last two axes are heads and features),
    so on a rank-4 query `-2` is axis 2. None means every axis between the
    batch and the features.

    Args:
        attention_axes: tuple of ints or None.
        query_rank: int, at least 3.

    Returns:
        tuple of ints in `[1, query_rank - 2]`.

    Example:
    >>> resolve_attention_axes((-2,), 4), resolve_attention_axes(None, 5)
    ((2,), (1, 2, 3))
    """
    if attention_axes is None:
        return tuple(range(1, query_rank - 1))
    axes = tuple(a if a >= 0 else query_rank + a for a in attention_axes)
    if len(set(axes)) != len(axes) or not all(1 <= a <= query_rank - 2 for a in axes):
        raise ValueError(
            f"Invalid value for argument `attention_axes`: for a query of rank "
            f"{query_rank} the axes must be distinct and lie between 1 and "
            f"{query_rank - 2} (or {-(query_rank - 1)} and -2). "
            f"Received: attention_axes={attention_axes!r}"
        )
    return axes


def _prod(values):
    return math.prod(values) if all(isinstance(v, int) for v in values) else -1


class AttentionLayout:
    """Maps `(B, d_1..d_n, ...)` tensors with attention axes A onto `(B', T, ...)`.

    The axes between the batch and the features split into attention axes A
    (attended over, flattened together into one length T in the order given)
    and free axes F (kept apart: folded into the batch, B' = B prod(F)).
    Projected tensors `(B, d_1..d_n, H, d)` become `(B', T, H, d)`, the form
    the attention kernels take, and back. Scores come out in the layout of
    `keras.layers.MultiHeadAttention`: `(B, *F, H, *A_query, *A_key)`.

    Args:
        query_rank: int. Rank of the query (and key/value) inputs, n + 2.
        attention_axes: tuple of absolute axes (`resolve_attention_axes`).

    Example:
    >>> import numpy as np
    >>> layout = AttentionLayout(4, (2,))
    >>> x = np.zeros((3, 5, 7, 2, 4), "float32")  # (B, d_1, d_2, H, d)
    >>> tuple(layout.to_heads(x).shape)
    (15, 7, 2, 4)
    """

    def __init__(self, query_rank, attention_axes):
        self.n = query_rank - 2
        self.attention_axes = tuple(attention_axes)
        self.free_axes = tuple(
            a for a in range(1, self.n + 1) if a not in self.attention_axes
        )
        self.order = (0, *self.free_axes, *self.attention_axes)
        self.inverse = tuple(self.order.index(i) for i in range(self.n + 1))

    def _sizes(self, shape, axes):
        return [shape[a] for a in axes]

    def to_heads(self, x):
        """`(B, d_1..d_n, H, d)` -> `(B', T, H, d)`."""
        shape = ops.shape(x)
        x = ops.transpose(x, (*self.order, self.n + 1, self.n + 2))
        length = _prod(self._sizes(shape, self.attention_axes))
        return ops.reshape(x, (-1, length, shape[-2], shape[-1]))

    def from_heads(self, x, like_shape):
        """`(B', T, H, d)` -> `(B, d_1..d_n, H, d)` with d_i of `like_shape`."""
        shape = ops.shape(x)
        dims = [like_shape[0], *[like_shape[a] for a in self.order[1:]]]
        x = ops.reshape(x, (*dims, shape[-2], shape[-1]))
        return ops.transpose(x, (*self.inverse, self.n + 1, self.n + 2))

    def flatten_mask(self, mask):
        """A padding mask `(B, d_1..d_n)` -> `(B', T)`."""
        shape = ops.shape(mask)
        mask = ops.transpose(mask, self.order)
        return ops.reshape(mask, (-1, _prod(self._sizes(shape, self.attention_axes))))

    def scores_shape(self, query_shape, key_shape, heads):
        """Keras' score layout `(B, *F, H, *A_query, *A_key)`."""
        return (
            query_shape[0],
            *self._sizes(query_shape, self.free_axes),
            heads,
            *self._sizes(query_shape, self.attention_axes),
            *self._sizes(key_shape, self.attention_axes),
        )

    def unflatten_scores(self, scores, query_shape, key_shape):
        """`(B', H, T, S)` -> `(B, *F, H, *A_query, *A_key)`."""
        heads = ops.shape(scores)[1]
        return ops.reshape(scores, self.scores_shape(query_shape, key_shape, heads))

    def flatten_attention_mask(self, mask, query_shape, key_shape):
        """An attention mask in Keras' score layout -> `(B', H|1, T, S)`.

        The mask is first given the rank of the scores by inserting axes in
        front of the attention axes (Keras' broadcasting rule), then
        broadcast over the batch and free axes so they can be folded.
        """
        mask = expand_to_scores_rank(
            mask, 2 + len(self.free_axes), len(self.attention_axes)
        )
        heads = ops.shape(mask)[1 + len(self.free_axes)]
        full = self.scores_shape(query_shape, key_shape, heads)
        mask = ops.broadcast_to(mask, full)
        q_len = _prod(self._sizes(query_shape, self.attention_axes))
        k_len = _prod(self._sizes(key_shape, self.attention_axes))
        return ops.reshape(mask, (-1, heads, q_len, k_len))


def expand_to_scores_rank(mask, batch_and_head_dims, num_attention_axes):
    """Keras' rule: insert axes in front of the attention axes up to the score rank.

    Args:
        mask: boolean-like tensor.
        batch_and_head_dims: int. Leading score axes (batch, free axes, heads).
        num_attention_axes: int. Attention axes of the query (the key has as
            many).

    Returns:
        The mask, of rank `batch_and_head_dims + 2 * num_attention_axes`.

    Example:
    >>> import numpy as np
    >>> tuple(expand_to_scores_rank(np.ones((5, 4), bool), 2, 1).shape)
    (1, 1, 5, 4)
    """
    rank = batch_and_head_dims + 2 * num_attention_axes
    axis = -2 * num_attention_axes - 1
    for _ in range(rank - len(mask.shape)):
        mask = ops.expand_dims(mask, axis)
    return mask
