"""Figures of a run, written atomically without dates in their metadata."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from zoo.io import atomic_path  # noqa: E402


def save(figure, path):
    """Writes `figure` to `path` (PNG) and closes it."""
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=110, metadata={"Software": None})
    plt.close(figure)


def loss_curves(rows, path, title):
    """Training and validation loss per epoch.

    Args:
        rows: list of dicts with `epoch`, `loss`, `val_loss`.
        path: output PNG.
        title: str.
    """
    figure, axis = plt.subplots(figsize=(6, 3.6))
    epochs = [int(r["epoch"]) + 1 for r in rows]
    for key, label in (("loss", "train"), ("val_loss", "validation")):
        axis.plot(epochs, [float(r[key]) for r in rows], marker=".", label=label)
    axis.set_xlabel("epoch")
    axis.set_ylabel("masked MSE (standardized)")
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    save(figure, path)


def forecast_vs_actual(times, actual, forecasts, path, title):
    """One series' test targets against several forecasts (first step).

    Args:
        times: datetime array (n,).
        actual: (n,) seconds.
        forecasts: dict name -> (n,) seconds.
        path: output PNG.
        title: str.
    """
    figure, axis = plt.subplots(figsize=(9, 3.6))
    axis.plot(times, actual, "k.", markersize=4, label="actual")
    for name, values in forecasts.items():
        axis.plot(times, values, ".", markersize=3, alpha=0.8, label=name)
    axis.set_ylabel("travel time (s)")
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.autofmt_xdate()
    figure.tight_layout()
    save(figure, path)
