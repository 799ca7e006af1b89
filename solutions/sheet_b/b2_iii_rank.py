"""Sheet B2.iii: the output as a sum of per-head maps W^(h) = W_h^(v) W_h^(o)
of rank d_h, and what a free full-rank map would need."""

import numpy as np
import pandas as pd

from solutions.core.document import Math, Section, Table, Text, check
from solutions.sheet_b.b2_i_moments import SEE_SETTING


def claimed_rank(d, heads):
    """The derivation's rank of W^(h) = W_h^(v) W_h^(o) for generic weights: d_h.

    Example:
    >>> claimed_rank(16, 4)
    4
    """
    return d // heads


def best_low_rank_error(d, rank, seed=2):
    """Relative error of the best rank-`rank` approximation of a random d x d map.

    By Eckart-Young it is the norm of the trailing singular values: a free
    full-rank W^(h) cannot be written as W_h^(v) W_h^(o) when rank < d.

    Returns:
        float, ||W - W_rank||_F / ||W||_F.
    """
    w = np.random.default_rng(seed).standard_normal((d, d))
    u, singular, vt = np.linalg.svd(w)
    approx = (u[:, :rank] * singular[:rank]) @ vt[:rank]
    return float(np.linalg.norm(w - approx) / np.linalg.norm(w))


def low_rank_forms(layer, x):
    """O directly and as sum_h A_h X W^(h); ranks of the W^(h).

    Returns:
        (max |difference|, ranks, d_h).
    """
    from keras import ops

    direct = ops.convert_to_numpy(
        layer(x[None].astype("float32"), x[None].astype("float32"))
    )[0]
    heads, dh = layer.num_heads, layer.value_kernel.shape[-1]
    _, scores = layer(
        x[None].astype("float32"),
        x[None].astype("float32"),
        return_attention_scores=True,
    )
    scores = ops.convert_to_numpy(scores)[0].astype("float64")  # (H, N, N)
    wv = ops.convert_to_numpy(layer.value_kernel).astype("float64")  # (d, H, d_h)
    wo = ops.convert_to_numpy(layer.output_kernel).astype("float64")  # (H, d_h, d)
    total = np.zeros_like(direct, dtype="float64")
    ranks = []
    for h in range(heads):
        w_h = wv[:, h] @ wo[h]  # (d, d)
        ranks.append(int(np.linalg.matrix_rank(w_h)))
        total += scores[h] @ x @ w_h
    return float(np.abs(total - direct).max()), ranks, dh


def b2_iii(out_dir):
    from zoo.layers import MultiHeadAttention

    d, heads = 16, 4
    layer = MultiHeadAttention(heads, key_dim=d // heads, use_bias=False)
    x = np.random.default_rng(1).standard_normal((6, d))
    error, ranks, dh = low_rank_forms(layer, x)
    claimed = claimed_rank(d, heads)
    unreachable = best_low_rank_error(d, claimed)
    params = pd.DataFrame(
        [
            {"form": "$W_h^{(v)}$ and the $h$-th row block of $W^{(o)}$", "parameters per head": "$2dd_h$", f"$d={d}$, $H={heads}$": 2 * d * dh},
            {"form": "a free $d \\times d$ matrix $W^{(h)}$", "parameters per head": "$d^2$", f"$d={d}$, $H={heads}$": d * d},
        ]
    )  # fmt: skip
    return Section(
        "B2.iii",
        "Multi-head attention as a sum of low-rank maps",
        statement=[
            Text(
                SEE_SETTING
                + "Show $O = \\sum_h \\tilde H_h X W^{(h)}$ for some $\\tilde H_h \\in "
                "\\mathbb{R}^{N\\times N}$, $W^{(h)} \\in \\mathbb{R}^{d\\times d}$; why "
                "are the two forms not equivalent (rank of $W^{(h)}$)?"
            ),
        ],
        derivation=[
            Text(
                "Split $W^{(o)}$ into row blocks $W^{(o)}_h \\in \\mathbb{R}^{d_h\\times d}$, "
                "one per head. Concatenation followed by a product is a sum of "
                "block products:"
            ),
            Math(
                "O = \\sum_{h=1}^{H} H_h W^{(o)}_h = \\sum_h \\underbrace{\\mathrm{Softmax}\\Big(\\tfrac{Q_hK_h^\\top}{\\sqrt{d_h}}\\Big)}_{\\tilde H_h} X \\underbrace{W_h^{(v)}W^{(o)}_h}_{W^{(h)}}"
            ),
            Text(
                "$W^{(h)} = W_h^{(v)}W_h^{(o)}$ factors through $d_h$ dimensions, so "
                "$\\mathrm{rank}(W^{(h)}) \\le d_h = d/H < d$. The sum form with "
                "arbitrary $W^{(h)} \\in \\mathbb{R}^{d\\times d}$ is strictly more "
                "general: a full-rank $W^{(h)}$ cannot be written as such a product. "
                "The forms are not equivalent; multi-head attention is the rank-$d_h$ "
                "restriction, with $2dd_h$ instead of $d^2$ parameters per head "
                "(and $\\tilde H_h$ is not arbitrary either: a row-stochastic "
                "softmax of $X$-dependent scores)."
            ),
        ],
        result=[
            Text(
                "$\\tilde H_h = \\mathrm{Softmax}(Q_hK_h^\\top/\\sqrt{d_h})$, $W^{(h)} = W_h^{(v)}W^{(o)}_h$, $\\mathrm{rank}\\,W^{(h)} \\le d_h$."
            )
        ],
        evidence=[
            Text(
                f"Both forms from the weights of a `zoo.layers.MultiHeadAttention` ($d = {d}$, $H = {heads}$, $N = 6$, no biases):"
            ),
            Table(params, "Parameter counts per head", 6),
            Text(
                "And the converse: the best rank-$d_h$ approximation of a random "
                f"full-rank ${d} \\times {d}$ matrix (truncated SVD, Eckart-Young) "
                f"still misses {100 * unreachable:.0f}% of it in Frobenius norm, so "
                "such a $W^{(h)}$ is out of reach of one head."
            ),
        ],
        checks=[
            check(
                "max $|O - \\sum_h \\tilde H_h X W^{(h)}|$",
                error,
                "0 (< 1e-4)",
                error < 1e-4,
                "{:.1e}",
            ),
            check(
                "numerical rank of $W^{(h)}$, $h = 1..H$ (SVD)",
                ", ".join(map(str, ranks)),
                f"$d_h = {claimed}$ each (generic weights)",
                all(r == claimed for r in ranks),
            ),
            check(
                "best rank-$d_h$ approximation of a random $d \\times d$ matrix, relative error",
                unreachable,
                "> 0 (a free $W^{(h)}$ is not a head)",
                unreachable > 0.01,
            ),
        ],  # fmt: skip
    )
