"""Calling a built layer at inference without Keras' per-call machinery.

`Layer.__call__` wraps every call in work that incremental decoding does not
need: it flattens and converts the inputs, looks for symbolic tensors,
binds the call signature, opens name and autocast scopes and attaches
masks. Eager on torch, that costs more than the layer's kernels: a cached
transformer decoding step makes 22 such calls around less than a
millisecond of matrix products (a 32-token greedy decode, batch 16: half
its 1.1 s profiled time inside `__call__`). `inference_call` runs the
layer's `call` itself where `__call__` would only have added that
overhead, and `__call__` everywhere else.
"""

import keras
import numpy as np


def inference_call(layer, *args, **kwargs):
    """`layer(*args, **kwargs)` at inference, calling `layer.call` where equal.

    Direct when the layer is built, holds its variables in its compute dtype
    (no mixed-precision autocast to set up), is not quantized, and the
    inputs are backend tensors (numpy arrays, which `__call__` converts, go
    through it). Inputs are not cast to the layer's compute dtype: pass
    them in it, as a model's own tensors are. For eager or traced tensors, not for
    building a functional model (no node is recorded). A `Sequential`
    runs its layers this way one by one; a `Dropout` is the identity. Keras
    masks are not attached to the outputs (the decoding steps that use this
    pass masks explicitly). Anything else goes through `layer(...)`.

    Args:
        layer: a `keras.layers.Layer`.
        *args: its call's positional arguments.
        **kwargs: its call's keyword arguments (`training` is set to False
            where the call takes it).

    Returns:
        What `layer(*args, **kwargs)` returns at inference.

    Example:
    >>> from keras import ops
    >>> dense = keras.layers.Dense(3)
    >>> x = ops.ones((2, 4))
    >>> called = dense(x)
    >>> direct = inference_call(dense, x)
    >>> bool(np.allclose(ops.convert_to_numpy(direct), ops.convert_to_numpy(called)))
    True
    """
    if not _direct(layer) or _holds_numpy((*args, *kwargs.values())):
        return layer(*args, **kwargs)
    if isinstance(layer, keras.layers.Dropout):
        return args[0]
    if isinstance(layer, keras.Sequential):
        (x,) = args
        for inner in layer.layers:
            x = inference_call(inner, x)
        return x
    if "training" in layer.call_signature_parameters:
        kwargs["training"] = False
    return layer.call(*args, **kwargs)


def layer_call(layer, *args, **kwargs):
    """`layer(*args, **kwargs)` through `Layer.__call__`: `inference_call`'s
    counterpart for code that runs both in training and in decoding.

    Example:
    >>> dense = keras.layers.Dense(2)
    >>> tuple(layer_call(dense, keras.ops.ones((1, 3))).shape)
    (1, 2)
    """
    return layer(*args, **kwargs)


def _holds_numpy(args):
    """Whether an argument, or an item of a list of them, is numpy."""
    for arg in args:
        items = arg if isinstance(arg, (list, tuple)) else (arg,)
        if any(isinstance(item, np.ndarray) for item in items):
            return True
    return False


def _direct(layer):
    """Whether `layer.call` may stand in for `layer(...)` at inference."""
    policy = layer.dtype_policy
    return (
        layer.built
        and policy.compute_dtype == policy.variable_dtype
        and getattr(layer, "quantization_mode", None) is None
        and not getattr(layer, "_remat_mode", None)
    )
