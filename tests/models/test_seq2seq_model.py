"""Seq2seq models describe themselves: their class, kind, sublayers and config
survive a `.keras` round trip, and an older zoo's plain functional chatbot
loads as today's class with the same weights and optimizer state."""

import keras
import numpy as np
import pytest
from keras import ops

from zoo.errors import ZooError
from zoo.models.forecasting import build_forecaster
from zoo.models.seq2seq import (
    SEQ2SEQ,
    LSTMSeq2Seq,
    Seq2SeqModel,
    TransformerSeq2Seq,
    build_seq2seq,
    generator_for,
)
from zoo.saving import load_model

VOCAB = 14


def small(kind, **kwargs):
    feature_dim = 4 if kind == "transformer-linear" else None
    return build_seq2seq(
        kind, VOCAB, 8, num_heads=2, num_layers=2, feature_dim=feature_dim, **kwargs
    )


def batch():
    rng = np.random.default_rng(1)
    source = rng.integers(1, VOCAB, (2, 5)).astype("int32")
    target = rng.integers(1, VOCAB, (2, 4)).astype("int32")
    source[0, 3:] = 0
    return [source, target]


def logits_of(model):
    return np.asarray(ops.convert_to_numpy(model(batch())))


def plain_functional(model):
    """What the builders returned before `Seq2SeqModel`: a plain keras.Model."""
    return keras.Model(model.inputs, model.outputs, name=model.name)


@pytest.mark.parametrize("kind", list(SEQ2SEQ))
def test_each_model_carries_its_kind_class_and_config_through_a_keras_file(
    kind, tmp_path
):
    model = small(kind, dropout=0.25)
    assert isinstance(model, Seq2SeqModel) and model.kind == kind
    expected_class = LSTMSeq2Seq if kind.startswith("lstm") else TransformerSeq2Seq
    assert type(model) is expected_class
    assert model.get_config()["dropout"] == 0.25
    rebuilt = type(model).from_config(model.get_config())
    assert rebuilt.get_config() == model.get_config()
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = load_model(path, compile=False)
    assert type(loaded) is expected_class and loaded.kind == kind
    assert loaded.get_config() == model.get_config()
    np.testing.assert_allclose(logits_of(loaded), logits_of(model), atol=1e-6)


def test_named_sublayers_are_the_models_own_layers():
    lstm = small("lstm-attention")
    assert lstm.embedding is lstm.get_layer("embedding")
    assert lstm.decoder is lstm.get_layer("decoder")
    assert lstm.attention_layer is lstm.get_layer("attention")
    assert small("lstm").attention_layer is None
    transformer = small("transformer")
    assert [b.name for b in transformer.decoder_blocks] == ["decoder_0", "decoder_1"]
    assert transformer.decoder_blocks[1] is transformer.get_layer("decoder_1")
    assert transformer.logits_layer is transformer.get_layer("logits")


def test_the_dtype_policy_is_stored_and_reaches_every_sublayer(tmp_path):
    model = LSTMSeq2Seq(VOCAB, 8, attention="dot", dtype="mixed_bfloat16")
    assert {layer.dtype_policy.name for layer in model.layers[2:]} == {"mixed_bfloat16"}
    path = tmp_path / "model.keras"
    model.save(path)
    # Loaded in a float32 process, the model is still a bfloat16 one.
    assert keras.config.dtype_policy().name == "float32"
    loaded = load_model(path, compile=False)
    assert loaded.logits_layer.compute_dtype == "bfloat16"
    assert loaded.get_config()["dtype"] == "mixed_bfloat16"


def test_a_forecaster_named_like_a_chatbot_has_no_generator():
    forecaster = build_forecaster("seq2seq-lstm", 4, 2, 3, units=4)
    assert forecaster.name == "seq2seq_lstm"
    with pytest.raises(ValueError, match="not a zoo seq2seq model"):
        generator_for(forecaster)


@pytest.mark.parametrize("kind", list(SEQ2SEQ))
def test_an_older_zoos_chatbot_file_loads_as_todays_class(kind, tmp_path):
    model = small(kind)
    path = tmp_path / "old.keras"
    plain_functional(model).save(path)
    plain = keras.saving.load_model(path, compile=False, safe_mode=True)
    assert not isinstance(plain, Seq2SeqModel)  # the file is an old one
    loaded = load_model(path, compile=False)
    assert isinstance(loaded, Seq2SeqModel) and loaded.kind == kind
    assert loaded.name == model.name
    np.testing.assert_allclose(logits_of(loaded), logits_of(model), atol=1e-6)
    assert generator_for(loaded).model is loaded


def test_an_older_compiled_chatbot_keeps_its_optimizer_state(tmp_path):
    old = plain_functional(small("lstm"))
    old.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    source, target = batch()
    old.fit([source, target], np.zeros((2, 4, VOCAB)), epochs=2, verbose=0)
    path = tmp_path / "old.keras"
    old.save(path)
    loaded = load_model(path)
    assert isinstance(loaded, LSTMSeq2Seq)
    assert int(ops.convert_to_numpy(loaded.optimizer.iterations)) == 2
    for got, want in zip(
        loaded.optimizer.variables, old.optimizer.variables, strict=True
    ):
        np.testing.assert_array_equal(
            ops.convert_to_numpy(got), ops.convert_to_numpy(want)
        )
    loaded.fit([source, target], np.zeros((2, 4, VOCAB)), epochs=1, verbose=0)


def test_an_older_chatbot_whose_layers_differ_fails_in_one_line(tmp_path):
    encoder_tokens = keras.Input((None,), dtype="int32", name="encoder_tokens")
    decoder_tokens = keras.Input((None,), dtype="int32", name="decoder_tokens")
    embedding = keras.layers.Embedding(VOCAB, 6, name="embedding")
    outputs = keras.layers.Dense(VOCAB, name="logits")(
        keras.layers.Concatenate(axis=1)(
            [embedding(encoder_tokens), embedding(decoder_tokens)]
        )
    )
    odd = keras.Model([encoder_tokens, decoder_tokens], outputs, name="seq2seq_lstm")
    path = tmp_path / "odd.keras"
    odd.save(path)
    with pytest.raises(ZooError) as error:
        load_model(path, compile=False)
    message = str(error.value)
    assert "\n" not in message and "older zoo's chatbot" in message
    assert "python -m zoo.train chatbot" in message
