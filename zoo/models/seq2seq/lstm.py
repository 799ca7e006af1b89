"""LSTM encoder-decoders (sheet A3.1/A3.2, B1): plain and with attention."""

import keras
from keras import ops

from zoo.layers.fused_lstm import FusedLSTM
from zoo.layers.inference_call import inference_call, layer_call
from zoo.layers.seq2seq_attention import Seq2SeqAttention
from zoo.models.seq2seq.generator import Seq2SeqGenerator


def build_lstm_seq2seq(
    vocab_size, units=64, embed_dim=None, attention=None, dropout=0.0
):
    """Teacher-forced LSTM encoder-decoder returning next-token logits.

    The encoder reads the input; its final (h, c) start the decoder. Without
    attention the decoder sees nothing else of the input. With `attention`
    ("dot", "general": Luong; "additive": Bahdanau's score) each decoder
    output h_t attends over all encoder outputs and `tanh(W [h_t; c_t])`
    predicts the token (Luong et al., 2015, without input feeding, so all
    steps train in parallel). Embeddings are shared; id 0 is padding and is
    masked through Keras masking (the loss skips it too). `dropout` acts on
    the embeddings and on the decoder's outputs before the logits (not on
    the recurrent state), in training only. Both LSTMs are `FusedLSTM`:
    `keras.layers.LSTM` on JAX and TensorFlow, PyTorch's fused kernel on
    padded batches on torch.

    Args:
        vocab_size: int.
        units: int, LSTM size.
        embed_dim: int, embedding size (default: units).
        attention: None, "dot", "general" or "additive".
        dropout: float in [0, 1).

    Returns:
        keras.Model `[encoder_tokens (B, S), decoder_tokens (B, T)] ->
        logits (B, T, V)`, named `seq2seq_lstm` or `seq2seq_lstm_attention`.

    Example:
    >>> model = build_lstm_seq2seq(100, units=8, attention="general")
    >>> model.name
    'seq2seq_lstm_attention'
    """
    encoder_tokens = keras.Input((None,), dtype="int32", name="encoder_tokens")
    decoder_tokens = keras.Input((None,), dtype="int32", name="decoder_tokens")
    embedding = keras.layers.Embedding(
        vocab_size, embed_dim or units, mask_zero=True, name="embedding"
    )
    encoder = FusedLSTM(units, return_sequences=True, return_state=True, name="encoder")
    embed_dropout = keras.layers.Dropout(dropout, name="embedding_dropout")
    encoder_outputs, h, c = encoder(embed_dropout(embedding(encoder_tokens)))
    decoder = FusedLSTM(units, return_sequences=True, name="decoder")
    outputs = decoder(embed_dropout(embedding(decoder_tokens)), initial_state=[h, c])
    name = "seq2seq_lstm"
    if attention:
        context, _ = Seq2SeqAttention(attention, name="attention")(
            outputs, encoder_outputs
        )
        combined = keras.layers.Concatenate(name="concat")([outputs, context])
        outputs = keras.layers.Dense(units, activation="tanh", name="combine")(combined)
        name = "seq2seq_lstm_attention"
    outputs = keras.layers.Dropout(dropout, name="output_dropout")(outputs)
    logits = keras.layers.Dense(vocab_size, name="logits")(outputs)
    return keras.Model([encoder_tokens, decoder_tokens], logits, name=name)


class LSTMGenerator(Seq2SeqGenerator):
    """Incremental decoding of `build_lstm_seq2seq` models: the cache is (h, c).

    Args:
        model: a `build_lstm_seq2seq` model.
        jit_compile, torch_compile: as in `Seq2SeqGenerator`.

    Example:
    >>> generator = LSTMGenerator(build_lstm_seq2seq(50, 8))  # doctest: +SKIP
    """

    def __init__(self, model, jit_compile=True, torch_compile=False):
        super().__init__(model, jit_compile, torch_compile)
        self.embedding = model.get_layer("embedding")
        self.encoder = model.get_layer("encoder")
        self.cell = model.get_layer("decoder").cell
        self.has_attention = model.name.endswith("attention")
        if self.has_attention:
            self.attention = model.get_layer("attention")
            self.combine = model.get_layer("combine")
        self.logits = model.get_layer("logits")

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
        decoder = self.model.get_layer("decoder")
        outputs = decoder(
            self.embedding(replies),
            initial_state=[memory["h"], memory["c"]],
            mask=ops.not_equal(replies, 0),
        )
        return self._attend(outputs, memory)[1]
