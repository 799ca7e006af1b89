"""The layer contract (`zoo.testing.run_layer_test`) on every exported layer
that has no contract test of its own: config round trip, `.keras` with
`safe_mode=True`, symbolic and eager calls, one fit step, mixed precision.

MultiHeadAttention, LinearAttention and FusedLSTM are checked in their own
files; `FeatureMap` and `ProjectedAttention` are abstract bases, checked
through their subclasses. Shapes are the smallest that exercise each layer:
two batch items, query and key lengths that differ, a padded token.
"""

import keras
import numpy as np
import pytest

from zoo.layers import (
    CallableFeatureMap,
    ElementwiseFeatureMap,
    FavorFeatureMap,
    Seq2SeqAttention,
    TaylorFeatureMap,
    TokenAndPositionEmbedding,
    TransformerDecoderBlock,
    TransformerEncoderBlock,
)
from zoo.testing import run_layer_test

RNG = np.random.default_rng(0)
B, T, S, D = 2, 3, 2, 4  # batch, query length, key length, width
X = RNG.normal(size=(B, T, D)).astype("float32")
MEMORY = RNG.normal(size=(B, S, D)).astype("float32")
TOKENS = np.array([[3, 1, 0], [2, 4, 4]], "int32")  # one padded position


@keras.saving.register_keras_serializable(package="zoo_tests")
def squared(x):
    """A registered feature map: a model using it loads with safe_mode=True."""
    return x * x


# id -> (layer class, init kwargs, call tensors, expected output shape(s),
#        trainable weights, non-trainable weights).
CASES = {
    "seq2seq-attention-general": (
        Seq2SeqAttention,
        {"score": "general"},
        {"query": X, "value": MEMORY},
        ((B, T, D), (B, T, S)),
        1,
        0,
    ),
    "seq2seq-attention-additive": (
        Seq2SeqAttention,
        {"score": "additive", "units": 3},
        {"query": X, "value": MEMORY},
        ((B, T, D), (B, T, S)),
        4,
        0,
    ),
    "token-and-position-embedding": (
        TokenAndPositionEmbedding,
        {"vocab_size": 5, "dim": D},
        {"tokens": TOKENS},
        (B, T, D),
        1,
        0,
    ),
    # Two norms (2 weights each), attention (8), feed-forward (4).
    "encoder-softmax": (
        TransformerEncoderBlock,
        {"num_heads": 2, "hidden_dim": 8},
        {"x": X},
        (B, T, D),
        16,
        0,
    ),
    "encoder-linear": (
        TransformerEncoderBlock,
        {"num_heads": 2, "hidden_dim": 8, "attention": "linear"},
        {"x": X},
        (B, T, D),
        16,
        0,
    ),
    # Three norms (6), self- and cross-attention (16), feed-forward (4).
    "decoder-softmax": (
        TransformerDecoderBlock,
        {"num_heads": 2, "hidden_dim": 8},
        {"x": X, "encoder_outputs": MEMORY},
        (B, T, D),
        26,
        0,
    ),
    "decoder-linear": (
        TransformerDecoderBlock,
        {"num_heads": 2, "hidden_dim": 8, "attention": "linear"},
        {"x": X, "encoder_outputs": MEMORY},
        (B, T, D),
        26,
        0,
    ),
    # A feature map narrower than the head: each head's queries and keys are
    # projected to 3 channels (Taylor M = 13), the weights count the same.
    "decoder-linear-feature-dim": (
        TransformerDecoderBlock,
        {"num_heads": 2, "hidden_dim": 8, "attention": "linear", "feature_dim": 3},
        {"x": X, "encoder_outputs": MEMORY},
        (B, T, D),
        26,
        0,
    ),
    # Feature maps have no trainable weights: no fit step (see below).
    "taylor": (TaylorFeatureMap, {}, {"x": X}, (B, T, 1 + D + D * D), 0, 0),
    "taylor-symmetric": (
        TaylorFeatureMap,
        {"scale": 1.0, "symmetric": True},
        {"x": X},
        (B, T, 1 + D + D * (D + 1) // 2),
        0,
        0,
    ),
    "elu": (ElementwiseFeatureMap, {"activation": "elu"}, {"x": X}, (B, T, D), 0, 0),
    "relu": (ElementwiseFeatureMap, {"activation": "relu"}, {"x": X}, (B, T, D), 0, 0),
    "favor": (
        FavorFeatureMap,
        {"num_features": 3, "seed": 0},
        {"x": X},
        (B, T, 3),
        0,
        1,  # the random projection, saved with the model
    ),
    "callable": (CallableFeatureMap, {"function": squared}, {"x": X}, (B, T, D), 0, 0),
}


@pytest.mark.parametrize("case", list(CASES))
def test_layer_contract(case, tmp_path):
    layer_cls, init_kwargs, inputs, shape, trainable, non_trainable = CASES[case]
    run_layer_test(
        layer_cls,
        init_kwargs,
        inputs,
        expected_output_shape=shape,
        expected_num_trainable_weights=trainable,
        expected_num_non_trainable_weights=non_trainable,
        tmp_path=tmp_path,
        # A layer without trainable weights has nothing a fit step could
        # move; the feature maps' gradients are checked through
        # LinearAttention's contract, which fits through them.
        run_training_check=trainable > 0,
    )


def test_every_exported_layer_has_a_contract_test():
    """A layer added to zoo.layers fails here until it is checked."""
    import zoo.layers

    elsewhere = {"MultiHeadAttention", "LinearAttention", "FusedLSTM"}
    abstract = {"FeatureMap", "ProjectedAttention"}
    exported = {
        name
        for name in zoo.layers.__all__
        if isinstance(getattr(zoo.layers, name), type)
        and issubclass(getattr(zoo.layers, name), keras.layers.Layer)
    }
    here = {case[0].__name__ for case in CASES.values()}
    assert exported - elsewhere - abstract == here
