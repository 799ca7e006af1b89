"""Sheet A1: softmax attention's cost and its linear (Taylor) approximation."""

import itertools
import json
import math
import os
import statistics
import time

import numpy as np
import pandas as pd

from solutions import figures
from solutions.document import Figure, Math, Section, Table, Text, check


def _ops():
    from keras import ops

    return ops


def measure_softmax_attention(lengths=(2048, 4096, 8192), dim=128, repeats=3):
    """Median seconds of Z = softmax(Q K^T) V per length (keras.ops, this backend).

    Returns:
        (rows, slope): list of (L, seconds) and the least-squares slope of
        log(seconds) against log(L).
    """
    ops = _ops()
    rng = np.random.default_rng(0)
    rows = []
    for length in lengths:
        q, k, v = (
            ops.convert_to_tensor(rng.standard_normal((length, dim)).astype("float32"))
            for _ in range(3)
        )

        def attention(q=q, k=k, v=v):
            z = ops.matmul(ops.softmax(ops.matmul(q, ops.transpose(k)), axis=-1), v)
            return ops.convert_to_numpy(z[:1, :1])  # waits for the result

        attention()  # warm-up (compilation)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            attention()
            times.append(time.perf_counter() - start)
        rows.append((length, statistics.median(times)))
    return rows, fit_slope(rows)


def fit_slope(rows):
    """Slope of log(y) against log(x) (least squares)."""
    x = np.log([r[0] for r in rows])
    y = np.log([r[1] for r in rows])
    return float(np.polyfit(x, y, 1)[0])


def a1_1(out_dir, dim=128):
    rows, slope = measure_softmax_attention(dim=dim)
    frame = pd.DataFrame(rows, columns=["L", "seconds"])
    frame["multiplications 2 L^2 D"] = [2 * L * L * dim for L, _ in rows]
    figure, axis = figures.new()
    axis.loglog(frame["L"], frame["seconds"], "o-", label="measured")
    ref = frame["seconds"].iloc[-1] * (frame["L"] / frame["L"].iloc[-1]) ** 2
    axis.loglog(frame["L"], ref, "--", label="slope 2")
    axis.set_xlabel("L")
    axis.set_ylabel("seconds")
    axis.legend()
    figures.save(figure, out_dir, "a1_1_scaling")
    return Section(
        "A1.1",
        "Time complexity of softmax attention",
        statement=[
            Text(
                "$Q, K, V \\in \\mathbb{R}^{L \\times D}$. Give the time complexity "
                "of $Z = \\mathrm{Softmax}(QK^\\top)V$ step by step and how it grows "
                "with $L$ and $D$."
            )
        ],
        derivation=[
            Text(
                "1. $S = QK^\\top$: an $(L \\times D)$ by $(D \\times L)$ product, "
                "$L \\cdot D \\cdot L = L^2 D$ multiplications."
            ),
            Text(
                "2. Row-wise softmax of the $L \\times L$ matrix $S$: one exponential, "
                "one addition and one division per entry, $O(L^2)$."
            ),
            Text(
                "3. $Z = \\mathrm{Softmax}(S) V$: $(L \\times L)$ by $(L \\times D)$, "
                "$L^2 D$ multiplications."
            ),
            Math("T(L, D) = 2L^2D + O(L^2) = O(L^2 D)"),
        ],
        result=[
            Text(
                "$O(L^2 D)$ time (and $O(L^2)$ memory for $S$): quadratic in the "
                "length, linear in the width. Doubling $L$ multiplies the time by 4."
            )
        ],
        checks=[
            Text(
                "Measured median time of the three steps (keras.ops on this "
                f"backend, $D = {dim}$) and the least-squares slope of log time "
                "against log $L$; small $L$ carry a fixed overhead that pulls the "
                "slope below 2."
            ),
            Table(frame, "Softmax attention time against L", 4),
            Figure("a1_1_scaling", "Measured time against L (log-log), slope 2 dashed"),
        ],
        verdicts=[
            check(
                "log-log slope of time against L",
                slope,
                "2 (1.6 to 2.4)",
                1.6 <= slope <= 2.4,
                "{:.2f}",
            )  # fmt: skip
        ],
    )


def taylor_phi_numpy(x):
    """phi(x) = [1, x, vec(x x^T)/sqrt(2)] for rows of x, in numpy."""
    outer = np.einsum("...i,...j->...ij", x, x).reshape(*x.shape[:-1], -1)
    ones = np.ones((*x.shape[:-1], 1))
    return np.concatenate([ones, x, outer / math.sqrt(2.0)], axis=-1)


def feature_counts(dim, terms):
    """(full M, symmetric M) of the Taylor map with `terms` terms (K)."""
    full = sum(dim**i for i in range(terms))
    symmetric = sum(math.comb(dim + i - 1, i) for i in range(terms))
    return full, symmetric


def taylor_kernel_errors(dim=8, n=256, seed=0):
    """Max relative error of phi(q).phi(k) against 1 + s + s^2/2.

    Returns:
        dict: numpy map, zoo's TaylorFeatureMap (full, symmetric), widths.
    """
    from zoo.layers import TaylorFeatureMap

    ops = _ops()
    rng = np.random.default_rng(seed)
    q, k = rng.standard_normal((2, n, dim)) / math.sqrt(dim)
    s = (q * k).sum(-1)
    exact = 1 + s + s * s / 2
    result = {
        "numpy": np.abs(
            (taylor_phi_numpy(q) * taylor_phi_numpy(k)).sum(-1) - exact
        ).max()
    }
    for symmetric in (False, True):
        phi = TaylorFeatureMap(scale=1.0, symmetric=symmetric)
        fq = ops.convert_to_numpy(phi(q.astype("float32"))).astype("float64")
        fk = ops.convert_to_numpy(phi(k.astype("float32"))).astype("float64")
        error = np.abs((fq * fk).sum(-1) - exact) / np.abs(exact)
        result["symmetric" if symmetric else "full"] = float(error.max())
        result[f"width_{'symmetric' if symmetric else 'full'}"] = fq.shape[-1]
    return result


def distinct_monomials(dim, degree):
    """Number of distinct monomials of a degree: enumerated, not by formula."""
    return len(set(itertools.combinations_with_replacement(range(dim), degree)))


def a1_2(out_dir):
    dim = 8
    errors = taylor_kernel_errors(dim)
    counts = []
    for d in (4, 16, 64):
        for terms in (2, 3, 4):
            full, sym = feature_counts(d, terms)
            counts.append(
                {"D": d, "K terms": terms, "M (full)": full, "M (symmetric)": sym}
            )
    enumerated = sum(distinct_monomials(dim, i) for i in range(3))
    s = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 4.0])
    approx = pd.DataFrame(
        {
            "s = q.k": s,
            "exp(s)": np.exp(s),
            "1 + s + s^2/2": 1 + s + s * s / 2,
            "relative error": np.abs(1 + s + s * s / 2 - np.exp(s)) / np.exp(s),
        }
    )
    grid = np.linspace(-3, 3, 121)
    figure, axis = figures.new()
    axis.plot(grid, np.exp(grid), label="exp(s)")
    axis.plot(grid, 1 + grid + grid**2 / 2, "--", label="1 + s + s²/2")
    axis.set_xlabel("s = q·k")
    axis.legend()
    figures.save(figure, out_dir, "a1_2_taylor")
    return Section(
        "A1.2",
        "The Maclaurin feature map",
        statement=[
            Text(
                "Truncate $\\exp(q^\\top k)$ after the quadratic term, write it as "
                "$\\phi(q)^\\top\\phi(k)$, give $\\phi$ and $M$, and $M$ for $K \\ge 3$ "
                "terms; note how symmetry reduces it."
            )
        ],
        derivation=[
            Math(
                "\\exp(s) = \\sum_{n \\ge 0} \\frac{s^n}{n!} \\approx 1 + s + \\frac{s^2}{2}, \\qquad s = q^\\top k"
            ),
            Text(
                "The quadratic term is an inner product of outer products: "
                "$(q^\\top k)^2 = \\sum_{a,b} q_a q_b k_a k_b = "
                "\\mathrm{vec}(qq^\\top)^\\top \\mathrm{vec}(kk^\\top)$. Hence"
            ),
            Math(
                "\\phi(x) = \\Big[1,\\; x,\\; \\tfrac{1}{\\sqrt 2}\\,\\mathrm{vec}(xx^\\top)\\Big] \\in \\mathbb{R}^{M}, \\qquad M = 1 + D + D^2"
            ),
            Text(
                "With $K$ terms the $i$-th term needs $\\mathrm{vec}$ of the $i$-fold "
                "outer product, scaled by $1/\\sqrt{i!}$: $M = \\sum_{i=0}^{K-1} D^i$."
            ),
            Text(
                "Symmetry: $x^{\\otimes i}$ is a symmetric tensor, so only the distinct "
                "monomials $x_{a_1}\\cdots x_{a_i}$ with $a_1 \\le \\dots \\le a_i$ are "
                "needed, each weighted by the square root of its multiplicity:"
            ),
            Math(
                "M_{\\mathrm{sym}} = \\sum_{i=0}^{K-1} \\binom{D + i - 1}{i}, \\qquad K = 3: \\; 1 + D + \\tfrac{D(D+1)}{2}"
            ),
        ],
        result=[
            Text(
                "$\\phi(x) = [1, x, \\mathrm{vec}(xx^\\top)/\\sqrt2]$, $M = 1 + D + D^2$ "
                "(about half with symmetry); $K$ terms: $\\sum_{i<K} D^i$."
            )
        ],
        checks=[
            Table(
                pd.DataFrame(counts),
                "Feature counts M for K terms, full and symmetric",
                6,
            ),
            Table(approx, "How well 1 + s + s^2/2 approximates exp(s)", 4),
            Figure("a1_2_taylor", "exp(s) and its quadratic truncation"),
        ],
        verdicts=[
            check(
                f"max |phi(q).phi(k) - (1 + s + s^2/2)|, numpy phi, D = {dim}",
                errors["numpy"],
                "0 (< 1e-12)",
                errors["numpy"] < 1e-12,
                "{:.1e}",
            ),
            check(
                "same, zoo TaylorFeatureMap full (float32, relative)",
                errors["full"],
                "0 (< 1e-5)",
                errors["full"] < 1e-5,
                "{:.1e}",
            ),
            check(
                "same, zoo TaylorFeatureMap symmetric (relative)",
                errors["symmetric"],
                "0 (< 1e-5)",
                errors["symmetric"] < 1e-5,
                "{:.1e}",
            ),
            check(
                f"width of zoo's full map, D = {dim}",
                str(errors["width_full"]),
                str(1 + dim + dim**2),
                errors["width_full"] == 1 + dim + dim**2,
            ),
            check(
                f"width of the symmetric map vs enumerated monomials, D = {dim}",
                str(errors["width_symmetric"]),
                str(enumerated),
                errors["width_symmetric"] == enumerated == feature_counts(dim, 3)[1],
            ),
        ],  # fmt: skip
    )


def linear_attention_error(length=12, dim=8, causal=False, seed=0):
    """zoo.layers.LinearAttention against the explicit L x L computation.

    Returns:
        float: max |difference| relative to max |explicit|.
    """
    from zoo.layers import LinearAttention

    ops = _ops()
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


def a1_3(out_dir):
    errors = {c: linear_attention_error(causal=c) for c in (False, True)}
    return Section(
        "A1.3",
        "Linear attention by associativity",
        statement=[
            Text(
                "Show $\\mathrm{Softmax}(QK^\\top)V \\approx D^{-1}\\Phi(Q)\\Phi(K)^\\top V$ "
                "with $D = \\mathrm{diag}(\\Phi(Q)\\Phi(K)^\\top 1_L)$ and compute it in "
                "time linear in $L$."
            )
        ],
        derivation=[
            Text(
                "Row $i$ of softmax attention with the kernel $\\kappa(q, k) = \\exp(q^\\top k)$:"
            ),
            Math(
                "z_i = \\frac{\\sum_j \\kappa(q_i, k_j)\\, v_j}{\\sum_j \\kappa(q_i, k_j)} \\approx \\frac{\\sum_j \\phi(q_i)^\\top \\phi(k_j)\\, v_j}{\\sum_j \\phi(q_i)^\\top\\phi(k_j)}"
            ),
            Text(
                "Stacking rows, the numerators are $\\Phi(Q)\\Phi(K)^\\top V$ and the "
                "denominators the entries of $\\Phi(Q)\\Phi(K)^\\top 1_L$, so "
                "$Z \\approx D^{-1}\\Phi(Q)\\Phi(K)^\\top V$. Matrix products are "
                "associative:"
            ),
            Math(
                "\\Phi(Q)\\big(\\Phi(K)^\\top V\\big), \\qquad \\Phi(Q)\\big(\\Phi(K)^\\top 1_L\\big)"
            ),
            Text(
                "$\\Phi(K)^\\top V$ is $M \\times D$ and $\\Phi(K)^\\top 1_L$ is $M$-long, "
                "both computed once in $O(LMD)$; each row then costs $O(MD)$. "
                "No $L \\times L$ matrix is formed. Causal: prefix sums "
                "$S_i = \\sum_{j \\le i} \\phi(k_j)v_j^\\top$, $z_i = \\sum_{j\\le i}\\phi(k_j)$."
            ),
        ],
        result=[
            Text("$Z \\approx D^{-1}\\Phi(Q)(\\Phi(K)^\\top V)$ in $O(LMD)$ time.")
        ],
        checks=[
            Text(
                "`zoo.layers.LinearAttention` (Taylor map, one head, $L = 12$, "
                "$D = 8$) against the explicit $L \\times L$ numpy computation with "
                "the kernel $1 + s + s^2/2$ written out (not through $\\phi$)."
            )
        ],
        verdicts=[
            check(
                "non-causal: max relative difference",
                errors[False],
                "0 (< 1e-5)",
                errors[False] < 1e-5,
                "{:.1e}",
            ),
            check(
                "causal: max relative difference",
                errors[True],
                "0 (< 1e-5)",
                errors[True] < 1e-5,
                "{:.1e}",
            ),
        ],  # fmt: skip
    )


def bench_crossovers(bench_dir):
    """{backend: (non-causal, causal) crossover L} from attention bench JSONs."""
    found = {}
    for backend in ("jax", "tensorflow", "torch"):
        path = os.path.join(bench_dir, f"attention-{backend}.json")
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
            scaling = data["scaling"]
            found[backend] = {
                "non-causal": scaling["non_causal"]["crossover_length"],
                "causal": scaling["causal"]["crossover_length"],
                "feature_dim": data["config"]["feature_dim"],
                "head_dim": data["config"]["scaling_dim"]
                // data["config"]["scaling_heads"],
            }
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return found


def a1_4(out_dir, bench_dir):
    crossovers = bench_crossovers(bench_dir)
    checks, verdicts = [], []
    if crossovers:
        rows = []
        for backend, c in crossovers.items():
            m = 1 + c["feature_dim"] + c["feature_dim"] ** 2
            rows.append({"backend": backend, "M = 1 + D_f + D_f^2": m,
                         "crossover L (non-causal)": c["non-causal"],
                         "crossover L (causal)": c["causal"],
                         "non-causal / M": round(c["non-causal"] / m, 2)})  # fmt: skip
            ratio = c["non-causal"] / m
            verdicts.append(
                check(
                    f"{backend}: measured crossover / M",
                    ratio,
                    "order 1 (0.1 to 10)",
                    0.1 <= ratio <= 10,
                    "{:.2f}",
                )  # fmt: skip
            )
        checks = [
            Text(
                "Crossover lengths measured by `python -m zoo.bench attention` "
                "(committed in `reports/bench/`; Taylor feature dimension $D_f$, "
                "per-head width $d_h$), against the predicted order $L \\sim M$:"
            ),
            Table(
                pd.DataFrame(rows),
                "Where linear attention overtakes softmax attention",
                4,
            ),
        ]
    else:
        checks = [Text("**No attention benchmark found**: run `make bench`.")]
    return Section(
        "A1.4",
        "When linear attention wins",
        statement=[
            Text("Complexity of A1.3 in $L$, $D$ and $M$; when does it beat A1.1?")
        ],
        derivation=[
            Text(
                "$\\Phi(Q), \\Phi(K)$: $O(LM)$ features (each of the $D^2$ quadratic "
                "features is one product, $M = 1 + D + D^2$). $\\Phi(K)^\\top V$: "
                "$M \\cdot L \\cdot D$. $\\Phi(Q)(\\cdot)$: $L \\cdot M \\cdot D$. "
                "Normalizer: $O(LM)$."
            ),
            Math(
                "T_{\\mathrm{lin}} = O(LMD) = O(LD^3) \\quad\\text{vs}\\quad T_{\\mathrm{soft}} = O(L^2 D)"
            ),
            Text(
                "Linear wins when $LMD < L^2D$, i.e. $L > M \\approx D^2$: the "
                "crossover is of order $D^2$ (with $D$ the width fed to $\\phi$)."
            ),
        ],
        result=[Text("$O(LD^3)$; better than $O(L^2D)$ once $L \\gtrsim D^2$.")],
        checks=checks,
        verdicts=verdicts,
    )
