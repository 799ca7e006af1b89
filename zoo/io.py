"""Atomic file writes: a reader never sees a half-written file.

Each helper writes to a temporary file in the target's folder and renames it
over the target (`os.replace` is atomic on POSIX and Windows). JSON is
strict: NaN and infinities (which `json` would write as the invalid tokens
`NaN` and `Infinity`) are refused; `finite_or_none` turns them into null.
"""

import json
import math
import os
import tempfile
from contextlib import contextmanager


@contextmanager
def atomic_path(path):
    """Yields a temporary path that replaces `path` when the block succeeds.

    Args:
        path: str or path-like. The final file.

    Example:
    >>> with atomic_path("out.png") as tmp:  # doctest: +SKIP
    ...     figure.savefig(tmp, format="png")
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    suffix = os.path.splitext(path)[1]
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=folder)
    os.close(fd)
    # mkstemp makes the file private (0600); the result gets the mode any new
    # file would (0644 under the usual umask 022).
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def check_writable(path):
    """Raises OSError unless a file can be written at `path` (checked before
    a long job, so that it fails at once rather than at its end).

    Creates the missing folders, as `atomic_path` would; writes nothing else.

    Args:
        path: str or path-like. The file to be written later.

    Example:
    >>> check_writable("/proc/x.json")
    Traceback (most recent call last):
    ...
    FileNotFoundError: [Errno 2] No such file or directory: '/proc/.probe-...'
    """
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    os.makedirs(folder, exist_ok=True)
    fd, probe = tempfile.mkstemp(prefix=".probe-", dir=folder)
    os.close(fd)
    os.unlink(probe)


def write_text(path, text):
    """Atomically writes `text` (UTF-8) to `path`.

    Args:
        path: str or path-like.
        text: str.
    """
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)


def finite_or_none(data):
    """`data` with every NaN or infinite float replaced by None (JSON null).

    Args:
        data: nested dicts, lists and tuples (tuples come back as lists) of
            JSON values; floats may be numpy floats.

    Returns:
        The same structure, new containers, other values unchanged.

    Example:
    >>> finite_or_none({"mae": float("nan"), "per_step": [1.5, float("inf")]})
    {'mae': None, 'per_step': [1.5, None]}
    """
    if isinstance(data, dict):
        return {key: finite_or_none(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite_or_none(value) for value in data]
    if isinstance(data, float) and not math.isfinite(data):
        return None
    return data


def _non_finite_at(data, where="data"):
    """The path (e.g. `data.results[0]`) of the first NaN/inf float, or None."""
    if isinstance(data, dict):
        items = ((f"{where}.{key}", value) for key, value in data.items())
    elif isinstance(data, (list, tuple)):
        items = ((f"{where}[{i}]", value) for i, value in enumerate(data))
    else:
        is_bad = isinstance(data, float) and not math.isfinite(data)
        return where if is_bad else None
    for path, value in items:
        found = _non_finite_at(value, path)
        if found:
            return found
    return None


def write_json(path, data):
    """Atomically writes `data` as indented, key-sorted, strict JSON.

    Args:
        path: str or path-like.
        data: JSON-serializable object without NaN or infinities (convert
            them deliberately, e.g. with `finite_or_none`).

    Raises:
        ValueError: `data` holds NaN or an infinity (the message says where);
            the file is left as it was.
    """
    try:
        text = json.dumps(data, indent=2, sort_keys=True, allow_nan=False)
    except ValueError:
        where = _non_finite_at(data)
        if where is None:
            raise
        raise ValueError(
            f"{os.fspath(path)}: {where} is NaN or infinite, which JSON cannot "
            "hold; write None (null) or leave it out"
        ) from None
    write_text(path, text + "\n")
