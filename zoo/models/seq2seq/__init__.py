"""Seq2seq chatbots: registry, builders and their incremental generators.

Example:
>>> from zoo.models.seq2seq import SEQ2SEQ
>>> sorted(SEQ2SEQ)
['lstm', 'lstm-attention', 'transformer', 'transformer-linear']
"""

from zoo.models import ModelSpec, lookup
from zoo.models.seq2seq.generator import Seq2SeqGenerator
from zoo.models.seq2seq.lstm_generator import LSTMGenerator
from zoo.models.seq2seq.lstm_seq2seq import LSTMSeq2Seq
from zoo.models.seq2seq.seq2seq_model import Seq2SeqModel
from zoo.models.seq2seq.transformer_generator import TransformerGenerator
from zoo.models.seq2seq.transformer_seq2seq import TransformerSeq2Seq

# name -> ModelSpec; build(vocab_size=, units=, attention_score=, num_heads=,
# num_layers=, dropout=, feature_dim=) -> Seq2SeqModel whose `kind` is the
# name, each model reading the settings it has; generator: the model's
# Seq2SeqGenerator class.
SEQ2SEQ = {
    "lstm": ModelSpec(
        lambda vocab_size, units, dropout, **_: LSTMSeq2Seq(
            vocab_size, units, dropout=dropout
        ),
        "LSTM encoder-decoder; the decoder sees the final encoder state",
        LSTMGenerator,
    ),
    "lstm-attention": ModelSpec(
        lambda vocab_size, units, attention_score, dropout, **_: LSTMSeq2Seq(
            vocab_size, units, attention=attention_score, dropout=dropout
        ),
        "LSTM decoder attending over the encoder outputs (Luong)",
        LSTMGenerator,
    ),
    "transformer": ModelSpec(
        lambda vocab_size, units, num_heads, num_layers, dropout, **_: (
            TransformerSeq2Seq(
                vocab_size, units, num_heads, num_layers, dropout=dropout
            )
        ),
        "encoder-decoder transformer, softmax multi-head attention",
        TransformerGenerator,
    ),
    "transformer-linear": ModelSpec(
        lambda vocab_size, units, num_heads, num_layers, dropout, feature_dim, **_: (
            TransformerSeq2Seq(
                vocab_size,
                units,
                num_heads,
                num_layers,
                attention="linear",
                dropout=dropout,
                feature_dim=feature_dim,
            )
        ),
        "the transformer on linear (Taylor) attention",
        TransformerGenerator,
    ),
}


def build_seq2seq(
    name,
    vocab_size,
    units,
    attention_score="general",
    num_heads=4,
    num_layers=2,
    dropout=0.1,
    feature_dim=None,
):
    """Builds registered model `name` (a key of SEQ2SEQ).

    Args:
        name: str.
        vocab_size: int.
        units: int, LSTM size or transformer width.
        attention_score: "dot", "general" or "additive" (lstm-attention).
        num_heads, num_layers: transformer sizes.
        dropout: float, dropout rate of every model.
        feature_dim: int or None, transformer-linear's query/key size per
            head fed to the Taylor map (None: the head size).

    Returns:
        Seq2SeqModel (`LSTMSeq2Seq` or `TransformerSeq2Seq`) whose `kind`
        is `name`, named `seq2seq_<name>` with `_` for `-`.

    Raises:
        ValueError: unknown name, or a `feature_dim` for a model without
            linear attention.

    Example:
    >>> model = build_seq2seq("transformer-linear", 50, 16, num_heads=2,
    ...                       num_layers=1, feature_dim=4)
    >>> model.kind, model.decoder_blocks[0].feature_dim
    ('transformer-linear', 4)
    """
    spec = lookup(SEQ2SEQ, name, "seq2seq model")
    if feature_dim is not None and name != "transformer-linear":
        raise ValueError(
            f"feature_dim: {name!r} has no linear attention; it is read by "
            "'transformer-linear' only"
        )
    return spec.build(
        vocab_size=vocab_size,
        units=units,
        attention_score=attention_score,
        num_heads=num_heads,
        num_layers=num_layers,
        dropout=dropout,
        feature_dim=feature_dim,
    )


def generator_for(model):
    """The Seq2SeqGenerator of a built or loaded seq2seq model.

    The generator class is the registry's for the model's `kind`. One
    generator per model, kept on the model: a transformer's compiled step
    (JAX) is traced once and reused by every later decoding of the model
    (each epoch's replies, the test split, the prompts) instead of once per
    call; it reads the weights at every step, so training in between is
    seen.

    Args:
        model: a `Seq2SeqModel` (built by `build_seq2seq` or loaded with
            `zoo.saving.load_model`).

    Returns:
        Seq2SeqGenerator.

    Raises:
        ValueError: `model` is not a zoo seq2seq model.

    Example:
    >>> model = build_seq2seq("lstm", vocab_size=20, units=4)
    >>> generator_for(model) is generator_for(model)
    True
    """
    generator = getattr(model, "_zoo_generator", None)
    if generator is not None:
        return generator
    if not isinstance(model, Seq2SeqModel):
        raise ValueError(
            f"{model.name!r} is not a zoo seq2seq model ({type(model).__name__}); "
            "build one with zoo.models.seq2seq.build_seq2seq or load its .keras "
            "file with zoo.saving.load_model"
        )
    generator = SEQ2SEQ[model.kind].generator(model)
    # A plain attribute (not a layer or a variable): saving passes it over.
    model._zoo_generator = generator
    return generator


__all__ = [
    "SEQ2SEQ",
    "LSTMGenerator",
    "LSTMSeq2Seq",
    "Seq2SeqGenerator",
    "Seq2SeqModel",
    "TransformerGenerator",
    "TransformerSeq2Seq",
    "build_seq2seq",
    "generator_for",
]
