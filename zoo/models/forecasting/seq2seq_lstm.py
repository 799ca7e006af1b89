"""Encoder-decoder LSTM for multi-step horizons."""

import keras

from zoo.layers import FusedLSTM


def build_seq2seq_lstm(lookback, horizon, num_features, units=64, dropout=0.0):
    """An LSTM encoder whose final state starts an LSTM decoder over H steps.

    The decoder reads the encoder's last output at every step (repeated) and
    emits one value per step through a shared dense layer.

    Args:
        lookback: int. Input steps L.
        horizon: int. Predicted steps H.
        num_features: int. Features per input step.
        units: int. Encoder and decoder units. Defaults to 64.
        dropout: float. Dropout on the decoder outputs.

    Returns:
        keras.Model mapping (B, L, F) to (B, H).

    Example:
    >>> build_seq2seq_lstm(6, 3, 5, units=8).output_shape
    (None, 3)
    """
    inputs = keras.Input((lookback, num_features), name="window")
    encoded, state_h, state_c = FusedLSTM(units, return_state=True, name="encoder")(
        inputs
    )
    repeated = keras.layers.RepeatVector(horizon)(encoded)  # (B, H, units)
    decoded = FusedLSTM(units, return_sequences=True, name="decoder")(
        repeated, initial_state=[state_h, state_c]
    )
    if dropout:
        decoded = keras.layers.Dropout(dropout)(decoded)
    steps = keras.layers.Dense(1, name="step_forecast")(decoded)  # (B, H, 1)
    outputs = keras.layers.Reshape((horizon,), name="forecast")(steps)
    return keras.Model(inputs, outputs, name="seq2seq_lstm")
