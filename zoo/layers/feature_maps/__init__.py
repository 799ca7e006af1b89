"""Feature maps phi for linear attention, by name, instance or callable.

Example:
>>> from zoo.layers.feature_maps import get_feature_map
>>> get_feature_map("taylor").output_dim(16)
273
"""

import keras

from zoo.layers.feature_maps.base import FeatureMap
from zoo.layers.feature_maps.callable_map import CallableFeatureMap
from zoo.layers.feature_maps.elementwise import ElementwiseFeatureMap
from zoo.layers.feature_maps.favor import FavorFeatureMap, orthogonal_gaussian
from zoo.layers.feature_maps.taylor import TaylorFeatureMap

# Constructors of the named maps, called with the seed; each returns a new layer.
FEATURE_MAPS = {
    "taylor": lambda seed: TaylorFeatureMap(),
    "elu": lambda seed: ElementwiseFeatureMap("elu"),
    "relu": lambda seed: ElementwiseFeatureMap("relu"),
    "favor": lambda seed: FavorFeatureMap(seed=seed),
}


def get_feature_map(identifier, seed=None):
    """Resolves a feature-map identifier to a `FeatureMap` layer.

    Args:
        identifier: one of `"taylor"`, `"elu"`, `"relu"`, `"favor"`; a
            `FeatureMap` instance (used as is); a serialized feature-map config
            dict; or a callable on `(..., D)` tensors.

    Returns:
        FeatureMap.

    Raises:
        ValueError: for anything else.
    """
    if isinstance(identifier, FeatureMap):
        return identifier
    if isinstance(identifier, str):
        if identifier not in FEATURE_MAPS:
            raise ValueError(
                f"feature_map: unknown name. Expected one of {sorted(FEATURE_MAPS)}, "
                f"a FeatureMap or a callable. Received: feature_map={identifier!r}"
            )
        return FEATURE_MAPS[identifier](seed)
    if isinstance(identifier, dict):
        restored = keras.saving.deserialize_keras_object(identifier)
        if isinstance(restored, FeatureMap):
            return restored
        identifier = restored
    if callable(identifier):
        return CallableFeatureMap(identifier)
    raise ValueError(
        f"feature_map: expected one of {sorted(FEATURE_MAPS)}, a FeatureMap or a "
        f"callable. Received: feature_map={identifier!r}"
    )


__all__ = [
    "FEATURE_MAPS",
    "CallableFeatureMap",
    "ElementwiseFeatureMap",
    "FavorFeatureMap",
    "FeatureMap",
    "TaylorFeatureMap",
    "get_feature_map",
    "orthogonal_gaussian",
]
