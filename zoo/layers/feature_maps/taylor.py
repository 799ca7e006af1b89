"""Second-order Maclaurin (Taylor) feature map (sheet A1.2)."""

import math

import keras
import numpy as np
from keras import ops

from zoo.layers.feature_maps.base import FeatureMap


@keras.saving.register_keras_serializable(package="zoo")
class TaylorFeatureMap(FeatureMap):
    """phi(x) = [1, x, vec(x x^T) / sqrt(2)], so phi(q).phi(k) = 1 + s + s^2/2.

    With `s = scale * (q . k)` this is exp(s) truncated after the quadratic
    term of its Maclaurin series. The full map has M = 1 + D + D^2 features;
    because x x^T is symmetric, `symmetric=True` keeps only its upper
    triangle (off-diagonal entries times sqrt(2)), M = 1 + D + D(D+1)/2,
    and gives exactly the same kernel.

    Args:
        scale: float or None. The factor inside the kernel, `s = scale * q.k`.
            `None` uses `1 / sqrt(D)` as softmax attention does; it is split
            evenly between q and k (each multiplied by `scale ** 0.5`).
            `1.0` gives the plain kernel of sheet A1.2. Defaults to `None`.
        symmetric: bool. Use the compressed upper-triangle form.
            Defaults to `False`.
        **kwargs: base layer arguments.

    Example:
    >>> phi = TaylorFeatureMap(scale=1.0)
    >>> q, k = np.array([[0.5, -1.0]]), np.array([[2.0, 0.25]])
    >>> s = float((q * k).sum())
    >>> got = float(ops.sum(phi(q) * phi(k)))
    >>> round(got, 6) == round(1 + s + s * s / 2, 6)
    True

    References:
        Arora et al., "Simple linear attention language models balance the
        recall-throughput tradeoff" (Based), 2024.
    """

    def __init__(self, scale=None, symmetric=False, **kwargs):
        super().__init__(**kwargs)
        if scale is not None and not float(scale) > 0:
            raise ValueError(
                f"scale: expected a positive float or None. Received: scale={scale!r}"
            )
        self.scale = None if scale is None else float(scale)
        self.symmetric = bool(symmetric)

    def output_dim(self, input_dim):
        quadratic = input_dim * (input_dim + 1) // 2 if self.symmetric else input_dim**2
        return 1 + input_dim + quadratic

    def build(self, input_shape):
        dim = input_shape[-1]
        scale = self.scale if self.scale is not None else 1.0 / math.sqrt(dim)
        self._input_scale = math.sqrt(scale)
        if self.symmetric:
            rows, cols = np.triu_indices(dim)
            self._triu_index = (rows * dim + cols).astype("int32")
            # Off-diagonal pairs appear twice in the full outer product.
            self._triu_weight = np.where(rows == cols, 1.0, math.sqrt(2.0)).astype(
                "float32"
            )

    def call(self, x):
        x = x * self._input_scale
        dim = ops.shape(x)[-1]
        # (x 2^-1/4)(x 2^-1/4)^T = x x^T / sqrt(2): scale the D-wide input,
        # not the D^2-wide product.
        half = x * 2.0**-0.25
        outer = ops.expand_dims(half, -1) * ops.expand_dims(half, -2)  # (..., D, D)
        outer = ops.reshape(outer, (*ops.shape(x)[:-1], dim * dim))
        if self.symmetric:
            index = ops.convert_to_tensor(self._triu_index)
            weight = ops.convert_to_tensor(self._triu_weight, dtype=outer.dtype)
            outer = ops.take(outer, index, axis=-1) * weight
        ones = ops.ones_like(x[..., :1])
        return ops.concatenate([ones, x, outer], axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update({"scale": self.scale, "symmetric": self.symmetric})
        return config
