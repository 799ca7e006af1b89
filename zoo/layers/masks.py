"""Boolean attention masks shared by the attention layers.

Conventions follow `keras.layers.MultiHeadAttention`: `True` means "may
attend"; query masks are `(B, T)`, key/value padding masks `(B, S)` and
attention masks `(B, T, S)`, or any shape that broadcasts to the scores
`(B, H, T, S)` once axes are inserted in front of `(T, S)`: `(T, S)`,
`(1, T, S)`, `(B, H, T, S)`...
"""

from keras import ops

from zoo.layers.attention_layout import expand_to_scores_rank


def large_negative(dtype):
    """The additive value that removes a logit before a softmax.

    Args:
        dtype: str. Dtype of the logits.

    Returns:
        float: `-3e4` for float16 (its range ends at 65504), else `-1e9`.

    Example:
    >>> large_negative("float32")
    -1000000000.0
    """
    return -3e4 if str(dtype) == "float16" else -1e9


def causal_mask(query_length, key_length):
    """Lower-triangular mask: query i may attend to keys j <= i.

    Args:
        query_length: int or scalar tensor. T.
        key_length: int or scalar tensor. S.

    Returns:
        Boolean tensor of shape `(1, T, S)`.

    Example:
    >>> tuple(causal_mask(2, 2).shape)
    (1, 2, 2)
    """
    rows = ops.expand_dims(ops.arange(query_length, dtype="int32"), -1)
    cols = ops.expand_dims(ops.arange(key_length, dtype="int32"), 0)
    return ops.expand_dims(ops.greater_equal(rows, cols), 0)


def sliding_window_mask(query_length, key_length, window):
    """Band mask: query i may attend to keys j with |i - j| < window.

    Args:
        query_length: int or scalar tensor. T.
        key_length: int or scalar tensor. S.
        window: positive int.

    Returns:
        Boolean tensor of shape `(1, T, S)`.

    Example:
    >>> from keras import ops
    >>> ops.convert_to_numpy(sliding_window_mask(3, 3, 2)).astype(int)[0].tolist()
    [[1, 1, 0], [1, 1, 1], [0, 1, 1]]
    """
    rows = ops.expand_dims(ops.arange(query_length, dtype="int32"), -1)
    cols = ops.expand_dims(ops.arange(key_length, dtype="int32"), 0)
    return ops.expand_dims(ops.less(ops.abs(rows - cols), window), 0)


def combine_key_masks(*masks):
    """AND together the padding masks of the keys/values (`(B, S)` each).

    Args:
        *masks: boolean-like tensors of shape `(B, S)`, or None.

    Returns:
        Boolean `(B, S)` tensor, or None when every mask is None.
    """
    combined = None
    for mask in masks:
        if mask is None:
            continue
        mask = ops.cast(mask, "bool")
        combined = mask if combined is None else ops.logical_and(combined, mask)
    return combined


def merge_attention_mask(
    query_length,
    key_length,
    query_mask=None,
    key_padding_mask=None,
    attention_mask=None,
    use_causal_mask=False,
    sliding_window=None,
):
    """Merge every mask source into one `(B|1, H|1, T, S)` boolean mask.

    Args:
        query_length: int or scalar tensor. T.
        key_length: int or scalar tensor. S.
        query_mask: `(B, T)` or None. Padded queries attend to nothing.
        key_padding_mask: `(B, S)` or None. Padded keys receive no attention.
        attention_mask: None, or a mask that broadcasts to `(B, H, T, S)`
            after axes are inserted in front of `(T, S)` (Keras' rule):
            `(T, S)`, `(B, T, S)`, `(B, H, T, S)`...
        use_causal_mask: bool. AND in `causal_mask(T, S)`.
        sliding_window: int or None. AND in `sliding_window_mask(T, S, w)`.

    Returns:
        Boolean rank-4 tensor broadcastable to `(B, H, T, S)`, or None if no
        mask.

    Example:
    >>> import numpy as np
    >>> mask = merge_attention_mask(3, 3, attention_mask=np.ones((3, 3)),
    ...                             use_causal_mask=True)
    >>> tuple(mask.shape)
    (1, 1, 3, 3)
    """
    merged = None

    def _and(mask):
        nonlocal merged
        mask = ops.cast(mask, "bool")
        merged = mask if merged is None else ops.logical_and(merged, mask)

    if query_mask is not None:
        _and(query_mask[:, None, :, None])  # (B, 1, T, 1)
    if key_padding_mask is not None:
        _and(key_padding_mask[:, None, None, :])  # (B, 1, 1, S)
    if attention_mask is not None:
        _and(expand_to_scores_rank(attention_mask, 2, 1))  # (B|1, H|1, T, S)
    if use_causal_mask:
        _and(causal_mask(query_length, key_length)[:, None])  # (1, 1, T, S)
    if sliding_window is not None:
        _and(sliding_window_mask(query_length, key_length, sliding_window)[:, None])
    return merged
