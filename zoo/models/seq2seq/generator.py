"""The interface between a trained seq2seq model and the decoders."""

import keras
from keras import ops


class Seq2SeqGenerator:
    """Runs a seq2seq model one token at a time with cached state.

    Subclasses implement `encode`, `initial_state` and `step`; the naive
    reference `recompute` (the whole model on the whole prefix, no cache) is
    shared, and the tests hold every subclass to it.

    Args:
        model: a model from `zoo.models.seq2seq.build_seq2seq`.
    """

    def __init__(self, model):
        self.model = model

    def encode(self, sources):
        """Encoder pass over `(B, S)` int ids; returns the memory (a dict)."""
        raise NotImplementedError

    def initial_state(self, memory):
        """The decoder's cache before the first token."""
        raise NotImplementedError

    def step(self, tokens, state, memory):
        """Next-token logits `(B, V)` for `(B, 1)` tokens; returns (logits, state)."""
        raise NotImplementedError

    def recompute(self, sources, prefix, position=-1):
        """Logits `(B, V)` at `position` of `prefix`: the full model, no cache."""
        return self.model([sources, prefix], training=False)[:, position]

    def attention_weights(self, sources, decoder_inputs):
        """`(B, T, S)` attention of each reply token over the input, or None."""
        return None

    @staticmethod
    def reorder(structure, indices):
        """Selects batch rows `indices` of every tensor in a state or memory."""
        indices = ops.convert_to_tensor(indices, "int32")
        return keras.tree.map_structure(
            lambda x: ops.take(x, indices, axis=0) if hasattr(x, "shape") else x,
            structure,
        )
