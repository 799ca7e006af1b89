"""The synthetic generator has the structure it promises."""

import numpy as np
import pytest

from zoo.data.synthetic import synthetic_travel_times
from zoo.data.traffic import load_travel_times


def hourly_means(frame, weekday):
    times = frame["time"].dt
    keep = (times.day_of_week < 5) == weekday
    return frame[keep].groupby(times.hour[keep])["value"].mean()


def test_seeded_and_shaped():
    first = synthetic_travel_times(num_series=3, days=14, seed=4)
    again = synthetic_travel_times(num_series=3, days=14, seed=4)
    other = synthetic_travel_times(num_series=3, days=14, seed=5)
    assert first.equals(again) and not first.equals(other)
    assert len(first) == 3 * 14 * 96 and (first["value"] > 0).all()


def test_rush_hours_on_weekdays_and_quiet_nights():
    frame = synthetic_travel_times(num_series=2, days=28, incident_rate_per_day=0.0)
    weekday, weekend = hourly_means(frame, True), hourly_means(frame, False)
    assert weekday[8] > 1.4 * weekday[3] and weekday[17] > 1.5 * weekday[3]
    assert weekend[17] < weekday[17]


def test_incidents_add_delays():
    calm = synthetic_travel_times(days=28, incident_rate_per_day=0.0, noise=0.0)
    busy = synthetic_travel_times(days=28, incident_rate_per_day=3.0, noise=0.0)
    # Expected extra delay: 3 incidents/day x mean amplitude 1 x 1 h decay
    # / 24 h = 12.5% of free flow (about 10% of the mean with rush hours).
    assert busy["value"].mean() > 1.08 * calm["value"].mean()


def test_loader_serves_it_by_name():
    frame = load_travel_times("synthetic", series="s1")
    assert frame["series"].unique().tolist() == ["s1"]
    assert np.isfinite(frame["value"]).all()


def test_bad_sizes():
    with pytest.raises(ValueError, match="num_series"):
        synthetic_travel_times(num_series=0)
