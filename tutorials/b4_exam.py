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
# # B4 — An exam problem: causal linear attention is a recurrent network
#
# Sheet B, problem B4 asks to propose an exam problem on the course's
# material and solve it. The report proposes this one (after Katharopoulos
# et al., *Transformers are RNNs*, ICML 2020):
#
# > **Problem** (10 points). In causal linear attention, token i attends to
# > tokens j ≤ i:
# > y_i = φ(q_i)ᵀ Σ_{j≤i} φ(k_j)v_jᵀ / φ(q_i)ᵀ Σ_{j≤i} φ(k_j), with
# > φ: ℝ^{d_k} → ℝ^M and H heads.
# > (a) Write it as a recurrence with a state that does not grow with i
# > (4 points).
# > (b) Give the memory and time per generated token and compare with
# > softmax attention using a key/value cache; after how many tokens t* does
# > the state become smaller than the cache? (5 points)
# > (c) What is lost? (1 point)
#
# Marking: (a) recurrence, state and its induction proof 4; (b) memory and
# time per token of both models 3, the crossover t* 2; (c) 1. Below, each
# part's solution, then a check computed with `zoo.layers.LinearAttention`,
# `zoo.layers.MultiHeadAttention` and plain numpy.

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
import matplotlib.pyplot as plt
import numpy as np
from keras import ops

from zoo.layers import LinearAttention, MultiHeadAttention

print("backend:", keras.backend.backend())
rng = np.random.default_rng(0)
L = 48 if SMALL else 96  # tokens generated
d, H, d_k = 16, 2, 8  # model width, heads, head width (d_v = d_k)
x = rng.normal(size=(1, L, d)).astype("float32")
layer = LinearAttention(num_heads=H, key_dim=d_k, feature_map="taylor")
y_causal = ops.convert_to_numpy(layer(x, x, use_causal_mask=True))[0]
M = layer.feature_map.output_dim(d_k)
print(f"L = {L} tokens, H = {H} heads of d_k = d_v = {d_k}, M = {M} features")

# %% [markdown]
# ## (a) The recurrence
#
# Define the state (S_i, z_i) with S_0 = 0 ∈ ℝ^{M×d_v} and z_0 = 0 ∈ ℝ^M:
#
# S_i = S_{i−1} + φ(k_i)v_iᵀ,  z_i = z_{i−1} + φ(k_i),  y_i = S_iᵀφ(q_i) / φ(q_i)ᵀz_i.
#
# By induction on i, S_i = Σ_{j≤i} φ(k_j)v_jᵀ and z_i = Σ_{j≤i} φ(k_j)
# (true for i = 0, empty sums; adding the i-th terms keeps it true), which
# are the numerator and denominator sums of y_i: a recurrent network whose
# hidden state is (S_i, z_i). Neither grows with i.
#
# We run this recurrence in numpy on the layer's own projections (weights
# W_q, b_q, ... of shapes (d, H, d_k), (H, d_k), ...; W_o is (H, d_v, d))
# and compare it with the masked sums written out in full and with the
# layer's causal call on the whole sequence.

# %%
wq, bq, wk, bk, wv, bv, wo, bo = (ops.convert_to_numpy(w) for w in layer.weights)
q, k, v = (
    np.einsum("ld,dhe->lhe", x[0], w) + b for w, b in ((wq, bq), (wk, bk), (wv, bv))
)
fq, fk = (ops.convert_to_numpy(layer.feature_map(a)) for a in (q, k))  # (L, H, M)
S, z = np.zeros((H, M, d_k)), np.zeros((H, M))
y = np.zeros((L, H, d_k))
for i in range(L):
    S += np.einsum("hm,he->hme", fk[i], v[i])
    z += fk[i]
    y[i] = np.einsum("hm,hme->he", fq[i], S) / np.einsum("hm,hm->h", fq[i], z)[:, None]
weights = np.tril(np.einsum("ihm,jhm->hij", fq, fk))  # (H, L, L), j <= i only
sums = np.einsum("hij,jhe->ihe", weights, v) / weights.sum(-1).T[..., None]
out = np.einsum("lhe,hed->ld", y, wo) + bo  # the output projection
print(f"recurrence against the full sums: max |diff| {np.abs(y - sums).max():.1e}")
print(f"recurrence, then W_o, against the causal call: "
      f"{np.abs(out - y_causal).max():.1e}")  # fmt: skip

# %% [markdown]
# The layer has this recurrent form as its decoding API: `get_initial_state`
# gives (S_0, z_0) and `step` one token advances it. We generate the L
# tokens one at a time, keep the bytes the state holds after each, and
# compare the outputs with the causal call (the report asks for a relative
# difference below 10⁻⁵) and the final state with the numpy S_L, z_L.

# %%
state = layer.get_initial_state(batch_size=1)
steps, state_bytes = [], []
for i in range(L):
    y_i, state = layer.step(x[:, i : i + 1], state)
    steps.append(ops.convert_to_numpy(y_i)[0, 0])
    state_bytes.append(sum(ops.convert_to_numpy(s).nbytes for s in state))
error = np.abs(np.array(steps) - y_causal).max() / np.abs(y_causal).max()
print(f"step by step against the causal call: max relative |diff| = {error:.1e}")
assert error < 1e-5, "the recurrent form must give the causal outputs"
for name, ours, theirs in zip("Sz", (S, z), state, strict=True):
    gap = np.abs(ops.convert_to_numpy(theirs)[0] - ours).max() / np.abs(ours).max()
    print(f"the layer's final {name} against numpy's {name}_L: "
          f"relative |diff| {gap:.1e}")  # fmt: skip

# %% [markdown]
# ## (b) Memory and time per token
#
# The state holds M(d_v + 1) numbers per head whatever i is, and one step
# costs O(Md_v): adding φ(k_i)v_iᵀ and φ(k_i) to (S, z), then φ(q_i)ᵀS and
# φ(q_i)ᵀz, is 2M(d_v + 1) multiplications (plus d_k² for each of φ(q_i),
# φ(k_i)). Softmax attention with a key/value cache stores t(d_k + d_v)
# numbers per head after t tokens and spends t(d_k + d_v) on token t (t
# scores q_tᵀk_j, then the weighted sum of t values): its memory grows
# linearly, and generating L tokens costs O(L²(d_k + d_v)) against
# O(LMd_v). The state is the smaller once t(d_k + d_v) > M(d_v + 1):
#
# t* = ⌊M(d_v + 1)/(d_k + d_v)⌋ + 1; with d_k = d_v = 8, M = 1 + 8 + 8² = 73:
# t* = ⌊657/16⌋ + 1 = 42.
#
# To check it we measure `MultiHeadAttention`'s cache: `step` over the
# first t tokens from an empty cache leaves the keys and values of t
# tokens. The cache grows with t and the state does not, so a bisection
# over t = 1..L finds the first t where the cache is larger.

# %%
t_star = M * (d_k + 1) // (d_k + d_k) + 1
state_claim = 4 * H * M * (d_k + 1)  # float32 bytes
print(f"t* = floor({M * (d_k + 1)}/{2 * d_k}) + 1 = {t_star}; "
      f"state {state_claim} bytes")  # fmt: skip
print("state bytes after each of the", L, "tokens:", sorted(set(state_bytes)))
softmax = MultiHeadAttention(num_heads=H, key_dim=d_k)
softmax(x, x)  # builds it
cache_bytes = {}


def cache_size(t):
    if t not in cache_bytes:
        _, cache = softmax.step(x[:, :t], softmax.get_initial_state(1))
        cache_bytes[t] = sum(ops.convert_to_numpy(c).nbytes for c in cache)
    return cache_bytes[t]


low, high = 1, L  # the first t with cache > state lies in [low, high]
while low < high:
    middle = (low + high) // 2
    if cache_size(middle) > state_claim:
        high = middle
    else:
        low = middle + 1
for t in sorted({1, L // 4, t_star - 1, t_star, L} | set(cache_bytes)):
    print(f"t = {t:3d}: cache {cache_size(t):5d} bytes (4tH(d_k+d_v) = "
          f"{4 * t * H * 2 * d_k:5d}), state {state_bytes[t - 1]} bytes")  # fmt: skip
print(f"first t with a larger cache (bisection): {low}; derivation: t* = {t_star}")

# %% [markdown]
# Per head and token, in multiplications, and the two memories side by side:

# %%
linear_step = 2 * M * (d_k + 1) + 2 * d_k**2
for t in (1, t_star, 1000):
    print(f"token {t:4d}: linear state {linear_step}, cache {t * 2 * d_k}")
print("the cache's step costs more from token", linear_step // (2 * d_k) + 1, "on")
tokens = np.arange(1, L + 1)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(tokens, state_bytes, label="linear state (S, z), measured")
ax.plot(tokens, 4 * tokens * H * 2 * d_k, "--", label="cache, 4tH(d_k + d_v)")
probed = sorted(cache_bytes)
ax.plot(probed, [cache_bytes[t] for t in probed], "o", label="cache, measured")
ax.axvline(t_star, c="gray", ls=":", label=f"t* = {t_star}")
ax.set(xlabel="tokens generated t", ylabel="bytes (float32)")
ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ## (c) What is lost
#
# The state is a fixed-size summary. A cache keeps every key and value, so
# softmax attention can in principle pick out any earlier token; the linear
# state can only return φ(q)ᵀS, a linear function of φ(q) with a fixed
# M×d_v matrix S. Even the best S, chosen knowing all values, cannot make
# φ(k_j)ᵀS = v_jᵀ hold for more tokens than the rank of Φ(K): exact recall
# fails once i ≫ M (the recall/throughput trade-off). The Taylor map has
# rank 1 + d_k + d_k(d_k+1)/2 = 45 here (vec(kkᵀ) repeats its off-diagonal
# entries), so the least-squares residual of Φ(K)S = V turns non-zero past
# t = 45. And the kernel 1 + s + s²/2 = ((1 + s)² + 1)/2 only approximates
# exp(s): close near s = 0, far off for |s| > 1, and never below 1/2.

# %%
for t in (16, 45, 46, 100) if SMALL else (16, 45, 46, 100, 400, 1600):
    keys, values = rng.normal(size=(t, d_k)), rng.normal(size=(t, d_k))
    features = ops.convert_to_numpy(layer.feature_map(keys.astype("float32")))
    best, *_ = np.linalg.lstsq(features, values, rcond=None)  # the best S
    miss = np.linalg.norm(features @ best - values) / np.linalg.norm(values)
    rank = np.linalg.matrix_rank(features)
    print(f"t = {t:4d} stored: rank of Phi(K) {rank}, relative recall error {miss:.2f}")
s = np.einsum("ihe,jhe->hij", q, k) / np.sqrt(d_k)  # the layer's scores, scaled
kernel = np.einsum("ihm,jhm->hij", fq, fk)
print(f"phi(q).phi(k) = 1 + s + s^2/2: max |diff| "
      f"{np.abs(kernel - (1 + s + s**2 / 2)).max():.1e}")  # fmt: skip
for value in (-4, -2, 0, 1, 2, 4):
    print(f"s = {value:2d}: exp(s) = {np.exp(value):7.3f}, "
          f"1 + s + s^2/2 = {1 + value + value**2 / 2:5.1f}")  # fmt: skip
print(f"this layer's s lie in [{s.min():.1f}, {s.max():.1f}]; the kernel is never "
      f"below 1/2 (min {kernel.min():.2f}), so no key is ever ignored")  # fmt: skip

# %% [markdown]
# ## Exercise
#
# 1. With `TaylorFeatureMap(symmetric=True)` as the feature map,
#    M = 1 + 8 + 36 = 45. Compute t* and check it with the layers as above.
# 2. A preallocated cache (`softmax.get_initial_state(1, max_length=L)`)
#    has a fixed size too. How many bytes, and what does it cost per token?
# 3. With `value_dim=16` (d_v = 16, d_k = 8), redo t* by hand and with the
#    layers.
