"""One-shot recurrent forecasters: encode the window, predict all H steps."""

import keras

from zoo.layers import FusedLSTM


def build_recurrent(
    lookback,
    horizon,
    num_features,
    units=64,
    cell="lstm",
    layers=1,
    dropout=0.0,
    name=None,
):
    """A stack of LSTM/GRU layers and a dense head over the last state.

    Args:
        lookback: int. Input steps L.
        horizon: int. Predicted steps H.
        num_features: int. Features per input step.
        units: int. Units of each recurrent layer. Defaults to 64.
        cell: `"lstm"` or `"gru"`.
        layers: int. Stacked recurrent layers. Defaults to 1.
        dropout: float. Dropout before the head.
        name: str. Model name.

    Returns:
        keras.Model mapping (B, L, F) to (B, H).

    Example:
    >>> model = build_recurrent(6, 3, 5, units=8)
    >>> model.output_shape
    (None, 3)
    """
    recurrent = {"lstm": FusedLSTM, "gru": keras.layers.GRU}[cell]
    inputs = keras.Input((lookback, num_features), name="window")
    x = inputs
    for i in range(layers):
        x = recurrent(units, return_sequences=i < layers - 1, name=f"{cell}_{i}")(x)
    if dropout:
        x = keras.layers.Dropout(dropout)(x)
    outputs = keras.layers.Dense(horizon, name="forecast")(x)
    return keras.Model(inputs, outputs, name=name or f"{cell}x{layers}")
