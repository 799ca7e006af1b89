"""Per-backend runners: a callable that runs one forward (or forward+backward).

Each layer runs the way its backend runs models in `fit`: under `jax.jit` on
JAX, inside `tf.function` on TensorFlow, eagerly on PyTorch. Every runner
blocks until the result is computed, so wall-clock time around it is the
computation's time.
"""

import math

import keras
import numpy as np


def _jax_runner(fwd, params, x, backward):
    import jax
    import jax.numpy as jnp

    x = jnp.asarray(x)
    if backward:
        grad = jax.jit(jax.grad(lambda p, t: jnp.sum(fwd(p, t) ** 2), argnums=(0, 1)))
        return lambda: jax.block_until_ready(grad(params, x))
    forward = jax.jit(fwd)
    return lambda: jax.block_until_ready(forward(params, x))


def _torch_runner(module_call, parameters, x, backward):
    import torch

    x = torch.as_tensor(x)
    if not backward:

        def run():
            with torch.no_grad():
                module_call(x)

        return run
    leaf = x.clone().requires_grad_(True)

    def run():
        for p in parameters:
            p.grad = None
        leaf.grad = None
        (module_call(leaf) ** 2).sum().backward()

    return run


def _tf_runner(call, variables, x, backward):
    import tensorflow as tf

    x = tf.constant(x)
    if not backward:
        forward = tf.function(call)
        return lambda: forward(x).numpy()

    @tf.function
    def grads(t):
        with tf.GradientTape() as tape:
            tape.watch(t)
            loss = tf.reduce_sum(call(t) ** 2)
        return tape.gradient(loss, [*variables, t])

    return lambda: [g.numpy() for g in grads(x)]


def keras_layer_runner(layer, x, backward=False, **call_kwargs):
    """Self-attention `layer(x, x, **call_kwargs)` on the active backend.

    Args:
        layer: a built Keras layer taking `(query, value)`.
        x: float32 numpy array `(B, L, d)`.
        backward: bool. Time forward + backward of sum(out^2) instead.
        **call_kwargs: extra call arguments (e.g. `use_causal_mask`).

    Returns:
        A no-argument callable.
    """
    backend = keras.backend.backend()
    if backend == "jax":
        non_trainable = [v.value for v in layer.non_trainable_variables]

        def fwd(params, t):
            out, _ = layer.stateless_call(params, non_trainable, t, t, **call_kwargs)
            return out

        params = [v.value for v in layer.trainable_variables]
        return _jax_runner(fwd, params, x, backward)
    if backend == "torch":
        parameters = [v.value for v in layer.trainable_variables]
        return _torch_runner(
            lambda t: layer(t, t, **call_kwargs), parameters, x, backward
        )
    if backend == "tensorflow":
        return _tf_runner(
            lambda t: layer(t, t, **call_kwargs),
            [v.value for v in layer.trainable_variables],
            x,
            backward,
        )
    raise ValueError(f"unsupported backend {backend!r}")


def native_attention_runner(x, num_heads, causal=False, backward=False, seed=0):
    """The backend's own multi-head self-attention, outside Keras.

    torch: `torch.nn.MultiheadAttention`; jax: dense projections around
    `jax.nn.dot_product_attention`; tensorflow: the classic einsum path
    (einsum projections, `tf.nn.softmax`).

    Args:
        x: float32 numpy array `(B, L, d)`.
        num_heads: int.
        causal: bool.
        backward: bool.
        seed: int. Seed of the weights.

    Returns:
        (name, callable).
    """
    backend = keras.backend.backend()
    batch, length, dim = x.shape
    head = dim // num_heads
    rng = np.random.default_rng(seed)
    w_qkv = (rng.standard_normal((dim, 3 * dim)) / math.sqrt(dim)).astype("float32")
    w_out = (rng.standard_normal((dim, dim)) / math.sqrt(dim)).astype("float32")
    if backend == "torch":
        import torch

        module = torch.nn.MultiheadAttention(dim, num_heads, batch_first=True)
        mask = (
            torch.nn.Transformer.generate_square_subsequent_mask(length)
            if causal
            else None
        )

        def call(t):
            return module(
                t, t, t, attn_mask=mask, is_causal=causal, need_weights=False
            )[0]

        runner = _torch_runner(call, list(module.parameters()), x, backward)
        return "torch.nn.MultiheadAttention", runner
    if backend == "jax":
        import jax

        def fwd(params, t):
            qkv = t @ params[0]
            q, k, v = (
                a.reshape(batch, length, num_heads, head)
                for a in (qkv[..., :dim], qkv[..., dim : 2 * dim], qkv[..., 2 * dim :])
            )
            out = jax.nn.dot_product_attention(q, k, v, is_causal=causal)
            return out.reshape(batch, length, dim) @ params[1]

        runner = _jax_runner(fwd, [w_qkv, w_out], x, backward)
        return "jax.nn.dot_product_attention + dense", runner
    if backend == "tensorflow":
        import tensorflow as tf

        wq, wk, wv = (
            tf.Variable(w_qkv[:, i * dim : (i + 1) * dim].reshape(dim, num_heads, head))
            for i in range(3)
        )
        wo = tf.Variable(w_out.reshape(num_heads, head, dim))
        tril = tf.constant(np.tril(np.ones((length, length), bool)))

        def call(t):
            q = tf.einsum("bld,dhk->blhk", t, wq) / math.sqrt(head)
            k = tf.einsum("bld,dhk->blhk", t, wk)
            v = tf.einsum("bld,dhk->blhk", t, wv)
            scores = tf.einsum("bqhk,bshk->bhqs", q, k)
            if causal:
                scores = tf.where(tril, scores, -1e9)
            weights = tf.nn.softmax(scores, axis=-1)
            heads = tf.einsum("bhqs,bshk->bqhk", weights, v)
            return tf.einsum("bqhk,hkd->bqd", heads, wo)

        runner = _tf_runner(call, [wq, wk, wv, wo], x, backward)
        return "tensorflow einsum attention", runner
    raise ValueError(f"unsupported backend {backend!r}")


def matmul_runner(size, seed=0):
    """One float32 (size x size) @ (size x size) product on the backend."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((size, size)).astype("float32")
    b = rng.standard_normal((size, size)).astype("float32")
    a, b = keras.ops.convert_to_tensor(a), keras.ops.convert_to_tensor(b)
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        product = jax.jit(lambda u, v: u @ v)
        return lambda: jax.block_until_ready(product(a, b))
    if backend == "torch":
        import torch

        return lambda: torch.mm(a, b)
    return lambda: keras.ops.convert_to_numpy(keras.ops.matmul(a, b))


def result_header(config, machine=False):
    """The fields every bench result starts with, in this order.

    Args:
        config: the bench's config dataclass.
        machine: bool. Also the CPU architecture and processor count (the
            attention bench compares against the machine's sgemm peak).

    Returns:
        dict: backend, versions, [machine, processor_count,] devices, config
        (tuples as lists, as JSON writes them).
    """
    import os
    import platform
    from dataclasses import asdict

    from zoo.runtime import library_versions, list_devices

    header = {"backend": keras.backend.backend(), "versions": library_versions()}
    if machine:
        header["machine"] = platform.machine()
        header["processor_count"] = os.cpu_count()
    header["devices"] = list_devices()
    header["config"] = {
        k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()
    }
    return header


def state_bytes(state):
    """Bytes held by the tensors of a (nested) decoder state, at their dtypes.

    Example:
    >>> state_bytes((np.zeros((2, 3), "float32"), [np.zeros(4, "float16")]))
    32
    """
    return sum(
        int(np.prod(x.shape))
        * np.dtype(keras.backend.standardize_dtype(x.dtype)).itemsize
        for x in keras.tree.flatten(state)
        if hasattr(x, "shape")
    )


def timed_rounds(functions, rounds, alternate=False, pause=0.0, warm_up=True,
                 clock=None):  # fmt: skip
    """Seconds of one call of each function, in rounds: the one timing loop.

    Every bench and solution times with it. Each function runs once to warm
    up (compilation, first-touch allocations) unless `warm_up` is False;
    then every round calls each function once, in order, so that drift in
    the machine's speed hits all of them alike. With `alternate`, odd rounds
    go in reverse: a change of load then lands on every function of the
    rounds it overlaps instead of on the ones timed last.

    Args:
        functions: list of callables that run the work and wait for it.
        rounds: int >= 1.
        alternate: bool. Reverse the order in odd rounds.
        pause: float, seconds slept before each timed call (lets another
            library's worker threads go idle: on 2 cores, threads still
            spinning after one call slow the next).
        warm_up: bool. Call each function once, untimed, first.
        clock: seconds counter (default: time.perf_counter).

    Returns:
        list of `rounds` lists: the seconds of each function in that round,
        in the order of `functions`.

    Example:
    >>> ticks = iter(range(100))
    >>> timed_rounds([lambda: None] * 2, 2, clock=lambda: next(ticks))
    [[1, 1], [1, 1]]
    """
    import time

    clock = clock or time.perf_counter
    if warm_up:
        for function in functions:
            function()
    table = []
    for index in range(rounds):
        order = list(range(len(functions)))
        if alternate and index % 2:
            order.reverse()
        seconds = [0.0] * len(functions)
        for i in order:
            if pause:
                time.sleep(pause)
            start = clock()
            functions[i]()
            seconds[i] = clock() - start
        table.append(seconds)
    return table


def median_seconds(runners, repeats, pause=0.0, alternate=False):
    """Median seconds of each runner, warmed up, then timed round-robin.

    Args:
        runners: dict of name -> no-argument callable.
        repeats: int. Rounds.
        pause: float, seconds slept before each timed call (`timed_rounds`).
        alternate: bool, reverse the order every other round (`timed_rounds`).

    Returns:
        dict of name -> median seconds.

    Example:
    >>> median_seconds({"a": lambda: None}, 1)["a"] >= 0
    True
    """
    import statistics

    table = timed_rounds(
        list(runners.values()), repeats, alternate=alternate, pause=pause
    )
    return {
        name: statistics.median(row[i] for row in table)
        for i, name in enumerate(runners)
    }


def linear_feature_dim(name, config):
    """The `feature_dim` a benchmark builds seq2seq model `name` with.

    Args:
        name: str, a key of `zoo.models.seq2seq.SEQ2SEQ`.
        config: a benchmark config with a `feature_dim` field.

    Returns:
        int or None: `config.feature_dim` for transformer-linear, None for
        the models without linear attention.

    Example:
    >>> from types import SimpleNamespace
    >>> config = SimpleNamespace(feature_dim=16)
    >>> linear_feature_dim("transformer-linear", config)
    16
    >>> linear_feature_dim("lstm", config) is None
    True
    """
    return config.feature_dim if name == "transformer-linear" else None
