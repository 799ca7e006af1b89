"""Argument and shape checks of the attention layers, with Keras' wording.

Constructor arguments are refused the way `keras.layers.MultiHeadAttention`
refuses them ("argument `num_heads`", "Invalid `output_shape`"); input and
mask shapes with a `ValueError` naming the argument and both shapes.
"""

from zoo.layers.attention_layout import AttentionLayout, resolve_attention_axes


def shape_str(shape):
    """`(2, None, 8)`-style text of a shape.

    Example:
    >>> shape_str((2, None, 8))
    '(2, None, 8)'
    """
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def _is_positive_int(value):
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def check_positive_int(name, value, allow_none=False):
    """Refuses anything but a positive int (or None when allowed).

    Args:
        name: str. The argument's name, quoted in the message.
        value: the value received.
        allow_none: bool. Whether None is accepted.

    Raises:
        ValueError: naming the argument as Keras does ("argument `name`").

    Example:
    >>> try:
    ...     check_positive_int("num_heads", 0)
    ... except ValueError as error:
    ...     print(str(error).replace(". ", ".\\n"))
    Invalid value for argument `num_heads`: expected a positive int.
    Received: num_heads=0
    """
    if (value is None and allow_none) or _is_positive_int(value):
        return
    expected = "a positive int or None" if allow_none else "a positive int"
    raise ValueError(
        f"Invalid value for argument `{name}`: expected {expected}. "
        f"Received: {name}={value!r}"
    )


def normalize_output_shape(output_shape):
    """`output_shape` as a tuple of positive ints, or None.

    Args:
        output_shape: None, a positive int, or a tuple/list of them.

    Returns:
        tuple or None.

    Raises:
        ValueError: "Invalid `output_shape`" for anything else.

    Example:
    >>> normalize_output_shape(8), normalize_output_shape([4, 2])
    ((8,), (4, 2))
    """
    if output_shape is None:
        return None
    dims = (output_shape,) if _is_positive_int(output_shape) else output_shape
    if (
        isinstance(dims, (tuple, list))
        and len(dims) > 0
        and all(_is_positive_int(d) for d in dims)
    ):
        return tuple(dims)
    raise ValueError(
        f"Invalid `output_shape`: {output_shape!r}. Expected None, a positive "
        "int, or a tuple or list of positive ints."
    )


def normalize_attention_axes(attention_axes):
    """`attention_axes` as a tuple of ints, or None (all axes).

    Example:
    >>> normalize_attention_axes(2), normalize_attention_axes([1, -2])
    ((2,), (1, -2))
    """
    if attention_axes is None:
        return None
    axes = (attention_axes,) if isinstance(attention_axes, int) else attention_axes
    if (
        isinstance(axes, (tuple, list))
        and len(axes) > 0
        and all(isinstance(a, int) and not isinstance(a, bool) for a in axes)
    ):
        return tuple(axes)
    raise ValueError(
        "Invalid value for argument `attention_axes`: expected None, an int, "
        f"or a tuple or list of ints. Received: attention_axes={attention_axes!r}"
    )


def compatible(shape, expected, broadcast=False):
    """Equal ranks and equal dims, None matching anything (and 1 if broadcast).

    Example:
    >>> compatible((2, None, 1), (2, 5, 7), broadcast=True)
    True
    """
    return len(shape) == len(expected) and all(
        s is None or e is None or s == e or (broadcast and s == 1)
        for s, e in zip(shape, expected, strict=True)
    )


def check_rank3(name, shape):
    """A rank-3 shape with a known last dimension, or a ValueError."""
    if shape is None:
        return
    if len(shape) != 3:
        raise ValueError(
            f"{name}: expected a rank-3 tensor (batch, length, features). "
            f"Received: {name}.shape={shape_str(shape)}"
        )
    if shape[-1] is None:
        raise ValueError(
            f"{name}: the last (feature) dimension must be known. "
            f"Received: {name}.shape={shape_str(shape)}"
        )


def check_shapes(query_shape, value_shape, key_shape, attention_axes=False):
    """Refuses inputs the attention cannot combine, naming both shapes.

    Args:
        query_shape, value_shape, key_shape: shapes of the call's tensors.
        attention_axes: False for rank-3 inputs only; else the layer's
            `attention_axes` (None or a tuple), for inputs of rank >= 3.

    Example:
    >>> try:
    ...     check_shapes((2, 4, 8), (2, 2, 8), (2, 3, 8))
    ... except ValueError as error:
    ...     print(str(error).split(". ")[0])
    key: all dimensions of `value` and `key` except the last one must be equal
    """
    value_shape, key_shape = tuple(value_shape), tuple(key_shape)
    if not compatible(value_shape[1:-1], key_shape[1:-1]):
        raise ValueError(
            "key: all dimensions of `value` and `key` except the last one "
            f"must be equal. Received: value.shape={shape_str(value_shape)}, "
            f"key.shape={shape_str(key_shape)}"
        )
    for name, shape in (("query", query_shape), ("value", value_shape)):
        if attention_axes is False:
            check_rank3(name, shape)
        elif len(shape) < 3 or shape[-1] is None:
            raise ValueError(
                f"{name}: expected a tensor of rank 3 or more (batch, "
                "positions..., features) with a known last dimension. "
                f"Received: {name}.shape={shape_str(shape)}"
            )
    if len(value_shape) != len(query_shape):
        raise ValueError(
            "value: expected the rank of the query. Received: "
            f"query.shape={shape_str(query_shape)}, "
            f"value.shape={shape_str(value_shape)}"
        )
    for name, shape in (("value", value_shape), ("key", key_shape)):
        if None not in (query_shape[0], shape[0]) and shape[0] != query_shape[0]:
            # Attending across batch items would mix different examples.
            raise ValueError(
                f"{name}: the batch size must equal the query's. Received: "
                f"query.shape={shape_str(query_shape)}, "
                f"{name}.shape={shape_str(shape)}"
            )
    if len(query_shape) > 3:
        axes = resolve_attention_axes(attention_axes, len(query_shape))
        free = [a for a in range(1, len(query_shape) - 1) if a not in axes]
        query_free = [query_shape[a] for a in free]
        if not compatible([value_shape[a] for a in free], query_free):
            raise ValueError(
                "value: the axes outside `attention_axes` (here "
                f"{tuple(free)}) must equal the query's. Received: "
                f"query.shape={shape_str(query_shape)}, "
                f"value.shape={shape_str(value_shape)}"
            )


def check_mask(name, mask, expected):
    """A padding mask of exactly the `expected` shape, or a ValueError."""
    if mask is None:
        return
    shape = tuple(mask.shape)
    if not compatible(shape, tuple(expected)):
        raise ValueError(
            f"{name}: expected shape {shape_str(expected)}. "
            f"Received: {name}.shape={shape_str(shape)}"
        )


def scores_shape(query_shape, key_shape, num_heads, attention_axes=None):
    """Keras' layout of the attention scores: `(B, H, T, S)` for rank 3.

    Example:
    >>> scores_shape((2, 3, 4, 8), (2, 3, 5, 8), 2, attention_axes=(2,))
    (2, 3, 2, 4, 5)
    """
    if len(query_shape) == 3:
        return (query_shape[0], num_heads, query_shape[1], key_shape[1])
    axes = resolve_attention_axes(attention_axes, len(query_shape))
    return AttentionLayout(len(query_shape), axes).scores_shape(
        query_shape, key_shape, num_heads
    )


def check_attention_mask(mask, query_shape, key_shape, num_heads, attention_axes):
    """A mask that broadcasts to the scores by Keras' rule, or a ValueError.

    Keras inserts axes in front of the query/key attention axes until the
    mask has the scores' rank: `(T, S)` -> `(1, 1, T, S)`, `(B, T, S)` ->
    `(B, 1, T, S)`; every axis must then match the scores' or be 1.
    """
    if mask is None:
        return
    scores = scores_shape(query_shape, key_shape, num_heads, attention_axes)
    attention_dims = 2
    if len(query_shape) > 3:
        attention_dims = 2 * len(
            resolve_attention_axes(attention_axes, len(query_shape))
        )
    shape = tuple(mask.shape)
    ok = attention_dims <= len(shape) <= len(scores)
    if ok:
        padded = (
            *shape[: len(shape) - attention_dims],
            *(1,) * (len(scores) - len(shape)),
            *shape[len(shape) - attention_dims :],
        )
        ok = compatible(padded, scores, broadcast=True)
    if not ok:
        heads_axis = len(scores) - attention_dims - 1
        without_heads = (*scores[:heads_axis], *scores[heads_axis + 1 :])
        raise ValueError(
            "attention_mask: expected a mask of shape "
            f"{shape_str(without_heads)} or one that broadcasts to the "
            f"attention scores {shape_str(scores)} once axes are inserted "
            "in front of the query/key positions (e.g. without the batch "
            f"axis). Received: attention_mask.shape={shape_str(shape)}"
        )
