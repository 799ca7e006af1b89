"""zoo.layers.FusedLSTM against keras.layers.LSTM with the same weights."""

import keras
import numpy as np
import pytest
from keras import ops

from zoo.layers import FusedLSTM
from zoo.testing import input_gradient, run_layer_test

RNG = np.random.default_rng(11)
X = RNG.normal(size=(3, 7, 4)).astype("float32")


def numpy(x):
    return ops.convert_to_numpy(x)


def twins(**kwargs):
    reference, fused = keras.layers.LSTM(**kwargs), FusedLSTM(**kwargs)
    reference(X)
    fused(X)
    # Non-zero biases so a swapped gate or a dropped bias cannot hide.
    weights = [
        w + RNG.normal(scale=0.3, size=w.shape).astype("float32")
        for w in reference.get_weights()
    ]
    reference.set_weights(weights)
    fused.set_weights(weights)
    return reference, fused


def test_layer_contract(tmp_path):
    run_layer_test(
        FusedLSTM,
        {"units": 6, "return_sequences": True},
        {"sequences": X},
        expected_output_shape=(3, 7, 6),
        expected_num_trainable_weights=3,
        tmp_path=tmp_path,
    )


def test_outputs_and_states_match_keras():
    reference, fused = twins(units=5, return_sequences=True, return_state=True)
    for got, expected in zip(fused(X), reference(X), strict=True):
        np.testing.assert_allclose(numpy(got), numpy(expected), atol=1e-5)


def test_initial_state_is_used():
    reference, fused = twins(units=5)
    state = [RNG.normal(size=(3, 5)).astype("float32") for _ in range(2)]
    np.testing.assert_allclose(
        numpy(fused(X, initial_state=state)),
        numpy(reference(X, initial_state=state)),
        atol=1e-5,
    )


def test_gradients_match_keras():
    reference, fused = twins(units=5, return_sequences=True)
    ours = input_gradient(lambda x: fused(x), X)
    expected = input_gradient(lambda x: reference(x), X)
    np.testing.assert_allclose(ours, expected, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs",
    [{"go_backwards": True}, {"activation": "relu"}],
    ids=["backwards", "relu"],
)
def test_other_configurations_fall_back_to_keras(kwargs):
    reference, fused = twins(units=5, **kwargs)
    np.testing.assert_allclose(numpy(fused(X)), numpy(reference(X)), atol=1e-5)


# Right-padded rows of lengths 7, 4 and 2, as Embedding(mask_zero=True) masks
# a padded batch; the second row is shortest first so packing reorders rows.
RIGHT_PADDED = np.array([[1] * 7, [1] * 2 + [0] * 5, [1] * 4 + [0] * 3], bool)


def test_right_padded_masks_match_keras():
    reference, fused = twins(units=5, return_sequences=True, return_state=True)
    state = [RNG.normal(size=(3, 5)).astype("float32") for _ in range(2)]
    got = fused(X, mask=RIGHT_PADDED, initial_state=state)
    expected = reference(X, mask=RIGHT_PADDED, initial_state=state)
    for ours, keras_value in zip(got, expected, strict=True):
        np.testing.assert_allclose(numpy(ours), numpy(keras_value), atol=1e-5)
    # The padding carries the last valid output, which a zero output misses.
    np.testing.assert_allclose(numpy(got[0])[1, 5], numpy(got[0])[1, 1], atol=1e-6)


def test_right_padded_gradients_match_keras():
    reference, fused = twins(units=5, return_sequences=True)
    ours = input_gradient(lambda x: fused(x, mask=RIGHT_PADDED), X)
    expected = input_gradient(lambda x: reference(x, mask=RIGHT_PADDED), X)
    np.testing.assert_allclose(ours, expected, atol=1e-5)
    assert not ours[1, 2:].any()  # padding is not read


def test_right_padded_masks_take_the_fused_kernel_on_torch(monkeypatch):
    calls = []
    keras_loop = keras.layers.LSTM.inner_loop

    def spy(self, *args, **kwargs):
        calls.append(1)
        return keras_loop(self, *args, **kwargs)

    monkeypatch.setattr(keras.layers.LSTM, "inner_loop", spy)
    _, fused = twins(units=5)
    calls.clear()
    fused(X, mask=RIGHT_PADDED)
    assert len(calls) == (0 if keras.backend.backend() == "torch" else 1)


@pytest.mark.parametrize(
    "mask",
    [
        np.array([[1] * 7, [0] * 3 + [1] * 4, [1] * 7], bool),
        np.array([[1] * 7, [1, 0, 1, 1, 0, 0, 0], [1] * 7], bool),
        np.array([[1] * 7, [0] * 7, [1] * 2 + [0] * 5], bool),
    ],
    ids=["left-padded", "holes", "empty-row"],
)
def test_other_masks_fall_back_to_keras(mask):
    reference, fused = twins(units=5, return_sequences=True)
    np.testing.assert_allclose(
        numpy(fused(X, mask=mask)), numpy(reference(X, mask=mask)), atol=1e-5
    )
