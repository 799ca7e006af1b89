"""The chatbots' training loss: cross-entropy per token, padding ignored."""

import keras
from keras import ops

# Keras' own losses hand their padding mask to the reduction this way (there
# is no public setter); the reduction then divides by the real tokens, the
# input's own mask included, and scales for distribution strategies.
from keras.src.backend.common.masking import set_keras_mask


@keras.saving.register_keras_serializable(package="zoo")
class TokenCrossEntropy(keras.losses.Loss):
    """Cross-entropy from logits, averaged over the tokens that are not padding.

    The value and gradients of Keras'
    `SparseCategoricalCrossentropy(from_logits=True, ignore_class=pad_id)`
    for targets `(B, T)` and logits `(B, T, V)`, computed on the logits
    flattened to `(B * T, V)`. Keras' function zeroes the padded rows of
    the logits first (a pass over the largest tensor of a step) and, on
    torch, moves the class axis of `(B, T, V)` to position 1 before
    `cross_entropy` (a strided copy); both cost more than the loss itself
    (measured in docs/benchmarks.md). Here a padded target stays a class
    id; its loss is set to zero and masked out of the mean, as Keras does
    (the logits of padded tokens must be finite, as for any softmax).

    Args:
        pad_id: int, the target id that marks padding. Defaults to 0.
        name: str. Defaults to "token_cross_entropy".
        dtype: the loss's computation dtype (Keras' float type by default;
            logits of a mixed-precision model are cast to it).

    Returns (when called with `y_true`, `y_pred`): a scalar, the sum of
    the tokens' losses (times their sample weights, if any) over the number
    of tokens that are not padding.

    Example:
    >>> import numpy as np
    >>> logits = np.log(np.array([[[0.5, 0.25, 0.25], [0.1, 0.8, 0.1],
    ...                            [0.2, 0.2, 0.6]]], "float32"))
    >>> loss = TokenCrossEntropy()(np.array([[1, 2, 0]]), logits)
    >>> round(float(loss), 4), round(float(-(np.log(0.25) + np.log(0.1)) / 2), 4)
    (1.8444, 1.8444)
    """

    def __init__(self, pad_id=0, name="token_cross_entropy", dtype=None):
        # Keras' reduction for its own loss: the mean over unmasked tokens,
        # divided by the replicas under a distribution strategy.
        super().__init__(name=name, reduction="sum_over_batch_size", dtype=dtype)
        self.pad_id = int(pad_id)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "int32")
        classes = ops.shape(y_pred)[-1]
        per_token = keras.losses.sparse_categorical_crossentropy(
            ops.reshape(y_true, (-1,)),
            ops.reshape(y_pred, (-1, classes)),
            from_logits=True,
        )
        real = ops.not_equal(y_true, self.pad_id)
        per_token = ops.where(real, ops.reshape(per_token, ops.shape(y_true)), 0.0)
        set_keras_mask(per_token, real)
        return per_token

    def get_config(self):
        return {"pad_id": self.pad_id, "name": self.name, "dtype": self.dtype}
