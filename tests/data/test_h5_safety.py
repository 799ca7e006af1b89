""".h5 travel-time files are read without unpickling anything in them.

pandas' HDF5 reader unpickles object columns and attributes that look
pickled; each crafted file here would create a marker file when unpickled.
"""

import pickle
import warnings

import h5py
import numpy as np
import pandas as pd
import pytest

from zoo.data.traffic import load_travel_times
from zoo.errors import ZooError


class CreatesFile:
    """Unpickling an instance creates (truncates) the file at `path`."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def readings(columns, periods=6):
    index = pd.date_range("2012-03-01", periods=periods, freq="5min")
    return pd.DataFrame({c: np.arange(periods) + 1.0 for c in columns}, index=index)


def test_a_pickled_object_column_is_refused_and_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    wide = readings(["773869"])
    wide["evil"] = pd.Series([CreatesFile(marker)] * len(wide), wide.index, object)
    path = tmp_path / "evil.h5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas: "will pickle object types"
        wide.to_hdf(path, key="df")
    assert not marker.exists()
    with pytest.raises(ZooError, match=r"\['evil'\].*not numbers") as raised:
        load_travel_times(path)
    assert "\n" not in str(raised.value)
    assert not marker.exists()


def test_pems_bay_layout_with_a_pickled_attribute_reads_only_the_numbers(tmp_path):
    # PEMS-BAY: key "speed", integer sensor ids; an int block beside a float
    # one. pandas stores the index frequency as a pickle: here a hostile one.
    marker = tmp_path / "pwned"
    wide = readings([400001])
    wide[400017] = np.arange(6) * 10
    path = tmp_path / "pems-bay.h5"
    wide.to_hdf(path, key="speed")
    with h5py.File(path, "a") as handle:
        payload = pickle.dumps(CreatesFile(marker), protocol=0)
        handle["speed/axis1"].attrs["freq"] = np.bytes_(payload)
    frame = load_travel_times(path)
    assert not marker.exists()
    assert sorted(frame["series"].unique()) == ["400001", "400017"]
    sensor = frame[frame["series"] == "400017"]["value"].to_numpy()
    assert np.isnan(sensor[0]) and sensor[1:].tolist() == [10, 20, 30, 40, 50]
    assert frame["time"].iloc[1] == pd.Timestamp("2012-03-01 00:05")


def write_table_format(path):
    readings(["1"]).to_hdf(path, key="df", format="table")


def write_two_frames(path):
    readings(["1"]).to_hdf(path, key="a")
    readings(["2"]).to_hdf(path, key="b")


def write_text_column(path):
    wide = readings(["1"])
    wide["name"] = "x"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wide.to_hdf(path, key="df")


def write_plain_hdf5(path):
    with h5py.File(path, "w") as handle:
        handle["values"] = np.zeros((3, 2))


def write_truncated(path):
    readings(["1"]).to_hdf(path, key="df")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize(
    "write, match",
    [
        (lambda p: p.write_bytes(bytes(range(256)) * 8), "cannot read .* as HDF5"),
        (write_truncated, "cannot read .* as HDF5"),
        (write_plain_hdf5, "holds no pandas DataFrame"),
        (write_table_format, "format='table'"),
        (write_two_frames, "2 pandas objects"),
        (write_text_column, r"\['name'\].*not numbers"),
    ],
)
def test_corrupt_or_unknown_h5_files_are_one_line(tmp_path, write, match):
    path = tmp_path / "data.h5"
    write(path)
    with pytest.raises(ZooError, match=match) as raised:
        load_travel_times(path)
    message = str(raised.value)
    assert "\n" not in message and "CSV or parquet" in message
