"""One private JAX compilation cache for a test session and its subprocesses.

Most tests build a small model of a shape other tests also build (Keras
names restart with every `clear_session`), and on JAX compiling its programs
is most of a test's time. JAX's persistent cache hands the same program back
instead of compiling it again (the JAX lane of the matrix went from 959 s to
710 s). Set through JAX's own environment variables, before JAX is imported,
so that `python -m zoo.*` subprocesses of the tests share it. The folder is
private (a compilation cache is trusted code) and removed at exit. Other
backends ignore it.
"""

import atexit
import os
import shutil
import tempfile


def share_jax_compilations(environ=os.environ):
    """Points `environ` at a new private cache, unless one is already set.

    Args:
        environ: the environment to change (a dict for a subprocess).

    Returns:
        str or None: the new folder, or None when JAX_COMPILATION_CACHE_DIR
        was already set (that one wins).

    Example:
    >>> env = {}
    >>> folder = share_jax_compilations(env)
    >>> env["JAX_COMPILATION_CACHE_DIR"] == folder and os.path.isdir(folder)
    True
    >>> share_jax_compilations(env) is None
    True
    """
    if "JAX_COMPILATION_CACHE_DIR" in environ:
        return None
    folder = tempfile.mkdtemp(prefix="zoo-tests-jax-cache-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    environ["JAX_COMPILATION_CACHE_DIR"] = folder
    # Tests compile small programs in milliseconds: keep them all.
    environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    environ["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"
    return folder
