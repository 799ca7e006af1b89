"""An LSTM that runs PyTorch's fused kernel where Keras would loop in Python."""

import keras
from keras import ops


def _torch_lstm(x, h0, c0, kernel, recurrent_kernel, bias, training):
    import torch

    # Keras gates are (i, f, c, o) like PyTorch's (i, f, g, o); PyTorch keeps
    # (4u, in) matrices and two biases.
    params = [kernel.T, recurrent_kernel.T, bias, torch.zeros_like(bias)]
    outputs, h, c = torch.lstm(
        x, (h0[None], c0[None]), params, True, 1, 0.0, training, False, True
    )
    return outputs, h[0], c[0]


# Measured with `python -m zoo.bench lstm` on CPU: torch.lstm lifts Keras-on-
# torch from 0.30x to 0.87x of plain PyTorch. On JAX and TensorFlow a scan
# with the input projection hoisted out was slower than Keras' own loop
# (0.36x vs 0.72x, 0.32x vs 0.35x), so those backends keep Keras' path.
_FUSED = {"torch": _torch_lstm}


@keras.saving.register_keras_serializable(package="zoo")
class FusedLSTM(keras.layers.LSTM):
    """`keras.layers.LSTM` that runs `torch.lstm` on the PyTorch backend.

    Same arguments, weights, config and outputs as `keras.layers.LSTM`
    (weights copy over with `set_weights`). On PyTorch, Keras steps through
    time in Python; when the configuration allows it — tanh/sigmoid
    activations, a bias, no masking, no dropout while training, forward
    direction, not stateful, not unrolled, float32 — this layer runs the
    whole sequence as ATen's fused `torch.lstm` instead (with autograd).
    On JAX and TensorFlow, and for every other configuration, it is
    `keras.layers.LSTM` unchanged: Keras' own loop was the fastest path we
    measured there.

    Args:
        units: int. As `keras.layers.LSTM`.
        **kwargs: every other `keras.layers.LSTM` argument.

    Example:
    >>> import numpy as np
    >>> layer = FusedLSTM(8, return_sequences=True)
    >>> tuple(layer(np.zeros((2, 5, 3), "float32")).shape)
    (2, 5, 8)
    """

    def _fused_eligible(self, mask, training):
        return (
            mask is None
            and self.activation is keras.activations.tanh
            and self.recurrent_activation is keras.activations.sigmoid
            and self.use_bias
            and not self.go_backwards
            and not self.stateful
            and not self.unroll
            and not (training and (self.dropout or self.recurrent_dropout))
            and self.compute_dtype == "float32"
            and keras.backend.backend() in _FUSED
        )

    def inner_loop(self, sequences, initial_state, mask, training=False):
        """Keras' LSTM loop, on the backend's fused kernel where it applies.

        Args:
            sequences: (batch, time, features) inputs.
            initial_state: [h, c], each (batch, units).
            mask: (batch, time) booleans or None. The fused kernel runs
                with no mask, tanh/sigmoid activations, a bias, float32,
                no dropout in training, not backwards, stateful or
                unrolled; anything else takes Keras' own loop.
            training: bool.

        Returns:
            (last output, outputs, [h, c]), as `keras.layers.LSTM.inner_loop`.
        """
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if not self._fused_eligible(mask, training):
            return super().inner_loop(sequences, initial_state, mask, training)
        cell = self.cell
        dtype = sequences.dtype
        outputs, h, c = _FUSED[keras.backend.backend()](
            sequences,
            ops.cast(initial_state[0], dtype),
            ops.cast(initial_state[1], dtype),
            ops.cast(cell.kernel, dtype),
            ops.cast(cell.recurrent_kernel, dtype),
            ops.cast(cell.bias, dtype),
            bool(training),
        )
        return outputs[:, -1], outputs, [h, c]
