"""`inference_call` equals `Layer.__call__` at inference, and steps aside
where `__call__` does real work (mixed precision, unbuilt layers)."""

import keras
import numpy as np
import pytest
from keras import ops

from zoo.layers.inference_call import inference_call


def numpy_of(x):
    return np.asarray(ops.convert_to_numpy(x))


def inputs(shape=(2, 3, 4)):
    """Backend tensors: numpy inputs go through `__call__` (which converts)."""
    return ops.convert_to_tensor(np.random.default_rng(0).normal(size=shape), "float32")


@pytest.mark.parametrize(
    "make",
    [
        lambda: keras.layers.Dense(5, activation="gelu"),
        lambda: keras.layers.LayerNormalization(epsilon=1e-5),
        lambda: keras.layers.Dropout(0.5),
        lambda: keras.Sequential(
            [keras.layers.Dense(6), keras.layers.Dropout(0.9), keras.layers.Dense(4)]
        ),
    ],
    ids=["dense", "layer_norm", "dropout", "sequential"],
)
def test_direct_call_equals_layer_call_at_inference(make):
    layer, x = make(), inputs()
    expected = numpy_of(layer(x, training=False))
    np.testing.assert_allclose(numpy_of(inference_call(layer, x)), expected, rtol=1e-6)


def test_dropout_inside_a_sequential_is_off():
    # The 0.9 dropout of the model above would zero most outputs if it ran.
    model = keras.Sequential([keras.layers.Dropout(0.9)])
    x = inputs()
    model.build(x.shape)
    np.testing.assert_array_equal(numpy_of(inference_call(model, x)), numpy_of(x))


def test_an_lstm_cell_with_states_equals_its_call():
    cell = keras.layers.LSTMCell(3, dropout=0.5, recurrent_dropout=0.5)
    x, h = inputs((2, 4)), [inputs((2, 3)), inputs((2, 3)) * 2]
    expected_out, expected_states = cell(x, h, training=False)
    out, states = inference_call(cell, x, h)
    np.testing.assert_allclose(numpy_of(out), numpy_of(expected_out), rtol=1e-6)
    for got, want in zip(states, expected_states, strict=True):
        np.testing.assert_allclose(numpy_of(got), numpy_of(want), rtol=1e-6)


class _Spy(keras.layers.Dense):
    """A Dense that records whether Keras' `__call__` ran."""

    def __call__(self, *args, **kwargs):
        self.through_keras = True
        return super().__call__(*args, **kwargs)


@pytest.mark.parametrize(
    "policy, built, kind, direct",
    [
        ("float32", True, "tensor", True),
        ("mixed_bfloat16", True, "tensor", False),
        ("float32", False, "tensor", False),
        ("float32", True, "numpy", False),
    ],
)
def test_keras_call_runs_where_it_does_work(policy, built, kind, direct):
    layer, x = _Spy(3, dtype=policy), inputs()
    x = numpy_of(x) if kind == "numpy" else x
    if built:
        layer.build(x.shape)
    layer.through_keras = False
    out = inference_call(layer, x)
    assert layer.through_keras is not direct
    # Mixed precision: autocast gives a bfloat16 output, as `layer(x)` does.
    assert keras.backend.standardize_dtype(out.dtype) == layer.compute_dtype
