"""Travel-time forecasters (sheet B3) and their registry.

Example:
>>> model = build_forecaster("lstm", lookback=6, horizon=3, num_features=5)
>>> model.output_shape
(None, 3)
"""

from zoo.errors import ZooError
from zoo.models.forecasting.losses import masked_mse
from zoo.models.forecasting.lstm_attention import build_lstm_attention
from zoo.models.forecasting.recurrent import build_recurrent
from zoo.models.forecasting.seq2seq_lstm import build_seq2seq_lstm

# name -> builder(lookback, horizon, num_features, units) -> keras.Model
FORECASTERS = {
    "lstm": lambda L, H, F, units: build_recurrent(
        L, H, F, units, "lstm", 1, name="lstm"
    ),
    "stacked-lstm": lambda L, H, F, units: build_recurrent(
        L, H, F, units, "lstm", 2, name="stacked_lstm"
    ),
    "gru": lambda L, H, F, units: build_recurrent(L, H, F, units, "gru", 1, name="gru"),
    "seq2seq-lstm": lambda L, H, F, units: build_seq2seq_lstm(L, H, F, units),
    "lstm-attention": lambda L, H, F, units: build_lstm_attention(L, H, F, units),
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
        ZooError: unknown name.
    """
    if name not in FORECASTERS:
        raise ZooError(
            f"--model: unknown forecaster {name!r}; choose from {sorted(FORECASTERS)}"
        )
    return FORECASTERS[name](lookback, horizon, num_features, units)


__all__ = ["FORECASTERS", "build_forecaster", "masked_mse"]
