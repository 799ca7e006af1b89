"""The error policy of the zoo, and the one-line errors of every CLI.

Who raises what:

- Library code (layers, models, decoding helpers, metrics) raises
  `ValueError` naming the argument that is wrong, as Keras does: the caller
  may be a script, a notebook or a test, with no command line in sight.
- Data and CLI layers (`zoo.data`, `zoo.run_dir`, the tasks and the engine
  of `zoo.train`, `zoo.chat`, `zoo.bench`, `solutions`) raise `ZooError`
  naming the flag (`--data`, `--run`, ...) and the fix, in one line.
  `TrainingDiverged` is the `ZooError` of a run whose loss became NaN.
- Every CLI (`python -m zoo.train`, `zoo.chat`, `zoo.bench`, `solutions`)
  catches both (`USER_ERRORS`) and prints `<prog>: error: <message>`, one
  line on stderr, exit code 2 (`print_error`); argparse's own errors are one
  line too (`OneLineParser`). Ctrl-C exits 130 where a CLI handles it.

Example:
>>> print_error("zoo.x", ValueError("units: expected a positive int, got 0"))
2
"""

import argparse
import sys


class ZooError(Exception):
    """A problem with the user's input that they can fix.

    The message is one line: what was wrong and what to do about it.

    Example:
    >>> raise ZooError("--data: no such file 'x.csv'; pass an existing path")
    Traceback (most recent call last):
    ...
    zoo.errors.ZooError: --data: no such file 'x.csv'; pass an existing path
    """


class TrainingDiverged(ZooError):
    """The loss became NaN or infinite; the run directory keeps the last good
    weights (raised by `zoo.train.engine.train_and_evaluate`)."""


# What a CLI turns into one line and exit code 2.
USER_ERRORS = (ZooError, ValueError)


def print_error(prog, error):
    """Prints `<prog>: error: <error>` on stderr, one line; returns 2.

    Args:
        prog: str, the CLI's name (e.g. "zoo.train").
        error: a ZooError or ValueError.

    Returns:
        int, the exit code (2).
    """
    print(f"{prog}: error: {error}", file=sys.stderr)
    return 2


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
    import warnings

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"{prog}: warning: {message}", file=file or sys.stderr)

    warnings.showwarning = show
