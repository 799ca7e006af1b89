"""Sheet A1.2: the Taylor feature map of exp(q.k), its width and its error."""

import itertools
import math

import numpy as np
import pandas as pd

from solutions.core import figures
from solutions.core.document import Figure, Math, Section, Table, Text, check


def taylor_phi_numpy(x):
    """phi(x) = [1, x, vec(x x^T)/sqrt(2)] for rows of x, in numpy."""
    outer = np.einsum("...i,...j->...ij", x, x).reshape(*x.shape[:-1], -1)
    ones = np.ones((*x.shape[:-1], 1))
    return np.concatenate([ones, x, outer / math.sqrt(2.0)], axis=-1)


def feature_counts(dim, terms):
    """The derivation's (full M, symmetric M) for `terms` terms (K) of exp.

    Example:
    >>> feature_counts(16, 3)
    (273, 153)
    """
    full = sum(dim**i for i in range(terms))
    symmetric = sum(math.comb(dim + i - 1, i) for i in range(terms))
    return full, symmetric


def enumerated_counts(dim, terms):
    """(full M, symmetric M) by listing the features, not by formula.

    Full: every ordered index tuple of degree 0..terms-1 (one entry of the
    i-fold outer product each); symmetric: every sorted tuple (monomial).

    Example:
    >>> enumerated_counts(16, 3)
    (273, 153)
    """
    full = sum(
        sum(1 for _ in itertools.product(range(dim), repeat=i)) for i in range(terms)
    )
    symmetric = sum(distinct_monomials(dim, i) for i in range(terms))
    return full, symmetric


# The derivation's claim: 1 + s + s^2/2 = ((s + 1)^2 + 1) / 2 >= 1/2, at s = -1.
CLAIMED_KERNEL_MINIMUM = 0.5


def softmax_approximation_errors(scales, length=64, dim=16, seed=0):
    """Relative error of Taylor-kernel attention against softmax attention.

    q, k, v have i.i.d. N(0, 1) entries; the logits are
    `scale * q.k / sqrt(dim)`, so scale 1 is the code's 1/sqrt(D) scaling
    and scale sqrt(dim) is no scaling.

    Returns:
        list of floats, ||Z_taylor - Z_softmax||_F / ||Z_softmax||_F per scale.
    """
    rng = np.random.default_rng(seed)
    q, k, v = rng.standard_normal((3, length, dim))
    errors = []
    for scale in scales:
        s = scale * (q @ k.T) / math.sqrt(dim)
        soft = np.exp(s - s.max(-1, keepdims=True))
        exact = (soft / soft.sum(-1, keepdims=True)) @ v
        kernel = 1 + s + s * s / 2
        approx = (kernel / kernel.sum(-1, keepdims=True)) @ v
        errors.append(float(np.linalg.norm(approx - exact) / np.linalg.norm(exact)))
    return errors


def taylor_kernel_errors(dim=8, n=256, seed=0):
    """Max relative error of phi(q).phi(k) against 1 + s + s^2/2.

    Returns:
        dict: numpy map, zoo's TaylorFeatureMap (full, symmetric), widths.
    """
    from keras import ops

    from zoo.layers import TaylorFeatureMap

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
    counts, count_mismatches = [], []
    for d in (4, 16, 64):
        for terms in (2, 3, 4):
            full, sym = enumerated_counts(d, terms)
            counts.append({"$D$": d, "$K$": terms, "$M$ listed": full,
                           "$M_{sym}$ listed": sym})  # fmt: skip
            if (full, sym) != feature_counts(d, terms):
                count_mismatches.append(f"D={d}, K={terms}")
    s = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 4.0])
    approx = pd.DataFrame(
        {
            "$s$": s,
            "$e^s$": np.exp(s),
            "$1 + s + s^2/2$": 1 + s + s * s / 2,
            "relative error": np.abs(1 + s + s * s / 2 - np.exp(s)) / np.exp(s),
        }
    )
    fine = np.linspace(-6, 6, 12001)
    kernel_minimum = float((1 + fine + fine**2 / 2).min())
    scales = np.geomspace(0.25, 8, 11)
    attention_errors = softmax_approximation_errors(scales, dim=16)
    scaled_error, unscaled_error = softmax_approximation_errors([1.0, 4.0], dim=16)
    grid = np.linspace(-3, 3, 121)
    figure, (curve, error_axis) = figures.plt.subplots(
        1, 2, figsize=(6.4, 3.0), layout="constrained"
    )
    curve.plot(grid, np.exp(grid), label="$e^s$")
    curve.plot(grid, 1 + grid + grid**2 / 2, "--", label="$1 + s + s^2/2$")
    curve.set_xlabel("logit $s$")
    curve.legend(fontsize=8)
    error_axis.loglog(scales, attention_errors, "o-", label="Taylor vs softmax")
    error_axis.axvline(1, color="green", ls=":", label=r"scaled by $1/\sqrt{D}$")
    error_axis.axvline(4, color="red", ls=":", label="unscaled ($D = 16$)")
    error_axis.set_xlabel("logit standard deviation")
    error_axis.set_ylabel("relative error of $Z$")
    error_axis.legend(fontsize=8, loc="lower right")
    figures.label_log_ticks(error_axis, [0.25, 0.5, 1, 2, 4, 8])
    for axis in (curve, error_axis):
        axis.grid(alpha=0.3)
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
                "The truncation is a valid attention kernel because it is "
                "positive for every $s$: $1 + s + s^2/2 = \\big((s+1)^2 + 1\\big)/2 "
                "\\ge 1/2$, smallest at $s = -1$. So every weight is positive and "
                "the normalizer of A1.3 never vanishes (an odd truncation such as "
                "$1 + s$ would not be)."
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
                "outer product, scaled by $1/\\sqrt{i!}$: $M = \\sum_{i=0}^{K-1} D^i$. "
                "($K$ terms are the degrees $0$ to $K - 1$, hence the upper "
                "limit $K - 1$; $K = 3$ gives back $1 + D + D^2$, the map above.)"
            ),
            Text(
                "Symmetry: $x^{\\otimes i}$ is a symmetric tensor, so only the distinct "
                "monomials $x_{a_1}\\cdots x_{a_i}$ with $a_1 \\le \\dots \\le a_i$ are "
                "needed, each weighted by the square root of its multiplicity:"
            ),
            Math(
                "M_{\\mathrm{sym}} = \\sum_{i=0}^{K-1} \\binom{D + i - 1}{i}, \\qquad K = 3: \\; 1 + D + \\tfrac{D(D+1)}{2}"
            ),
            Text(
                "Scaling. Like softmax attention's $1/\\sqrt{D}$, the code "
                "(`zoo.layers.TaylorFeatureMap`, default) applies $\\phi$ to "
                "$q/D^{1/4}$ and $k/D^{1/4}$, so the kernel is $1 + s + s^2/2$ "
                "with $s = q^\\top k/\\sqrt{D}$. The truncation is accurate only "
                "for small $|s|$: without the scaling, logits of unit-variance "
                "$q, k$ have standard deviation $\\sqrt{D}$ and the kernel is far "
                "from $\\exp$ (figure, right)."
            ),
        ],
        result=[
            Text(
                "$\\phi(x) = [1, x, \\mathrm{vec}(xx^\\top)/\\sqrt2]$, $M = 1 + D + D^2$ "
                "(about half with symmetry); $K$ terms: $\\sum_{i<K} D^i$. "
                "The kernel is positive ($\\ge 1/2$); used with the $1/\\sqrt{D}$ "
                f"scaling it is within {100 * scaled_error:.0f}% of softmax "
                f"attention at $D = 16$ ({100 * unscaled_error:.0f}% unscaled)."
            )
        ],
        evidence=[
            Table(
                pd.DataFrame(counts),
                "Feature counts for $K$ terms, by listing every feature "
                "(index tuples, and sorted tuples for the symmetric map)",
                6,
            ),
            Table(approx, "How well $1 + s + s^2/2$ approximates $e^s$", 4),
            Text(
                "Attention with the truncated kernel against softmax attention "
                "(64 tokens, $D = 16$, $q, k, v \\sim \\mathcal{N}(0, I)$), as the "
                "logits' scale grows: the error of the output $Z$ relative to "
                "softmax attention's."
            ),
            Figure(
                "a1_2_taylor",
                "Left: $e^s$ and its quadratic truncation. Right: relative error "
                "of Taylor-kernel attention against the logit scale",
            ),
        ],
        checks=[
            check(
                "features listed against $M$ and $M_{sym}$ (9 pairs $D$, $K$): mismatches",
                ", ".join(count_mismatches) or "none",
                "none",
                not count_mismatches,
            ),
            check(
                "min of $1 + s + s^2/2$ on a grid of $[-6, 6]$",
                kernel_minimum,
                f"{CLAIMED_KERNEL_MINIMUM} (within 1e-6)",
                abs(kernel_minimum - CLAIMED_KERNEL_MINIMUM) < 1e-6,
                "{:.6f}",
            ),
            check(
                f"max $|\\phi(q)^\\top\\phi(k) - (1 + s + s^2/2)|$, numpy $\\phi$, $D = {dim}$",
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
                f"width of zoo's full and symmetric maps, $D = {dim}$",
                f"{errors['width_full']}, {errors['width_symmetric']}",
                ", ".join(map(str, feature_counts(dim, 3))),
                (errors["width_full"], errors["width_symmetric"])
                == feature_counts(dim, 3),
            ),
            check(
                "Taylor vs softmax attention error, scaled / unscaled",
                f"{scaled_error:.3f} / {unscaled_error:.3f}",
                "scaled smaller",
                scaled_error < unscaled_error,
            ),
        ],  # fmt: skip
    )
