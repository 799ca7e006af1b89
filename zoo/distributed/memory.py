"""Will the model fit in memory? Checked before the run directory exists.

A `--units` far too large would otherwise fail with an out-of-memory
traceback, or a kill by the operating system, after `config.json` is
written. The parameter count of every zoo model is a quadratic polynomial in
`units` (weight matrices units x units, units x inputs, biases), so three
builds at small widths give it exactly for any width without allocating it.
"""

import dataclasses
import math
import os

import keras
import numpy as np

from zoo.errors import ZooError

# Widths up to this train on any machine the zoo supports: no estimate.
CHECKED_FROM_UNITS = 1024
# Float32 weights, their gradients and Adam's two moments.
BYTES_PER_PARAMETER = 4 * 4


def estimate_parameters(task, config, data):
    """The parameter count of `task.build_model(config, data)`, from 3 small builds.

    Args:
        task: a `zoo.train.task.Task`.
        config: resolved TrainConfig.
        data: the task's prepared data.

    Returns:
        int.

    Example:
    >>> from zoo.config import TrainConfig
    >>> from zoo.train.traffic_task import TrafficTask
    >>> config = TrainConfig(model="lstm", units=48).resolved()
    >>> task = TrafficTask()
    >>> estimate_parameters(task, config, None) == (
    ...     task.build_model(config, None).count_params())
    True
    """
    # Widths every model accepts (the transformer's: a multiple of its heads).
    step = math.lcm(2, config.num_heads)
    widths = np.array([step, 2 * step, 3 * step], dtype="float64")
    counts = []
    for width in widths:
        small = dataclasses.replace(config, units=int(width))
        counts.append(task.build_model(small, data).count_params())
        keras.backend.clear_session(free_memory=False)  # no gc pass: ~0.3 s each
    coefficients = np.polyfit(widths, np.array(counts, dtype="float64"), 2)
    return int(round(np.polyval(coefficients, float(config.units))))


def available_memory():
    """Bytes of memory this process may still allocate on the host.

    Returns:
        int or None (unknown on this platform).
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_fits(task, config, data, available=None):
    """Raises ZooError when training the model would not fit in host memory.

    Only widths from `CHECKED_FROM_UNITS` on are estimated; activations are
    not counted, so a model that passes may still be too large for a big
    batch.

    Args:
        task: a `zoo.train.task.Task`.
        config: resolved TrainConfig.
        data: the task's prepared data.
        available: int, bytes; defaults to `available_memory()`.

    Raises:
        ZooError: one line with the estimate and what to pass instead.
    """
    if config.units < CHECKED_FROM_UNITS:
        return
    available = available_memory() if available is None else available
    if available is None:
        return
    parameters = estimate_parameters(task, config, data)
    needed = parameters * BYTES_PER_PARAMETER
    if needed > available:
        raise ZooError(
            f"--units {config.units}: the model would have about "
            f"{parameters:.2g} parameters, {needed / 2**30:,.1f} GiB to train "
            f"with Adam in float32, but {available / 2**30:,.1f} GiB of memory "
            "is available; pass a smaller --units"
        )
