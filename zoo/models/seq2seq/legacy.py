"""Chatbot `.keras` files of older zoos: plain functional models, upgraded.

Before `Seq2SeqModel`, the builders returned a plain `keras.Model` named
`seq2seq_lstm`, `seq2seq_lstm_attention`, `seq2seq_transformer` or
`seq2seq_transformer_linear`; the name was the only record of its kind.
Their layers (names, weights, order) are those of today's classes, so the
file is rebuilt as the class its name gives, its settings read off its
layers, and every weight (and, compiled, the optimizer's state) copied.
"""

from zoo.errors import ZooError
from zoo.layers.transformer_encoder_block import TransformerEncoderBlock
from zoo.models.seq2seq.lstm_seq2seq import LSTMSeq2Seq
from zoo.models.seq2seq.seq2seq_model import Seq2SeqModel
from zoo.models.seq2seq.transformer_seq2seq import TransformerSeq2Seq

LEGACY_NAMES = (
    "seq2seq_lstm",
    "seq2seq_lstm_attention",
    "seq2seq_transformer",
    "seq2seq_transformer_linear",
)


def is_legacy_seq2seq(model):
    """Whether `model` is an older zoo's plain functional chatbot.

    Its name is a legacy one and its inputs are the chatbots' (the traffic
    forecaster `seq2seq_lstm` has one input, of floats).

    Args:
        model: keras.Model.

    Returns:
        bool.

    Example:
    >>> import keras
    >>> from zoo.models.seq2seq import build_seq2seq
    >>> model = build_seq2seq("lstm", vocab_size=20, units=4)
    >>> is_legacy_seq2seq(model)
    False
    >>> is_legacy_seq2seq(keras.Model(model.inputs, model.outputs, name=model.name))
    True
    """
    if isinstance(model, Seq2SeqModel) or model.name not in LEGACY_NAMES:
        return False
    inputs = getattr(model, "inputs", None) or []
    names = [getattr(x, "name", "").split(":")[0] for x in inputs]
    return names == ["encoder_tokens", "decoder_tokens"]


def upgrade_legacy_seq2seq(model):
    """The `Seq2SeqModel` of an older zoo's functional chatbot, same weights.

    Args:
        model: keras.Model for which `is_legacy_seq2seq` holds.

    Returns:
        LSTMSeq2Seq or TransformerSeq2Seq, compiled like `model` (the
        optimizer's state copied) when `model` is compiled.

    Raises:
        ZooError: the layers do not match what the name says (one line, with
            what to do).

    Example:
    >>> import keras
    >>> from zoo.models.seq2seq import build_seq2seq
    >>> built = build_seq2seq("lstm-attention", vocab_size=20, units=4)
    >>> old = keras.Model(built.inputs, built.outputs, name=built.name)
    >>> upgrade_legacy_seq2seq(old).kind
    'lstm-attention'
    """
    try:
        upgraded = _rebuild(model)
        _copy_weights(model.weights, upgraded.weights, "weights")
    except (ValueError, KeyError, AttributeError) as error:
        raise ZooError(
            f"{model.name!r} is an older zoo's chatbot whose layers do not match "
            f"this zoo's ({error}); train it again with python -m zoo.train chatbot"
        ) from None
    if getattr(model, "compiled", False):
        upgraded.compile_from_config(model.get_compile_config())
        if model.optimizer.built:
            upgraded.optimizer.build(upgraded.trainable_variables)
            _copy_weights(
                model.optimizer.variables, upgraded.optimizer.variables, "optimizer"
            )
    return upgraded


def _rebuild(model):
    """An unbuilt-weights twin of `model` of today's class, from its layers."""
    dtype = model.get_layer("logits").dtype_policy.name
    embedding = model.get_layer("embedding")
    if model.name.startswith("seq2seq_lstm"):
        attention = None
        if model.name == "seq2seq_lstm_attention":
            attention = model.get_layer("attention").score
        units = model.get_layer("encoder").units
        return LSTMSeq2Seq(
            embedding.input_dim,
            units,
            embed_dim=None if embedding.output_dim == units else embedding.output_dim,
            attention=attention,
            dropout=model.get_layer("embedding_dropout").rate,
            dtype=dtype,
            name=model.name,
        )
    blocks = [b for b in model.layers if isinstance(b, TransformerEncoderBlock)]
    first = blocks[0]
    return TransformerSeq2Seq(
        embedding.vocab_size,
        embedding.dim,
        num_heads=first.num_heads,
        num_layers=len(blocks),
        hidden_dim=first.hidden_dim,
        attention=first.attention,
        dropout=first.dropout,
        feature_dim=first.feature_dim,
        dtype=dtype,
        name=model.name,
    )


def _copy_weights(sources, targets, what):
    """Assigns `sources` to `targets` in order; refuses a different layout."""
    if len(sources) != len(targets):
        raise ValueError(f"{len(sources)} {what} vs {len(targets)}")
    for source, target in zip(sources, targets, strict=True):
        if tuple(source.shape) != tuple(target.shape):
            raise ValueError(
                f"{source.path} has shape {tuple(source.shape)}, "
                f"expected {tuple(target.shape)}"
            )
        target.assign(source)
