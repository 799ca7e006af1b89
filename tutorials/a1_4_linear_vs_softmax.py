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
# # A1.4 — Linear against softmax attention in practice
#
# Sheet A, problem A1.4. The A1 tutorial showed that the Maclaurin feature
# map lets attention be regrouped as Φ(Q)(Φ(K)ᵀV), linear in the sequence
# length L. Here we count what each form costs in L, D and M, predict the
# length L* where the linear form starts to win, and then measure it by
# timing `zoo.layers.MultiHeadAttention` (softmax) against
# `zoo.layers.LinearAttention` (Taylor map) on the same input. Last, the
# memory side: a decoder's state of fixed size against a growing cache.

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
import statistics

import keras
import matplotlib.pyplot as plt
import numpy as np
from keras import ops

from zoo.bench.runners import keras_layer_runner, timed_rounds
from zoo.layers import LinearAttention, MultiHeadAttention

print("backend:", keras.backend.backend())
rng = np.random.default_rng(0)

# %% [markdown]
# ## The count
#
# Per head, with queries, keys and values of width D (the sheet's notation),
# and a multiply-add counted as 2 flops:
#
# - **softmax**: QKᵀ takes 2L²D flops and the weights times V another 2L²D:
#   T_soft = 4L²D = **O(L²D)**;
# - **linear**: φ(q) and φ(k) take D² products per row each (2LD²);
#   Φ(K)ᵀ[V, 1] takes 2LM(D+1) (the column of ones gives the normalizer
#   Φ(K)ᵀ1_L in the same product) and Φ(Q) times it as much:
#   T_lin = 4LM(D+1) + 2LD² = **O(LMD)**, which is **O(LD³)** for the full
#   map, M = 1 + D + D².
#
# Linear wins once T_soft > T_lin, i.e. for L > L* = M(D+1)/D + D/2 ≈ M:
# the crossover is of the order of the number of features, M ≈ D². We check
# the closed form against where the two counts cross on a fine grid of L:


# %%
def soft_flops(L, D):
    return 4 * L**2 * D


def lin_flops(L, D):
    return 4 * L * (1 + D + D * D) * (D + 1) + 2 * L * D**2


grid = np.geomspace(1, 1e5, 200_001)
for D in (4, 8, 16, 32, 64):
    M = 1 + D + D * D
    L_star = M * (D + 1) / D + D / 2
    counted = grid[np.argmax(soft_flops(grid, D) > lin_flops(grid, D))]
    print(f"D = {D:2d}: M = {M:5d}, L* = {L_star:7.1f} (counts cross at "
          f"{counted:7.1f}), L*/M = {L_star / M:.3f}")  # fmt: skip

# %% [markdown]
# ## Measuring both layers
#
# We take H = 8 heads of width D = 8 (model width d = HD = 64) and
# `feature_dim=8`, so each head's queries and keys enter φ with D = 8 and
# M = 73 features: L* = 86. Both layers have the same four d×d projections
# (8Ld² flops), which adds the same amount to both counts.
#
# The machine's speed drifts, so every round times softmax then linear back
# to back (ABAB...) and we keep each one's median over the rounds.
# `keras_layer_runner` runs a layer the way its backend runs a model in
# `fit` (under `jax.jit` on JAX, `tf.function` on TensorFlow, eagerly on
# PyTorch) and waits for the result; `timed_rounds` warms each function up
# once, then times the rounds.

# %%
H, D = 8, 8
d, M = H * D, 1 + D + D * D
L_star = M * (D + 1) / D + D / 2
softmax = MultiHeadAttention(num_heads=H, key_dim=D)
linear = LinearAttention(num_heads=H, key_dim=D, feature_map="taylor", feature_dim=D)
probe = np.zeros((1, 2, d), "float32")
softmax(probe, probe)  # builds the layers
linear(probe, probe)
print("M of the layer's map:", linear.feature_map.output_dim(D), f"; L* = {L_star:.1f}")

lengths = np.array([32, 64, 128, 256, 512] + ([] if SMALL else [1024, 2048, 4096]))
medians = []
print("     L  softmax ms  linear ms  soft/lin time  soft/lin flops")
for L in lengths:
    x = rng.normal(size=(1, L, d)).astype("float32")
    runners = [keras_layer_runner(softmax, x), keras_layer_runner(linear, x)]
    table = timed_rounds(runners, 3 if SMALL else 5)  # rounds x [soft, lin] s
    medians.append([statistics.median(row[i] for row in table) for i in (0, 1)])
    s, lin = medians[-1]
    print(f"{L:6d}  {s * 1e3:10.2f}  {lin * 1e3:9.2f}  {s / lin:13.2f}"
          f"  {soft_flops(L, D) / lin_flops(L, D):14.2f}")  # fmt: skip
t_soft, t_lin = np.array(medians).T

# %% [markdown]
# ## Slopes and the crossover
#
# On log-log axes a cost c·L^p is a line of slope p: 2 for softmax, 1 for
# linear. At short L both layers mostly pay a fixed price per call
# (dispatch, launches, small copies) that does not grow with L, so we fit
# the slopes on the longest lengths only (L ≥ L_max/8). The measured
# crossover is interpolated in log-log between the last length where
# softmax is still at least as fast and the next one.

# %%
gap = np.log(t_soft / t_lin)  # > 0: linear is faster
slower = np.flatnonzero(gap <= 0)
L_measured = None
if gap[-1] <= 0:
    said = f"beyond the grid (softmax is faster up to L = {lengths[-1]})"
elif slower.size == 0:
    said = f"below the grid (linear is faster from L = {lengths[0]})"
else:
    i = slower[-1]
    step = -gap[i] / (gap[i + 1] - gap[i])
    L_measured = lengths[i] * (lengths[i + 1] / lengths[i]) ** step
    said = f"L = {L_measured:.0f}, {L_measured / L_star:.2f} times L*"
long = lengths >= lengths[-1] / 8
slope = {name: np.polyfit(np.log(lengths[long]), np.log(t[long]), 1)[0]
         for name, t in (("softmax", t_soft), ("linear", t_lin))}  # fmt: skip
print(f"slopes for L >= {lengths[-1] // 8}: softmax {slope['softmax']:.2f} "
      f"(count: 2), linear {slope['linear']:.2f} (count: 1)")  # fmt: skip
print(f"predicted crossover L* = {L_star:.1f}; measured: {said}")

fig, ax = plt.subplots(figsize=(6, 4))
for name, t in (("softmax", t_soft), ("linear", t_lin)):
    ax.loglog(lengths, t * 1e3, "o-", label=f"{name} (slope {slope[name]:.2f})")
ax.axvline(L_star, ls="--", c="gray", label=f"predicted L* = {L_star:.0f}")
if L_measured:
    ax.axvline(L_measured, ls=":", c="k", label=f"measured {L_measured:.0f}")
ax.set(xlabel="sequence length L", ylabel="median forward time (ms)",
       title=f"{keras.backend.backend()}: H = {H}, D = {D}, M = {M}")  # fmt: skip
ax.set_xticks(lengths, [str(n) for n in lengths])
ax.xaxis.set_minor_locator(plt.NullLocator())
ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# A flop count predicts where the *work* is equal, not where the *time* is.
# Model each layer's time as T = a + F/R: a fixed part a per call plus its
# counted flops F (all H heads and the projections' 8Ld²) run at a rate R.
# A least-squares fit in relative error (a/T + F/(RT) ≈ 1) gives a and R;
# where the two fitted curves cross is the crossover that model explains.

# %%
fine = np.geomspace(2, 1e6, 100_001)
fitted = {}
for name, t, flops in (("softmax", t_soft, soft_flops), ("linear", t_lin, lin_flops)):
    design = np.stack([1 / t, (8 * lengths * d**2 + H * flops(lengths, D)) / t], 1)
    (a, inverse_rate), *_ = np.linalg.lstsq(design, np.ones_like(t), rcond=None)
    a = max(a, 0.0)  # (a negative fixed part would be noise)
    fitted[name] = a + (8 * fine * d**2 + H * flops(fine, D)) * inverse_rate
    print(f"{name:7s}: a = {a * 1e3:.2f} ms, R = {1e-9 / inverse_rate:5.1f} GFLOP/s")
behind = np.flatnonzero(fitted["softmax"] <= fitted["linear"])
crossing = "no L"
if behind.size and behind[-1] < fine.size - 1:  # softmax ahead, then behind
    crossing = f"L = {fine[behind[-1] + 1]:.0f}"
print(f"fitted curves cross at {crossing}; flop count: L* = {L_star:.0f}; "
      f"measured: {said}")  # fmt: skip

# %% [markdown]
# The count gives the order of magnitude; the backend gives the factor
# left. A layer that runs its flops k times faster moves the crossover about
# k times towards its own side: PyTorch's fused CPU softmax kernel runs
# fast (the crossover moves to longer L, at the small size past the grid),
# while XLA's writes the L×L weights to memory and slows down at long L. A
# larger fixed part for the linear layer also moves it to longer L, and
# keeps the slopes below 2 and 1 on a grid that stops at L = 512. The
# report's A1.4 section splits measured/L* into these factors.
#
# ## The memory side
#
# A decoder that generates token by token keeps, for softmax attention, a
# key/value cache of t(d_k + d_v) numbers per head after t tokens: it grows
# with t. Causal linear attention carries instead S = Σ φ(k_j)v_jᵀ (M×D)
# and z = Σ φ(k_j) (M) per head: H·M·(D+1) floats, whatever t is. We feed
# the same tokens to both layers' `step` in pieces, read the sizes, and
# compare the stepped outputs with the causal call on the whole sequence.

# %%
T = 512 if SMALL else 4096
x = rng.normal(size=(1, T, d)).astype("float32")
state, cache = linear.get_initial_state(batch_size=1), softmax.get_initial_state(1)
print("initial shapes: state", [tuple(s.shape) for s in state],
      "; cache", [tuple(c.shape) for c in cache])  # fmt: skip
outputs, start = {"linear": [], "softmax": []}, 0
print("tokens t   state bytes   cache bytes   4HM(D+1)   4tH(2D)")
for t in (1, 16, 41, 42, 128, T):
    y, state = linear.step(x[:, start:t], state)
    outputs["linear"].append(ops.convert_to_numpy(y))
    y, cache = softmax.step(x[:, start:t], cache)
    outputs["softmax"].append(ops.convert_to_numpy(y))
    start = t
    held = [sum(ops.convert_to_numpy(a).nbytes for a in s) for s in (state, cache)]
    print(f"{t:8d}  {held[0]:12,}  {held[1]:12,}"
          f"  {4 * H * M * (D + 1):9,}  {4 * t * H * 2 * D:8,}")  # fmt: skip
for name, layer in (("linear", linear), ("softmax", softmax)):
    full = ops.convert_to_numpy(layer(x, x, use_causal_mask=True))
    diff = np.abs(np.concatenate(outputs[name], axis=1) - full).max()
    print(f"{name}: stepped against the causal call, max |diff| = {diff:.1e}")

# %% [markdown]
# The state stays at 4HM(D+1) bytes; the cache grows by 4H·2D bytes a token
# and passes it at t* = ⌊M(D+1)/2D⌋ + 1 = 42 (the B4 tutorial derives it).
#
# ## Exercise
#
# 1. Repeat the timing with `use_causal_mask=True` passed to
#    `keras_layer_runner` (it forwards call arguments). The causal linear
#    form works in chunks of C = 128 with explicit C×C weights inside each
#    chunk: how far does the crossover move?
# 2. Rerun with D = 16 (M = 273, L* ≈ 298). Does the measured crossover
#    move by the factor the count predicts, 298/86?
# 3. Pass `TaylorFeatureMap(symmetric=True)` as the feature map
#    (M = 1 + D + D(D+1)/2). What do the count and the timings give?
