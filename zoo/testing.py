"""Test helpers shared by the zoo's test suite (in the spirit of keras-hub).

`run_layer_test` checks the contract every zoo layer keeps: config round
trip, weight counts, symbolic and eager calls, `.keras` save/load with
`safe_mode=True`, one `fit` step, and a mixed-precision call. `input_gradient`
differentiates through a layer on whichever backend is active.
`write_tsv_corpus` writes a tiny seeded dialog corpus for `--corpus tsv`.
"""

import os

import keras
import numpy as np
from keras import ops


def _symbolic_inputs(input_data):
    """One `keras.Input` per distinct array (the same array -> the same Input)."""
    by_id, symbolic, model_inputs, feed = {}, {}, {}, {}
    for name, array in input_data.items():
        if id(array) not in by_id:
            by_id[id(array)] = keras.Input(
                shape=array.shape[1:], dtype=str(array.dtype), name=name
            )
            model_inputs[name], feed[name] = by_id[id(array)], array
        symbolic[name] = by_id[id(array)]
    return symbolic, model_inputs, feed


def _shapes(expected_output_shape):
    """A list of shapes: one shape, or a tuple of them for several outputs."""
    if all(d is None or isinstance(d, int) for d in expected_output_shape):
        return [tuple(expected_output_shape)]
    return [tuple(shape) for shape in expected_output_shape]


def _numpy_list(outputs):
    return [ops.convert_to_numpy(o) for o in keras.tree.flatten(outputs)]


def run_layer_test(
    layer_cls,
    init_kwargs,
    input_data,
    expected_output_shape,
    expected_num_trainable_weights,
    expected_num_non_trainable_weights=0,
    call_kwargs=None,
    tmp_path=None,
    run_training_check=True,
    run_mixed_precision_check=True,
):
    """Runs the standard checks of a zoo layer.

    Args:
        layer_cls: the layer class.
        init_kwargs: dict. Constructor arguments.
        input_data: dict of name -> numpy array: the tensor call arguments.
            Passing the same array under two names (self-attention) feeds one
            `keras.Input` to both.
        expected_output_shape: tuple. Output shape for `input_data`; a tuple
            of shapes for a layer with several outputs, in their order.
        expected_num_trainable_weights: int.
        expected_num_non_trainable_weights: int. Defaults to 0.
        call_kwargs: dict. Non-tensor call arguments (`use_causal_mask`...).
        tmp_path: path-like. Folder for the `.keras` file; required for the
            save/load check.
        run_training_check: bool. Fit one step and check the weights move
            (a layer without trainable weights has nothing to move).
        run_mixed_precision_check: bool. Call under `mixed_bfloat16`.

    Returns:
        The eagerly built layer.

    Example:
    >>> run_layer_test(  # doctest: +SKIP
    ...     MultiHeadAttention, {"num_heads": 2}, {"query": x, "value": x},
    ...     expected_output_shape=x.shape, expected_num_trainable_weights=8)
    """
    call_kwargs = call_kwargs or {}
    shapes = _shapes(expected_output_shape)

    # Config round trip.
    layer = layer_cls(**init_kwargs)
    config = layer.get_config()
    restored = layer_cls.from_config(config)
    assert restored.get_config() == config, "get_config/from_config round trip"

    # Eager call and weight counts.
    outputs = keras.tree.flatten(layer(**input_data, **call_kwargs))
    got = [tuple(o.shape) for o in outputs]
    assert got == shapes, f"eager output shapes {got} != {shapes}"
    assert len(layer.trainable_weights) == expected_num_trainable_weights
    assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights
    assert all(np.all(np.isfinite(o)) for o in _numpy_list(outputs))

    # Symbolic call inside a functional model.
    symbolic, model_inputs, feed = _symbolic_inputs(input_data)
    sym_layer = layer_cls(**init_kwargs)
    sym_outputs = keras.tree.flatten(sym_layer(**symbolic, **call_kwargs))
    got = [tuple(o.shape) for o in sym_outputs]
    assert got == [(None, *shape[1:]) for shape in shapes], got
    model = keras.Model(model_inputs, sym_outputs)
    expected = _numpy_list(model(feed))

    # .keras save and safe load.
    if tmp_path is not None:
        path = os.path.join(str(tmp_path), f"{layer_cls.__name__}.keras")
        model.save(path)
        loaded = keras.saving.load_model(path, safe_mode=True)
        for value, reference in zip(_numpy_list(loaded(feed)), expected, strict=True):
            np.testing.assert_allclose(value, reference, rtol=1e-5, atol=1e-6)

    # One fit step moves the trainable weights.
    if run_training_check:
        before = [ops.convert_to_numpy(w).copy() for w in model.trainable_weights]
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        target = [np.ones_like(e) for e in expected]
        history = model.fit(
            feed, target, batch_size=len(target[0]), epochs=1, verbose=0
        )
        assert np.isfinite(history.history["loss"][0])
        after = [ops.convert_to_numpy(w) for w in model.trainable_weights]
        assert any(not np.allclose(b, a) for b, a in zip(before, after, strict=True))

    # Mixed precision: bfloat16 compute, float32 variables.
    if run_mixed_precision_check:
        mixed = layer_cls(**init_kwargs, dtype="mixed_bfloat16")
        for output in keras.tree.flatten(mixed(**input_data, **call_kwargs)):
            assert keras.backend.standardize_dtype(output.dtype) == "bfloat16"
            values = ops.convert_to_numpy(ops.cast(output, "float32"))
            assert np.all(np.isfinite(values))
        assert all(w.dtype == "float32" for w in mixed.weights)
    return layer


def input_gradient(fn, x):
    """d sum(fn(x)) / dx on the active backend.

    Args:
        fn: callable mapping a tensor to a tensor (`keras.ops` inside).
        x: numpy array.

    Returns:
        numpy array of the shape of `x`.
    """
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return np.asarray(jax.grad(lambda t: fn(t).sum())(x))
    if backend == "torch":
        import torch

        t = torch.tensor(x, requires_grad=True)
        fn(t).sum().backward()
        return t.grad.detach().cpu().numpy()
    if backend == "tensorflow":
        import tensorflow as tf

        t = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(t)
            total = tf.reduce_sum(fn(t))
        return tape.gradient(total, t).numpy()
    raise ValueError(f"input_gradient: unsupported backend {backend!r}")


def decisive_seq2seq(name, vocab, eos_bias=None):
    """A tiny untrained seq2seq model whose greedy choices are decisive.

    Untrained logits are nearly flat; larger output weights make greedy
    choices decisive enough that rounding cannot flip a tie between backends
    or between cached and recomputed decoding.

    Args:
        name: a model of `zoo.models.seq2seq.SEQ2SEQ`.
        vocab: int, vocabulary size.
        eos_bias: None, or a logit bias for EOS (e.g. -50: replies run long
            and loop, which decoding options are tested against).

    Returns:
        keras.Model (8 units, 2 heads, 1 layer).
    """
    import keras

    from zoo.models.seq2seq import build_seq2seq
    from zoo.runtime import set_random_seed

    set_random_seed(0)
    model = build_seq2seq(name, vocab, 8, num_heads=2, num_layers=1)
    logits = model.get_layer("logits")
    logits.kernel.assign(logits.kernel * 8.0)
    if eos_bias is not None:
        bias = keras.ops.convert_to_numpy(logits.bias).copy()
        bias[2] = eos_bias
        logits.bias.assign(bias)
    return model


# The words of the tiny corpora the chatbot tests write.
TINY_WORDS = (
    "hello hi how are you fine thanks what is your name bot good day night".split()
)


def write_tsv_corpus(path, rows=48):
    """A tiny seeded `input<TAB>response` corpus for `--corpus tsv`.

    Args:
        path: pathlib.Path of the file to write.
        rows: int, pairs written.

    Returns:
        `path`.

    Example:
    >>> import pathlib, tempfile
    >>> path = write_tsv_corpus(pathlib.Path(tempfile.mkdtemp()) / "pairs.tsv", 3)
    >>> len(path.read_text().splitlines()), path.read_text().count("\\t")
    (3, 3)
    """
    rng = np.random.default_rng(0)
    lines = []
    for i in range(rows):
        q = " ".join(rng.choice(TINY_WORDS, size=3))
        lines.append(f"{q} {i % 7}\t{' '.join(rng.choice(TINY_WORDS, size=2))}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
