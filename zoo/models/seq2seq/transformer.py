"""Transformer encoder-decoders on the zoo's softmax or linear attention."""

import keras
from keras import ops

from zoo.layers.token_embedding import TokenAndPositionEmbedding
from zoo.layers.transformer_decoder_block import TransformerDecoderBlock
from zoo.layers.transformer_encoder_block import TransformerEncoderBlock
from zoo.models.seq2seq.generator import Seq2SeqGenerator


def build_transformer_seq2seq(
    vocab_size,
    dim=64,
    num_heads=4,
    num_layers=2,
    hidden_dim=None,
    attention="softmax",
    dropout=0.1,
):
    """Pre-norm encoder-decoder transformer returning next-token logits.

    Args:
        vocab_size: int.
        dim: int, model size d.
        num_heads: int.
        num_layers: int, blocks in the encoder and in the decoder.
        hidden_dim: int, feed-forward width (default 2 d).
        attention: "softmax" (`zoo.layers.MultiHeadAttention`) or "linear"
            (`zoo.layers.LinearAttention`, causal in decoder self-attention).
        dropout: float.

    Returns:
        keras.Model `[encoder_tokens, decoder_tokens] -> logits (B, T, V)`,
        named `seq2seq_transformer` or `seq2seq_transformer_linear`.

    Example:
    >>> model = build_transformer_seq2seq(100, dim=16, num_heads=2, num_layers=1)
    >>> model.name
    'seq2seq_transformer'
    """
    hidden_dim = hidden_dim or 2 * dim
    encoder_tokens = keras.Input((None,), dtype="int32", name="encoder_tokens")
    decoder_tokens = keras.Input((None,), dtype="int32", name="decoder_tokens")
    embedding = TokenAndPositionEmbedding(vocab_size, dim, name="embedding")
    x = keras.layers.Dropout(dropout)(embedding(encoder_tokens))
    for i in range(num_layers):
        x = TransformerEncoderBlock(
            num_heads, hidden_dim, attention, dropout, name=f"encoder_{i}"
        )(x)
    memory = keras.layers.LayerNormalization(epsilon=1e-5, name="encoder_norm")(x)
    y = keras.layers.Dropout(dropout)(embedding(decoder_tokens))
    for i in range(num_layers):
        y = TransformerDecoderBlock(
            num_heads, hidden_dim, attention, dropout, name=f"decoder_{i}"
        )(y, memory)
    y = keras.layers.LayerNormalization(epsilon=1e-5, name="decoder_norm")(y)
    logits = keras.layers.Dense(vocab_size, name="logits")(y)
    name = "seq2seq_transformer" + ("_linear" if attention == "linear" else "")
    return keras.Model([encoder_tokens, decoder_tokens], logits, name=name)


class TransformerGenerator(Seq2SeqGenerator):
    """Incremental decoding with each decoder block's self-attention cache.

    Softmax attention keeps keys and values (growing by one row per token);
    linear attention keeps its recurrent state (S, z), of constant size.
    """

    def __init__(self, model):
        super().__init__(model)
        self.embedding = model.get_layer("embedding")
        self.encoders = [
            b for b in model.layers if isinstance(b, TransformerEncoderBlock)
        ]
        self.decoders = [
            b for b in model.layers if isinstance(b, TransformerDecoderBlock)
        ]
        self.encoder_norm = model.get_layer("encoder_norm")
        self.decoder_norm = model.get_layer("decoder_norm")
        self.logits = model.get_layer("logits")

    def encode(self, sources):
        mask = ops.not_equal(sources, 0)
        x = self.embedding(sources)
        for block in self.encoders:
            x = block(x, mask=mask)
        return {"outputs": self.encoder_norm(x), "mask": mask}

    def initial_state(self, memory):
        batch = ops.shape(memory["outputs"])[0]
        return {
            "caches": [block.get_initial_state(batch) for block in self.decoders],
            "position": 0,
        }

    def step(self, tokens, state, memory):
        y = self.embedding(tokens, start=state["position"])
        caches = []
        for block, cache in zip(self.decoders, state["caches"], strict=True):
            y, cache = block.step(y, memory["outputs"], cache, memory["mask"])
            caches.append(cache)
        logits = self.logits(self.decoder_norm(y))[:, -1]
        return logits, {"caches": caches, "position": state["position"] + 1}

    def attention_weights(self, sources, decoder_inputs):
        """Cross-attention of the last decoder block, averaged over heads.

        Linear attention gives its normalized kernel weights
        phi(q).phi(k) / sum_j phi(q).phi(k_j).
        """
        memory = self.encode(sources)
        block = self.decoders[-1]
        y = self.embedding(decoder_inputs)
        for other in self.decoders[:-1]:
            y = other(y, memory["outputs"], encoder_outputs_mask=memory["mask"])
        normed = block.norms[0](y)
        y = y + block.self_attention(normed, normed, use_causal_mask=True)
        _, scores = block.cross_attention(
            block.norms[1](y),
            memory["outputs"],
            value_mask=memory["mask"],
            return_attention_scores=True,
        )
        return ops.mean(scores, axis=1)
