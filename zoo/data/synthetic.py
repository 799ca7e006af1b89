"""Synthetic travel times: seasonal, with rush hours and incidents, seeded.

For scale tests (any number of series and days) and for tests that need a
known structure. `python -m zoo.train traffic --data synthetic` trains on it.
"""

import numpy as np
import pandas as pd


def synthetic_travel_times(
    num_series=4,
    days=28,
    step_minutes=15,
    free_flow_seconds=60.0,
    incident_rate_per_day=0.3,
    noise=0.03,
    seed=0,
    start="2024-01-01",
):
    """Generates a long table (time, series, value) of travel times in seconds.

    Each series has its own free-flow time; on weekdays a morning (08:00) and
    an evening (17:30) rush hour add Gaussian-shaped delays, smaller at
    weekends; incidents arrive as a Poisson process and add a delay that
    decays exponentially over about an hour; multiplicative noise on top.

    Args:
        num_series: int. Road segments.
        days: int. Length in days (readings around the clock).
        step_minutes: int. Spacing of readings.
        free_flow_seconds: float. Mean free-flow travel time.
        incident_rate_per_day: float. Expected incidents per series per day.
        noise: float. Relative standard deviation of the noise.
        seed: int.
        start: str. First timestamp.

    Returns:
        pandas DataFrame with columns `time`, `series`, `value`.

    Example:
    >>> frame = synthetic_travel_times(num_series=2, days=2, seed=1)
    >>> len(frame), frame["series"].nunique()
    (384, 2)
    """
    if num_series < 1 or days < 1 or step_minutes < 1:
        raise ValueError(
            "num_series, days and step_minutes must be >= 1; received "
            f"{num_series}, {days}, {step_minutes}"
        )
    # One stream per component: changing the incident rate, say, leaves the
    # free-flow times and the noise of the same seed unchanged.
    base_rng, incident_rng, noise_rng = (
        np.random.default_rng([seed, part]) for part in range(3)
    )
    times = pd.date_range(
        start, periods=days * 24 * 60 // step_minutes, freq=f"{step_minutes}min"
    )
    hours = times.hour.to_numpy() + times.minute.to_numpy() / 60.0
    weekday = times.day_of_week.to_numpy() < 5
    rush = 0.6 * np.exp(-0.5 * ((hours - 8.0) / 1.0) ** 2) + 0.8 * np.exp(
        -0.5 * ((hours - 17.5) / 1.3) ** 2
    )
    rush = np.where(weekday, rush, 0.25 * rush)
    frames = []
    step_hours = step_minutes / 60.0
    bases = free_flow_seconds * base_rng.uniform(0.7, 1.3, size=num_series)
    for index, base in enumerate(bases):
        incidents = np.zeros(len(times))
        starts = np.flatnonzero(
            incident_rng.random(len(times)) < incident_rate_per_day * step_hours / 24.0
        )
        for position in starts:
            tail = np.arange(len(times) - position) * step_hours
            incidents[position:] += incident_rng.uniform(0.5, 1.5) * np.exp(-tail)
        values = base * (1.0 + rush + incidents)
        values *= 1.0 + noise * noise_rng.standard_normal(len(times))
        frames.append(
            pd.DataFrame({"time": times, "series": f"s{index}", "value": values})
        )
    return pd.concat(frames, ignore_index=True)
