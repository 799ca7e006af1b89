"""LSTM encoder-decoders (sheet A3.1/A3.2, B1): plain and with attention."""

import keras

from zoo.layers.fused_lstm import FusedLSTM
from zoo.layers.seq2seq_attention import Seq2SeqAttention
from zoo.models.seq2seq.seq2seq_model import Seq2SeqModel, policy_name


@keras.saving.register_keras_serializable(package="zoo")
class LSTMSeq2Seq(Seq2SeqModel):
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

    Sublayers, as attributes: `embedding`, `encoder`, `decoder`,
    `attention_layer` and `combine` (None without attention), `logits_layer`.

    Args:
        vocab_size: int.
        units: int, LSTM size.
        embed_dim: int, embedding size (default: units).
        attention: None, "dot", "general" or "additive".
        dropout: float in [0, 1).
        dtype: dtype policy of every sublayer (None: the global policy).
        name: str. Defaults to `seq2seq_lstm` or `seq2seq_lstm_attention`.
        **kwargs: `trainable`, passed to `keras.Model`.

    Returns:
        A `keras.Model` `[encoder_tokens (B, S), decoder_tokens (B, T)] ->
        logits (B, T, V)`.

    Example:
    >>> model = LSTMSeq2Seq(100, units=8, attention="general")
    >>> model.kind, model.name, model.attention_layer.score
    ('lstm-attention', 'seq2seq_lstm_attention', 'general')
    """

    def __init__(
        self,
        vocab_size,
        units=64,
        embed_dim=None,
        attention=None,
        dropout=0.0,
        dtype=None,
        name=None,
        **kwargs,
    ):
        dtype = policy_name(dtype)
        encoder_tokens = keras.Input((None,), dtype="int32", name="encoder_tokens")
        decoder_tokens = keras.Input((None,), dtype="int32", name="decoder_tokens")
        embedding = keras.layers.Embedding(
            vocab_size,
            embed_dim or units,
            mask_zero=True,
            name="embedding",
            dtype=dtype,
        )
        encoder = FusedLSTM(
            units, return_sequences=True, return_state=True, name="encoder", dtype=dtype
        )
        embed_dropout = keras.layers.Dropout(
            dropout, name="embedding_dropout", dtype=dtype
        )
        encoder_outputs, h, c = encoder(embed_dropout(embedding(encoder_tokens)))
        decoder = FusedLSTM(units, return_sequences=True, name="decoder", dtype=dtype)
        outputs = decoder(
            embed_dropout(embedding(decoder_tokens)), initial_state=[h, c]
        )
        attention_layer = combine = None
        if attention:
            attention_layer = Seq2SeqAttention(attention, name="attention", dtype=dtype)
            context, _ = attention_layer(outputs, encoder_outputs)
            combined = keras.layers.Concatenate(name="concat", dtype=dtype)(
                [outputs, context]
            )
            combine = keras.layers.Dense(
                units, activation="tanh", name="combine", dtype=dtype
            )
            outputs = combine(combined)
        outputs = keras.layers.Dropout(dropout, name="output_dropout", dtype=dtype)(
            outputs
        )
        logits_layer = keras.layers.Dense(vocab_size, name="logits", dtype=dtype)
        super().__init__(
            [encoder_tokens, decoder_tokens],
            logits_layer(outputs),
            arguments={
                "vocab_size": vocab_size,
                "units": units,
                "embed_dim": embed_dim,
                "attention": attention,
                "dropout": dropout,
            },
            dtype=dtype,
            name=name or ("seq2seq_lstm_attention" if attention else "seq2seq_lstm"),
            **kwargs,
        )
        self.embedding, self.encoder, self.decoder = embedding, encoder, decoder
        self.attention_layer, self.combine = attention_layer, combine
        self.logits_layer = logits_layer

    @property
    def kind(self):
        """str: "lstm-attention" with attention, else "lstm"."""
        return "lstm-attention" if self.attention_layer is not None else "lstm"
