"""Travel-time loaders on fixtures written here, and the embedded data."""

import warnings

import numpy as np
import pandas as pd
import pytest

from zoo.data.traffic import load_travel_times
from zoo.data.windows import make_windows
from zoo.errors import ZooError


def long_table(n_series=2, days=3):
    """Hourly readings 06:00-19:00 per day, like the embedded data."""
    rows = []
    for s in range(n_series):
        for day in range(days):
            for hour in range(6, 20):
                time = pd.Timestamp("2024-03-04") + pd.Timedelta(days=day, hours=hour)
                rows.append(
                    {"segment": 100 + s, "stamp": time, "seconds": 20.0 + s + hour}
                )
    return pd.DataFrame(rows)


def test_embedded_data_is_the_oregon_sample():
    frame = load_travel_times()
    assert frame.shape == (3444, 3)
    assert frame["series"].nunique() == 6
    assert frame.groupby("series").size().eq(574).all()
    assert frame["value"].between(13.0, 122.0).all()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_long_files_with_detected_columns(tmp_path, suffix):
    table = long_table()
    path = tmp_path / f"travel{suffix}"
    table.to_csv(path, index=False) if suffix == ".csv" else table.to_parquet(path)
    frame = load_travel_times(path)
    assert sorted(frame["series"].unique()) == ["100", "101"]
    first = frame[frame["series"] == "101"].iloc[0]
    assert first["time"] == pd.Timestamp("2024-03-04 06:00") and first["value"] == 27.0


def test_series_selection_and_explicit_columns(tmp_path):
    table = long_table().rename(columns={"seconds": "tt_a"})
    table["tt_b"] = table["tt_a"] * 2
    path = tmp_path / "two_values.csv"
    table.to_csv(path, index=False)
    with pytest.raises(ZooError, match="several columns could be the value"):
        load_travel_times(path)
    frame = load_travel_times(path, value_col="tt_b", series="100")
    assert frame["series"].unique().tolist() == ["100"]
    assert frame["value"].iloc[0] == 2 * 26.0


def test_metr_la_h5_zeros_are_missing(tmp_path):
    index = pd.date_range("2012-03-01", periods=12, freq="5min")
    wide = pd.DataFrame(
        {"773869": np.arange(12, dtype=float) + 50, "767541": np.zeros(12)}, index=index
    )
    wide.iloc[3, 0] = 0.0
    path = tmp_path / "metr-la.h5"
    wide.to_hdf(path, key="df")
    frame = load_travel_times(path)
    sensor = frame[frame["series"] == "773869"]
    assert len(sensor) == 12 and np.isnan(sensor["value"].iloc[3])
    assert frame[frame["series"] == "767541"]["value"].isna().all()


@pytest.mark.parametrize(
    "write, kwargs, match",
    [
        (None, {}, "no such file"),
        (
            lambda p: p.write_text("a,b\n1,2\n"),
            {"suffix": ".txt"},
            "unsupported format",
        ),
        (
            lambda p: p.write_bytes(b"\x00\x01garbage"),
            {"suffix": ".parquet"},
            "cannot read",
        ),
        (
            lambda p: p.write_text("id,time,value\n1,2024-01-01,fast\n"),
            {},
            "non-numeric",
        ),
        (lambda p: p.write_text("id,time,value\n1,notatime,3\n"), {}, "does not parse"),
        (
            lambda p: p.write_text("time,value,series\nnotadate,1,a\nfoo,2,a\n"),
            {},
            "does not parse",
        ),
        (
            lambda p: p.write_text("id,time,value\n1,2024-01-01,\n"),
            {},
            "every value is missing",
        ),
        (
            lambda p: p.write_text("id,time,value\n1,2024-01-01,inf\n1,2024-01-02,\n"),
            {},
            "every value is missing",
        ),
        (
            lambda p: p.write_text(
                "id,time,value\n1,2024-01-01,3\n1,2024-01-02,-1e39\n"
            ),
            {},
            "float32 range",
        ),
        (
            lambda p: p.write_text("id,time,value\n1,2024-01-01,3\n"),
            {"series": "9"},
            "no series",
        ),
        (
            lambda p: p.write_text("id,time,value\n1,2024-01-01,3\n"),
            {"value_col": "x"},
            "no column",
        ),
    ],
)
def test_bad_files_raise_one_clear_error(tmp_path, write, kwargs, match):
    path = tmp_path / ("data" + kwargs.pop("suffix", ".csv"))
    if write is not None:
        write(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the error line is the only message
        with pytest.raises(ZooError, match=match) as raised:
            load_travel_times(path, **kwargs)
    assert "\n" not in str(raised.value)


def test_inf_is_missing_like_nan_and_the_scaler_stays_finite(tmp_path):
    table = long_table(n_series=1, days=5)
    table.loc[[3, 20], "seconds"] = [np.inf, -np.inf]
    path = tmp_path / "inf.csv"
    table.to_csv(path, index=False)
    with pytest.warns(UserWarning, match="2 infinite value"):
        frame = load_travel_times(path)
    assert frame["value"].isna().sum() == 2 and np.isfinite(frame["value"]).sum() == 68
    windows, scaler, _ = make_windows(frame, 3, 2)
    assert np.isfinite(windows["train"].inputs).all()
    assert "Infinity" not in scaler.to_json() and "NaN" not in scaler.to_json()


def test_a_split_whose_every_target_is_missing_is_refused(tmp_path):
    # Only 06:00 and 07:00 are read each day: with 2 input steps no target of
    # any window is present, so the masked loss would be 0.0.
    table = long_table(n_series=1, days=5)
    table.loc[table["stamp"].dt.hour > 7, "seconds"] = np.nan
    path = tmp_path / "sparse.csv"
    table.to_csv(path, index=False)
    frame = load_travel_times(path)
    with pytest.raises(ZooError, match="train split has 41 windows but every target"):
        make_windows(frame, 2, 1)
