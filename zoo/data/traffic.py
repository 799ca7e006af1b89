"""Travel-time series: read any supported file into one long table.

Every reader returns a `pandas.DataFrame` with columns `time` (datetime64),
`series` (str) and `value` (float64, NaN = missing), sorted by series and
time. Supported inputs:

- the embedded default, `zoo/datasets/traffic/sunnyside_travel_times.parquet`
  (Oregon DOT, hourly travel times in seconds, six road segments);
- any CSV or parquet file in long format (one row per series and time), with
  columns picked by name or detected;
- METR-LA / PEMS-BAY `.h5` files: a pandas DataFrame with a 5-minute
  datetime index and one column per sensor, where 0 means missing, read by
  `zoo.data.hdf5.read_h5` without unpickling (never `pandas.read_hdf`).

Values (every reader): NaN is missing; inf and -inf are treated as missing
too (one warning counts them); a finite value whose magnitude exceeds the
float32 range (3.4e38) is refused, as the models compute in float32.
"""

import pathlib
import warnings

import numpy as np
import pandas as pd

from zoo.data.embedded import embedded_file
from zoo.data.hdf5 import first_line, read_h5
from zoo.errors import ZooError

EMBEDDED_NAME = ("traffic", "sunnyside_travel_times.parquet")  # in zoo/datasets/
_TIME_NAMES = ("time", "timestamp", "datetime", "date", "ts")
_VALUE_NAMES = ("travel_time", "travel_time_seconds", "value", "speed", "tt")
_SERIES_NAMES = ("series", "id", "segment", "segment_id", "sensor", "sensor_id", "road")
_H5_SUFFIXES = (".h5", ".hdf5", ".hdf")
_FLOAT32_MAX = float(np.finfo("float32").max)


def _read_table(path):
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(path)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix in _H5_SUFFIXES:
            return read_h5(path)
    except ImportError as error:
        raise ZooError(
            f"--data: reading {suffix} files needs "
            f"{error.name or 'a missing package'}; "
            "install it (pip install pyarrow h5py) and retry"
        ) from None
    except (ValueError, OSError, KeyError, TypeError, UnicodeDecodeError) as error:
        raise ZooError(
            f"--data: cannot read {path.name}: {first_line(error)}"
        ) from None
    raise ZooError(
        f"--data: unsupported format {suffix or '(no extension)'!r}; "
        "pass a .csv, .parquet or .h5 file"
    )


def _pick(frame, given, names, flag, predicate, what):
    """The column named by `given`, else the single plausible one."""
    if given is not None:
        if given not in frame.columns:
            raise ZooError(
                f"{flag}: no column {given!r}; "
                f"columns are {list(map(str, frame.columns))}"
            )
        return given
    by_name = [c for c in frame.columns if str(c).lower() in names]
    if len(by_name) == 1:
        return by_name[0]
    candidates = [c for c in frame.columns if predicate(frame[c])]
    if len(candidates) == 1:
        return candidates[0]
    found = by_name or candidates
    if not found:
        raise ZooError(f"{flag}: found no {what} column; pass {flag} NAME")
    raise ZooError(
        f"{flag}: several columns could be the {what} ({list(map(str, found))}); "
        f"pass {flag} NAME"
    )


def _looks_like_time(column):
    """A datetime column, or text whose first values parse as dates."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return True
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return False
    sample = column.dropna().astype(str).head(20)
    if sample.empty:
        return False
    try:
        pd.to_datetime(sample, format="mixed")
    except (ValueError, TypeError):
        return False
    return True


def _wide_to_long(wide):
    """METR-LA layout (time index x sensor columns, 0 = missing) -> long."""
    if not isinstance(wide.index, pd.DatetimeIndex):
        raise ZooError(
            "--data: an .h5 file must hold a DataFrame with a datetime index "
            "(METR-LA / PEMS-BAY layout)"
        )
    wide = wide.replace(0, np.nan)
    long = (
        wide.rename_axis("time")
        .reset_index()
        .melt(id_vars="time", var_name="series", value_name="value")
    )
    return long


def to_long(frame, time_col=None, value_col=None, series_col=None):
    """Normalizes a long-format table to columns time, series, value.

    Args:
        frame: pandas DataFrame, one row per (series, time).
        time_col: str or None. Detected when None (a datetime column, or one
            named time/timestamp/date).
        value_col: str or None. Detected when None (travel_time/value, or the
            only numeric column that is neither time nor series).
        series_col: str or None. Detected when None (id/segment/sensor); a
            table without one is a single series.

    Returns:
        DataFrame with columns `time`, `series`, `value`.

    Raises:
        ZooError: unknown or ambiguous columns, unparseable times,
            non-numeric values.
    """
    time_col = _pick(
        frame,
        time_col,
        _TIME_NAMES,
        "--time-col",
        _looks_like_time,
        "time",
    )
    if series_col is None:
        named = [c for c in frame.columns if str(c).lower() in _SERIES_NAMES]
        series_col = named[0] if len(named) == 1 else None
    elif series_col not in frame.columns:
        raise ZooError(
            f"--series-col: no column {series_col!r}; columns are "
            f"{list(map(str, frame.columns))}"
        )
    rest = frame.drop(columns=[c for c in (time_col, series_col) if c is not None])
    value_col = _pick(
        rest,
        value_col,
        _VALUE_NAMES,
        "--value-col",
        lambda c: pd.api.types.is_numeric_dtype(c),
        "value",
    )
    try:
        with warnings.catch_warnings():
            # pandas warns before failing on text that is not dates; the
            # one-line error below says it instead.
            warnings.filterwarnings("ignore", "Could not infer format")
            times = pd.to_datetime(frame[time_col])
    except (ValueError, TypeError):
        raise ZooError(
            f"--time-col: column {time_col!r} does not parse as date/time"
        ) from None
    values = pd.to_numeric(frame[value_col], errors="coerce")
    bad = values.isna() & frame[value_col].notna()
    if bad.any():
        example = frame[value_col][bad].iloc[0]
        raise ZooError(
            f"--value-col: column {value_col!r} has {int(bad.sum())} non-numeric "
            f"values (e.g. {example!r}); clean them or pick another column"
        )
    series = frame[series_col].astype(str) if series_col is not None else "0"
    return pd.DataFrame(
        {"time": times, "series": series, "value": values.astype(float)}
    )


def load_travel_times(
    path=None, time_col=None, value_col=None, series_col=None, series=None
):
    """Reads travel times from `path` (default: the embedded Oregon data).

    Args:
        path: str, path-like or None. A .csv, .parquet or .h5 file, or
            `"synthetic"` for `zoo.data.synthetic.synthetic_travel_times()`.
        time_col, value_col, series_col: column names; see `to_long`.
        series: str or None. Keep only this series id.

    Returns:
        DataFrame with columns `time`, `series`, `value`, sorted, with
        duplicate (series, time) rows averaged. Missing values are NaN: NaN
        and empty cells, inf and -inf (treated as missing, with one warning
        that counts them), and 0 in .h5 files (METR-LA convention).

    Raises:
        ZooError: missing, unreadable or corrupt file, an .h5 file that is not
            in the METR-LA layout or holds Python objects (never unpickled),
            bad columns, unknown series, a value beyond the float32 range
            (|x| > 3.4e38), no value that is not missing.

    Example:
    >>> frame = load_travel_times()
    >>> sorted(frame.columns), frame["series"].nunique()
    (['series', 'time', 'value'], 6)
    """
    if path is not None and str(path) == "synthetic":
        from zoo.data.synthetic import synthetic_travel_times

        return _finish(synthetic_travel_times(), series)
    path = pathlib.Path(path) if path is not None else embedded_file(*EMBEDDED_NAME)
    if not path.is_file():
        raise ZooError(f"--data: no such file {str(path)!r}; pass an existing file")
    table = _read_table(path)
    if path.suffix.lower() in _H5_SUFFIXES:
        long = _wide_to_long(table)
    else:
        long = to_long(table, time_col, value_col, series_col)
    return _finish(long, series)


def _finite_values(long):
    """`long` with inf/-inf as NaN (one warning); float32 overflow refused.

    Args:
        long: DataFrame with a float `value` column.

    Returns:
        `long`, with NaN where `value` was infinite.

    Raises:
        ZooError: a value beyond the float32 range, or no value that is not
            missing.
    """
    values = long["value"].to_numpy(dtype="float64")
    huge = np.isfinite(values) & (np.abs(values) > _FLOAT32_MAX)
    if huge.any():
        raise ZooError(
            f"--data: {int(huge.sum())} value(s) exceed the float32 range "
            f"(|x| > 3.4e38, e.g. {values[huge][0]:.4g}); rescale them or mark "
            "them missing (empty or NaN)"
        )
    if not np.isfinite(values).any():
        raise ZooError(
            "--data: every value is missing (NaN, inf or 0); nothing to learn from"
        )
    infinite = np.isinf(values)
    if infinite.any():
        warnings.warn(
            f"--data: {int(infinite.sum())} infinite value(s) (inf/-inf) are "
            "treated as missing, like NaN",
            stacklevel=3,
        )
        long = long.assign(value=np.where(infinite, np.nan, values))
    return long


def _finish(long, series):
    """Selects `series`, checks values, averages duplicates, sorts."""
    if series is not None:
        available = sorted(long["series"].unique())
        if str(series) not in available:
            shown = available[:10] + (["..."] if len(available) > 10 else [])
            raise ZooError(f"--series: no series {series!r}; available: {shown}")
        long = long[long["series"] == str(series)]
    long = _finite_values(long)
    long = long.dropna(subset=["time"])
    long = long.groupby(["series", "time"], as_index=False)["value"].mean()
    return long.sort_values(["series", "time"]).reset_index(drop=True)
