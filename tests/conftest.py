"""Shared test set-up: exact float32 matmuls, seeds, backend markers, and
one JAX compilation cache for the session."""

import os

from jax_cache import share_jax_compilations

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
share_jax_compilations()  # before Keras imports JAX

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
