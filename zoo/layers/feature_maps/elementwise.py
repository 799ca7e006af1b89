"""Elementwise positive feature maps: elu + 1 and relu."""

import keras
from keras import ops

from zoo.layers.feature_maps.base import FeatureMap

_ACTIVATIONS = {
    # Katharopoulos et al. 2020: positive everywhere, so D never vanishes.
    "elu": lambda x: ops.elu(x) + 1.0,
    # Non-negative; rows of zeros are guarded by LinearAttention's eps.
    "relu": ops.relu,
}


@keras.saving.register_keras_serializable(package="zoo")
class ElementwiseFeatureMap(FeatureMap):
    """phi(x) = f(x) applied per coordinate, M = D.

    Args:
        activation: str. `"elu"` for elu(x) + 1 or `"relu"` for max(x, 0).
        **kwargs: base layer arguments.

    Example:
    >>> phi = ElementwiseFeatureMap("elu")
    >>> [float(v) for v in phi(np.array([-1.0, 0.0, 2.0]))]  # doctest: +SKIP
    [0.3678..., 1.0, 3.0]

    References:
        Katharopoulos et al., "Transformers are RNNs", 2020.
    """

    def __init__(self, activation="elu", **kwargs):
        super().__init__(**kwargs)
        if activation not in _ACTIVATIONS:
            raise ValueError(
                f"activation: expected one of {sorted(_ACTIVATIONS)}. "
                f"Received: activation={activation!r}"
            )
        self.activation = activation

    def output_dim(self, input_dim):
        return input_dim

    def call(self, x):
        return _ACTIVATIONS[self.activation](x)

    def get_config(self):
        config = super().get_config()
        config["activation"] = self.activation
        return config
