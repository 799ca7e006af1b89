"""The report's log-log panels: a reader can read values off each axis."""

from solutions.core import figures


def visible_y_labels(axis):
    """The y tick labels drawn inside the axis' view, as printed."""
    axis.figure.canvas.draw()
    low, high = axis.get_ylim()
    return [
        tick.label1.get_text()
        for tick in axis.yaxis.get_major_ticks()
        if low <= tick.get_loc() <= high and tick.label1.get_text()
    ]


def test_a_panel_spanning_under_a_decade_has_several_labelled_values():
    figure, axis = figures.new()
    x = [256, 512, 1024, 2048]
    axis.loglog(x, [0.0075, 0.014, 0.027, 0.051], "o-")  # A1.1's D panel
    figures.label_log_ticks(axis, x)
    labels = visible_y_labels(axis)
    figures.plt.close(figure)
    # Powers of ten alone labelled only 0.01 here.
    assert labels == ["0.010", "0.020", "0.050"]


def test_a_panel_spanning_decades_keeps_powers_of_ten():
    figure, axis = figures.new()
    x = [0.25, 0.5, 1, 2, 4, 8]
    # A1.2's error panel: over two decades, 1-2-5 labels would crowd it.
    axis.loglog(x, [0.009, 0.06, 0.3, 0.7, 0.85, 0.88], "o-")
    figures.label_log_ticks(axis, x)
    labels = visible_y_labels(axis)
    figures.plt.close(figure)
    assert labels == ["0.010", "0.100", "1.000"]
