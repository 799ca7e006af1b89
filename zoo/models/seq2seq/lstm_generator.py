"""Incremental decoding of the LSTM encoder-decoders (`LSTMSeq2Seq`)."""

from keras import ops

from zoo.layers.inference_call import inference_call, layer_call
from zoo.models.seq2seq.generator import Seq2SeqGenerator


class LSTMGenerator(Seq2SeqGenerator):
    """Incremental decoding of an `LSTMSeq2Seq`: the cache is (h, c).

    Args:
        model: an `LSTMSeq2Seq`.
        jit_compile, torch_compile: as in `Seq2SeqGenerator`.

    Example:
    >>> from zoo.models.seq2seq.lstm_seq2seq import LSTMSeq2Seq
    >>> generator = LSTMGenerator(LSTMSeq2Seq(50, 8, attention="dot"))
    >>> generator.has_attention
    True
    """

    def __init__(self, model, jit_compile=True, torch_compile=False):
        super().__init__(model, jit_compile, torch_compile)
        self.embedding = model.embedding
        self.encoder = model.encoder
        self.cell = model.decoder.cell
        self.has_attention = model.attention_layer is not None
        self.attention = model.attention_layer
        self.combine = model.combine
        self.logits = model.logits_layer

    def _encode(self, sources):
        mask = ops.not_equal(sources, 0)
        outputs, h, c = self.encoder(self.embedding(sources), mask=mask)
        return {"outputs": outputs, "mask": mask, "h": h, "c": c}

    def initial_state(self, memory):
        return (memory["h"], memory["c"])

    def _attend(self, outputs, memory, call=None):
        """The attention context combined with `outputs`, and the weights.

        `call(layer, *args, **kwargs)` runs each layer (`inference_call` in
        `step`); None: `Layer.__call__`.
        """
        call = call or layer_call
        context, weights = call(
            self.attention, outputs, memory["outputs"], value_mask=memory["mask"]
        )
        combined = ops.concatenate([outputs, context], axis=-1)
        return call(self.combine, combined), weights

    def step(self, tokens, state, memory):
        """Next-token logits `(B, V)` for `tokens` `(B, 1)`; returns (logits, state).

        The state (h, c) keeps its shapes: on JAX and TensorFlow the step
        is one compiled program.
        """
        tokens = ops.convert_to_tensor(tokens, "int32")
        return self._run(
            "step", self._step_eager, tokens, tuple(state), memory, step=True
        )

    def loop_step(self, tokens, state, memory):
        """`step` in traceable ops (the state (h, c) has fixed shapes)."""
        return self._step_eager(tokens, tuple(state), memory)

    def _step_eager(self, tokens, state, memory):
        # Eager on torch, Keras' per-call work outweighs these layers' kernels.
        x = inference_call(self.embedding, tokens)[:, 0]
        h, (h, c) = inference_call(self.cell, x, list(state))
        out = h[:, None]
        if self.has_attention:
            out, _ = self._attend(out, memory, inference_call)
        return inference_call(self.logits, out)[:, 0], (h, c)

    def attention_weights(self, sources, replies):
        if not self.has_attention:
            return None
        memory = self.encode(sources)
        outputs = self.model.decoder(
            self.embedding(replies),
            initial_state=[memory["h"], memory["c"]],
            mask=ops.not_equal(replies, 0),
        )
        return self._attend(outputs, memory)[1]
