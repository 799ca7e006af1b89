"""Performer's FAVOR+ positive orthogonal random features."""

import math

import keras
import numpy as np
from keras import ops

from zoo.layers.feature_maps.base import FeatureMap


def orthogonal_gaussian(num_features, dim, rng):
    """Rows of independent orthogonal blocks, scaled like Gaussian rows.

    Args:
        num_features: int. m, the number of rows.
        dim: int. D, the size of each row.
        rng: `numpy.random.Generator`.

    Returns:
        float32 array `(m, D)`: within each block of D rows the directions are
        orthogonal; each row's norm is drawn from the chi(D) distribution of
        a Gaussian vector's norm, so E[w w^T] = I as for Gaussian rows.
    """
    blocks = []
    for _ in range(math.ceil(num_features / dim)):
        q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
        # Without this sign fix Householder QR's directions are not uniform
        # on the sphere, and the kernel estimate is biased (by ~20% here).
        blocks.append((q * np.sign(np.diag(r))).T)
    directions = np.concatenate(blocks, axis=0)[:num_features]
    norms = np.linalg.norm(rng.standard_normal((num_features, dim)), axis=1)
    return (directions * norms[:, None]).astype("float32")


@keras.saving.register_keras_serializable(package="zoo")
class FavorFeatureMap(FeatureMap):
    """phi(x) = exp(W x - |x|^2 / 2) / sqrt(m): an unbiased softmax kernel.

    E[phi(q) . phi(k)] = exp(scale * q . k) for rows of W drawn as in
    `orthogonal_gaussian`; the features are positive, so the normalizer of
    linear attention never changes sign. The random matrix is a
    non-trainable weight: it is saved with the model and changes only when
    `redraw()` is called.

    Args:
        num_features: int. m, the number of random features. Defaults to 64.
        scale: float or None. Kernel temperature as in `TaylorFeatureMap`;
            `None` means 1 / sqrt(D). Defaults to `None`.
        seed: int or None. Seed of the first draw; redraw n uses seed + n.
            `None` draws from fresh entropy. Defaults to `None`.
        **kwargs: base layer arguments.

    Example:
    >>> phi = FavorFeatureMap(num_features=128, seed=0)
    >>> tuple(phi(np.zeros((2, 8), "float32")).shape)
    (2, 128)

    References:
        Choromanski et al., "Rethinking Attention with Performers", 2021.
    """

    def __init__(self, num_features=64, scale=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if (
            isinstance(num_features, bool)
            or not isinstance(num_features, int)
            or num_features <= 0
        ):
            raise ValueError(
                "num_features: expected a positive int. "
                f"Received: num_features={num_features!r}"
            )
        if scale is not None and not float(scale) > 0:
            raise ValueError(
                f"scale: expected a positive float or None. Received: scale={scale!r}"
            )
        self.num_features = num_features
        self.scale = None if scale is None else float(scale)
        self.seed = seed
        self._draws = 0

    def output_dim(self, input_dim):
        return self.num_features

    def build(self, input_shape):
        dim = input_shape[-1]
        scale = self.scale if self.scale is not None else 1.0 / math.sqrt(dim)
        self._input_scale = math.sqrt(scale)
        self.projection = self.add_weight(
            name="projection",
            shape=(dim, self.num_features),
            initializer="zeros",
            trainable=False,
        )
        self.redraw()

    def redraw(self, seed=None):
        """Draws a new random matrix.

        Args:
            seed: int or None. Seed of this draw; by default the layer's seed
                plus the number of earlier draws (fresh entropy if the layer
                has no seed).
        """
        if seed is None and self.seed is not None:
            seed = self.seed + self._draws
        rng = np.random.default_rng(seed)
        dim = self.projection.shape[0]
        self.projection.assign(orthogonal_gaussian(self.num_features, dim, rng).T)
        self._draws += 1

    def call(self, x):
        x = x * self._input_scale
        projected = ops.matmul(x, self.projection)  # (..., m)
        half_norm = 0.5 * ops.sum(x * x, axis=-1, keepdims=True)
        return ops.exp(projected - half_norm) / math.sqrt(self.num_features)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"num_features": self.num_features, "scale": self.scale, "seed": self.seed}
        )
        return config
