"""The feature-map interface of `zoo.layers.LinearAttention`."""

import keras


@keras.saving.register_keras_serializable(package="zoo")
class FeatureMap(keras.layers.Layer):
    """A map phi: R^D -> R^M whose dot products define an attention kernel.

    Linear attention replaces `exp(q . k)` by `phi(q) . phi(k)`. Subclasses
    implement `call(x)` on `(..., D)` tensors and `output_dim(D)`. Feature
    maps run in float32 (their own dtype policy) so that sums over a whole
    sequence stay accurate under mixed precision.

    Args:
        **kwargs: base layer arguments (`name`, ...).

    Example:
    >>> class Square(FeatureMap):
    ...     def call(self, x):
    ...         return x * x
    ...     def output_dim(self, input_dim):
    ...         return input_dim
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)

    def output_dim(self, input_dim):
        """Returns M for inputs of size D = `input_dim`."""
        raise NotImplementedError(f"{type(self).__name__} must define output_dim")

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.output_dim(input_shape[-1]))
