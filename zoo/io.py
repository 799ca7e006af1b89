"""Atomic file writes: a reader never sees a half-written file.

Each helper writes to a temporary file in the target's folder and renames it
over the target (`os.replace` is atomic on POSIX and Windows).
"""

import json
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


def write_text(path, text):
    """Atomically writes `text` (UTF-8) to `path`.

    Args:
        path: str or path-like.
        text: str.
    """
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)


def write_json(path, data):
    """Atomically writes `data` as indented, key-sorted JSON.

    Args:
        path: str or path-like.
        data: JSON-serializable object.
    """
    write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
