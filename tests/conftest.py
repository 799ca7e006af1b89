"""Shared test set-up: exact float32 matmuls, seeds, backend markers, and
one JAX compilation cache for the session."""

import atexit
import os
import shutil
import tempfile

from zoo.runtime import keep_jax_compilations  # imports no backend

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _share_jax_compilations():
    """One private JAX compilation cache for this session and its subprocesses.

    Most tests build a small model of a shape other tests also build (Keras
    names restart with every `clear_session`), and on JAX compiling its
    programs is most of a test's time. JAX's persistent cache hands the same
    program back instead of compiling it again (the JAX lane of the matrix
    went from 959 s to 710 s). Set through JAX's own environment variables,
    before Keras imports JAX, so that `python -m zoo.*` subprocesses of the
    tests share it. The folder is private (a compilation cache is trusted
    code) and removed at exit; a JAX_COMPILATION_CACHE_DIR already set wins.
    One per session, not one for the matrix: JAX writes entries without a
    lock (its locking cache scans every entry at every write), and two
    shards running at once could read each other's half-written files.
    Other backends ignore it.
    """
    if "JAX_COMPILATION_CACHE_DIR" in os.environ:
        return
    folder = tempfile.mkdtemp(prefix="zoo-tests-jax-cache-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    keep_jax_compilations(folder)


_share_jax_compilations()

import keras  # noqa: E402
import pytest  # noqa: E402

BACKEND = keras.backend.backend()


def _disable_tf32():
    """TF32 would make float32 comparisons on GPUs loose; turn it off."""
    if BACKEND == "torch":
        import torch

        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    elif BACKEND == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_tensor_float_32_execution(False)
    elif BACKEND == "jax":
        import jax

        jax.config.update("jax_default_matmul_precision", "highest")


_disable_tf32()


def _no_full_collection_per_removed_variable():
    """Keras' `Layer.__delattr__` runs a full `gc.collect()` for every
    variable it removes, so that a device frees the buffer at once; int8
    quantization removes each kernel that way. In the layer tests, 43 such
    collections took 23 s on JAX, 14 s on torch (of a 26 s shard) and 11 s
    on TensorFlow. The tests need no buffer freed at once: the collection
    is skipped there, and Python's own collector runs as usual.
    """
    import gc

    delete = keras.layers.Layer.__delattr__

    def __delattr__(self, name):
        collect = gc.collect
        gc.collect = lambda generation=2: 0
        try:
            delete(self, name)
        finally:
            gc.collect = collect

    keras.layers.Layer.__delattr__ = __delattr__


_no_full_collection_per_removed_variable()


def pytest_report_header(config):
    return f"keras {keras.__version__}, backend {BACKEND}"


def pytest_collection_modifyitems(config, items):
    for item in items:
        for backend in ("jax", "torch", "tensorflow"):
            if item.get_closest_marker(f"{backend}_only") and BACKEND != backend:
                item.add_marker(
                    pytest.mark.skip(
                        reason=f"{backend}-only test, backend is {BACKEND}"
                    )
                )


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Every test starts from float32, a fixed seed and an empty session."""
    keras.config.set_dtype_policy("float32")
    keras.utils.set_random_seed(1234)
    yield
    keras.config.set_dtype_policy("float32")
    # Without Keras' full `gc.collect()` after every test: with the backends'
    # objects in memory it costs 0.2-0.6 s a test (tests/data on torch ran
    # 53-65 s with it, 8.5-12 s without). Python's own collector still
    # frees what the tests leave behind.
    keras.backend.clear_session(free_memory=False)
