"""User-facing errors.

`ZooError` is what command-line entry points turn into one line on stderr and
exit code 2. Library code raises `ValueError` (the Keras convention) for bad
arguments; CLIs catch both.
"""


class ZooError(Exception):
    """A problem with the user's input that they can fix.

    The message is one line: what was wrong and what to do about it.

    Example:
    >>> raise ZooError("--data: no such file 'x.csv'; pass an existing path")
    Traceback (most recent call last):
    ...
    zoo.errors.ZooError: --data: no such file 'x.csv'; pass an existing path
    """
