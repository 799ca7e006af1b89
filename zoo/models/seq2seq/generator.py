"""The interface between a trained seq2seq model and the decoders."""

import keras
from keras import ops


class Seq2SeqGenerator:
    """Runs a seq2seq model one token at a time with cached state.

    Subclasses implement `encode`, `initial_state` and `step`; the naive
    reference `recompute` (the whole model on the whole prefix, no cache) is
    shared, and the tests hold every subclass to it.

    On JAX and TensorFlow, the encoder pass and a step whose state keeps
    its shapes run as one XLA-compiled program each (`_compile`: `jax.jit`,
    `tf.function(jit_compile=True)`): run op by op, a step dispatches dozens
    to hundreds of small ops (on JAX each compiled the first time it meets a
    shape). On torch they run eagerly.

    Args:
        model: a model from `zoo.models.seq2seq.build_seq2seq`.
        jit_compile: bool. Compile on JAX and TensorFlow. Defaults to
            `True` (ignored on torch).
    """

    def __init__(self, model, jit_compile=True):
        self.model = model
        self.jit_compile = jit_compile
        self._programs = {}  # name -> compiled function, built on first use

    def _compiles(self):
        """Whether steps may run as one compiled program: JAX or TensorFlow."""
        return self.jit_compile and keras.backend.backend() in ("jax", "tensorflow")

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

    def _run(self, name, function, *args):
        """`function(*args)`, compiled once under `name` where the backend compiles."""
        if not self._compiles():
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
