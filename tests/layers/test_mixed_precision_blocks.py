"""Mixed precision reaches every sublayer of the transformer pieces, as it
does in Keras' own layers: bfloat16 compute, float32 weights."""

import keras
import numpy as np
import pytest

from zoo.layers import TokenAndPositionEmbedding
from zoo.layers.feature_maps import FeatureMap
from zoo.layers.transformer_decoder_block import TransformerDecoderBlock
from zoo.layers.transformer_encoder_block import TransformerEncoderBlock


def sublayers(layer):
    """Every sublayer that computes in the layer's policy.

    Left out: Sequential and its InputLayer (they hold others), and linear
    attention's feature maps, which run in float32 by design (squares of
    bfloat16 projections lose the kernel's precision).
    """
    holders = (keras.Sequential, keras.layers.InputLayer, FeatureMap)
    return [
        sub
        for sub in layer._flatten_layers(include_self=False)
        if not isinstance(sub, holders)
    ]


@pytest.mark.parametrize("attention", ["softmax", "linear"])
def test_blocks_compute_in_bfloat16_with_float32_weights(attention):
    x = np.random.default_rng(0).normal(size=(2, 3, 8)).astype("float32")
    encoder = TransformerEncoderBlock(2, 16, attention, dtype="mixed_bfloat16")
    decoder = TransformerDecoderBlock(2, 16, attention, dtype="mixed_bfloat16")
    outputs = [encoder(x), decoder(x, x)]
    # Keras' own layer under the same policy, as the reference behaviour.
    reference = keras.layers.Dense(8, dtype="mixed_bfloat16")(x)
    for block, output in zip((encoder, decoder), outputs, strict=True):
        assert (
            keras.backend.standardize_dtype(output.dtype)
            == keras.backend.standardize_dtype(reference.dtype)
            == "bfloat16"
        )
        for sub in sublayers(block):
            assert sub.dtype_policy.name == "mixed_bfloat16", sub.name
        assert all(v.dtype == "float32" for v in block.weights)


def test_token_embedding_computes_in_bfloat16():
    layer = TokenAndPositionEmbedding(10, 4, dtype="mixed_bfloat16")
    out = layer(np.array([[1, 2, 0]], "int32"))
    assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
    assert layer.embedding.dtype_policy.name == "mixed_bfloat16"
    assert layer.embedding.embeddings.dtype == "float32"
