# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A1 — The cost of attention and the Maclaurin feature map
#
# Sheet A, problems A1.1–A1.3. Softmax attention compares every query with
# every key, so its cost grows with the square of the sequence length L.
# Replacing exp(qᵀk) by a truncated Maclaurin series turns the kernel into
# an inner product of feature vectors, φ(q)ᵀφ(k), and that lets the products
# be regrouped so the cost is linear in L. This tutorial checks each step
# with the zoo's layers: `zoo.layers.TaylorFeatureMap` and
# `zoo.layers.LinearAttention`.

# %%
# Setup: keras-zoo (installed when missing) and the backend.
import importlib.util
import os
import pathlib
import subprocess
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")  # "jax", "torch" or "tensorflow"
if importlib.util.find_spec("zoo") is None:
    here = pathlib.Path.cwd().resolve()
    clone = next(
        (p for p in (here, *here.parents) if (p / "zoo" / "layers").is_dir()), None
    )
    source = os.environ.get("ZOO_SOURCE") or (clone and str(clone))
    if not source:
        raise RuntimeError(
            "keras-zoo is missing: set ZOO_SOURCE to its git+URL or a clone"
        )
    if not source.startswith(("git+", "file:")):
        source = pathlib.Path(source).resolve().as_uri()
    backend = os.environ["KERAS_BACKEND"]
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q",
                           f"keras-zoo[{backend}] @ {source}"])  # fmt: skip
SMALL = os.environ.get("ZOO_TUTORIAL_SIZE") == "small"  # seconds, for the tests

# %%
import keras
import numpy as np
from keras import ops

from zoo.layers import LinearAttention, TaylorFeatureMap

print("backend:", keras.backend.backend())
rng = np.random.default_rng(0)

# %% [markdown]
# ## A1.1 — What softmax attention costs
#
# For Q, K, V ∈ ℝ^{L×D}, Z = Softmax(QKᵀ)V takes three steps:
#
# 1. S = QKᵀ: L² dot products of length D, **L²D** multiplications;
# 2. the row-wise softmax of the L×L matrix S: **O(L²)** exponentials and sums;
# 3. Z = AV: again **L²D** multiplications.
#
# So the cost is O(L²D) time and O(L²) memory for A. Doubling L quadruples
# the work. We count it for a few lengths:

# %%
D = 16
for L in (128, 256, 512):
    print(f"L = {L:4d}: QK^T and AV take {2 * L * L * D:>12,} multiplications")

# %% [markdown]
# ## A1.2 — exp(qᵀk) as an inner product of features
#
# The Maclaurin series of exp(s), truncated after the quadratic term, is
# 1 + s + s²/2. With s = qᵀk,
#
# s² = (Σ_i q_i k_i)² = Σ_{i,j} (q_i q_j)(k_i k_j) = vec(qqᵀ)ᵀ vec(kkᵀ),
#
# so 1 + s + s²/2 = φ(q)ᵀφ(k) with φ(x) = [1, x, vec(xxᵀ)/√2], of dimension
# M = 1 + D + D². The zoo's `TaylorFeatureMap(scale=1.0)` is this map (its
# default scale divides s by √D as attention does). We check the identity
# on random vectors:

# %%
phi = TaylorFeatureMap(scale=1.0)
q = rng.normal(size=(5, D)).astype("float32") / 4
k = rng.normal(size=(5, D)).astype("float32") / 4
s = (q * k).sum(axis=1)
kernel = ops.convert_to_numpy(ops.sum(phi(q) * phi(k), axis=-1))
print("M =", phi.output_dim(D), "= 1 + D + D^2 =", 1 + D + D * D)
print(
    "largest |phi(q).phi(k) - (1 + s + s^2/2)|:",
    np.abs(kernel - (1 + s + s**2 / 2)).max(),
)
print(
    "and the error of the truncation against exp(s):", np.abs(kernel - np.exp(s)).max()
)

# %% [markdown]
# The outer product xxᵀ is symmetric, so D(D−1)/2 of its entries are
# repeats: keeping the upper triangle (off-diagonal entries scaled by √2)
# gives the same kernel with M = 1 + D + D(D+1)/2. With K terms of the
# series, M = Σ_{i<K} D^i, or with symmetry the number of monomials of
# degree below K, C(D+K−1, K−1).

# %%
symmetric = TaylorFeatureMap(scale=1.0, symmetric=True)
kernel_sym = ops.convert_to_numpy(ops.sum(symmetric(q) * symmetric(k), axis=-1))
print(
    "symmetric M =",
    symmetric.output_dim(D),
    "; same kernel:",
    np.allclose(kernel_sym, kernel, atol=1e-5),
)

# %% [markdown]
# ## A1.3 — Regrouping the products: linear in L
#
# With Φ(Q), Φ(K) ∈ ℝ^{L×M} stacking the features, the approximate
# attention is D⁻¹ Φ(Q) Φ(K)ᵀ V with D = diag(Φ(Q) Φ(K)ᵀ 1_L). Computed
# left to right it is still L×L; computed as Φ(Q) (Φ(K)ᵀ V) it never forms
# an L×L matrix: Φ(K)ᵀV is M×D and Φ(K)ᵀ1_L is a vector of length M, each
# built in one pass over the sequence. We compare the two orders in numpy,
# then the zoo's `LinearAttention` with the explicit formula.

# %%
L = 64 if SMALL else 512
Q, K, V = (rng.normal(size=(L, D)).astype("float32") / 4 for _ in range(3))
FQ, FK = (ops.convert_to_numpy(phi(x)) for x in (Q, K))
quadratic = (FQ @ FK.T) @ V / (FQ @ FK.T).sum(axis=1, keepdims=True)
linear = FQ @ (FK.T @ V) / (FQ @ FK.sum(axis=0))[:, None]
print("both orders agree to", np.abs(quadratic - linear).max())
print(f"L x L order: {L * L * (FQ.shape[1] + D):,} multiplications; "
      f"linear order: {2 * L * FQ.shape[1] * D:,}")  # fmt: skip

# %% [markdown]
# `LinearAttention` adds the projections of a multi-head layer around the
# same computation. Causal masking (a token sees only the past) turns the
# sums over the sequence into prefix sums S_i = Σ_{j≤i} φ(k_j)v_jᵀ and
# z_i = Σ_{j≤i} φ(k_j), so y_i = φ(q_i)ᵀS_i / φ(q_i)ᵀz_i, and a decoder can
# carry (S, z) from token to token in constant memory. We check the layer's
# causal output against the explicit masked L×L formula on its own
# projections.

# %%
layer = LinearAttention(num_heads=1, key_dim=D, feature_map="taylor")
x = rng.normal(size=(1, L, D)).astype("float32")
y = ops.convert_to_numpy(layer(x, x, use_causal_mask=True))[0]
wq, bq, wk, bk, wv, bv, wo, bo = (ops.convert_to_numpy(w) for w in layer.weights)
fq = ops.convert_to_numpy(layer.feature_map(x[0] @ wq[:, 0] + bq[0]))
fk = ops.convert_to_numpy(layer.feature_map(x[0] @ wk[:, 0] + bk[0]))
v = x[0] @ wv[:, 0] + bv[0]
weights = np.tril(fq @ fk.T)
explicit = (weights @ v / weights.sum(axis=1, keepdims=True)) @ wo[0] + bo
print(
    "LinearAttention (causal) against the explicit formula:", np.abs(y - explicit).max()
)

# %% [markdown]
# ## Exercise
#
# 1. Keep three terms of the series (up to s³/6). Write φ for it and check
#    M = 1 + D + D² + D³ by counting; how large is M for D = 64?
# 2. Time `LinearAttention` and `zoo.layers.MultiHeadAttention` on the same
#    input for L = 256, 1024, 4096 and find where the linear form starts to
#    win (the A1.4 tutorial answers this).
