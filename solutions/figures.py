"""Report figures: PNG (Markdown) and PDF (LaTeX), without dates in metadata."""

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from zoo.io import atomic_path  # noqa: E402


def save(figure, out_dir, stem):
    """Writes figures/<stem>.png and .pdf under `out_dir`; closes the figure."""
    folder = os.path.join(out_dir, "figures")
    os.makedirs(folder, exist_ok=True)
    for fmt, metadata in (
        ("png", {"Software": None}),
        ("pdf", {"Creator": None, "Producer": None, "CreationDate": None}),
    ):
        with atomic_path(os.path.join(folder, f"{stem}.{fmt}")) as tmp:
            figure.savefig(
                tmp, format=fmt, dpi=110, metadata=metadata, bbox_inches="tight"
            )
    plt.close(figure)


def new(width=5.5, height=3.4):
    """A new (figure, axis) pair."""
    figure, axis = plt.subplots(figsize=(width, height))
    axis.grid(alpha=0.3)
    return figure, axis


def label_log_ticks(axis, x_values):
    """Log-log axis labelled at the data's x values, plain numbers, no minor labels.

    Matplotlib's default minor labels (2x10^2, 3x10^2, ...) overlap at the
    printed size; the measured points are the ticks a reader needs.
    """
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    axis.set_xticks(list(x_values))
    axis.xaxis.set_major_formatter(ScalarFormatter())
    for ax in (axis.xaxis, axis.yaxis):
        ax.set_minor_formatter(NullFormatter())
    axis.yaxis.set_major_formatter(ScalarFormatter())
