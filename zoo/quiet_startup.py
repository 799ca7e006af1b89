"""Keeps TensorFlow's C++ start-up lines away from the user of a CLI.

TensorFlow 2.21 prints, while it is imported and before absl's logging is
initialized, lines that no setting of `TF_CPP_MIN_LOG_LEVEL` hides:

    WARNING: All log messages before absl::InitializeLog() is called ...
    I0000 00:00:... port.cc:153] oneDNN custom operations are on. ...

(twice: two of its shared libraries log them), plus the CPU-feature banner.
oneDNN's custom operations are on by default on CPUs with AVX-512 VNNI/BF16
or AMX (and forced on anywhere by `TF_ENABLE_ONEDNN_OPTS=1`); they are the
fast path there, so the zoo keeps them on and hides their announcement.

`install()` puts a finder in front of `sys.meta_path` that, the first time
anything imports `tensorflow` (Keras with `KERAS_BACKEND=tensorflow`, or a
library that probes for it), runs that import with the process's stderr
file descriptor pointed at a temporary file, then writes back every line of
it except those start-up lines. Python warnings, errors and any other C++
line printed during the import still reach stderr, in order. Nothing is
imported by `install()` itself, so `--help` stays fast. Set
`TF_CPP_MIN_LOG_LEVEL=0` to see the start-up lines again.
"""

import importlib.abc
import importlib.machinery
import os
import re
import sys
import tempfile

# Lines TensorFlow prints while it loads (TF 2.16-2.21, CPU and CUDA builds):
# absl's pre-initialization notice, oneDNN's notice (port.cc), the CPU
# feature banner and its continuation line, and the CUDA plugin factories
# registered twice; `I`/`W`/`E` + MMDD + time + thread id + file:line.
STARTUP_NOISE = re.compile(
    r"^(?:WARNING: All log messages before absl::InitializeLog\(\) is called"
    r" are written to STDERR"
    r"|[IWE]\d{4} [\d:.]+\s+\d+ (?:port|cpu_feature_guard|cuda_dnn|cuda_fft"
    r"|cuda_blas)\.cc:\d+\] .*"
    r"|To enable the following instructions: .*"
    r"|TF-TRT Warning: Could not find TensorRT)\s*$"
)


def without_startup_noise(text):
    """`text` less TensorFlow's start-up lines.

    Args:
        text: str, what was written to stderr.

    Returns:
        str, the other lines, each with its newline.

    Example:
    >>> noise = ("WARNING: All log messages before absl::InitializeLog() is "
    ...          "called are written to STDERR\\n"
    ...          "I0000 00:00:1796.1 1983 port.cc:153] oneDNN custom "
    ...          "operations are on.\\n")
    >>> without_startup_noise(noise + "UserWarning: kept\\n")
    'UserWarning: kept\\n'
    >>> without_startup_noise("I0000 00:00:1.2 7 engine.cc:9] kept\\n")
    'I0000 00:00:1.2 7 engine.cc:9] kept\\n'
    """
    lines = text.splitlines(keepends=True)
    return "".join(line for line in lines if not STARTUP_NOISE.match(line))


class _FilteredStderr:
    """Context manager: fd 2 goes to a temporary file, then the kept lines
    are written to the real stderr."""

    def __enter__(self):
        sys.stderr.flush()
        self._saved = os.dup(2)
        self._file = tempfile.TemporaryFile(mode="w+b")
        os.dup2(self._file.fileno(), 2)
        return self

    def __exit__(self, *exc_info):
        try:
            sys.stderr.flush()
        finally:
            os.dup2(self._saved, 2)
            os.close(self._saved)
        self._file.seek(0)
        kept = without_startup_noise(self._file.read().decode(errors="replace"))
        self._file.close()
        if kept:
            sys.stderr.write(kept)
            sys.stderr.flush()
        return False


class _QuietLoader(importlib.abc.Loader):
    """Runs the wrapped loader's import of `tensorflow` under `_FilteredStderr`."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        uninstall()  # one import to quiet; the package's own imports follow
        with _FilteredStderr():
            self._loader.exec_module(module)


class _QuietTensorFlowFinder(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` as the other finders do, with a quiet loader."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        # sys.path's own finder, as the import would use without this one (a
        # probe through `importlib.util.find_spec` gets the same answer).
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


_FINDER = _QuietTensorFlowFinder()


def install(environ=None):
    """Hides TensorFlow's start-up lines from this process's stderr.

    Does nothing when TensorFlow is already imported or when the user asked
    for every C++ log line (`TF_CPP_MIN_LOG_LEVEL=0`).

    Args:
        environ: mapping read for `TF_CPP_MIN_LOG_LEVEL` (default `os.environ`).

    Returns:
        bool, whether the finder is in place.

    Example:
    >>> install({"TF_CPP_MIN_LOG_LEVEL": "0"})
    False
    """
    environ = os.environ if environ is None else environ
    if environ.get("TF_CPP_MIN_LOG_LEVEL", "3") == "0":
        return False
    if "tensorflow" in sys.modules:
        return False
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    return True


def uninstall():
    """Removes the finder (a no-op when it is not installed)."""
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
