"""Sheet A1.3: linear attention with the Taylor features, against the
explicit L x L computation, causal and not."""

import math

import numpy as np

from solutions.core.document import Math, Section, Text, check
from solutions.sheet_a.a1_2_taylor import taylor_phi_numpy


def linear_attention_error(length=12, dim=8, causal=False, seed=0):
    """zoo.layers.LinearAttention against the explicit L x L computation.

    Returns:
        float: max |difference| relative to max |explicit|.
    """
    from keras import ops

    from zoo.layers import LinearAttention

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, length, dim)).astype("float32")
    layer = LinearAttention(num_heads=1, key_dim=dim, use_bias=False)
    got = ops.convert_to_numpy(layer(x, x, use_causal_mask=causal)).astype("float64")
    wq, wk, wv, wo = (
        ops.convert_to_numpy(w).astype("float64").reshape(w.shape[0], -1)
        if i < 3
        else ops.convert_to_numpy(w).astype("float64").reshape(-1, w.shape[-1])
        for i, w in enumerate(
            (
                layer.query_kernel,
                layer.key_kernel,
                layer.value_kernel,
                layer.output_kernel,
            )
        )
    )
    x64 = x[0].astype("float64")
    q, k, v = x64 @ wq, x64 @ wk, x64 @ wv
    s = (q @ k.T) / math.sqrt(dim)  # the map's default scale 1/sqrt(D)
    a = 1 + s + s * s / 2  # never through phi: the explicit kernel
    if causal:
        a = np.tril(a)
    z = (a @ v) / a.sum(-1, keepdims=True)
    expected = z @ wo
    return float(np.abs(got[0] - expected).max() / np.abs(expected).max())


def claimed_linear_attention(phi_q, phi_k, v, causal=False):
    """The derivation's Y = Delta^-1 Phi(Q) (Phi(K)^T V), associativity used.

    Causal: prefix sums S_i = sum_{j<=i} phi(k_j) v_j^T, z_i = sum_{j<=i} phi(k_j).
    No L x L matrix is formed.
    """
    if causal:
        states = np.cumsum(phi_k[:, :, None] * v[:, None, :], axis=0)  # (L, M, Dv)
        sums = np.cumsum(phi_k, axis=0)  # (L, M)
        numerator = np.einsum("lm,lmd->ld", phi_q, states)
        return numerator / np.einsum("lm,lm->l", phi_q, sums)[:, None]
    return (phi_q @ (phi_k.T @ v)) / (phi_q @ phi_k.sum(0))[:, None]


def associativity_error(length=12, dim=8, causal=False, seed=0):
    """The derivation's linear-time form against the explicit L x L kernel.

    Returns:
        float: max relative |claimed - explicit|, float64 numpy.
    """
    rng = np.random.default_rng(seed)
    q, k, v = rng.standard_normal((3, length, dim)) / dim**0.25
    a = 1 + q @ k.T + (q @ k.T) ** 2 / 2  # explicit kernel, never through phi
    if causal:
        a = np.tril(a)
    explicit = (a @ v) / a.sum(-1, keepdims=True)
    claimed = claimed_linear_attention(
        taylor_phi_numpy(q), taylor_phi_numpy(k), v, causal
    )
    return float(np.abs(claimed - explicit).max() / np.abs(explicit).max())


def a1_3(out_dir):
    errors = {c: linear_attention_error(causal=c) for c in (False, True)}
    derived = {c: associativity_error(causal=c) for c in (False, True)}
    return Section(
        "A1.3",
        "Linear attention by associativity",
        statement=[
            Text(
                "Show $\\mathrm{Softmax}(QK^\\top)V \\approx D^{-1}\\Phi(Q)\\Phi(K)^\\top V$ "
                "with $D = \\mathrm{diag}(\\Phi(Q)\\Phi(K)^\\top 1_L)$ and compute it in "
                "time linear in $L$. (Below we write $\\Delta$ for this diagonal "
                "matrix, keeping $D$ for the width.)"
            )
        ],
        derivation=[
            Text(
                "Row $i$ of softmax attention, $y_i$ (row $i$ of the output $Y$), with "
                "the kernel $\\kappa(q, k) = \\exp(q^\\top k)$:"
            ),
            Math(
                "y_i = \\frac{\\sum_j \\kappa(q_i, k_j)\\, v_j}{\\sum_j \\kappa(q_i, k_j)} \\approx \\frac{\\sum_j \\phi(q_i)^\\top \\phi(k_j)\\, v_j}{\\sum_j \\phi(q_i)^\\top\\phi(k_j)}"
            ),
            Text(
                "Stacking rows, the numerators are $\\Phi(Q)\\Phi(K)^\\top V$ and the "
                "denominators the entries of $\\Phi(Q)\\Phi(K)^\\top 1_L$, so "
                "$Y \\approx \\Delta^{-1}\\Phi(Q)\\Phi(K)^\\top V$ with "
                "$\\Delta = \\mathrm{diag}(\\Phi(Q)\\Phi(K)^\\top 1_L)$; every "
                "entry of $\\Delta$ is at least $L/2$ (A1.2), so $\\Delta^{-1}$ "
                "exists. Matrix products are "
                "associative:"
            ),
            Math(
                "\\Phi(Q)\\big(\\Phi(K)^\\top V\\big), \\qquad \\Phi(Q)\\big(\\Phi(K)^\\top 1_L\\big)"
            ),
            Text(
                "$\\Phi(K)^\\top V$ is $M \\times D$ and $\\Phi(K)^\\top 1_L$ is $M$-long, "
                "both computed once in $O(LMD)$; each row then costs $O(MD)$. "
                "No $L \\times L$ matrix is formed. Causal (row $i$ attends to "
                "$j \\le i$ only): the two sums become prefix sums, "
                "$S_i = \\sum_{j \\le i} \\phi(k_j)v_j^\\top$ ($M \\times D$) and "
                "$z_i = \\sum_{j\\le i}\\phi(k_j)$ ($M$-long), each one update "
                "from the previous, and the output row is"
            ),
            Math(
                "y_i = \\frac{S_i^\\top \\phi(q_i)}{\\phi(q_i)^\\top z_i}, "
                "\\qquad S_i = S_{i-1} + \\phi(k_i)\\,v_i^\\top, \\quad "
                "z_i = z_{i-1} + \\phi(k_i)"
            ),
            Text("still $O(LMD)$ in all."),
        ],
        result=[
            Text(
                "$Y \\approx \\Delta^{-1}\\Phi(Q)(\\Phi(K)^\\top V)$ in $O(LMD)$ "
                "time; causal, $y_i = S_i^\\top\\phi(q_i) / \\phi(q_i)^\\top z_i$ "
                "with prefix sums $S_i$, $z_i$, also $O(LMD)$."
            )
        ],
        evidence=[
            Text(
                "First the derivation itself: the associative form "
                "$\\Delta^{-1}\\Phi(Q)(\\Phi(K)^\\top V)$ and its prefix-sum "
                "causal form, in float64 numpy through $\\phi$, against the "
                "explicit $L \\times L$ computation with the kernel "
                "$1 + s + s^2/2$ written out (not through $\\phi$). Then "
                "`zoo.layers.LinearAttention` (Taylor map, one head, $L = 12$, "
                "$D = 8$) against the same explicit computation."
            )
        ],
        checks=[
            check(
                "derivation, non-causal: max relative difference",
                derived[False],
                "0 (< 1e-12)",
                derived[False] < 1e-12,
                "{:.1e}",
            ),
            check(
                "derivation, causal (prefix sums): max relative difference",
                derived[True],
                "0 (< 1e-12)",
                derived[True] < 1e-12,
                "{:.1e}",
            ),
            check(
                "zoo layer, non-causal: max relative difference",
                errors[False],
                "0 (< 1e-5)",
                errors[False] < 1e-5,
                "{:.1e}",
            ),
            check(
                "zoo layer, causal: max relative difference",
                errors[True],
                "0 (< 1e-5)",
                errors[True] < 1e-5,
                "{:.1e}",
            ),
        ],  # fmt: skip
    )
