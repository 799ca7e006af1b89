"""Incremental decoding of the transformer encoder-decoders (`TransformerSeq2Seq`)."""

import keras
import numpy as np
from keras import ops

from zoo.layers.inference_call import inference_call
from zoo.models.seq2seq.generator import Seq2SeqGenerator


class TransformerGenerator(Seq2SeqGenerator):
    """Incremental decoding with each decoder block's self-attention cache.

    Softmax attention keeps keys and values: preallocated for `max_length`
    tokens when the decoder says how many it generates (the same shapes at
    every step), growing by one row per token otherwise. The encoder
    memory's cross-attention keys and values are projected once, in
    `encode`. Linear attention keeps its recurrent state (S, z), of
    constant size.

    On JAX and TensorFlow, a step whose state keeps its shapes
    (preallocated caches, linear attention) runs as one compiled program
    (see `Seq2SeqGenerator`); torch, and the growing cache, run eagerly,
    calling the sublayers' `call` where `Layer.__call__` adds nothing
    (`zoo.layers.inference_call`), or on torch through `torch.compile`
    with `torch_compile`.

    Args:
        model: a `TransformerSeq2Seq`.
        jit_compile: bool. Compile on JAX and TensorFlow. Defaults to
            `True` (ignored on torch).
        torch_compile: False, True or a `torch.compile` backend: compile
            the fixed-shape step on torch (see `Seq2SeqGenerator`).
            Defaults to False.

    Example:
    >>> from zoo.models.seq2seq.transformer_seq2seq import TransformerSeq2Seq
    >>> model = TransformerSeq2Seq(20, dim=8, num_heads=2, num_layers=1)
    >>> generator = TransformerGenerator(model)
    >>> memory = generator.encode(np.array([[5, 6, 7]], "int32"))
    >>> state = generator.initial_state(memory, max_length=4)
    >>> logits, state = generator.step(np.array([[1]], "int32"), state, memory)
    >>> tuple(logits.shape)
    (1, 20)
    """

    def __init__(self, model, jit_compile=True, torch_compile=False):
        super().__init__(model, jit_compile, torch_compile)
        self.embedding = model.embedding
        self.encoders = list(model.encoder_blocks)
        self.decoders = list(model.decoder_blocks)
        self.encoder_norm = model.encoder_norm
        self.decoder_norm = model.decoder_norm
        self.logits = model.logits_layer

    def _encode(self, sources):
        """The encoder outputs, their mask and each block's projected memory.

        Returns:
            dict: `outputs` `(B, S, d)`, `mask` `(B, S)` and, for softmax
            attention, `cross_key_value`: per decoder block, the
            cross-attention's `(K, V)` of the outputs.
        """
        mask = ops.not_equal(sources, 0)
        x = self.embedding(sources)
        for block in self.encoders:
            x = block(x, mask=mask)
        outputs = self.encoder_norm(x)
        memory = {"outputs": outputs, "mask": mask}
        projected = [block.cross_key_value(outputs) for block in self.decoders]
        if all(kv is not None for kv in projected):
            memory["cross_key_value"] = projected
        return memory

    def initial_state(self, memory, max_length=None):
        """The decoder blocks' caches before the first token.

        Args:
            memory: from `encode`.
            max_length: int or None. Tokens that `step` will be given at
                most: the key/value caches are preallocated to that length
                (None: they grow at every step).

        Returns:
            dict: `caches` (one per decoder block) and `position`.
        """
        batch = ops.shape(memory["outputs"])[0]
        return {
            "caches": [
                block.get_initial_state(batch, max_length) for block in self.decoders
            ],
            "position": 0,
        }

    def loop_state(self, memory, max_length):
        """`initial_state` preallocated for `max_length`, its position a tensor."""
        state = self.initial_state(memory, max_length)
        return {**state, "position": ops.convert_to_tensor(0, "int32")}

    def loop_step(self, tokens, state, memory):
        """`step` in traceable ops on a `loop_state` (position a tensor)."""
        return self._step_eager(tokens, state, memory)

    def step(self, tokens, state, memory):
        """Next-token logits `(B, V)` for `tokens` `(B, 1)`; returns (logits, state)."""
        if self._fixed_shapes(state):
            return self._step_compiled(tokens, state, memory)
        return self._step_eager(tokens, state, memory)

    def _fixed_shapes(self, state):
        """Whether this step runs compiled: a compiling backend, fixed shapes."""
        if not self.compiles_steps():
            return False
        return all(
            block.attention == "linear" or len(cache) == 3
            for block, cache in zip(self.decoders, state["caches"], strict=True)
        )

    def _step_eager(self, tokens, state, memory):
        # Eager on torch, Keras' per-call work outweighs these layers' kernels.
        tokens = ops.convert_to_tensor(tokens, "int32")
        y = inference_call(self.embedding, tokens, start=state["position"])
        projected = memory.get("cross_key_value", [None] * len(self.decoders))
        caches = []
        for block, cache, cross in zip(
            self.decoders, state["caches"], projected, strict=True
        ):
            y, cache = block.step(
                y, memory["outputs"], cache, memory["mask"], cross_key_value=cross
            )
            caches.append(cache)
        logits = inference_call(self.logits, inference_call(self.decoder_norm, y))
        logits = logits[:, -1]
        return logits, {"caches": caches, "position": state["position"] + 1}

    def _step_compiled(self, tokens, state, memory):
        """`_step_eager` as one compiled program (traced once per shape)."""
        position = state["position"]
        for cache in state["caches"]:
            # Compiled, the cache's length has no value to check: check here.
            if len(cache) == 3 and position + tokens.shape[1] > cache[0].shape[1]:
                raise ValueError(
                    f"step: the key/value cache holds {cache[0].shape[1]} "
                    f"positions (initial_state's max_length) and {position} are "
                    f"filled; {tokens.shape[1]} new token(s) do not fit. Pass a "
                    "larger max_length."
                )
        # `_fixed_shapes` said this backend compiles: `_run` compiles.
        logits, caches = self._run(
            "step",
            self._caches_step,
            ops.convert_to_tensor(tokens, "int32"),
            state["caches"],
            # A traced value, not a constant (one program for all positions).
            ops.convert_to_tensor(np.asarray(position, "int32")),
            memory,
            step=True,
        )
        return logits, {"caches": caches, "position": position + 1}

    def _caches_step(self, tokens, caches, position, memory):
        """`_step_eager` on arrays only (the position a traced int32)."""
        logits, state = self._step_eager(
            tokens, {"caches": caches, "position": position}, memory
        )
        return logits, state["caches"]

    @staticmethod
    def reorder(structure, indices):
        """Selects batch rows `indices`; scalars (a cache's length) are shared."""
        indices = ops.convert_to_tensor(indices, "int32")
        return keras.tree.map_structure(
            lambda x: (
                ops.take(x, indices, axis=0) if len(getattr(x, "shape", ())) else x
            ),
            structure,
        )

    def attention_weights(self, sources, decoder_inputs):
        """Cross-attention of the last decoder block, averaged over heads.

        Linear attention gives its normalized kernel weights
        phi(q).phi(k) / sum_j phi(q).phi(k_j).
        """
        memory = self.encode(sources)
        y = self.embedding(decoder_inputs)
        for block in self.decoders[:-1]:
            y = block(y, memory["outputs"], encoder_outputs_mask=memory["mask"])
        scores = self.decoders[-1].cross_attention_scores(
            y, memory["outputs"], memory["mask"]
        )
        return ops.mean(scores, axis=1)
