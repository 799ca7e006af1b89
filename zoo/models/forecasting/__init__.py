"""Travel-time forecasters (sheet B3) and their registry.

Example:
>>> model = build_forecaster("lstm", lookback=6, horizon=3, num_features=5)
>>> model.output_shape
(None, 3)
"""

from zoo.models import ModelSpec, lookup
from zoo.models.forecasting.losses import masked_mse
from zoo.models.forecasting.lstm_attention import build_lstm_attention
from zoo.models.forecasting.recurrent import build_recurrent
from zoo.models.forecasting.seq2seq_lstm import build_seq2seq_lstm

# name -> ModelSpec; build(lookback, horizon, num_features, units) -> keras.Model
FORECASTERS = {
    "lstm": ModelSpec(
        lambda L, H, F, units: build_recurrent(L, H, F, units, "lstm", 1, name="lstm"),
        "one LSTM layer and a dense head over its last state",
    ),
    "stacked-lstm": ModelSpec(
        lambda L, H, F, units: build_recurrent(
            L, H, F, units, "lstm", 2, name="stacked_lstm"
        ),
        "two stacked LSTM layers and a dense head",
    ),
    "gru": ModelSpec(
        lambda L, H, F, units: build_recurrent(L, H, F, units, "gru", 1, name="gru"),
        "one GRU layer and a dense head over its last state",
    ),
    "seq2seq-lstm": ModelSpec(
        build_seq2seq_lstm,
        "LSTM encoder whose final state starts an LSTM decoder over the horizon",
    ),
    "lstm-attention": ModelSpec(
        build_lstm_attention,
        "LSTM encoder; its last state attends over every step of the window",
    ),
}


def build_forecaster(name, lookback, horizon, num_features, units=64):
    """Builds a registered forecaster.

    Args:
        name: one of `FORECASTERS`.
        lookback: int. Input steps.
        horizon: int. Predicted steps.
        num_features: int. Features per step.
        units: int. Recurrent units. Defaults to 64.

    Returns:
        keras.Model (B, lookback, num_features) -> (B, horizon).

    Raises:
        ValueError: unknown name.
    """
    spec = lookup(FORECASTERS, name, "forecaster")
    return spec.build(lookback, horizon, num_features, units)


__all__ = ["FORECASTERS", "build_forecaster", "masked_mse"]
