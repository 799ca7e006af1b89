"""An LSTM that runs PyTorch's fused kernel where Keras would loop in Python."""

import keras
from keras import ops


def _torch_lstm(x, h0, c0, kernel, recurrent_kernel, bias, training, lengths=None):
    """`torch.lstm` over the whole sequence, or packed to `lengths` when given.

    Packed, each row stops at its length; Keras' masked LSTM
    (zero_output_for_mask=False) keeps the last valid output and state over
    the padding, so the outputs are carried forward by a gather and the
    state is the one at each row's end.
    """
    import torch
    from torch.nn.utils.rnn import (
        PackedSequence,
        pack_padded_sequence,
        pad_packed_sequence,
    )

    # Keras gates are (i, f, c, o) like PyTorch's (i, f, g, o); PyTorch keeps
    # (4u, in) matrices and two biases.
    params = [kernel.T, recurrent_kernel.T, bias, torch.zeros_like(bias)]
    if lengths is None:
        outputs, h, c = torch.lstm(
            x, (h0[None], c0[None]), params, True, 1, 0.0, training, False, True
        )
        return outputs, h[0], c[0]
    packed = pack_padded_sequence(
        x, lengths.cpu(), batch_first=True, enforce_sorted=False
    )
    order, unorder = packed.sorted_indices, packed.unsorted_indices
    hx = (h0.index_select(0, order)[None], c0.index_select(0, order)[None])
    data, h, c = torch.lstm(
        packed.data, packed.batch_sizes, hx, params, True, 1, 0.0, training, False
    )
    outputs, _ = pad_packed_sequence(
        PackedSequence(data, packed.batch_sizes, order, unorder),
        batch_first=True,
        total_length=x.shape[1],
    )
    steps = torch.arange(x.shape[1], device=x.device)
    last = (lengths.to(x.device) - 1)[:, None]
    carried = torch.minimum(steps[None], last)[..., None].expand_as(outputs)
    outputs = outputs.gather(1, carried)
    return outputs, h[0].index_select(0, unorder), c[0].index_select(0, unorder)


def _right_padded_lengths(mask):
    """Lengths of a `(B, T)` torch mask whose rows are ones then zeros, else None.

    None too for a row of zeros (PyTorch packs no empty sequence) and for
    a mask without values (Keras tracing shapes on the meta device). One
    host sync for both checks.
    """
    import torch

    if mask.device.type == "meta":
        return None
    mask = mask.to(torch.bool)
    lengths = mask.sum(1)
    steps = torch.arange(mask.shape[1], device=mask.device)
    prefix = ((steps[None] < lengths[:, None]) == mask).all()
    return lengths if bool(prefix & (lengths > 0).all()) else None


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
    activations, a bias, no dropout while training, forward direction, not
    stateful, not unrolled, float32 — this layer runs the whole sequence as
    ATen's fused `torch.lstm` instead (with autograd). A mask of
    right-padded rows (ones then zeros, as `Embedding(mask_zero=True)`
    gives for padded batches) runs packed to each row's length
    (`pack_padded_sequence`), its outputs and state those of Keras' masked
    loop: the last valid ones carried over the padding.
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

    def _fused_eligible(self, training):
        return (
            self.activation is keras.activations.tanh
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
                with no mask or a right-padded one (no empty row),
                tanh/sigmoid activations, a bias, float32, no dropout in
                training, not backwards, stateful or unrolled; anything
                else takes Keras' own loop.
            training: bool.

        Returns:
            (last output, outputs, [h, c]), as `keras.layers.LSTM.inner_loop`.
        """
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if not self._fused_eligible(training):
            return super().inner_loop(sequences, initial_state, mask, training)
        lengths = None
        if mask is not None:
            lengths = _right_padded_lengths(mask)  # torch, the one fused backend
            if lengths is None:
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
            lengths,
        )
        return outputs[:, -1], outputs, [h, c]
