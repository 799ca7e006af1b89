"""Reading pandas' HDF5 files (METR-LA / PEMS-BAY) without unpickling.

pandas' own reader (`read_hdf`, through PyTables) unpickles object columns
and pickled attributes, so a crafted `.h5` file could run code. This reader
uses h5py, which never unpickles, and accepts only the layout
`DataFrame.to_hdf` writes in its default "fixed" format: one group holding
`axis0` (column labels, text or integers), `axis1` (int64 datetime index),
and per block `blockN_items` (labels) and `blockN_values` (a numeric 2-D
array). Any other layout, or a block of Python objects or text, is refused
with one line.
"""

import re

import numpy as np
import pandas as pd

from zoo.errors import ZooError

# The datetime kinds pandas writes for an index: "datetime64" (nanoseconds,
# files written before pandas stored the unit) or "datetime64[unit]".
_DATETIME_KIND = re.compile(r"^datetime64(?:\[(ns|us|ms|s)\])?$")
_H5_FIX = (
    ".h5 files are read only in the METR-LA / PEMS-BAY layout (DataFrame.to_hdf, "
    "fixed format: a datetime index and numeric columns) and never unpickled; "
    "convert the file to CSV or parquet"
)


def first_line(error):
    """The first line of an exception's message (its type when empty)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _text(value):
    """An HDF5 attribute as str (bytes decoded as UTF-8), else None."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) else None


def read_h5(path):
    """The DataFrame of a METR-LA / PEMS-BAY .h5 file, read without unpickling.

    Args:
        path: pathlib.Path of an HDF5 file written by `DataFrame.to_hdf`
            (fixed format).

    Returns:
        DataFrame with a DatetimeIndex and one float64 column per sensor
        (labels as str).

    Raises:
        ZooError: not HDF5, corrupt or truncated, or not that layout (table
            format, several DataFrames, a MultiIndex, columns of Python
            objects or text, no datetime index).
    """
    try:
        import h5py
    except ImportError:
        raise ZooError(
            "--data: reading .h5 files needs h5py; install it (pip install h5py) "
            "and retry"
        ) from None
    try:
        with h5py.File(path, "r") as handle:
            return _h5_frame(h5py, handle, path.name)
    except (OSError, RuntimeError, KeyError, ValueError, TypeError) as error:
        raise ZooError(
            f"--data: cannot read {path.name} as HDF5 ({first_line(error)}); "
            "check that the file is complete, or convert it to CSV or parquet"
        ) from None


def _h5_frame(h5py, handle, name):
    """Reads the single fixed-format DataFrame of an open h5py file.

    Args:
        h5py: the h5py module.
        handle: open `h5py.File`.
        name: str, the file's name for messages.

    Returns:
        DataFrame (DatetimeIndex, float64 columns labelled by str).

    Raises:
        ZooError: any layout but the fixed-format one, or non-numeric blocks;
            the dtype of a block is checked before it is read.
    """

    def refuse(what):
        return ZooError(f"--data: {name} {what}; {_H5_FIX}")

    objects = {
        key: _text(node.attrs.get("pandas_type"))
        for key, node in handle.items()
        if isinstance(node, h5py.Group) and "pandas_type" in node.attrs
    }
    if not objects:
        raise refuse("holds no pandas DataFrame")
    if len(objects) > 1:
        raise refuse(f"holds {len(objects)} pandas objects {sorted(objects)}")
    ((key, kind),) = objects.items()
    if kind == "frame_table":
        raise refuse(f"holds a DataFrame saved with format='table' (key {key!r})")
    if kind != "frame":
        raise refuse(f"holds a pandas {kind!r} object, not a DataFrame (key {key!r})")
    group = handle[key]
    nblocks = group.attrs.get("nblocks")
    if group.attrs.get("ndim") != 2 or not isinstance(nblocks, (int, np.integer)):
        raise refuse(f"has an unknown layout under key {key!r}")
    if not 1 <= nblocks <= len(group):
        raise refuse(f"has an unknown layout under key {key!r} ({nblocks} blocks)")
    blocks = [f"block{i}" for i in range(int(nblocks))]
    members = {"axis0", "axis1"} | {
        f"{b}_{p}" for b in blocks for p in ("items", "values")
    }
    if set(group) != members or not all(
        isinstance(group[m], h5py.Dataset) for m in members
    ):
        raise refuse(f"has an unknown layout under key {key!r}")
    for axis in ("axis0", "axis1", *(f"{b}_items" for b in blocks)):
        if _text(group.attrs.get(f"{axis}_variety")) != "regular":
            raise refuse("has a MultiIndex (several levels of labels)")

    def labels(node):
        # The dtype is checked before anything is read.
        if node.ndim != 1 or node.dtype.kind not in "SUiu":
            raise refuse(
                f"has column labels of type {node.dtype} (text or integers only)"
            )
        values = node[()]
        if node.dtype.kind == "S":
            return [v.decode("utf-8") for v in values]
        return [str(v) if node.dtype.kind == "U" else str(int(v)) for v in values]

    times = _h5_times(group["axis1"], refuse)
    columns = labels(group["axis0"])
    if len(set(columns)) != len(columns):
        raise refuse("has duplicate column labels")
    read = {}
    for block in blocks:
        items = labels(group[f"{block}_items"])
        node = group[f"{block}_values"]
        if node.dtype.kind not in "fiu" or node.ndim != 2:
            shown = items[:5] + (["..."] if len(items) > 5 else [])
            raise refuse(
                f"has columns {shown} of Python objects or text ({node.dtype}), "
                "not numbers"
            )
        values = node[()]
        # pandas stores a block transposed: (rows, items).
        if not node.attrs.get("transposed", False):
            values = values.T
        if values.shape != (len(times), len(items)):
            raise refuse(f"has a block of shape {values.shape} that fits no index")
        read.update(zip(items, values.T.astype("float64"), strict=True))
    if sorted(read) != sorted(columns):
        raise refuse("has blocks whose labels differ from its columns")
    return pd.DataFrame({c: read[c] for c in columns}, index=times)


def _h5_times(node, refuse):
    """The DatetimeIndex stored in a fixed-format `axis1` dataset.

    Args:
        node: h5py.Dataset of int64 times, unit in its `kind` attribute.
        refuse: callable (what) -> ZooError.

    Returns:
        tz-naive DatetimeIndex; an index saved with a time zone (stored in
        UTC) comes back as that zone's wall-clock time.
    """
    kind = _DATETIME_KIND.match(_text(node.attrs.get("kind")) or "")
    if (
        kind is None
        or _text(node.attrs.get("index_class")) != "datetime"
        or node.ndim != 1
        or node.dtype != np.dtype("int64")
    ):
        raise refuse("has no datetime index")
    times = pd.DatetimeIndex(node[()].view(f"datetime64[{kind.group(1) or 'ns'}]"))
    if "tz" in node.attrs:
        # Stored in UTC: read back as local wall-clock time of that zone.
        zone = _text(node.attrs["tz"])
        try:
            local = times.tz_localize("UTC").tz_convert(zone)
        except (KeyError, ValueError, TypeError):
            raise refuse(f"has an index in an unknown time zone {zone!r}") from None
        times = local.tz_localize(None)
    return times
