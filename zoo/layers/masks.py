"""Boolean attention masks shared by the attention layers.

Conventions follow `keras.layers.MultiHeadAttention`: `True` means "may
attend"; query masks are `(B, T)`, key/value padding masks `(B, S)` and
attention masks `(B, T, S)`.
"""

from keras import ops


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
):
    """Merge every mask source into one `(B|1, T, S)` boolean mask.

    Args:
        query_length: int or scalar tensor. T.
        key_length: int or scalar tensor. S.
        query_mask: `(B, T)` or None. Padded queries attend to nothing.
        key_padding_mask: `(B, S)` or None. Padded keys receive no attention.
        attention_mask: `(B, T, S)` or None.
        use_causal_mask: bool. AND in `causal_mask(T, S)`.

    Returns:
        Boolean tensor broadcastable to `(B, T, S)`, or None if no mask.
    """
    merged = None

    def _and(mask):
        nonlocal merged
        mask = ops.cast(mask, "bool")
        merged = mask if merged is None else ops.logical_and(merged, mask)

    if query_mask is not None:
        _and(ops.expand_dims(query_mask, -1))  # (B, T, 1)
    if key_padding_mask is not None:
        _and(ops.expand_dims(key_padding_mask, -2))  # (B, 1, S)
    if attention_mask is not None:
        _and(attention_mask)  # (B, T, S)
    if use_causal_mask:
        _and(causal_mask(query_length, key_length))  # (1, T, S)
    return merged
