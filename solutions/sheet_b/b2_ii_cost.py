"""Sheet B2.ii: the multiplications of one multi-head attention forward,
derived by stage and counted on the layer."""

import math

import numpy as np
import pandas as pd

from solutions.core.document import Math, Section, Table, Text, check
from solutions.sheet_b.b2_i_moments import SEE_SETTING


def claimed_total(n, d, heads):
    """The derivation's closed form: 4Nd^2 + 2N^2d + 2HN^2 multiplications.

    Example:
    >>> claimed_total(8, 16, 2)
    10496
    """
    return 4 * n * d * d + 2 * n * n * d + 2 * heads * n * n


def multiplication_formula(n, d, heads):
    """Multiplications of O by stage (d_h = d / H), as derived below."""
    dh = d // heads
    return {
        "projections $Q_h, K_h, V_h$": 3 * heads * n * d * dh,
        "scores $Q_hK_h^\\top$": heads * n * dh * n,
        "scaling by $1/\\sqrt{d_h}$": heads * n * n,
        "softmax normalization": heads * n * n,
        "weighted sum $A_hV_h$": heads * n * n * dh,
        "output projection": n * d * d,
    }


class _Counter:
    """numpy products that count their multiplications."""

    def __init__(self):
        self.count = {}

    def matmul(self, stage, a, b):
        m, k = a.shape
        p = b.shape[1]
        self.count[stage] = self.count.get(stage, 0) + m * k * p
        return a @ b

    def scale(self, stage, a, factor):
        self.count[stage] = self.count.get(stage, 0) + a.size
        return a * factor


def counted_forward(layer, x):
    """O of a zoo MultiHeadAttention recomputed in numpy, counting products.

    Returns:
        (O (N, d), counts by stage).
    """
    from keras import ops

    def weight(w):
        return ops.convert_to_numpy(w).astype("float64")

    heads, dh = layer.num_heads, layer.query_kernel.shape[-1]
    wq, wk, wv = (
        weight(w) for w in (layer.query_kernel, layer.key_kernel, layer.value_kernel)
    )
    wo = weight(layer.output_kernel).reshape(heads * dh, -1)
    counter = _Counter()
    outs = []
    for h in range(heads):
        q = counter.matmul("projections $Q_h, K_h, V_h$", x, wq[:, h])
        k = counter.matmul("projections $Q_h, K_h, V_h$", x, wk[:, h])
        v = counter.matmul("projections $Q_h, K_h, V_h$", x, wv[:, h])
        s = counter.scale(
            "scaling by $1/\\sqrt{d_h}$",
            counter.matmul("scores $Q_hK_h^\\top$", q, k.T),
            1 / math.sqrt(dh),
        )
        e = np.exp(s - s.max(-1, keepdims=True))  # exp: O(1), not a product
        a = counter.scale("softmax normalization", e, 1 / e.sum(-1, keepdims=True))
        outs.append(counter.matmul("weighted sum $A_hV_h$", a, v))
    o = counter.matmul("output projection", np.concatenate(outs, -1), wo)
    return o, counter.count


def b2_ii(out_dir):
    from keras import ops

    from zoo.layers import MultiHeadAttention

    rows, checks = [], []
    rng = np.random.default_rng(0)
    for n, d, heads in ((8, 16, 2), (16, 32, 4), (32, 64, 8)):
        layer = MultiHeadAttention(heads, key_dim=d // heads, use_bias=False)
        x = rng.standard_normal((n, d))
        expected = ops.convert_to_numpy(
            layer(x[None].astype("float32"), x[None].astype("float32"))
        )[0]
        o, counted = counted_forward(layer, x)
        formula = multiplication_formula(n, d, heads)
        closed = claimed_total(n, d, heads)
        rows.append({"$N$": n, "$d$": d, "$H$": heads, "counted": sum(counted.values()),
                     "$4Nd^2 + 2N^2d + 2HN^2$": closed,
                     "max $|O_{numpy} - O_{zoo}|$": float(np.abs(o - expected).max())})  # fmt: skip
        checks.append(
            check(
                f"$N={n}$, $d={d}$, $H={heads}$: counted against the closed form",
                str(sum(counted.values())),
                str(closed),
                sum(counted.values()) == closed and np.abs(o - expected).max() < 1e-4,
            )  # fmt: skip
        )
        checks.append(
            check(
                f"$N={n}$, $d={d}$, $H={heads}$: stages whose count differs",
                ", ".join(k for k in formula if formula[k] != counted.get(k)) or "none",
                "none",
                counted == formula,
            )
        )
    stages = multiplication_formula(16, 32, 4)
    return Section(
        "B2.ii",
        "Multiplications to compute O",
        statement=[
            Text(
                SEE_SETTING
                + "With $d_h = d/H$, how many multiplications does $O$ take?"
            ),
        ],
        derivation=[
            Text(
                "Per head, with $d_h = d/H$ (exp counted as $O(1)$, not a multiplication):"
            ),
            Math(
                "Q_h, K_h, V_h: & \\quad 3 \\cdot N d d_h \\\\ "
                "Q_hK_h^\\top: & \\quad N d_h N \\\\ "
                "\\text{scaling by } 1/\\sqrt{d_h}: & \\quad N^2 \\\\ "
                "\\text{softmax normalization}: & \\quad N^2 \\\\ "
                "A_h V_h: & \\quad N N d_h"
            ),
            Text(
                "Summed over $H$ heads ($H d_h = d$), plus the output projection $(N \\times d)(d \\times d)$:"
            ),
            Math("3Nd^2 + N^2 d + 2HN^2 + N^2 d + Nd^2 = 4Nd^2 + 2N^2d + 2HN^2"),
        ],
        result=[
            Text(
                "$4Nd^2 + 2N^2d + 2HN^2 = O(Nd^2 + N^2d)$, independent of $H$ up to the $2HN^2$ term."
            )
        ],
        evidence=[
            Text(
                "O recomputed in numpy from the weights of a `zoo.layers.MultiHeadAttention` "
                "(no biases), every product counted as it runs; the result must "
                "equal the layer's output."
            ),
            Table(pd.DataFrame(rows), "Counted multiplications against the formula", 6),
            Table(
                pd.DataFrame(
                    {
                        "stage": list(stages),
                        "$N=16$, $d=32$, $H=4$": list(stages.values()),
                    }
                ),
                "Stage by stage (the derivation's per-stage counts)",
                6,
            ),
        ],
        checks=checks,
    )
