"""LSTM encoder with attention from the last state over all steps."""

import keras

from zoo.layers import FusedLSTM, MultiHeadAttention

# Heads of the forecaster's attention: `units` must be a multiple.
NUM_HEADS = 4


def build_lstm_attention(
    lookback, horizon, num_features, units=64, num_heads=NUM_HEADS, dropout=0.0
):
    """The last hidden state attends over every encoder output.

    The attended summary and the last state are concatenated and mapped to
    the H predictions, so a reading from any step of the window can count
    directly, not only through the recurrent state.

    Args:
        lookback: int. Input steps L.
        horizon: int. Predicted steps H.
        num_features: int. Features per input step.
        units: int. LSTM units (a multiple of `num_heads`). Defaults to 64.
        num_heads: int. Attention heads. Defaults to 4.
        dropout: float. Dropout of the attention weights.

    Returns:
        keras.Model mapping (B, L, F) to (B, H).

    Example:
    >>> build_lstm_attention(6, 3, 5, units=8, num_heads=2).output_shape
    (None, 3)
    """
    inputs = keras.Input((lookback, num_features), name="window")
    sequence = FusedLSTM(units, return_sequences=True, name="encoder")(inputs)
    # The last step, (B, 1, units); a Lambda would not load with safe_mode.
    last = keras.layers.Cropping1D((lookback - 1, 0), name="last_state")(sequence)
    summary = MultiHeadAttention(
        num_heads=num_heads, dropout=dropout, name="attention"
    )(last, sequence)
    joined = keras.layers.Concatenate()([last, summary])  # (B, 1, 2 units)
    flat = keras.layers.Flatten()(joined)
    outputs = keras.layers.Dense(horizon, name="forecast")(flat)
    return keras.Model(inputs, outputs, name="lstm_attention")
