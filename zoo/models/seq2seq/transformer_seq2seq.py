"""Transformer encoder-decoders on the zoo's softmax or linear attention."""

import keras

from zoo.layers.token_and_position_embedding import TokenAndPositionEmbedding
from zoo.layers.transformer_decoder_block import TransformerDecoderBlock
from zoo.layers.transformer_encoder_block import TransformerEncoderBlock
from zoo.models.seq2seq.seq2seq_model import Seq2SeqModel, policy_name

# transformer-linear's query/key size per head fed to the Taylor map, chosen
# for the chatbot presets and the benchmarks (measured in docs/benchmarks.md).
LINEAR_FEATURE_DIM = 16


@keras.saving.register_keras_serializable(package="zoo")
class TransformerSeq2Seq(Seq2SeqModel):
    """Pre-norm encoder-decoder transformer returning next-token logits.

    Sublayers, as attributes: `embedding` (shared by both sides),
    `encoder_blocks` and `decoder_blocks` (lists of
    `TransformerEncoderBlock` / `TransformerDecoderBlock`, named
    `encoder_<i>` / `decoder_<i>`), `encoder_norm`, `decoder_norm`,
    `logits_layer`.

    Args:
        vocab_size: int.
        dim: int, model size d.
        num_heads: int.
        num_layers: int, blocks in the encoder and in the decoder.
        hidden_dim: int, feed-forward width (default 2 d).
        attention: "softmax" (`zoo.layers.MultiHeadAttention`) or "linear"
            (`zoo.layers.LinearAttention`, causal in decoder self-attention).
        dropout: float.
        feature_dim: int or None, linear attention only: the query/key size
            per head fed to the Taylor map (M = 1 + f + f^2 features, the
            recurrent state per head M x head size); None: the head size
            (dim // num_heads).
        dtype: dtype policy of every sublayer (None: the global policy).
        name: str. Defaults to `seq2seq_transformer` or
            `seq2seq_transformer_linear`.
        **kwargs: `trainable`, passed to `keras.Model`.

    Returns:
        A `keras.Model` `[encoder_tokens, decoder_tokens] -> logits (B, T, V)`.

    Example:
    >>> model = TransformerSeq2Seq(100, dim=16, num_heads=2, num_layers=1)
    >>> model.kind, model.name, [b.name for b in model.decoder_blocks]
    ('transformer', 'seq2seq_transformer', ['decoder_0'])
    """

    def __init__(
        self,
        vocab_size,
        dim=64,
        num_heads=4,
        num_layers=2,
        hidden_dim=None,
        attention="softmax",
        dropout=0.1,
        feature_dim=None,
        dtype=None,
        name=None,
        **kwargs,
    ):
        dtype = policy_name(dtype)
        width = hidden_dim or 2 * dim
        encoder_tokens = keras.Input((None,), dtype="int32", name="encoder_tokens")
        decoder_tokens = keras.Input((None,), dtype="int32", name="decoder_tokens")
        embedding = TokenAndPositionEmbedding(
            vocab_size, dim, name="embedding", dtype=dtype
        )

        def stack(block_class, prefix, x, *call_args):
            """`num_layers` blocks, each built just before it is called: a
            Dropout draws its seed when constructed, so this order keeps a
            seed's results."""
            blocks = []
            for i in range(num_layers):
                blocks.append(
                    block_class(
                        num_heads,
                        width,
                        attention,
                        dropout,
                        feature_dim,
                        name=f"{prefix}_{i}",
                        dtype=dtype,
                    )  # fmt: skip
                )
                x = blocks[-1](x, *call_args)
            return blocks, x

        x = keras.layers.Dropout(dropout, dtype=dtype)(embedding(encoder_tokens))
        encoder_blocks, x = stack(TransformerEncoderBlock, "encoder", x)
        encoder_norm = keras.layers.LayerNormalization(
            epsilon=1e-5, name="encoder_norm", dtype=dtype
        )
        memory = encoder_norm(x)
        y = keras.layers.Dropout(dropout, dtype=dtype)(embedding(decoder_tokens))
        decoder_blocks, y = stack(TransformerDecoderBlock, "decoder", y, memory)
        decoder_norm = keras.layers.LayerNormalization(
            epsilon=1e-5, name="decoder_norm", dtype=dtype
        )
        logits_layer = keras.layers.Dense(vocab_size, name="logits", dtype=dtype)
        super().__init__(
            [encoder_tokens, decoder_tokens],
            logits_layer(decoder_norm(y)),
            arguments={
                "vocab_size": vocab_size,
                "dim": dim,
                "num_heads": num_heads,
                "num_layers": num_layers,
                "hidden_dim": hidden_dim,
                "attention": attention,
                "dropout": dropout,
                "feature_dim": feature_dim,
            },
            dtype=dtype,
            name=name
            or "seq2seq_transformer" + ("_linear" if attention == "linear" else ""),
            **kwargs,
        )
        self.embedding = embedding
        self.encoder_blocks, self.decoder_blocks = encoder_blocks, decoder_blocks
        self.encoder_norm, self.decoder_norm = encoder_norm, decoder_norm
        self.logits_layer = logits_layer

    @property
    def kind(self):
        """str: "transformer-linear" on linear attention, else "transformer"."""
        if self._arguments["attention"] == "linear":
            return "transformer-linear"
        return "transformer"
