"""The interface between a trained seq2seq model and the decoders."""

import functools
import warnings

import keras
import numpy as np
from keras import ops


class Seq2SeqGenerator:
    """Runs a seq2seq model one token at a time with cached state.

    Subclasses implement `_encode`, `initial_state`, `step` and, for
    `generate_greedy` (cached greedy search), `loop_step` and where the
    state grows `loop_state`; the naive
    reference `recompute` (the whole model on the whole prefix, no cache) is
    shared, and the tests hold every subclass to it.

    On JAX and TensorFlow, the encoder pass and a step whose state keeps
    its shapes run as one XLA-compiled program each (`_compile`: `jax.jit`,
    `tf.function(jit_compile=True)`): run op by op, a step dispatches dozens
    to hundreds of small ops (on JAX each compiled the first time it meets a
    shape). On torch they run eagerly, or with `torch_compile` the step
    only, through `torch.compile` (one graph per batch size and cache
    length; the first step of each pays the compilation: a 2-layer
    128-wide transformer, 42 s on 2 CPU cores with inductor, 11 s with
    the "eager" backend, which only removes Python's per-op work).

    Args:
        model: a model from `zoo.models.seq2seq.build_seq2seq`.
        jit_compile: bool. Compile on JAX and TensorFlow. Defaults to
            `True` (ignored on torch).
        torch_compile: False, True or a `torch.compile` backend name
            ("inductor", "eager", ...). On torch, run each fixed-shape
            `step` as a compiled graph (True: "inductor"). Defaults to
            False (ignored on JAX and TensorFlow).
    """

    def __init__(self, model, jit_compile=True, torch_compile=False):
        self.model = model
        self.jit_compile = jit_compile
        self.torch_compile = torch_compile
        self._programs = {}  # name -> compiled function, built on first use

    def compiles(self):
        """Whether steps and `generate_greedy` run as XLA programs (JAX, TensorFlow)."""
        return self.jit_compile and keras.backend.backend() in ("jax", "tensorflow")

    def compiles_steps(self):
        """Whether fixed-shape steps run compiled: `compiles()`, or torch
        with `torch_compile`."""
        if self.compiles():
            return True
        return bool(self.torch_compile) and keras.backend.backend() == "torch"

    def _compile(self, function):
        """`function(*args)` as one program reading the model's current weights.

        JAX: `jax.jit`, the weights passed as arguments at every call (not
        baked in as constants). TensorFlow: `tf.function` compiled by XLA,
        which reads the variables themselves (on CPU, XLA against a plain
        graph: cached transformer decoding of 32 tokens 0.133 -> 0.080 s,
        the LSTM's 0.110 -> 0.070 s, at about 1 s more compiling for the
        first call). Either way training the model later is seen; the
        program is traced once per shape of `args`.
        """
        if keras.backend.backend() == "torch":
            return _torch_compiled(function, self.torch_compile)
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            # Keras marks the layers XLA cannot compile (the cuDNN LSTM on
            # a GPU): such a model keeps a plain graph.
            xla = all(layer.supports_jit for layer in self.model._flatten_layers())
            return tf.function(function, jit_compile=xla)
        import jax

        variables = self.model.variables

        def pure(values, *args):
            mapping = list(zip(variables, values, strict=True))
            with keras.StatelessScope(state_mapping=mapping):
                return function(*args)

        jitted = jax.jit(pure)
        return lambda *args: jitted([variable.value for variable in variables], *args)

    def _run(self, name, function, *args, step=False):
        """`function(*args)`, compiled once under `name` where the backend
        compiles (`step`: a decoding step, which torch compiles too when
        asked: see `compiles_steps`)."""
        if not (self.compiles_steps() if step else self.compiles()):
            return function(*args)
        if name not in self._programs:
            self._programs[name] = self._compile(function)
        return self._programs[name](*args)

    def encode(self, sources):
        """Encoder pass over `(B, S)` int ids; returns the memory (a dict).

        One compiled program per input shape on JAX and TensorFlow (on JAX
        an eager recurrent encoder traces and compiles its scan at every
        call).
        """
        return self._run("encode", self._encode, sources)

    def _encode(self, sources):
        """The encoder pass itself, run eagerly or traced by `encode`."""
        raise NotImplementedError

    def initial_state(self, memory):
        """The decoder's cache before the first token."""
        raise NotImplementedError

    def step(self, tokens, state, memory):
        """Next-token logits `(B, V)` for `(B, 1)` tokens; returns (logits, state)."""
        raise NotImplementedError

    def vocabulary_size(self):
        """V, the length of the logits `step` returns (the model's last axis)."""
        return int(self.model.outputs[0].shape[-1])

    def loop_state(self, memory, max_length):
        """The cache for at most `max_length` steps, in arrays of fixed shapes.

        What `generate_greedy`'s loop carries from step to step; defaults to
        `initial_state(memory)` (a state whose shapes never change).
        """
        return self.initial_state(memory)

    def loop_step(self, tokens, state, memory):
        """`step` in traceable ops only, on a `loop_state` (the same shapes out)."""
        raise NotImplementedError(
            f"{type(self).__name__} has no loop_step: implement it (and "
            "loop_state if its state grows) for generate_greedy and greedy"
        )

    def generate_greedy(
        self,
        sources,
        max_length,
        no_repeat_ngram=0,
        repetition_penalty=1.0,
        mmi_weight=0.0,
        mmi_steps=0,
    ):
        """Greedy decoding with the whole loop as one program where it compiles.

        The encoder, every step and every choice run inside `ops.while_loop`
        (`zoo.greedy_loop`): on JAX and TensorFlow one XLA program per
        (batch, input length, `max_length`, options) that never returns to
        Python between tokens; on torch the same loop runs eagerly.
        `zoo.decoding.greedy` calls this for cached decoding on JAX and
        TensorFlow (on torch its step-by-step loop is faster).

        Args:
            sources: int array `(B, S)` of input ids (0 = padding).
            max_length: int, tokens generated at most (EOS included).
            no_repeat_ngram: int, n-gram blocking (0: off).
            repetition_penalty: float >= 1 (1.0: off).
            mmi_weight, mmi_steps: the anti-language-model term of
                `zoo.decoding.greedy` (0.0: off).

        Returns:
            int32 numpy array `(B, max_length)`: ids, EOS then PAD after
            the end (the loop stops once every row has ended).

        Example:
        >>> from zoo.models.seq2seq import build_seq2seq, generator_for
        >>> generator = generator_for(build_seq2seq("lstm", 20, 8))
        >>> ids = generator.generate_greedy(np.array([[5, 6, 7]], "int32"), 4)
        >>> ids.shape, ids.dtype.name
        ((1, 4), 'int32')
        """
        from zoo.decoding import check_options
        from zoo.greedy_loop import greedy_loop

        check_options(no_repeat_ngram, repetition_penalty, mmi_weight, mmi_steps)
        options = (max_length, no_repeat_ngram, float(repetition_penalty),
                   float(mmi_weight), int(mmi_steps))  # fmt: skip
        program = functools.partial(greedy_loop, self, *options)
        sources = np.asarray(sources, dtype="int32")
        ids = self._run(f"greedy/{options}", program, sources)
        return np.asarray(ops.convert_to_numpy(ids), dtype="int32")

    def recompute(self, sources, prefix, position=-1):
        """Logits `(B, V)` at `position` of `prefix`: the full model, no cache.

        Compiled like `step` where the backend compiles (one program per
        prefix shape), so that cached and recomputed decoding are compared
        like for like.
        """
        logits = self._run("model", self._full_model, sources, prefix)
        return logits[:, position]

    def _full_model(self, sources, prefix):
        return self.model([sources, prefix], training=False)

    def attention_weights(self, sources, decoder_inputs):
        """`(B, T, S)` attention of each reply token over the input, or None."""
        return None

    @staticmethod
    def reorder(structure, indices):
        """Selects batch rows `indices` of every tensor in a state or memory."""
        indices = ops.convert_to_tensor(indices, "int32")
        return keras.tree.map_structure(
            lambda x: ops.take(x, indices, axis=0) if hasattr(x, "shape") else x,
            structure,
        )


def _torch_compiled(function, backend):
    """`function` through `torch.compile` (fixed shapes), without autograd.

    Decoding never differentiates: under `no_grad` the graph records no
    backward. `backend` True means torch's default, inductor.
    """
    import torch

    compiled = torch.compile(
        function, backend="inductor" if backend is True else backend, dynamic=False
    )

    def run(*args):
        with torch.no_grad(), warnings.catch_warnings():
            # Tracing Keras' dtype rules, dynamo warns once that it looks
            # through their `lru_cache` (pure functions of dtypes: harmless).
            warnings.filterwarnings("ignore", message=".*lru_cache", module="torch")
            return compiled(*args)

    return run
