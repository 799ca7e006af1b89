"""Figures of a run, and `save`: how every zoo figure is written (runs,
benches, solutions): atomically, without dates in its metadata."""

import os
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from zoo import metrics  # noqa: E402
from zoo.io import atomic_path  # noqa: E402

# Metadata left out of each format: dates and versions would make the same
# figure differ from run to run.
UNDATED = {
    "png": {"Software": None},
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
}


def save(figure, path, close=True, bbox_inches="tight"):
    """Writes `figure` to `path` (PNG or PDF, from the extension) at 110 dpi.

    Args:
        figure: matplotlib Figure.
        path: str, ending in .png or .pdf.
        close: bool. Close the figure afterwards.
        bbox_inches: "tight" (trim the margins) or None (the figure's size).
    """
    fmt = os.path.splitext(path)[1].lstrip(".")
    with atomic_path(path) as tmp:
        figure.savefig(
            tmp, format=fmt, dpi=110, metadata=UNDATED[fmt], bbox_inches=bbox_inches
        )
    if close:
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
    # Outside the axes: inside, it hid the highest points of the last days.
    axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                borderaxespad=0.0, markerscale=2)  # fmt: skip
    figure.autofmt_xdate()
    figure.tight_layout()
    save(figure, path)


def similarity_panels(rows, path, title):
    """One panel per similarity: training and validation samples per epoch.

    The sheet's Figures 2 and 4 plot the training similarities; the
    validation line beside them shows how much of that generalizes.

    Args:
        rows: history.csv rows with `train_<name>` and `val_<name>` columns.
        path: output PNG.
        title: str.
    """
    figure, axes = plt.subplots(1, 3, figsize=(10, 3.4), sharey=True)
    epochs = [int(r["epoch"]) + 1 for r in rows]
    titles = metrics.SIMILARITY_TITLES.items()
    for axis, (key, label) in zip(axes, titles, strict=True):
        for split, name in (("train", "training sample"), ("val", "validation")):
            if f"{split}_{key}" in rows[0]:
                values = [float(r[f"{split}_{key}"]) for r in rows]
                axis.plot(epochs, values, marker=".", label=name)
        axis.set_title(label, fontsize=10)
        axis.set_xlabel("epoch")
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("similarity of greedy replies")
    axes[0].legend(fontsize=8)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    save(figure, path)


def attention_heatmap(weights, input_tokens, reply_tokens, path, title):
    """Attention of each reply token (rows) over the input tokens (columns).

    Args:
        weights: (len(reply_tokens), len(input_tokens)) array.
        input_tokens, reply_tokens: lists of str (axis labels).
        path: output PNG.
        title: str.
    """
    # At least 5 x 2.6 inches: a short reply must not clip the title.
    figure, axis = plt.subplots(
        figsize=(
            max(5.0, 1.2 + 0.45 * len(input_tokens)),
            max(2.6, 1.2 + 0.35 * len(reply_tokens)),
        )
    )
    image = axis.imshow(weights, cmap="viridis", vmin=0.0, aspect="auto")
    axis.set_xticks(range(len(input_tokens)), input_tokens, rotation=60, ha="right")
    axis.set_yticks(range(len(reply_tokens)), reply_tokens)
    axis.set_xlabel("input")
    axis.set_ylabel("reply")
    axis.set_title("\n".join(textwrap.wrap(title, 55)), fontsize=9)
    figure.colorbar(image, ax=axis, fraction=0.05)
    figure.tight_layout()
    save(figure, path)
