"""TokenCrossEntropy against Keras' SparseCategoricalCrossentropy with
ignore_class and against the formula in numpy, on every backend."""

import keras
import numpy as np
import pytest

from zoo.losses import TokenCrossEntropy
from zoo.testing import input_gradient


def batch(seed=0, shape=(4, 6, 9)):
    """Logits (B, T, V) and right-padded targets (B, T) with id 0 as padding."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=shape).astype("float32") * 3
    targets = rng.integers(1, shape[-1], shape[:2])
    for row, length in enumerate(rng.integers(1, shape[1] + 1, shape[0])):
        targets[row, length:] = 0
    return logits, targets


def numpy_loss(targets, logits, pad_id=0):
    shifted = logits - logits.max(-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    picked = np.take_along_axis(log_p, targets[..., None], -1)[..., 0]
    real = targets != pad_id
    return -(picked * real).sum() / real.sum()


KERAS = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)


@pytest.mark.parametrize("seed", [0, 1])
def test_value_and_gradients_equal_keras_ignore_class(seed):
    logits, targets = batch(seed)
    ours = TokenCrossEntropy()
    value = float(ours(targets, logits))
    np.testing.assert_allclose(value, float(KERAS(targets, logits)), rtol=1e-6)
    np.testing.assert_allclose(value, numpy_loss(targets, logits), rtol=1e-5)
    grad = input_gradient(lambda x: ours(targets, x), logits)
    expected = input_gradient(lambda x: KERAS(targets, x), logits)
    np.testing.assert_allclose(grad, expected, atol=1e-7)
    assert np.all(grad[targets == 0] == 0)  # padding gets no gradient


def test_sample_weights_and_another_pad_id_as_keras():
    logits, targets = batch(2)
    weights = np.random.default_rng(4).uniform(0, 2, targets.shape).astype("float32")
    shifted = np.where(targets == 0, 5, targets)  # pad id 5, a real class
    keras_loss = keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, ignore_class=5
    )
    np.testing.assert_allclose(
        float(TokenCrossEntropy(pad_id=5)(shifted, logits, sample_weight=weights)),
        float(keras_loss(shifted, logits, sample_weight=weights)),
        rtol=1e-6,
    )


def test_a_wrong_denominator_is_caught():
    """The comparisons above tell a loss averaged over every position from
    ours by far more than their tolerance."""
    logits, targets = batch(0)
    every_position = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    mean_over_all = float(every_position(np.where(targets == 0, 1, targets), logits))
    assert abs(mean_over_all - float(TokenCrossEntropy()(targets, logits))) > 1e-2


def test_a_mask_on_the_logits_combines_as_in_keras():
    """A model whose Embedding masks other positions than the targets' padding:
    the mean runs over the tokens both keep, as with Keras' loss; and the
    reduction is Keras' own, which distribution strategies scale."""
    inputs = keras.Input((6,), dtype="int32")
    hidden = keras.layers.Embedding(9, 4, mask_zero=True)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(9)(hidden))
    _, targets = batch(5)
    ids = np.where(np.arange(6) % 2 == 0, 0, 1 + targets % 8)  # masks even slots
    losses = {}
    for name, loss in (("ours", TokenCrossEntropy()), ("keras", KERAS)):
        model.compile(optimizer="sgd", loss=loss)
        losses[name] = model.evaluate(ids, targets, verbose=0)
    np.testing.assert_allclose(losses["ours"], losses["keras"], rtol=1e-6)
    assert TokenCrossEntropy().reduction == KERAS.reduction == "sum_over_batch_size"


def test_serializes_and_trains_a_model_through_a_keras_file(tmp_path):
    inputs = keras.Input((6,), dtype="int32")
    hidden = keras.layers.Embedding(9, 4)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(9)(hidden))
    model.compile(optimizer="adam", loss=TokenCrossEntropy(pad_id=0))
    _, targets = batch(3)
    model.fit(targets, targets, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    back = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert isinstance(back.loss, TokenCrossEntropy) and back.loss.pad_id == 0
    config = TokenCrossEntropy(pad_id=3, name="x").get_config()
    assert TokenCrossEntropy.from_config(config).get_config() == config
