"""Report figures: PNG (Markdown) and PDF (LaTeX), without dates in metadata."""

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from zoo import plotting  # noqa: E402


def save(figure, out_dir, stem):
    """Writes figures/<stem>.png and .pdf under `out_dir`; closes the figure."""
    for fmt in ("png", "pdf"):
        path = os.path.join(out_dir, "figures", f"{stem}.{fmt}")
        plotting.save(figure, path, close=False)
    plt.close(figure)


def new(width=5.5, height=3.4):
    """A new (figure, axis) pair."""
    figure, axis = plt.subplots(figsize=(width, height))
    axis.grid(alpha=0.3)
    return figure, axis


def label_log_ticks(axis, x_values):
    """Log-log axis labelled at the data's x values, plain numbers, no minor labels.

    Matplotlib's default minor labels (2x10^2, 3x10^2, ...) overlap at the
    printed size; the measured points are the ticks a reader needs. A y
    range of two decades or less (call this after plotting) is labelled at
    1, 2 and 5 times each power of ten: powers of ten alone left a panel
    spanning under a decade with a single labelled value.
    """
    import math

    from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

    axis.set_xticks(list(x_values))
    axis.xaxis.set_major_formatter(ScalarFormatter())
    for ax in (axis.xaxis, axis.yaxis):
        ax.set_minor_formatter(NullFormatter())
    low, high = axis.get_ylim()
    if low > 0 and math.log10(high / low) <= 2:
        axis.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.yaxis.set_major_formatter(ScalarFormatter())
