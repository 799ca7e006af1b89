"""Feature maps: kernels against closed forms computed in numpy."""

import math

import keras
import numpy as np
import pytest
from keras import ops

from zoo.layers import (
    CallableFeatureMap,
    ElementwiseFeatureMap,
    FavorFeatureMap,
    TaylorFeatureMap,
    get_feature_map,
)
from zoo.layers.feature_maps import orthogonal_gaussian

RNG = np.random.default_rng(3)
Q = RNG.normal(size=(64, 6)).astype("float32")
K = RNG.normal(size=(64, 6)).astype("float32")


def numpy(x):
    return ops.convert_to_numpy(x)


def kernel(phi, q, k):
    return numpy(ops.sum(phi(q) * phi(k), axis=-1))


@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("scale", [None, 1.0, 0.3])
def test_taylor_kernel_is_the_truncated_exponential(symmetric, scale):
    phi = TaylorFeatureMap(scale=scale, symmetric=symmetric)
    s = (Q.astype("float64") * K).sum(-1) * (scale or 1 / math.sqrt(Q.shape[-1]))
    expected = 1 + s + s * s / 2
    np.testing.assert_allclose(kernel(phi, Q, K), expected, rtol=1e-5)


@pytest.mark.parametrize("symmetric, size", [(False, 1 + 6 + 36), (True, 1 + 6 + 21)])
def test_taylor_feature_count(symmetric, size):
    phi = TaylorFeatureMap(symmetric=symmetric)
    assert phi.output_dim(6) == size
    assert tuple(phi(Q).shape) == (64, size)


def test_taylor_layout_is_one_x_then_outer_products():
    x = np.array([[2.0, 3.0]], "float32")
    phi = numpy(TaylorFeatureMap(scale=1.0)(x))[0]
    expected = [
        1,
        2,
        3,
        4 / math.sqrt(2),
        6 / math.sqrt(2),
        6 / math.sqrt(2),
        9 / math.sqrt(2),
    ]
    np.testing.assert_allclose(phi, expected, rtol=1e-6)


def test_elementwise_maps():
    x = np.array([-1.0, 0.0, 2.0], "float32")
    np.testing.assert_allclose(
        numpy(ElementwiseFeatureMap("elu")(x)), [math.exp(-1), 1, 3], rtol=1e-6
    )
    np.testing.assert_allclose(numpy(ElementwiseFeatureMap("relu")(x)), [0, 0, 2])


def test_orthogonal_gaussian_blocks_are_orthogonal():
    w = orthogonal_gaussian(12, 6, np.random.default_rng(0))
    for block in (w[:6], w[6:]):
        directions = block / np.linalg.norm(block, axis=1, keepdims=True)
        np.testing.assert_allclose(directions @ directions.T, np.eye(6), atol=1e-5)


def test_favor_is_an_unbiased_estimate_of_the_softmax_kernel():
    # Each feature's product is log-normal with sigma^2 = |q + k|^2; small
    # inputs keep its relative spread near 1, so 40 x 256 draws pin the mean
    # to ~1% and a biased estimator (e.g. a missing -|x|^2/2) fails by far.
    q, k = Q[:8] * 0.3, K[:8] * 0.3
    phi = FavorFeatureMap(num_features=256, scale=1.0, seed=0)
    phi.build((None, 6))
    estimates = []
    for _ in range(40):
        estimates.append(kernel(phi, q, k))
        phi.redraw()
    expected = np.exp((q.astype("float64") * k).sum(-1))
    np.testing.assert_allclose(np.mean(estimates, axis=0), expected, rtol=0.05)
    assert all(e.min() > 0 for e in estimates)


def test_favor_redraw_is_seeded_and_changes_the_features():
    first, second = FavorFeatureMap(seed=9), FavorFeatureMap(seed=9)
    first.build((None, 6))
    second.build((None, 6))
    np.testing.assert_array_equal(numpy(first.projection), numpy(second.projection))
    before = numpy(first.projection).copy()
    first.redraw()
    assert not np.allclose(before, numpy(first.projection))
    first.redraw(seed=9)
    np.testing.assert_array_equal(numpy(first.projection), before)


def test_get_feature_map_accepts_names_instances_configs_and_callables():
    assert isinstance(get_feature_map("taylor"), TaylorFeatureMap)
    favor = FavorFeatureMap(num_features=8)
    assert get_feature_map(favor) is favor
    restored = get_feature_map(keras.saving.serialize_keras_object(favor))
    assert isinstance(restored, FavorFeatureMap) and restored.num_features == 8
    square = get_feature_map(lambda x: x * x)
    assert isinstance(square, CallableFeatureMap)
    assert square.output_dim(5) == 5
    np.testing.assert_allclose(numpy(square(Q)), Q * Q, rtol=1e-6)


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: get_feature_map("cosine"), "feature_map.*unknown"),
        (lambda: TaylorFeatureMap(scale=-1.0), "scale"),
        (lambda: FavorFeatureMap(num_features=0), "num_features"),
        (lambda: ElementwiseFeatureMap("tanh"), "activation"),
        (lambda: CallableFeatureMap(3), "function"),
    ],
)
def test_bad_feature_map_arguments(build, match):
    with pytest.raises(ValueError, match=match):
        build()
