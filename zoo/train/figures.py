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


def epoch_curves(rows, series, path, title, ylabel):
    """Columns of history.csv rows against the epoch, one line each.

    Args:
        rows: list of dicts with `epoch` and the columns of `series`.
        series: dict column -> legend label.
        path: output PNG.
        title, ylabel: str.
    """
    figure, axis = plt.subplots(figsize=(6, 3.6))
    epochs = [int(r["epoch"]) + 1 for r in rows]
    for key, label in series.items():
        axis.plot(epochs, [float(r[key]) for r in rows], marker=".", label=label)
    axis.set_xlabel("epoch")
    axis.set_ylabel(ylabel)
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    save(figure, path)


def loss_curves(rows, path, title, ylabel="loss"):
    """Training and validation loss per epoch."""
    epoch_curves(rows, {"loss": "train", "val_loss": "validation"}, path, title, ylabel)


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


def similarity_curves(rows, keys, path, title):
    """Validation similarities per epoch (one line per key of `rows`)."""
    labels = {k: k.removeprefix("val_").replace("_", "-") for k in keys}
    epoch_curves(rows, labels, path, title, "similarity (validation, greedy)")


def attention_heatmap(weights, input_tokens, reply_tokens, path, title):
    """Attention of each reply token (rows) over the input tokens (columns).

    Args:
        weights: (len(reply_tokens), len(input_tokens)) array.
        input_tokens, reply_tokens: lists of str (axis labels).
        path: output PNG.
        title: str.
    """
    figure, axis = plt.subplots(
        figsize=(1.2 + 0.45 * len(input_tokens), 1.2 + 0.35 * len(reply_tokens))
    )
    image = axis.imshow(weights, cmap="viridis", vmin=0.0, aspect="auto")
    axis.set_xticks(range(len(input_tokens)), input_tokens, rotation=60, ha="right")
    axis.set_yticks(range(len(reply_tokens)), reply_tokens)
    axis.set_xlabel("input")
    axis.set_ylabel("reply")
    axis.set_title(title, fontsize=9)
    figure.colorbar(image, ax=axis, fraction=0.05)
    figure.tight_layout()
    save(figure, path)
