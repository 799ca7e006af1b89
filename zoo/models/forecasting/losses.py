"""Losses that ignore missing targets."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
def masked_mse(y_true, y_pred):
    """Mean squared error over the targets that are present (not NaN).

    Missing targets are NaN in `y_true`; a window with none present
    contributes 0.

    Args:
        y_true: (N, H) targets, NaN where missing.
        y_pred: (N, H) predictions.

    Returns:
        (N,) per-window losses.

    Example:
    >>> import numpy as np
    >>> float(masked_mse(np.array([[1.0, np.nan]]), np.array([[3.0, 9.0]]))[0])
    4.0
    """
    y_true = ops.convert_to_tensor(y_true)
    y_pred = ops.convert_to_tensor(y_pred)
    present = ops.logical_not(ops.isnan(y_true))
    error = ops.where(present, y_pred - ops.where(present, y_true, 0.0), 0.0)
    count = ops.sum(ops.cast(present, error.dtype), axis=-1)
    return ops.sum(error * error, axis=-1) / ops.maximum(count, 1.0)
