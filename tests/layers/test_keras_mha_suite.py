"""Keras' own MultiHeadAttention test suite, run against zoo.layers.MultiHeadAttention.

The test class is imported from the installed Keras wheel
(`keras/src/layers/attention/multi_head_attention_test.py`), not copied: the
module's `layers` name is swapped for a namespace whose `MultiHeadAttention`
is ours (every other layer is Keras'), so each Keras test builds, calls,
saves and checks our layer. The few tests that reach into Keras' private
implementation are skipped, each with its reason (`PRIVATE_INTERNALS`).
"""

import types
import unittest

import pytest
from keras.src import layers as keras_layers

# Keras' test module marks a test with `requires_trainable_backend`, a marker
# Keras registers in its own conftest: pyproject.toml registers it here.
from keras.src.layers.attention import multi_head_attention_test as keras_suite

from zoo.layers import MultiHeadAttention

# Test name -> why it cannot run against another class. Each reads or
# overrides an implementation detail of keras.layers.MultiHeadAttention, not
# its public behaviour; what the user can observe of it is tested in
# test_multi_head_attention.py (named after the reason).
PRIVATE_INTERNALS = {
    "test_causal_only_skipped_for_subclass": (
        "subclasses Keras' private override point `_compute_attention` "
        "(ours is `_attend`)"
    ),
    "test_compute_attention_combines_causal_and_explicit_mask_fused_fallback": (
        "calls Keras' private `_compute_attention` directly"
    ),
    "test_compute_attention_combines_causal_and_explicit_mask_manual_path": (
        "calls Keras' private `_compute_attention` directly"
    ),
    "test_sliding_window_serialization": (
        "reads the private `_sliding_window` (ours: the public "
        "`sliding_window`; round trip in test_sliding_window_round_trips)"
    ),
    "test_flash_attention_with_errors": (
        "reads the private `_flash_attention` (ours: the public "
        "`flash_attention`; both errors in test_flash_attention_errors)"
    ),
}


class _LayersWithOurs(types.SimpleNamespace):
    """`keras.src.layers`, with `MultiHeadAttention` replaced by ours."""

    def __getattr__(self, name):
        return getattr(keras_layers, name)


OUR_LAYERS = _LayersWithOurs(MultiHeadAttention=MultiHeadAttention)


@pytest.fixture(autouse=True)
def _our_layer_in_keras_suite(monkeypatch):
    monkeypatch.setattr(keras_suite, "layers", OUR_LAYERS)


@pytest.fixture(autouse=True)
def _skip_private_internals(request):
    reason = PRIVATE_INTERNALS.get(request.node.name)
    if reason is not None:
        pytest.skip(f"Keras-private: {reason}")


class TestKerasSuiteOnZooMultiHeadAttention(keras_suite.MultiHeadAttentionTest):
    """Every test of Keras' `MultiHeadAttentionTest`, on our layer."""


def test_every_skip_names_a_test_of_the_suite():
    """A renamed or removed Keras test must not leave a stale skip behind."""
    loader = unittest.TestLoader()
    names = set(loader.getTestCaseNames(keras_suite.MultiHeadAttentionTest))
    assert set(PRIVATE_INTERNALS) <= names
    # Keras 3.15.1 ships 50; another count means another suite: review the
    # skips (and the README's numbers) against it.
    assert len(names) == 50, f"Keras' suite now has {len(names)} tests"


def test_the_suite_really_runs_our_layer():
    """The substitution reaches the Keras module: its `layers` is ours."""
    assert keras_suite.layers.MultiHeadAttention is MultiHeadAttention
    assert keras_suite.layers.Embedding is keras_layers.Embedding
