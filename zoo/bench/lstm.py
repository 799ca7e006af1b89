"""`python -m zoo.bench lstm`: training throughput of the forecasting LSTM.

The zoo's `lstm` forecaster (one LSTM layer and a dense head, Adam, MSE)
trained with `fit` on the current backend, against a plain-PyTorch model of
the same sizes (`torch.nn.LSTM` + `torch.nn.Linear`, Adam) trained in the same
process, epochs alternating: samples per second and their ratio (PyTorch =
the anchor).
"""

from dataclasses import dataclass

import keras
import numpy as np

from zoo.bench.runners import median_seconds, result_header
from zoo.models.forecasting import build_forecaster


@dataclass
class LstmBenchConfig:
    """Every knob of the LSTM benchmark."""

    batch: int = 64
    lookback: int = 48  # steps per window
    features: int = 8
    units: int = 128
    horizon: int = 3
    batches: int = 20  # batches per timed epoch
    repeats: int = 5  # timed epochs (median reported)


def _data(config):
    rng = np.random.default_rng(0)
    n = config.batch * config.batches
    x = rng.standard_normal((n, config.lookback, config.features)).astype("float32")
    y = rng.standard_normal((n, config.horizon)).astype("float32")
    return x, y


def keras_epoch(config):
    """One `fit` epoch of the zoo's `lstm` forecaster; a no-argument callable."""
    x, y = _data(config)
    model = build_forecaster(
        "lstm", config.lookback, config.horizon, config.features, config.units
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")

    def epoch():
        model.fit(x, y, batch_size=config.batch, epochs=1, verbose=0, shuffle=False)

    epoch.model = model  # what it trains (its dtype policy, for zoo.bench precision)
    return epoch


def torch_epoch(config):
    """One epoch of plain `torch.nn.LSTM` + `Linear` with Adam; a callable."""
    import torch

    x, y = (torch.as_tensor(a) for a in _data(config))
    lstm = torch.nn.LSTM(config.features, config.units, batch_first=True)
    head = torch.nn.Linear(config.units, config.horizon)
    parameters = [*lstm.parameters(), *head.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=1e-3)

    def epoch():
        for i in range(config.batches):
            rows = slice(i * config.batch, (i + 1) * config.batch)
            optimizer.zero_grad()
            output, _ = lstm(x[rows])
            loss = torch.nn.functional.mse_loss(head(output[:, -1]), y[rows])
            loss.backward()
            optimizer.step()

    return epoch


def run(config):
    """Keras and the PyTorch reference, epochs alternating; a JSON-ready dict.

    Each round trains one epoch of each, in reversed order every other round
    (ABBA), so that the machine's drifting speed hits both alike; the median
    epoch of each gives its samples per second.
    """
    samples = config.batch * config.batches
    seconds = median_seconds(
        {"ours": keras_epoch(config), "reference": torch_epoch(config)},
        config.repeats,
        pause=0.5,  # the other library's worker threads go idle first
        alternate=True,
    )
    ours, reference = (samples / seconds[name] for name in ("ours", "reference"))
    return {
        **result_header(config),
        "keras_lstm_samples_per_second": round(ours, 1),
        "torch_reference_samples_per_second": round(reference, 1),
        "ratio_to_torch": round(ours / reference, 3),
    }


def print_report(result):
    c = result["config"]
    print(
        f"\nLSTM training, batch {c['batch']}, lookback {c['lookback']}, "
        f"{c['features']} features, {c['units']} units, Adam"
    )
    ours = result["keras_lstm_samples_per_second"]
    reference = result["torch_reference_samples_per_second"]
    print(f"  keras ({result['backend']}): {ours:>9.1f} samples/s")
    print(f"  plain PyTorch nn.LSTM:  {reference:>9.1f} samples/s")
    print(f"  ratio to PyTorch:       {result['ratio_to_torch']:>9.3f}")
