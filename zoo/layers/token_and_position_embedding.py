"""Token embedding plus sinusoidal positions, for transformers."""

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class TokenAndPositionEmbedding(keras.layers.Layer):
    """`sqrt(d) * E[token] + sinusoid(position)`; id 0 (padding) is masked.

    Sinusoidal positions (Vaswani et al., 2017) have no weights and no
    length limit, and `start` shifts them, so incremental decoding embeds
    token t alone exactly as the full sequence would.

    Args:
        vocab_size: int.
        dim: int, embedding size d (even).
        **kwargs: base layer arguments.

    Call arguments:
        tokens: int `(B, T)`.
        start: int or scalar tensor, position of the first token.

    Returns:
        `(B, T, d)`; Keras mask `tokens != 0`.

    Example:
    >>> import numpy as np
    >>> layer = TokenAndPositionEmbedding(10, 4)
    >>> tuple(layer(np.array([[3, 4, 0]])).shape)
    (1, 3, 4)
    """

    def __init__(self, vocab_size, dim, **kwargs):
        super().__init__(**kwargs)
        if dim % 2:
            raise ValueError(f"dim: must be even for sinusoids, got {dim}")
        self.vocab_size, self.dim = vocab_size, dim
        self.embedding = keras.layers.Embedding(
            vocab_size, dim, name="tokens", dtype=self.dtype_policy
        )
        self.supports_masking = True

    def build(self, tokens_shape):
        self.embedding.build(tokens_shape)

    def positions(self, length, start=0):
        """Sinusoids `(length, d)` for positions start .. start + length - 1."""
        position = ops.cast(ops.arange(length) + start, "float32")[:, None]
        rates = ops.exp(
            ops.arange(0, self.dim, 2, dtype="float32")
            * (-math.log(10000.0) / self.dim)
        )
        angles = position * rates[None, :]
        return ops.reshape(
            ops.stack([ops.sin(angles), ops.cos(angles)], axis=-1), (length, self.dim)
        )

    def call(self, tokens, start=0):
        embedded = self.embedding(tokens) * ops.cast(
            math.sqrt(self.dim), self.compute_dtype
        )
        length = ops.shape(tokens)[1]
        return embedded + ops.cast(self.positions(length, start), self.compute_dtype)

    def compute_mask(self, tokens, mask=None):
        return ops.not_equal(tokens, 0)

    def compute_output_shape(self, tokens_shape):
        return (*tokens_shape, self.dim)

    def get_config(self):
        config = super().get_config()
        config.update({"vocab_size": self.vocab_size, "dim": self.dim})
        return config
