"""The projections of the attention layers, as Keras `EinsumDense` sublayers.

`EinsumProjections` is a mixin of `zoo.layers.ProjectedAttention`: it
creates the query/key/(gate)/value/output projections the way
`keras.layers.MultiHeadAttention` does (same equations, names and order),
runs them either as plain products of their kernels (the fast path: one
fused product for self-attention) or as layers (quantized projections,
activity regularizers), and reads files saved before the projections were
sublayers.
"""

import warnings

import keras
from keras import ops

from zoo.layers import attention_layout as layout


def copy_initializer(initializer):
    """A sublayer's own copy of `initializer`, as Keras' MultiHeadAttention
    makes one.

    A Keras initializer is rebuilt from its config, so that two sublayers
    never share one random stream (a seeded one keeps its seed: they then
    start from the same draws); a name or a plain function is returned as
    it is.

    Example:
    >>> init = keras.initializers.GlorotUniform()
    >>> copy_initializer(init) is init, copy_initializer("zeros")
    (False, 'zeros')
    """
    if not isinstance(initializer, keras.initializers.Initializer):
        return initializer
    return initializer.__class__.from_config(initializer.get_config())


class EinsumProjections:
    """Builds and applies the projections of a `ProjectedAttention` layer.

    The host layer sets `num_heads`, `use_bias`, the initializers,
    regularizers and constraints, and after `build` the resolved head sizes
    `_qk_dim_resolved`, `_value_dim_resolved` and `_output_dims`.
    """

    def _sublayer_kwargs(self):
        return {
            "kernel_initializer": copy_initializer(self.kernel_initializer),
            "bias_initializer": copy_initializer(self.bias_initializer),
            "kernel_regularizer": self.kernel_regularizer,
            "bias_regularizer": self.bias_regularizer,
            "activity_regularizer": self.projection_activity_regularizer,
            "kernel_constraint": self.kernel_constraint,
            "bias_constraint": self.bias_constraint,
            "dtype": self.dtype_policy,
        }

    def _projection(self, name, input_shape, bound_dims, output_dims, **kwargs):
        """An EinsumDense over the last `bound_dims` axes, built on `input_shape`."""
        free = len(input_shape) - bound_dims
        equation, bias_axes = layout.projection_equation(
            free, bound_dims, len(output_dims)
        )
        dense = keras.layers.EinsumDense(
            equation,
            output_shape=[None] * (free - 1) + list(output_dims),
            bias_axes=bias_axes if self.use_bias else None,
            name=name,
            **kwargs,
            **self._sublayer_kwargs(),
        )
        dense.build(tuple(input_shape))
        return dense

    # -- projections ---------------------------------------------------------

    def _direct(self, dense):
        """Whether `dense` may run as a plain product with its kernel."""
        return (
            dense.quantization_mode is None
            and dense.activity_regularizer is None
            and dense.compute_dtype == self.compute_dtype
        )

    def _flat(self, dense):
        """`dense`'s kernel as a matrix `(d_in, H * d_h)` and bias `(H * d_h,)`."""
        # Explicit casts: `step` runs outside Keras' autocast.
        dtype = self.compute_dtype
        kernel = dense.kernel
        k = ops.cast(ops.reshape(kernel, (ops.shape(kernel)[0], -1)), dtype)
        b = (
            None
            if dense.bias is None
            else ops.cast(ops.reshape(dense.bias, (-1,)), dtype)
        )
        return k, b

    def _heads(self, x, dense, size):
        """`(..., H * size)` -> `(..., H, size)`, with the gate's sigmoid."""
        x = ops.reshape(x, (*ops.shape(x)[:-1], self.num_heads, size))
        return ops.sigmoid(x) if dense is self._gate_dense else x

    def _apply(self, dense, x, size):
        """One projection `(..., d_in)` -> `(..., H, size)`."""
        if not self._direct(dense):
            with warnings.catch_warnings():
                # The Keras masks of the inputs are this layer's; the
                # projection need not (and cannot) carry them.
                warnings.filterwarnings("ignore", message=".*does not support masking")
                return dense(x)
        weight, bias = self._flat(dense)
        out = ops.matmul(x, weight)
        if bias is not None:
            out = out + bias
        return self._heads(out, dense, size)

    def _project(self, query, value, key):
        """Returns q `(.., T, H, d_qk)`, k, v `(.., S, H, ·)` and the gate or None."""
        qk, vd = self._qk_dim_resolved, self._value_dim_resolved
        parts = [(self._query_dense, qk), (self._key_dense, qk)]
        if self._gate_dense is not None:
            parts.append((self._gate_dense, vd))
        parts.append((self._value_dense, vd))
        self_attention = value is query and (key is None or key is query)
        if self_attention and all(self._direct(dense) for dense, _ in parts):
            # Self-attention: one (d, H * (2 d_qk [+ d_v] + d_v)) product.
            flat = [self._flat(dense) for dense, _ in parts]
            fused = ops.matmul(query, ops.concatenate([w for w, _ in flat], axis=1))
            if self.use_bias:
                fused = fused + ops.concatenate([b for _, b in flat], axis=0)
            # Slices, not ops.split: on torch, split with indices goes
            # through a tensor and back to a list (a host sync per call).
            outs, start = [], 0
            for dense, size in parts:
                end = start + self.num_heads * size
                outs.append(self._heads(fused[..., start:end], dense, size))
                start = end
        else:
            key = value if key is None else key
            inputs = [query, key] + [query] * (len(parts) == 4) + [value]
            outs = [
                self._apply(dense, x, size)
                for x, (dense, size) in zip(inputs, parts, strict=True)
            ]
        gate = outs[2] if len(outs) == 4 else None
        return outs[0], outs[1], outs[-1], gate

    def _project_step(self, query, state, value, key, state_name):
        """Shared start of `step`: build, validate, cast and project new tokens.

        Returns:
            q (B,T,H,d_qk), k (B,T,H,d_qk), v (B,T,H,d_v) of the new tokens
            and the gate (B,T,H,d_v) or None.
        """
        value = query if value is None else value
        if not self.built:
            self.build(query.shape, value.shape, None if key is None else key.shape)
        self._check_rank3("query", query.shape)
        if len(state) != 2:
            raise ValueError(
                f"state: expected the pair {state_name} from get_initial_state. "
                f"Received {len(state)} items"
            )
        query = ops.cast(query, self.compute_dtype)
        value = query if value is query else ops.cast(value, self.compute_dtype)
        if key is not None:
            key = ops.cast(key, self.compute_dtype)
        return self._project(query, value, key)

    def _output(self, heads_out, gate=None):
        """(..., H, d_v) -> (..., *output_shape) through W^(o), gated if asked."""
        if gate is not None:
            heads_out = heads_out * ops.cast(gate, heads_out.dtype)
        dense = self._output_dense
        if not self._direct(dense):
            return dense(heads_out)
        dtype = self.compute_dtype
        kernel = dense.kernel
        shape = ops.shape(kernel)
        w = ops.cast(ops.reshape(kernel, (shape[0] * shape[1], -1)), dtype)
        lead = ops.shape(heads_out)[:-2]
        out = ops.matmul(ops.reshape(heads_out, (*lead, ops.shape(w)[0])), w)
        if dense.bias is not None:
            out = out + ops.cast(ops.reshape(dense.bias, (-1,)), dtype)
        if len(self._output_dims) > 1:
            out = ops.reshape(out, (*lead, *self._output_dims))
        return out

    def load_own_variables(self, store):
        """Also reads files saved before the projections were sublayers.

        Those held the eight (four without biases) projection variables on
        this layer itself, in `get_weights()` order; now the layer has none
        of its own and each projection loads its pair.
        """
        if not len(store.keys()):
            return
        denses = (
            self._query_dense,
            self._key_dense,
            self._value_dense,
            self._output_dense,
        )
        targets = [v for d in denses for v in (d.kernel, d.bias) if v is not None]
        if len(store.keys()) != len(targets) or self._gate_dense is not None:
            raise ValueError(
                f"Layer '{self.name}' keeps its variables in its projections; "
                f"a file of the older layout holds {len(targets)} of them here. "
                f"Received {len(store.keys())} variables."
            )
        for i, variable in enumerate(targets):
            variable.assign(store[str(i)])
        for dense in denses:
            _skip_next_empty_load(dense)


def _skip_next_empty_load(layer):
    """Lets `layer` pass over the empty store an older file has for it, once."""
    load = layer.load_own_variables

    def load_own_variables(store):
        del layer.load_own_variables
        if len(store.keys()):
            load(store)

    layer.load_own_variables = load_own_variables
