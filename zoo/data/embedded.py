"""The data that ships inside the package (`zoo/datasets/`), found with
`importlib.resources` so that a checkout, an editable install and an
installed wheel read the same files, from any working directory."""

import importlib.resources
import pathlib

from zoo.errors import ZooError


def embedded_file(*parts):
    """Path of a file under `zoo/datasets/`.

    Args:
        *parts: str, the path inside `zoo/datasets/`, one part each.

    Returns:
        pathlib.Path.

    Raises:
        ZooError: the file is not in this installation (an incomplete
            install); names the file and how to reinstall.

    Example:
    >>> embedded_file("traffic", "sunnyside_travel_times.parquet").name
    'sunnyside_travel_times.parquet'
    """
    resource = importlib.resources.files("zoo").joinpath("datasets", *parts)
    path = pathlib.Path(str(resource))
    if not path.is_file():
        raise ZooError(
            f"the embedded file {'/'.join(parts)} is missing from this keras-zoo "
            f"installation ({path}); reinstall it (pip install --force-reinstall "
            "keras-zoo) or pass your own file"
        )
    return path
