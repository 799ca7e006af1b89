"""What the process runs on: backend, devices, library versions."""

import contextlib
import importlib.metadata
import platform

BACKENDS = ("jax", "torch", "tensorflow")


def list_devices():
    """Devices the active Keras backend can use, e.g. `["cpu:0", "gpu:0"]`.

    Returns:
        list of str. `keras.distribution.list_devices` where the backend
        implements it (JAX, TensorFlow), torch's own count otherwise.
    """
    import keras

    try:
        return [str(d).lower() for d in keras.distribution.list_devices()]
    except (AttributeError, NotImplementedError):
        pass
    import torch

    if torch.cuda.is_available():
        return [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    return ["cpu:0"]


def library_versions():
    """Versions of Python, Keras, the backends and numpy that are installed.

    Returns:
        dict of name -> version string (absent libraries are left out).
    """
    versions = {"python": platform.python_version()}
    for name in (
        "keras",
        "jax",
        "jaxlib",
        "torch",
        "tensorflow",
        "tensorflow-cpu",
        "numpy",
    ):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


# What makes the zoo's results: a change elsewhere (reports, docs) is not one.
CODE_PATHS = ("zoo", "solutions", "pyproject.toml", "requirements")


def code_version():
    """Which code of the zoo runs: its git commit, or the installed package.

    In a checkout, the commit of HEAD (12 hex digits), marked when tracked
    files of the code (CODE_PATHS) differ from it; installed from a wheel or
    sdist (no .git beside the package), the package's version. Results
    record it so that a table made by older code can be told apart.

    Returns:
        str, e.g. "commit 1a2b3c4d5e6f", "commit 1a2b3c4d5e6f with uncommitted
        changes" or "keras-zoo 0.1.0".

    Example:
    >>> code_version().startswith(("commit ", "keras-zoo "))
    True
    """
    import os
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if os.path.exists(os.path.join(root, ".git")):
        try:

            def git(*args):
                return subprocess.run(
                    ["git", "-C", root, *args],
                    capture_output=True,
                    text=True,
                    timeout=30,
                    check=True,
                ).stdout.strip()

            commit = git("rev-parse", "--short=12", "HEAD")
            # Only the code that makes results: a rewritten report, README or
            # figure is not a change of the code that made it.
            changed = git("status", "--porcelain", "--untracked-files=no", "--",
                          *CODE_PATHS)  # fmt: skip
            return f"commit {commit}" + (" with uncommitted changes" if changed else "")
        except (OSError, subprocess.SubprocessError):
            pass  # no git, or not a repository after all: the package's version
    try:
        return f"keras-zoo {importlib.metadata.version('keras-zoo')}"
    except importlib.metadata.PackageNotFoundError:
        return "keras-zoo (version unknown)"


def describe():
    """One line: backend, devices and versions (first line of every CLI).

    Returns:
        str.
    """
    import keras

    versions = ", ".join(f"{k} {v}" for k, v in library_versions().items())
    return f"backend {keras.backend.backend()} | devices {list_devices()} | {versions}"


def apply_backend_flag(argv, prog="zoo"):
    """Sets KERAS_BACKEND from a `--backend NAME` in argv, before keras loads.

    An already set KERAS_BACKEND wins; one the zoo does not run on ends the
    process with one line and exit code 2 (Keras would raise a traceback on
    import). Also quiets TensorFlow's C++ logs.

    Args:
        argv: list of str, the command line.
        prog: str, the CLI's name for the error line.
    """
    import argparse
    import os
    import sys

    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--backend")
    known, _ = early.parse_known_args(argv)
    if known.backend is not None and known.backend not in BACKENDS:
        print(
            f"{prog}: error: --backend: unknown {known.backend!r}; choose from "
            f"{', '.join(BACKENDS)}",
            file=sys.stderr,
        )
        raise SystemExit(2)
    if known.backend and "KERAS_BACKEND" not in os.environ:
        os.environ["KERAS_BACKEND"] = known.backend
    chosen = os.environ.get("KERAS_BACKEND")
    if chosen is not None and chosen not in BACKENDS:
        print(
            f"{prog}: error: KERAS_BACKEND={chosen!r} is not a backend the zoo "
            f"runs on; set it to one of {', '.join(BACKENDS)} or unset it",
            file=sys.stderr,
        )
        raise SystemExit(2)
    # TensorFlow's errors reach the user as Python exceptions, which every
    # CLI prints in one line; its C++ log adds only noise, such as oneDNN's
    # "supports DT_BOOL only on platforms with AVX-512" error line on
    # AVX-512 CPUs at the first boolean op (level 2 lets ERROR through).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from zoo import quiet_startup

    quiet_startup.install()  # TensorFlow's start-up lines, whoever imports it


def set_random_seed(seed):
    """`keras.utils.set_random_seed`, without importing TensorFlow under JAX or torch.

    Keras' function seeds Python, numpy, Keras' global seed generator, torch
    on the torch backend, and TensorFlow whenever TensorFlow is installed:
    it imports TensorFlow (3 s, and its start-up lines) in a JAX or torch
    process that never uses it. Here TensorFlow is seeded only when it is the
    backend or already imported; everything else is seeded as Keras does.

    Args:
        seed: int.

    Example:
    >>> import random, sys
    >>> set_random_seed(7); first = random.random()
    >>> set_random_seed(7); random.random() == first
    True
    """
    import sys

    import keras

    if keras.backend.backend() == "tensorflow" or "tensorflow" in sys.modules:
        keras.utils.set_random_seed(seed)
        return
    # A None entry makes `import tensorflow` raise ImportError (the import
    # system's documented way to block a module), which Keras reads as "not
    # installed"; the entry is removed at once.
    sys.modules["tensorflow"] = None
    try:
        keras.utils.set_random_seed(seed)
    finally:
        del sys.modules["tensorflow"]


@contextlib.contextmanager
def dtype_policy(name):
    """Keras' global dtype policy set to `name` inside the block, then restored.

    Layers take the global policy when they are made, so a model built in
    the block computes in it; saved, each layer keeps its own policy.

    Args:
        name: str, a Keras dtype policy name, e.g. "mixed_bfloat16".

    Example:
    >>> import keras
    >>> with dtype_policy("mixed_bfloat16"):
    ...     layer = keras.layers.Dense(2)
    >>> layer.dtype_policy.name, keras.config.dtype_policy().name
    ('mixed_bfloat16', 'float32')
    """
    import keras

    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(before)


def add_backend_option(parser):
    """The `--backend` option of every command line (`apply_backend_flag`
    reads it before Keras loads; argparse then shows and checks it).

    Args:
        parser: argparse.ArgumentParser.

    Example:
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> add_backend_option(parser)
    >>> parser.parse_args(["--backend", "torch"]).backend
    'torch'
    """
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        help="sets KERAS_BACKEND when it is not set already (default: "
        "KERAS_BACKEND, else ~/.keras/keras.json)",
    )


def keep_jax_compilations(folder, environ=None):
    """Points JAX's persistent compilation cache at `folder`, keeping every program.

    Set through JAX's own environment variables, so it must run before JAX
    is imported, and subprocesses inherit it. Small programs (eager
    operations, test models) compile in milliseconds, so none is too small
    or too quick to keep. Minimums already set are left as they are. The
    folder holds compiled code that JAX runs: it must be private.

    Args:
        folder: str, the cache folder.
        environ: the environment to change (default `os.environ`).

    Example:
    >>> env = {}
    >>> keep_jax_compilations("/tmp/cache", env)
    >>> env["JAX_COMPILATION_CACHE_DIR"]
    '/tmp/cache'
    >>> env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"]
    '0'
    """
    import os

    environ = os.environ if environ is None else environ
    environ["JAX_COMPILATION_CACHE_DIR"] = folder
    environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
