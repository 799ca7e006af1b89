"""Sheet B2.i: multi-head attention's score moments (and the setting of B2).

B2.ii (the cost in multiplications) is in b2_ii_cost.py, B2.iii (the
low-rank form) in b2_iii_rank.py.
"""

import math

import numpy as np
import pandas as pd

from solutions.core import figures
from solutions.core.document import Figure, Math, Section, Table, Text, check

# The setting of B2.i-iii, printed once (in B2.i) as display maths.
SETTING_B2 = [
    Text("The setting of B2 (parts i to iii): an input $X$ and $H$ heads,"),
    Math(
        "& X \\in \\mathbb{R}^{N \\times d}, \\qquad Q_h = XW_h^{(q)}, \\quad "
        "K_h = XW_h^{(k)}, \\quad V_h = XW_h^{(v)} \\in \\mathbb{R}^{N\\times d_h}, \\\\ "
        "& H_h = \\mathrm{Softmax}\\big(Q_hK_h^\\top/\\sqrt{d_h}\\big)V_h, \\qquad "
        "O = \\mathrm{Concat}[H_1,\\dots,H_H]\\,W^{(o)}."
    ),
]
SEE_SETTING = "Setting as in B2.i. "


def claimed_variance(sigma, norm_i=1, norm_j=1, head_dim=1, scaled=True):
    """The derivation's Var[alpha_ij]: sigma^4 |x_i|^2 |x_j|^2 (times d_h unscaled).

    Example:
    >>> claimed_variance(0.5), claimed_variance(0.5, head_dim=16, scaled=False)
    (0.0625, 1.0)
    """
    variance = sigma**4 * norm_i * norm_j
    return variance if scaled else head_dim * variance


def claimed_mean():
    """The derivation's E[alpha_ij]."""
    return 0


MOMENT_HEADERS = {
    "d_h": "$d_h$",
    "mean (scaled)": "mean, scaled",
    "Var (scaled)": "Var, scaled",
    "Var (unscaled)": "Var, unscaled",
    "sigma^4": "$\\sigma^4$",
    "d_h sigma^4": "$d_h\\sigma^4$",
}


def monte_carlo_scores(
    d=16, head_dims=(4, 16, 64, 256), sigma=0.5, trials=4000, seed=0
):
    """Sample alpha_ij over random W^(q), W^(k) for fixed unit-norm x_i, x_j.

    Returns:
        list of dicts: d_h, mean, variance with and without 1/sqrt(d_h).
    """
    rng = np.random.default_rng(seed)
    xi, xj = rng.standard_normal((2, d))
    xi, xj = xi / np.linalg.norm(xi), xj / np.linalg.norm(xj)
    rows = []
    for dh in head_dims:
        wq = rng.normal(0, sigma, (trials, d, dh))
        wk = rng.normal(0, sigma, (trials, d, dh))
        raw = np.einsum("d,tdh->th", xi, wq) * np.einsum("d,tdh->th", xj, wk)
        raw = raw.sum(-1)
        scaled = raw / math.sqrt(dh)
        rows.append({"d_h": dh, "mean (scaled)": scaled.mean(),
                     "Var (scaled)": scaled.var(), "Var (unscaled)": raw.var(),
                     "sigma^4": claimed_variance(sigma),
                     "d_h sigma^4": claimed_variance(sigma, head_dim=dh, scaled=False)})  # fmt: skip
    return rows


def symbolic_variance(d=2, dh=2):
    """E[alpha] and Var[alpha] exactly, with sympy, for symbolic x_i, x_j, sigma.

    Every monomial in the entries of W^(q), W^(k) is replaced by its moment
    (independent, mean 0, variance sigma^2); x stays symbolic.

    Returns:
        (mean - claimed mean, variance - claimed variance): both simplify
        to 0 when the derivation is right.
    """
    import sympy

    sigma = sympy.Symbol("sigma", positive=True)
    xi = sympy.symbols(f"a0:{d}", real=True)
    xj = sympy.symbols(f"b0:{d}", real=True)
    wq = sympy.Matrix(d, dh, lambda r, c: sympy.Symbol(f"q{r}_{c}"))
    wk = sympy.Matrix(d, dh, lambda r, c: sympy.Symbol(f"k{r}_{c}"))
    weights = set(wq) | set(wk)
    q = sympy.Matrix([xi]) * wq
    k = sympy.Matrix([xj]) * wk
    alpha = (q * k.T)[0] / sympy.sqrt(dh)

    def expectation(expr):
        total = 0
        for term in sympy.Add.make_args(sympy.expand(expr)):
            coefficient, moment = term, 1
            for w, power in term.as_powers_dict().items():
                if w in weights:
                    coefficient = coefficient / w**power
                    # Gaussian moments: odd 0, 2 -> sigma^2, 4 -> 3 sigma^4.
                    moment *= (
                        0 if power % 2 else sympy.factorial2(power - 1) * sigma**power
                    )
            total += coefficient * moment
        return sympy.simplify(total)

    mean = expectation(alpha)
    second = expectation(alpha**2)
    norm_i = sum(a * a for a in xi)
    norm_j = sum(b * b for b in xj)
    claimed = claimed_variance(sigma, norm_i, norm_j, head_dim=dh)
    return sympy.simplify(mean - claimed_mean()), sympy.simplify(
        second - mean**2 - claimed
    )


def softmax_entropy(head_dims=(4, 16, 64, 256), keys=32, sigma=1.0, trials=200, seed=0):
    """Mean entropy of softmax over `keys` random scores, with/without scaling."""
    rng = np.random.default_rng(seed)
    out = []
    for dh in head_dims:
        q = rng.normal(0, sigma, (trials, 1, dh))
        k = rng.normal(0, sigma, (trials, keys, dh))
        raw = (q * k).sum(-1)
        row = {"d_h": dh}
        for label, s in (("scaled", raw / math.sqrt(dh)), ("unscaled", raw)):
            p = np.exp(s - s.max(-1, keepdims=True))
            p /= p.sum(-1, keepdims=True)
            row[label] = float((-(p * np.log(np.clip(p, 1e-30, None))).sum(-1)).mean())
        out.append(row)
    return out


def b2_i(out_dir):
    rows = monte_carlo_scores()
    mean, residual = symbolic_variance()
    entropy = softmax_entropy()
    figure, axis = figures.new()
    dims = [r["d_h"] for r in entropy]
    axis.semilogx(
        dims, [r["scaled"] for r in entropy], "o-", label=r"scaled by $1/\sqrt{d_h}$"
    )
    axis.semilogx(dims, [r["unscaled"] for r in entropy], "s--", label="unscaled")
    axis.axhline(math.log(32), color="gray", lw=0.8, label="uniform (log 32)")
    axis.set_xlabel(r"head width $d_h$")
    axis.set_ylabel("softmax entropy (nats), 32 keys")
    axis.legend()
    figures.save(figure, out_dir, "b2_entropy")
    worst = max(abs(r["Var (scaled)"] / r["sigma^4"] - 1) for r in rows)
    growth = [r["Var (unscaled)"] / r["d_h sigma^4"] for r in rows]
    worst_mean = max(abs(r["mean (scaled)"] - claimed_mean()) for r in rows)
    moments = pd.DataFrame(rows).rename(columns=MOMENT_HEADERS)
    return Section(
        "B2.i",
        "Mean and variance of the attention scores",
        statement=[
            *SETTING_B2,
            Text(
                "Entries of $W_h^{(q)}, W_h^{(k)}$ are i.i.d., mean 0, variance "
                "$\\sigma^2$; $\\|x_i\\| = \\|x_j\\| = 1$; "
                "$\\alpha_{ij} = q_ik_j^\\top/\\sqrt{d_h}$. Find $E[\\alpha_{ij}]$, "
                "$\\mathrm{Var}[\\alpha_{ij}]$ and explain the $\\sqrt{d_h}$."
            ),
        ],
        derivation=[
            Text(
                "$q_{ia} = \\sum_k x_{ik}W^{(q)}_{ka}$: a sum of independent mean-0 "
                "terms, so $E[q_{ia}] = 0$ and $\\mathrm{Var}[q_{ia}] = \\sigma^2\\|x_i\\|^2$; "
                "different columns $a \\ne b$ use disjoint weights, so they are "
                "uncorrelated. Likewise $k_{ja}$, with $\\|x_j\\|^2$; $q$ and $k$ are "
                "independent (different matrices)."
            ),
            Math(
                "E[\\alpha_{ij}] = \\frac{1}{\\sqrt{d_h}} \\sum_{a=1}^{d_h} E[q_{ia}]\\,E[k_{ja}] = 0"
            ),
            Math(
                "\\mathrm{Var}[\\alpha_{ij}] = \\frac{1}{d_h}\\sum_{a,b} E[q_{ia}q_{ib}]\\,E[k_{ja}k_{jb}] = \\frac{1}{d_h}\\sum_{a} \\sigma^2\\|x_i\\|^2\\,\\sigma^2\\|x_j\\|^2 = \\sigma^4\\,\\|x_i\\|^2\\|x_j\\|^2"
            ),
            Text(
                "For unit-norm inputs $\\mathrm{Var}[\\alpha_{ij}] = \\sigma^4$. Without "
                "the scaling the variance is $d_h\\sigma^4$: it grows with the head "
                "width. By the central limit theorem $q_i k_j^\\top$ (a sum of $d_h$ "
                "independent terms of variance $\\sigma^4$) is approximately "
                "$\\mathcal{N}(0, d_h\\sigma^4)$; dividing by $\\sqrt{d_h}$ keeps the "
                "scores at a width-independent scale, so the softmax neither "
                "saturates into a one-hot vector (vanishing gradients) as $d_h$ "
                "grows nor depends on the choice of $d_h$."
            ),
        ],
        result=[
            Text(
                "$E[\\alpha_{ij}] = 0$, $\\mathrm{Var}[\\alpha_{ij}] = \\sigma^4\\|x_i\\|^2\\|x_j\\|^2 = \\sigma^4$."
            )
        ],
        evidence=[
            Text(
                "Monte Carlo over 4,000 draws of $W^{(q)}, W^{(k)}$ ($d = 16$, "
                "$\\sigma = 0.5$, fixed unit-norm $x_i, x_j$):"
            ),
            Table(moments, "Score moments with and without $1/\\sqrt{d_h}$", 4),
            Text(
                "Exact symbolic check with sympy ($d = d_h = 2$, symbolic $x_i$, $x_j$, "
                "$\\sigma$; Gaussian moments substituted monomial by monomial): "
                f"$E[\\alpha] = {mean}$ and "
                f"$\\mathrm{{Var}}[\\alpha] - \\sigma^4\\|x_i\\|^2\\|x_j\\|^2 = {residual}$."
            ),
            Text(
                "What the scaling buys: the entropy of the softmax over 32 keys. "
                "Here the entries of $q$ and $k$ are drawn i.i.d. $\\mathcal{N}(0, 1)$, "
                "the scale of a trained layer's projections (at $\\sigma = 0.5$ "
                "the scaled scores have standard deviation $0.25$ and every "
                "softmax is almost uniform, which hides the effect): the scaled "
                "score then has variance 1 for every $d_h$, the unscaled one $d_h$."
            ),
            Table(
                pd.DataFrame(entropy).rename(columns={"d_h": "$d_h$"}),
                "Softmax entropy (nats) over 32 keys, $q, k \\sim \\mathcal{N}(0, I)$; "
                "$\\log 32 = 3.47$ is uniform",
                4,
            ),
            Figure(
                "b2_entropy",
                "Softmax entropy against $d_h$ ($q, k \\sim \\mathcal{N}(0, I)$): "
                "unscaled scores saturate",
            ),
        ],
        checks=[
            check(
                "Monte Carlo: max $|E[\\alpha] - $ claimed$|$ over $d_h$",
                worst_mean,
                "0 (< 0.02, Monte Carlo)",
                worst_mean < 0.02,
            ),
            check(
                "Monte Carlo: max $|\\mathrm{Var}/\\sigma^4 - 1|$ over $d_h$ (scaled)",
                worst,
                "0 (< 0.1, Monte Carlo)",
                worst < 0.1,
            ),
            check(
                "Monte Carlo: range of $\\mathrm{Var}/(d_h\\sigma^4)$ over $d_h$ (unscaled)",
                f"{min(growth):.3f} to {max(growth):.3f}",
                "1 (0.9 to 1.1)",
                all(0.9 < g < 1.1 for g in growth),
            ),
            check("sympy: $E[\\alpha] - $ claimed", str(mean), "0", mean == 0),
            check(
                "sympy: $\\mathrm{Var}[\\alpha] - \\sigma^4\\|x_i\\|^2\\|x_j\\|^2$",
                str(residual),
                "0",
                residual == 0,
            ),
        ],  # fmt: skip
    )
