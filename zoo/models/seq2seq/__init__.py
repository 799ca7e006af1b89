"""Seq2seq chatbots: registry, builders and their incremental generators.

Example:
>>> from zoo.models.seq2seq import SEQ2SEQ
>>> sorted(SEQ2SEQ)
['lstm', 'lstm-attention', 'transformer', 'transformer-linear']
"""

from zoo.models.seq2seq.generator import Seq2SeqGenerator
from zoo.models.seq2seq.lstm import LSTMGenerator, build_lstm_seq2seq
from zoo.models.seq2seq.transformer import (
    TransformerGenerator,
    build_transformer_seq2seq,
)

SEQ2SEQ = {
    "lstm": "LSTM encoder-decoder; the decoder sees the final encoder state",
    "lstm-attention": "LSTM decoder attending over the encoder outputs (Luong)",
    "transformer": "encoder-decoder transformer, softmax multi-head attention",
    "transformer-linear": "the transformer on linear (Taylor) attention",
}


def build_seq2seq(
    name,
    vocab_size,
    units,
    attention_score="general",
    num_heads=4,
    num_layers=2,
    dropout=0.1,
):
    """Builds registered model `name` (a key of SEQ2SEQ).

    Args:
        name: str.
        vocab_size: int.
        units: int, LSTM size or transformer width.
        attention_score: "dot", "general" or "additive" (lstm-attention).
        num_heads, num_layers: transformer sizes.
        dropout: float, dropout rate of every model.

    Returns:
        keras.Model.
    """
    if name not in SEQ2SEQ:
        raise ValueError(f"unknown seq2seq model {name!r}; choose from {list(SEQ2SEQ)}")
    if name.startswith("lstm"):
        attention = attention_score if name == "lstm-attention" else None
        return build_lstm_seq2seq(
            vocab_size, units, attention=attention, dropout=dropout
        )
    kind = "linear" if name == "transformer-linear" else "softmax"
    return build_transformer_seq2seq(
        vocab_size, units, num_heads, num_layers, attention=kind, dropout=dropout
    )


def generator_for(model):
    """The Seq2SeqGenerator of a built or loaded seq2seq model."""
    if model.name.startswith("seq2seq_lstm"):
        return LSTMGenerator(model)
    if model.name.startswith("seq2seq_transformer"):
        return TransformerGenerator(model)
    raise ValueError(f"{model.name!r} is not a zoo seq2seq model")


__all__ = [
    "SEQ2SEQ",
    "LSTMGenerator",
    "Seq2SeqGenerator",
    "TransformerGenerator",
    "build_lstm_seq2seq",
    "build_seq2seq",
    "build_transformer_seq2seq",
    "generator_for",
]
