"""User-facing errors and the one-line argument parser of every CLI.

`ZooError` is what command-line entry points turn into one line on stderr and
exit code 2. Library code raises `ValueError` (the Keras convention) for bad
arguments; CLIs catch both.
"""

import argparse


class ZooError(Exception):
    """A problem with the user's input that they can fix.

    The message is one line: what was wrong and what to do about it.

    Example:
    >>> raise ZooError("--data: no such file 'x.csv'; pass an existing path")
    Traceback (most recent call last):
    ...
    zoo.errors.ZooError: --data: no such file 'x.csv'; pass an existing path
    """


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit code 2.

    argparse prints the whole usage block before an error; the zoo's CLIs
    promise one line (what was wrong, what to do). `--help` still shows
    everything.

    Example:
    >>> parser = OneLineParser(prog="python -m zoo.x")
    >>> _ = parser.add_argument("--epochs", type=int)
    >>> parser.parse_args(["--epochs", "x"])  # doctest: +SKIP
    python -m zoo.x: error: argument --epochs: invalid int value: 'x'; see --help
    """

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}; see --help\n")


def one_line_warnings(prog):
    """Shows Python warnings as `<prog>: warning: <message>`, one line each.

    Args:
        prog: str, the CLI's name (e.g. "zoo.train").
    """
    import sys
    import warnings

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"{prog}: warning: {message}", file=file or sys.stderr)

    warnings.showwarning = show
