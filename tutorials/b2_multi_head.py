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
# # B2 — Multi-head attention: score scaling, cost and low rank
#
# Sheet B2, problems B2.i–B2.iii. An input X ∈ ℝ^{N×d} (N tokens of
# dimension d) goes through H heads: Q_h = XW_h^(q), K_h = XW_h^(k),
# V_h = XW_h^(v) ∈ ℝ^{N×d_h}, H_h = Softmax(Q_hK_hᵀ/√d_h)V_h, and
# O = Concat[H_1, …, H_H] W^(o). We derive why the scores are divided by
# √d_h, count the multiplications of O, and rewrite O as a sum of per-head
# maps of rank d_h, checking each result numerically with plain numpy and
# the zoo's `zoo.layers.MultiHeadAttention`.

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

from zoo.layers import MultiHeadAttention

print("backend:", keras.backend.backend())
rng = np.random.default_rng(0)

# %% [markdown]
# ## B2.i — Mean and variance of a score
#
# Fix two inputs x_i, x_j ∈ ℝ^{1×d} with ‖x_i‖ = ‖x_j‖ = 1 and draw the
# entries of W_h^(q), W_h^(k) ∈ ℝ^{d×d_h} i.i.d. with mean 0 and variance
# σ². A coordinate of q_i = x_i W_h^(q) is q_ia = Σ_k x_ik W^(q)_ka, a sum
# of independent mean-0 terms, so E[q_ia] = 0 and
# Var[q_ia] = σ² Σ_k x_ik² = σ²‖x_i‖². Different coordinates a ≠ b use
# different columns of the matrix, so they are independent; the same holds
# for k_j with ‖x_j‖², and q_i is independent of k_j (different matrices).
#
# The score α_ij = q_i k_jᵀ/√d_h = (1/√d_h) Σ_a q_ia k_ja is a sum of d_h
# independent terms of mean E[q_ia]E[k_ja] = 0 and variance
# E[q_ia²]E[k_ja²] = σ⁴‖x_i‖²‖x_j‖². Hence
#
# E[α_ij] = 0,  Var[α_ij] = (1/d_h) · d_h · σ⁴‖x_i‖²‖x_j‖² = **σ⁴**,
#
# while the unscaled product q_i k_jᵀ has variance **d_h σ⁴**: it grows with
# the head width. We check both by Monte Carlo, drawing fresh weights in
# every trial (the relative error of a variance estimated from n samples of
# a variable of kurtosis κ is about √((κ−1)/n), a few per cent here).

# %%
d, sigma = 16, 0.5
trials = 2_000 if SMALL else 20_000
x_i, x_j = (v / np.linalg.norm(v) for v in rng.normal(size=(2, d)))
print(f"trials: {trials}; sigma^4 = {sigma**4}")
print(" d_h   E[alpha]  Var[alpha] (sigma^4)  Var[q k^T] (d_h sigma^4)"
      "  kurtosis (3+6/d_h)")  # fmt: skip
for d_h in (4, 16, 64, 256):
    raw = []
    for _ in range(trials // 500):  # 500 trials at a time keeps memory small
        w_q, w_k = rng.normal(0.0, sigma, size=(2, 500, d, d_h))
        raw.append(((x_i @ w_q) * (x_j @ w_k)).sum(-1))
    raw = np.concatenate(raw)  # q_i k_j^T, one per trial
    alpha = raw / np.sqrt(d_h)
    kurtosis = (alpha**4).mean() / alpha.var() ** 2
    print(f"{d_h:4d}  {alpha.mean():+8.4f}  {alpha.var():.4f} ({sigma**4:.4f})"
          f"       {raw.var():8.3f} ({d_h * sigma**4:6.3f})"
          f"        {kurtosis:.2f} ({3 + 6 / d_h:.2f})")  # fmt: skip

# %% [markdown]
# The last column is the central limit theorem at work: each term q_ia k_ja
# is a product of two Gaussians (kurtosis 9, heavy-tailed), but their sum
# over d_h independent coordinates tends to a normal law (kurtosis 3; here
# exactly 3 + 6/d_h, up to the sampling noise of a fourth moment). So
# q_i k_jᵀ ≈ 𝒩(0, d_h σ⁴): its typical size is σ²√d_h.
# Without the 1/√d_h, wider heads give larger scores, and the softmax of
# large scores is nearly one-hot: almost all weight on the largest score,
# and its Jacobian diag(p) − ppᵀ, through which every gradient flows, is
# almost zero. Dividing by √d_h keeps the scores 𝒩(0, σ⁴) whatever d_h is.
# We score one query against N = 32 unit-norm keys with σ = 1:

# %%
N = 32
print(" d_h  | largest weight   entropy (log N = 3.47)  |Jacobian|_F")
print("      | scaled unscaled  scaled unscaled         scaled unscaled")
for d_h in (4, 16, 64, 256):
    rows = {"scaled": [], "unscaled": []}
    for _ in range(50 if SMALL else 400):
        x = rng.normal(size=(N + 1, d))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        w_q, w_k = rng.normal(size=(2, d, d_h))  # sigma = 1
        raw = (x[0] @ w_q) @ (x[1:] @ w_k).T
        for name, s in (("scaled", raw / np.sqrt(d_h)), ("unscaled", raw)):
            p = np.exp(s - s.max())
            p /= p.sum()
            jacobian = np.diag(p) - np.outer(p, p)
            entropy = -(p * np.log(np.maximum(p, 1e-300))).sum()
            rows[name].append((p.max(), entropy, np.linalg.norm(jacobian)))
    s, u = (np.mean(rows[k], axis=0) for k in ("scaled", "unscaled"))
    print(f"{d_h:4d}  |  {s[0]:.2f}   {u[0]:.2f}      {s[1]:.2f}   {u[1]:.2f}"
          f"             {s[2]:.3f}   {u[2]:.3f}")  # fmt: skip

# %% [markdown]
# Scaled, the three columns barely move with d_h. Unscaled, the largest
# weight tends to 1 and the entropy to 0 as d_h grows, and once the weights
# are nearly one-hot the Jacobian shrinks too (at d_h = 4 the unscaled
# scores are only twice as spread and it is still larger): the softmax
# saturates and stops passing gradient.
#
# ## B2.ii — How many multiplications O takes
#
# Per head, with d_h = d/H (exp costs O(1) and is not a multiplication):
#
# | stage | multiplications |
# |---|---|
# | Q_h, K_h, V_h = XW_h: three (N×d)(d×d_h) products | 3 N d d_h |
# | Q_h K_hᵀ: (N×d_h)(d_h×N) | N² d_h |
# | scaling by 1/√d_h | N² |
# | softmax normalization (each entry times 1/row sum) | N² |
# | A_h V_h: (N×N)(N×d_h) | N² d_h |
#
# Summed over H heads (H d_h = d), plus the output projection
# (N×d)(d×d): 3Nd² + N²d + 2HN² + N²d + Nd² = **4Nd² + 2N²d + 2HN²**.
# We recompute O in numpy from the weights of a `MultiHeadAttention`
# (without biases), counting every product as it runs, and compare both
# the output with the layer's and the count with the formula. The layer
# stores W^(q), W^(k), W^(v) as (d, H, d_h) kernels and W^(o) as
# (H, d_h, d).


# %%
def counted_attention(layer, x):
    """O of `layer` for x (N, d) in float64 numpy, and its multiplications."""
    count = {"mul": 0}

    def matmul(a, b):
        count["mul"] += a.shape[0] * a.shape[1] * b.shape[1]
        return a @ b

    def scale(a, factor):
        count["mul"] += a.size
        return a * factor

    w_q, w_k, w_v = (
        ops.convert_to_numpy(k).astype("float64")
        for k in (layer.query_kernel, layer.key_kernel, layer.value_kernel)
    )
    w_o = ops.convert_to_numpy(layer.output_kernel).astype("float64")
    heads, d_h = w_q.shape[1], w_q.shape[2]
    outputs = []
    for h in range(heads):
        q, k, v = matmul(x, w_q[:, h]), matmul(x, w_k[:, h]), matmul(x, w_v[:, h])
        s = scale(matmul(q, k.T), 1 / np.sqrt(d_h))
        e = np.exp(s - s.max(axis=1, keepdims=True))
        a = scale(e, 1 / e.sum(axis=1, keepdims=True))
        outputs.append(matmul(a, v))
    return matmul(np.concatenate(outputs, axis=1), w_o.reshape(heads * d_h, -1)), count


sizes = ((8, 16, 2), (16, 32, 4)) if SMALL else ((8, 16, 2), (16, 32, 4), (64, 64, 8))
for n, d, heads in sizes:
    layer = MultiHeadAttention(num_heads=heads, key_dim=d // heads, use_bias=False)
    x = rng.normal(size=(n, d))
    x32 = x[None].astype("float32")
    o_zoo = ops.convert_to_numpy(layer(x32, x32))[0]
    o_numpy, count = counted_attention(layer, x)
    formula = 4 * n * d**2 + 2 * n**2 * d + 2 * heads * n**2
    print(f"N={n:3d} d={d:3d} H={heads}: counted {count['mul']:>9,}, "
          f"4Nd^2+2N^2d+2HN^2 = {formula:>9,}; "
          f"max |O_numpy - O_zoo| = {np.abs(o_numpy - o_zoo).max():.1e}")  # fmt: skip

# %% [markdown]
# The cost is O(Nd² + N²d): the projections dominate for short sequences
# (N < 2d), the two N×N products for long ones, and the number of heads
# enters only through the 2HN² element-wise terms.
#
# ## B2.iii — O as a sum of low-rank maps
#
# Split W^(o) ∈ ℝ^{d×d} into H row blocks W_h^(o) ∈ ℝ^{d_h×d}, one per
# head. A concatenation times a matrix is the sum of the block products, so
#
# O = Σ_h H_h W_h^(o) = Σ_h H̃_h X W^(h), with H̃_h = Softmax(Q_hK_hᵀ/√d_h)
# ∈ ℝ^{N×N} and W^(h) = W_h^(v) W_h^(o) ∈ ℝ^{d×d}.
#
# We take H̃_h from the layer itself (`return_attention_scores=True` returns
# the (B, H, N, N) softmax weights) and rebuild O from the per-head maps.

# %%
n, d, heads = 6, 16, 4
layer = MultiHeadAttention(num_heads=heads, key_dim=d // heads, use_bias=False)
x = rng.normal(size=(1, n, d)).astype("float32")
o, scores = (ops.convert_to_numpy(t) for t in layer(x, x, return_attention_scores=True))
w_v = ops.convert_to_numpy(layer.value_kernel)  # (d, H, d_h)
w_o = ops.convert_to_numpy(layer.output_kernel)  # (H, d_h, d): the row blocks
w_h = [w_v[:, h] @ w_o[h] for h in range(heads)]
rebuilt = sum(scores[0, h] @ x[0] @ w_h[h] for h in range(heads))
print(f"max |O - sum_h H~_h X W^(h)| = {np.abs(o[0] - rebuilt).max():.1e}")
print("ranks of W^(h):", [int(np.linalg.matrix_rank(w)) for w in w_h],
      f"(d_h = {d // heads}, d = {d})")  # fmt: skip

# %% [markdown]
# W^(h) factors through d_h dimensions, so rank(W^(h)) ≤ d_h = d/H < d, with
# equality for generic weights. The two forms are therefore not
# equivalent: Σ_h H̃_h X W^(h) with free W^(h) ∈ ℝ^{d×d} is strictly more
# general, since a full-rank map cannot be written as W_h^(v) W_h^(o).
# Multi-head attention is its rank-d_h restriction, with 2d·d_h instead of
# d² parameters per head (and H̃_h is not free either: it is a row-stochastic
# softmax of X-dependent scores). By the Eckart–Young theorem the best
# rank-d_h approximation of a random full-rank d×d matrix misses by the
# norm of its trailing d − d_h singular values:

# %%
full = rng.normal(size=(d, d))
singular = np.linalg.svd(full, compute_uv=False)
missed = np.sqrt((singular[d // heads :] ** 2).sum() / (singular**2).sum())
print(f"parameters per head: 2 d d_h = {2 * d * (d // heads)}, d^2 = {d * d}")
print(f"relative error of the best rank-{d // heads} approximation: {missed:.2f}")

# %% [markdown]
# ## Exercise
#
# 1. Repeat the Monte Carlo of B2.i with ‖x_i‖ = 2 and ‖x_j‖ = 1/2, then
#    with ‖x_i‖ = ‖x_j‖ = 2. Which of the two changes Var[α_ij], and by how
#    much? Compare with σ⁴‖x_i‖²‖x_j‖².
# 2. Give the layer biases (`use_bias=True`) and extend `counted_attention`
#    to add them (`layer.query_bias` and so on). Does the count of
#    multiplications change? Does O still match the layer's output?
# 3. For d = 512 and H = 8, find the N at which the two N×N products cost
#    as much as the four projections.
