"""Wraps a user function as a feature map."""

import keras

from zoo.layers.feature_maps.base import FeatureMap


@keras.saving.register_keras_serializable(package="zoo")
class CallableFeatureMap(FeatureMap):
    """A feature map from any function of `(..., D)` tensors built of `keras.ops`.

    To save a model that uses it, register the function with
    `@keras.saving.register_keras_serializable()`; lambdas cannot be loaded
    with `safe_mode=True`.

    Args:
        function: callable `x -> phi(x)`; must return non-negative values
            for the attention weights to be a proper average.
        **kwargs: base layer arguments.

    Example:
    >>> phi = CallableFeatureMap(lambda x: keras.ops.exp(x))
    >>> phi.output_dim(4)
    4
    """

    def __init__(self, function, **kwargs):
        super().__init__(**kwargs)
        if isinstance(function, dict):
            function = keras.saving.deserialize_keras_object(function)
        if not callable(function):
            raise ValueError(
                f"function: expected a callable. Received: function={function!r}"
            )
        self.function = function

    def output_dim(self, input_dim):
        probe = keras.ops.zeros((1, input_dim), dtype=self.compute_dtype)
        return int(self.function(probe).shape[-1])

    def call(self, x):
        return self.function(x)

    def get_config(self):
        config = super().get_config()
        config["function"] = keras.saving.serialize_keras_object(self.function)
        return config
