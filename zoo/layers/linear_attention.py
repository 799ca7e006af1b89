"""Kernelized multi-head attention in time linear in the sequence length."""

import keras
from keras import ops

from zoo.layers.attention_checks import check_positive_int as _check_positive_int
from zoo.layers.attention_checks import shape_str
from zoo.layers.attention_layout import expand_to_scores_rank
from zoo.layers.feature_maps import get_feature_map
from zoo.layers.projected_attention import ProjectedAttention


@keras.saving.register_keras_serializable(package="zoo")
class LinearAttention(ProjectedAttention):
    """Linear attention: Z = D^-1 Phi(Q) (Phi(K)^T V), D = diag(Phi(Q) Phi(K)^T 1).

    Replacing exp(q . k) by a kernel phi(q) . phi(k) lets the products be
    re-associated (sheet A1.3): Phi(K)^T V is an `(M, d_v)` matrix computed
    once, so each head costs O(L M d_v) instead of O(L^2 d). Projections,
    call signature and Keras masking are those of
    `zoo.layers.MultiHeadAttention`, so swapping one for the other in a
    model is one argument.

    Forms:
    - non-causal: one pass over the keys;
    - causal (`use_causal_mask=True`): chunked prefix sums; inside a chunk of
      `chunk_size` positions the (C x C) weights are explicit, across chunks
      the running state S = sum phi(k) v^T, z = sum phi(k) carries the past.
      No L x L matrix is built;
    - recurrent: `get_initial_state` and `step` process new tokens given
      (S, z), for incremental decoding with memory constant in the length.

    Padding: masked keys have phi(k) set to 0 after the feature map (phi(0)
    is not 0); padded queries (`query_mask`) receive zero attention, as in
    `MultiHeadAttention`. An `attention_mask` whose query axis has size 1
    (`(B, 1, S)`, `(1, S)`, `(B, H, 1, S)`: a key mask, per head or not)
    applies in linear time; one that varies over the queries (a general
    `(B, T, S)`) cannot and is rejected. Feature maps, sums and states are
    float32 even under mixed precision; `epsilon` guards the denominator.

    Args:
        num_heads: int. Number of heads H.
        key_dim: int. Head size; defaults to `d // num_heads`.
        value_dim: int. Size of each value head. Defaults to `key_dim`.
        feature_map: `"taylor"` (second-order Maclaurin, default), `"elu"`,
            `"relu"`, `"favor"`, a `FeatureMap` or a callable.
        feature_dim: int. Size of each query/key head fed to the feature map,
            separate from the value size (Based uses 16 with `"taylor"`).
            Defaults to `key_dim`.
        chunk_size: int. Chunk length C of the causal form. Defaults to 128
            (fastest of 32..256 at L = 16384 on all three CPU backends).
        epsilon: float. Added to the denominator. Defaults to `1e-6`.
        dropout: float. Dropout on the attention output (before W^(o)).
        **kwargs: `use_bias`, `output_shape` (int or tuple), initializers,
            regularizers, constraints, `seed` and base layer arguments
            (`dtype` may be a `DTypePolicyMap`), as in `MultiHeadAttention`.
            The projections are the same `EinsumDense` sublayers, so LoRA
            and int8 quantization apply to them as well. Inputs are rank 3:
            `attention_axes`, `use_gate` and `sliding_window` are
            `MultiHeadAttention`'s only.

    Call arguments:
        As `MultiHeadAttention`; `return_attention_scores=True` also returns
        the implied `(B, H, T, S)` weights, built explicitly (O(L^2), for
        inspection).

    Returns:
        `(B, T, output_shape)`, and the weights when requested.

    Example:
    >>> import numpy as np
    >>> layer = LinearAttention(num_heads=2, feature_dim=4, chunk_size=2)
    >>> x = np.random.default_rng(0).normal(size=(1, 5, 8)).astype("float32")
    >>> y = layer(x, x, use_causal_mask=True)
    >>> state = layer.get_initial_state(batch_size=1)
    >>> y0, state = layer.step(x[:, :3], state)
    >>> y1, state = layer.step(x[:, 3:], state)
    >>> from keras import ops
    >>> steps = ops.convert_to_numpy(ops.concatenate([y0, y1], axis=1))
    >>> bool(np.allclose(steps, ops.convert_to_numpy(y), atol=1e-5))
    True

    References:
        Katharopoulos et al., "Transformers are RNNs", 2020.
        Arora et al., "Simple linear attention language models balance the
        recall-throughput tradeoff", 2024.
    """

    def __init__(
        self,
        num_heads,
        key_dim=None,
        value_dim=None,
        feature_map="taylor",
        feature_dim=None,
        chunk_size=128,
        epsilon=1e-6,
        **kwargs,
    ):
        super().__init__(num_heads, key_dim=key_dim, value_dim=value_dim, **kwargs)
        _check_positive_int("feature_dim", feature_dim, allow_none=True)
        _check_positive_int("chunk_size", chunk_size)
        if not float(epsilon) > 0:
            raise ValueError(
                f"epsilon: expected a positive float. Received: epsilon={epsilon!r}"
            )
        self.feature_dim = feature_dim
        self.chunk_size = chunk_size
        self.epsilon = float(epsilon)
        self._feature_map_spec = feature_map if isinstance(feature_map, str) else None
        self.feature_map = get_feature_map(feature_map, seed=self.seed)

    def _qk_dim(self, key_dim):
        return self.feature_dim or key_dim

    def _build_attention(self, qk_dim, value_dim):
        self.feature_map.build((None, qk_dim))
        self._num_features = self.feature_map.output_dim(qk_dim)

    # -- the three forms -------------------------------------------------------

    def _features(self, q, k, v, key_mask):
        """Head-major float32 Phi(Q) (B,H,T,M), Phi(K) (B,H,S,M), [V, 1] (B,H,S,d_v+1).

        Head-major layout turns every product below into a plain batched
        matmul (no permuted copies of the M-wide features). The column of
        ones makes the normalizer Phi(Q) Phi(K)^T 1 come out of the same
        products as the numerator. Padded keys (`key_mask`, `(B|1, H|1, S)`)
        get Phi(K) = 0.
        """

        def heads_first(x):  # (B, L, H, ·) -> (B, H, L, ·)
            return ops.transpose(ops.cast(x, "float32"), (0, 2, 1, 3))

        phi_q = self.feature_map(heads_first(q))
        phi_k = self.feature_map(heads_first(k))
        if key_mask is not None:
            phi_k = phi_k * ops.cast(key_mask, "float32")[..., None]
        v = heads_first(v)
        return phi_q, phi_k, ops.concatenate([v, ops.ones_like(v[..., :1])], -1)

    def _normalize(self, weighted):
        """(B, H, T, d_v+1) numerator|denominator -> (B, T, H, d_v) output."""
        out = weighted[..., :-1] / (weighted[..., -1:] + self.epsilon)
        return ops.transpose(out, (0, 2, 1, 3))

    def _global(self, phi_q, phi_k, v):
        kv = ops.matmul(ops.swapaxes(phi_k, -1, -2), v)  # (B, H, M, d_v+1)
        return self._normalize(ops.matmul(phi_q, kv))

    def _causal(self, phi_q, phi_k, v, kv_state=None, key_sum=None):
        """Chunked causal attention continuing from the state (S, z)."""
        batch, heads, length = ops.shape(phi_q)[:3]
        chunk = self.chunk_size
        if isinstance(length, int):
            chunk = max(1, min(chunk, length))
        num_chunks = (length + chunk - 1) // chunk
        pad = num_chunks * chunk - length

        def chunked(x):  # (B, H, L, ·) -> (B, H, N, C, ·)
            if not isinstance(pad, int) or pad:
                x = ops.pad(x, [[0, 0], [0, 0], [0, pad], [0, 0]])
            return ops.reshape(x, (batch, heads, num_chunks, chunk, ops.shape(x)[-1]))

        phi_q, phi_k, v = chunked(phi_q), chunked(phi_k), chunked(v)
        kv_chunk = ops.matmul(ops.swapaxes(phi_k, -1, -2), v)  # (B, H, N, M, d_v+1)
        if kv_state is None:
            initial = ops.zeros_like(kv_chunk[:, :, 0])
        else:  # the public state (S, z) is the same matrix, split.
            initial = ops.concatenate([kv_state, key_sum[..., None]], axis=-1)
        # State before chunk n: the initial state plus chunks 0..n-1.
        kv_before = ops.cumsum(
            ops.concatenate([initial[:, :, None], kv_chunk[:, :, :-1]], axis=2), axis=2
        )
        weighted = ops.matmul(phi_q, kv_before)  # (B, H, N, C, d_v+1)
        # Inside a chunk: explicit (C x C) kernel weights, lower triangle.
        within = ops.matmul(phi_q, ops.swapaxes(phi_k, -1, -2))
        within = within * ops.tril(ops.ones((chunk, chunk), "float32"))
        weighted = weighted + ops.matmul(within, v)
        weighted = ops.reshape(weighted, (batch, heads, num_chunks * chunk, -1))
        final = kv_before[:, :, -1] + kv_chunk[:, :, -1]  # (B, H, M, d_v+1)
        new_state = (final[..., :-1], final[..., -1])
        return self._normalize(weighted[:, :, :length]), new_state

    def _weights(self, phi_q, phi_k, use_causal_mask):
        """The implied (B, H, T, S) attention weights, built explicitly."""
        scores = ops.matmul(phi_q, ops.swapaxes(phi_k, -1, -2))
        if use_causal_mask:
            length = ops.shape(scores)[-1]
            scores = scores * ops.tril(ops.ones((length, length), "float32"))
        return scores / (ops.sum(scores, axis=-1, keepdims=True) + self.epsilon)

    def _key_mask(self, key_padding_mask, attention_mask):
        """Both key masks as one `(B|1, H|1, S)` mask, or None.

        An attention mask must not vary over the queries: linear attention
        sums the keys once for all of them.
        """
        masks = []
        if key_padding_mask is not None:
            masks.append(ops.cast(key_padding_mask, "bool")[:, None, :])
        if attention_mask is not None:
            mask = expand_to_scores_rank(attention_mask, 2, 1)  # (B|1, H|1, T|1, S)
            if mask.shape[-2] != 1:
                raise ValueError(
                    "attention_mask: LinearAttention cannot apply a mask that "
                    "varies over the queries in linear time; it takes key masks "
                    "of query axis 1, (B, 1, S) or (B, H, 1, S). Pass key padding "
                    "through Keras masking or value_mask=(B, S), and causality "
                    "through use_causal_mask=True. Received: "
                    f"attention_mask.shape={shape_str(attention_mask.shape)}"
                )
            masks.append(ops.cast(mask[:, :, 0], "bool"))
        if not masks:
            return None
        if len(masks) == 1:
            return masks[0]
        return ops.logical_and(masks[0], masks[1])

    def _attend(
        self,
        q,
        k,
        v,
        query_mask=None,
        key_padding_mask=None,
        attention_mask=None,
        use_causal_mask=False,
        return_attention_scores=False,
        training=None,
    ):
        key_mask = self._key_mask(key_padding_mask, attention_mask)
        if use_causal_mask and q.shape[1] != k.shape[1]:
            raise ValueError(
                "use_causal_mask: LinearAttention's causal form needs queries and "
                f"keys of the same length. Received: {q.shape[1]} queries, "
                f"{k.shape[1]} keys"
            )
        out_dtype = v.dtype
        phi_q, phi_k, v = self._features(q, k, v, key_mask)
        if use_causal_mask:
            out, _ = self._causal(phi_q, phi_k, v)
        else:
            out = self._global(phi_q, phi_k, v)
        if query_mask is not None:  # padded queries attend to nothing
            out = out * ops.cast(query_mask, out.dtype)[:, :, None, None]
        out = self.dropout_layer(ops.cast(out, out_dtype), training=training)
        weights = None
        if return_attention_scores:
            weights = self._weights(phi_q, phi_k, use_causal_mask)
            if query_mask is not None:
                weights = weights * ops.cast(query_mask, "float32")[:, None, :, None]
            weights = ops.cast(weights, out_dtype)
        return out, weights

    # -- recurrent API ---------------------------------------------------------

    def get_initial_state(self, batch_size):
        """The empty recurrent state (S, z) for `batch_size` sequences.

        Args:
            batch_size: int.

        Returns:
            Tuple `(S, z)`: float32 zeros `(B, H, M, d_v)` and `(B, H, M)`.
        """
        if not self.built:
            raise ValueError(
                "get_initial_state: the layer is not built; call it once on "
                "inputs (or call build()) first"
            )
        heads, features = self.num_heads, self._num_features
        return (
            ops.zeros(
                (batch_size, heads, features, self._value_dim_resolved), "float32"
            ),
            ops.zeros((batch_size, heads, features), "float32"),
        )

    def step(self, query, state, value=None, key=None, value_mask=None):
        """Causal attention of new tokens to themselves and to the state.

        One token at a time (`T_new = 1`) is the recurrent form
        S <- S + phi(k) v^T, z <- z + phi(k), y = phi(q) S / (phi(q) . z);
        longer inputs (a prompt) are processed chunk-wise in one call.

        Args:
            query: `(B, T_new, d)` new tokens.
            state: `(S, z)` from `get_initial_state` or a previous `step`.
            value: `(B, T_new, d_v_in)`; defaults to `query`.
            key: defaults to `value`.
            value_mask: optional `(B, T_new)` padding mask of the new tokens.

        Returns:
            Tuple `(output, new_state)`: `(B, T_new, output_shape)` and the
            updated `(S, z)`.
        """
        q, k, v, _ = self._project_step(query, state, value, key, "(S, z)")
        key_mask = None if value_mask is None else ops.cast(value_mask, "bool")[:, None]
        phi_q, phi_k, v = self._features(q, k, v, key_mask)
        out, new_state = self._causal(phi_q, phi_k, v, *state)
        return self._output(ops.cast(out, self.compute_dtype)), new_state

    def get_config(self):
        config = super().get_config()
        feature_map = self._feature_map_spec or keras.saving.serialize_keras_object(
            self.feature_map
        )
        config.update(
            {
                "feature_map": feature_map,
                "feature_dim": self.feature_dim,
                "chunk_size": self.chunk_size,
                "epsilon": self.epsilon,
            }
        )
        return config
