"""Sheet A1.4: when linear (Taylor) attention beats softmax attention.

The flop counts of the two layers, at the widths `python -m zoo.bench
attention` runs them, predict the crossover length L*; the benchmark's
timings (committed in reports/bench/attention-<backend>.json) measure it.
Each claim of the derivation is a module-level function (`taylor_width`,
`softmax_flops`, `linear_flops`, `predicted_crossover`,
`softmax_skips_masked`), so a test can replace one with a wrong claim and
see its check fail.
"""

import json
import math
import os
import statistics

import numpy as np

from solutions.core.document import Figure, Math, Section, Text, check
from solutions.sheet_a.a1_2_taylor import feature_counts
from solutions.sheet_a.a1_4_evidence import (
    BACKENDS,
    FORM_NAMES,
    FORMS,
    bounded,
    discussion,
    number,
    plot_crossovers,
    tables,
    within,
)

# LinearAttention's default chunk, for bench files that predate `chunk_size`.
DEFAULT_CHUNK = 128
# The bench's widths, for the derivation when no bench file is found.
BENCH_WIDTHS = {"scaling_dim": 128, "scaling_heads": 4, "feature_dim": 16}
# The "fixed part + flops / rate" model's crossover against the measured one.
MODEL_FACTOR = 2.0
# Lengths where the L^2 scores dominate softmax's time (causal vs not).
LONG_LENGTH = 2048


# -- the derivation's claims ------------------------------------------------


def taylor_width(feature_dim):
    """M of the second-order Taylor map: 1 + D + D^2 (full outer product, A1.2)."""
    return feature_counts(feature_dim, 3)[0]


def widths(config):
    """The bench's sizes: d, H, d_h, D_f, M, C."""
    d, heads = config["scaling_dim"], config["scaling_heads"]
    feature_dim = config["feature_dim"]
    return {
        "d": d,
        "H": heads,
        "d_h": d // heads,
        "D_f": feature_dim,
        "M": taylor_width(feature_dim),
        "C": config.get("chunk_size", DEFAULT_CHUNK),
    }


def softmax_flops(length, w, causal=False, skips_masked=False):
    """Flops (2 x multiply-adds) of one softmax self-attention forward, B = 1.

    Q, K, V and O projections 8 L d^2; Q K^T and weights x V 2 L^2 d_h each
    per head, i.e. 4 L^2 d; half of that when a causal kernel skips the
    masked blocks.
    """
    scores = 4 * length**2 * w["d"]
    if causal and skips_masked:
        scores /= 2
    return 8 * length * w["d"] ** 2 + scores


def linear_flops(length, w, causal=False):
    """Flops of one LinearAttention (taylor) forward, B = 1.

    Projections: Q and K to H D_f, V and O d wide, 2 L d (2 H D_f + 2 d).
    Per head: phi(Q), phi(K) D_f^2 products per row each; Phi(K)^T [V, 1]
    and Phi(Q) (.) 2 L M (d_h + 1) each (the column of ones is the
    normalizer). Causal, chunks of C: plus the explicit (C x C) weights
    2 C^2 M + 2 C^2 (d_h + 1) and the prefix sum M (d_h + 1) per chunk.
    """
    d, heads, d_h, feature_dim, m = w["d"], w["H"], w["d_h"], w["D_f"], w["M"]
    projections = 2 * length * d * (2 * heads * feature_dim + 2 * d)
    per_row = 2 * feature_dim**2 + 4 * m * (d_h + 1)
    if causal:
        chunk = min(w["C"], length)
        per_row += 2 * chunk * m + 2 * chunk * (d_h + 1) + m * (d_h + 1) / chunk
    return projections + length * heads * per_row


def predicted_crossover(w, causal=False, skips_masked=False):
    """L* where the two flop counts meet (closed form; causal: L* >= C).

    Non-causal: L* = M (d_h + 1) / d_h + D_f^2 / (2 d_h) - (d - H D_f).
    Causal adds C (M + d_h + 1) / (2 d_h) + M (d_h + 1) / (4 C d_h), and
    doubles when the softmax kernel skips the masked half.
    """
    m, d_h, feature_dim = w["M"], w["d_h"], w["D_f"]
    length = m * (d_h + 1) / d_h + feature_dim**2 / (2 * d_h)
    length -= w["d"] - w["H"] * feature_dim
    if causal:
        chunk = w["C"]
        length += chunk * (m + d_h + 1) / (2 * d_h)
        length += m * (d_h + 1) / (4 * chunk * d_h)
        if skips_masked:
            length *= 2
    return length


def softmax_skips_masked(backend):
    """Whether the backend's fused causal kernel skips the masked half.

    torch's `scaled_dot_product_attention` (flash kernel on CPU) does; JAX's
    XLA and TensorFlow's kernels compute all L^2 scores and then mask.
    """
    return backend == "torch"


# -- what the counts and the timings say ------------------------------------


def _sign_change(gap, lo, hi, steps=200):
    """The L in [lo, hi] where `gap` turns positive, bisecting log L.

    `gap(lo) <= 0 < gap(hi)` is the caller's to ensure.
    """
    for _ in range(steps):
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if gap(mid) <= 0 else (lo, mid)
    return math.sqrt(lo * hi)


def counted_crossover(w, causal=False, skips_masked=False):
    """Where softmax_flops - linear_flops turns positive, by bisection."""

    def gap(length):
        return softmax_flops(length, w, causal, skips_masked) - linear_flops(
            length, w, causal
        )

    lo, hi = float(w["C"] if causal else 1), 1e7
    if gap(lo) > 0 or gap(hi) <= 0:
        return None
    return _sign_change(gap, lo, hi)


def measured_crossover(rows):
    """(L, relation) from bench rows: linear is faster at every longer length.

    relation "=": interpolated in log-log space between the last length
    where softmax is at least as fast and the next one; "≤": linear is
    already faster at the shortest length (an upper bound, not a
    measurement); ">": softmax is still faster at the longest length.
    """
    lengths = [r["length"] for r in rows]
    gaps = [math.log(r["softmax_ms"] / r["linear_ms"]) for r in rows]
    if gaps[-1] <= 0:
        return float(lengths[-1]), ">"
    last = max((i for i, g in enumerate(gaps) if g <= 0), default=None)
    if last is None:
        return float(lengths[0]), "≤"
    lo, hi = math.log(lengths[last]), math.log(lengths[last + 1])
    t = -gaps[last] / (gaps[last + 1] - gaps[last])
    return math.exp(lo + t * (hi - lo)), "="


def fit_fixed_and_rate(milliseconds, flops):
    """(a ms, R GFLOP/s) of T = a + F / R, least squares in relative error.

    `a` is the fixed part (dispatch, launches, small copies) that does not
    grow with L; `R` the rate at which the counted flops run. a >= 0.
    """
    t = np.asarray(milliseconds, float) * 1e-3
    f = np.asarray(flops, float)
    design = np.stack([1 / t, f / t], axis=1)  # (a + f c) / t ~ 1
    (a, inverse_rate), *_ = np.linalg.lstsq(design, np.ones_like(t), rcond=None)
    if a < 0:
        x = f / t
        a, inverse_rate = 0.0, float(x.sum() / (x * x).sum())
    return float(a) * 1e3, 1e-9 / float(inverse_rate)


def model_crossover(fit_softmax, fit_linear, softmax_count, linear_count):
    """The longest L where a + F/R of softmax overtakes that of linear."""
    (a_s, r_s), (a_l, r_l) = fit_softmax, fit_linear

    def gap(length):
        soft = a_s + softmax_count(length) / (r_s * 1e6)  # ms
        return soft - (a_l + linear_count(length) / (r_l * 1e6))

    grid = np.geomspace(2, 1e7, 600)
    below = [gap(x) <= 0 for x in grid]
    if below[-1] or not any(below):
        return None
    last = max(i for i, b in enumerate(below) if b)
    return _sign_change(gap, grid[last], grid[last + 1], steps=100)


def causal_softmax_ratio(rows_non_causal, rows_causal, shortest=LONG_LENGTH):
    """Median over L >= `shortest` of causal / non-causal softmax time."""
    plain = {r["length"]: r["softmax_ms"] for r in rows_non_causal}
    ratios = [
        r["softmax_ms"] / plain[r["length"]]
        for r in rows_causal
        if r["length"] >= shortest and r["length"] in plain
    ]
    return statistics.median(ratios) if ratios else None


def load_bench(bench_dir):
    """{backend: bench result} for each readable attention-<backend>.json."""
    found = {}
    for backend in BACKENDS:
        path = os.path.join(bench_dir, f"attention-{backend}.json")
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
            widths(data["config"])
            for form in FORMS:
                rows = data["scaling"][form]["rows"]
                if not rows or any(
                    r["softmax_ms"] <= 0 or r["linear_ms"] <= 0 for r in rows
                ):
                    raise ValueError("no usable rows")
        except (OSError, ValueError, KeyError, TypeError):
            continue
        found[backend] = data
    return found


def analyse(bench):
    """{(backend, form): predicted, measured and modelled crossovers, fits}."""
    results = {}
    for backend, data in bench.items():
        w = widths(data["config"])
        skips = softmax_skips_masked(backend)
        for form in FORMS:
            causal = form == "causal"
            rows = data["scaling"][form]["rows"]
            lengths = [r["length"] for r in rows]

            def soft_count(length, w=w, causal=causal, skips=skips):
                return softmax_flops(length, w, causal, skips)

            def lin_count(length, w=w, causal=causal):
                return linear_flops(length, w, causal)

            fit_s = fit_fixed_and_rate(
                [r["softmax_ms"] for r in rows], [soft_count(n) for n in lengths]
            )
            fit_l = fit_fixed_and_rate(
                [r["linear_ms"] for r in rows], [lin_count(n) for n in lengths]
            )
            measured, relation = measured_crossover(rows)
            miss = max(
                abs(math.log((a + count(n) / (rate * 1e6)) / r[f"{name}_ms"]))
                for name, (a, rate), count in (
                    ("softmax", fit_s, soft_count),
                    ("linear", fit_l, lin_count),
                )
                for n, r in zip(lengths, rows, strict=True)
            )
            results[backend, form] = {
                "widths": w,
                "rows": rows,
                "skips": causal and skips,
                "predicted": predicted_crossover(w, causal, causal and skips),
                "measured": measured,
                "relation": relation,
                "fit_softmax": fit_s,
                "fit_linear": fit_l,
                "worst_miss": math.exp(miss),
                "model": model_crossover(fit_s, fit_l, soft_count, lin_count),
                "model_no_fixed": model_crossover(
                    (0.0, fit_s[1]), (0.0, fit_l[1]), soft_count, lin_count
                ),
            }
    return results


def _derivation(w):
    """The derivation, with the bench's widths filled in."""
    causal_full = predicted_crossover(w, causal=True)
    causal_skip = predicted_crossover(w, causal=True, skips_masked=True)
    return [
        Text(
            "Per head: queries and keys of width $D$ go through $\\phi$, values "
            "have width $d_h$, and $\\phi$ has $M = 1 + D + D^2$ features. "
            "Softmax attention spends $2L^2 D$ flops on $QK^\\top$ and "
            "$2L^2 d_h$ on the weights times $V$. Linear attention spends "
            "$D^2$ products per row on each of $\\Phi(Q), \\Phi(K)$, "
            "$2LM(d_h+1)$ on $\\Phi(K)^\\top [V, 1]$ (the column of ones gives "
            "the normalizer in the same product) and as much on "
            "$\\Phi(Q)(\\cdot)$:"
        ),
        Math(
            "T_{\\mathrm{soft}} = 2L^2 (D + d_h) \\quad\\text{vs}\\quad "
            "T_{\\mathrm{lin}} = 4LM(d_h+1) + 2LD^2"
        ),
        Text(
            "In the sheet's notation queries, keys and values share the width "
            "$D$ ($d_h = D$): $T_{\\mathrm{soft}} = 4L^2D = O(L^2 D)$ against "
            "$T_{\\mathrm{lin}} = 4LM(D+1) + 2LD^2 = O(LMD) = O(LD^3)$. Linear "
            "wins once $T_{\\mathrm{soft}} > T_{\\mathrm{lin}}$, i.e. "
            "$L > L^* = \\frac{2M(d_h+1) + D^2}{D + d_h}$, which is "
            "$M\\frac{D+1}{D} + \\frac{D}{2} \\approx M$ when $d_h = D$ and "
            "between $M$ and $2M$ for any $d_h \\ge D$: the crossover is of "
            "order $M \\approx D^2$."
        ),
        Text(
            "The benchmark (`python -m zoo.bench attention`, part (b), batch 1) "
            f"runs both layers at model width $d = {w['d']}$ with $H = {w['H']}$ "
            f"heads, so $d_h = {w['d_h']}$; `LinearAttention` projects queries "
            f"and keys to $D_f = {w['D_f']}$ per head (Based's choice) before "
            f"the full Taylor map, so $M = 1 + D_f + D_f^2 = {w['M']}$. The "
            "projections differ too: softmax has four $d \\times d$ ones "
            "($8Ld^2$ flops), linear attention's Q and K are only "
            f"$HD_f = {w['H'] * w['D_f']}$ wide ($2Ld(2HD_f + 2d)$). Equating "
            "the whole layers' counts, $8Ld^2 + 4L^2d$ against "
            "$2Ld(2HD_f + 2d) + H(4LM(d_h+1) + 2LD_f^2)$:"
        ),
        Math(
            "L^* = M\\,\\frac{d_h+1}{d_h} + \\frac{D_f^2}{2d_h} - (d - HD_f) "
            f"= {w['M'] * (w['d_h'] + 1) / w['d_h']:.1f} "
            f"+ {w['D_f'] ** 2 / (2 * w['d_h']):.1f} "
            f"- {w['d'] - w['H'] * w['D_f']} = {predicted_crossover(w):.1f}"
        ),
        Text(
            f"Causal: the linear form works in chunks of $C = {w['C']}$; inside a "
            "chunk the $C \\times C$ kernel weights are explicit "
            "($2C^2M + 2C^2(d_h+1)$ per chunk and head) and across chunks the "
            "state is a prefix sum ($M(d_h+1)$ per chunk), which adds "
            "$C(M + d_h + 1)/(2d_h) + M(d_h+1)/(4Cd_h)$ to $L^*$: "
            f"$L^*_{{\\mathrm{{causal}}}} = {causal_full:.0f}$ when softmax "
            "computes all $L^2$ scores and masks them (JAX's XLA and "
            f"TensorFlow's kernels), twice that, {causal_skip:.0f}, when the "
            "kernel skips the masked half (torch's `scaled_dot_product_attention`)."
        ),
        Text(
            "A flop count predicts where the work is equal, not where the time "
            "is. Model each time as $T = a + F/R$: a fixed part $a$ (dispatch, "
            "launches, small copies) plus the counted flops $F$ at a rate $R$. "
            "A layer that runs its flops $k$ times faster moves the crossover "
            "about $k$ times towards its side; a larger fixed part for linear "
            "attention moves it to longer $L$."
        ),
    ]


def _checks(bench, results):
    from zoo.layers.feature_maps import get_feature_map

    checks = []
    seen = set()
    for (_backend, form), r in results.items():
        w = r["widths"]
        if ("M", w["D_f"]) not in seen:
            seen.add(("M", w["D_f"]))
            width = get_feature_map("taylor").output_dim(w["D_f"])
            checks.append(
                check(
                    f"width $M$ of the bench's taylor map ($D_f = {w['D_f']}$)",
                    width,
                    f"$1 + D_f + D_f^2 = {w['M']}$",
                    width == w["M"],
                    "{:d}",
                )  # fmt: skip
            )
        key = (tuple(sorted(w.items())), form, r["skips"])
        if key not in seen:
            seen.add(key)
            counted = counted_crossover(w, form == "causal", r["skips"])
            what = FORM_NAMES[form] + (
                (", masked half skipped" if r["skips"] else ", all scores")
                if form == "causal" else ""
            )  # fmt: skip
            checks.append(
                check(
                    f"$L$ where the flop counts meet ({what}; bisection)",
                    "none" if counted is None else counted,
                    f"$L^* = {r['predicted']:.1f}$",
                    counted is not None
                    and abs(counted - r["predicted"]) <= 1e-6 * counted,
                    "{:.1f}",
                )  # fmt: skip
            )
    for (backend, form), r in results.items():
        checks.append(
            check(
                f"{backend}, {FORM_NAMES[form]}: measured crossover",
                bounded(r, r["measured"]),
                f"fit $a + F/R$: {number(r['model'])} (within ×{MODEL_FACTOR:g})",
                within(r, r["model"], MODEL_FACTOR),
            )  # fmt: skip
        )
    for backend, data in bench.items():
        w = widths(data["config"])
        rows = data["scaling"]
        ratio = causal_softmax_ratio(rows["non_causal"]["rows"], rows["causal"]["rows"])
        if ratio is None:
            continue
        skips = softmax_skips_masked(backend)
        long = [
            r["length"] for r in rows["causal"]["rows"] if r["length"] >= LONG_LENGTH
        ]

        def expected(skip, w=w, long=long):
            return statistics.median(
                softmax_flops(n, w, True, skip) / softmax_flops(n, w) for n in long
            )

        claim, other = expected(skips), expected(not skips)
        checks.append(
            check(
                f"{backend}: causal / non-causal softmax time, median "
                f"$L \\ge {LONG_LENGTH}$",
                ratio,
                f"{claim:.2f} ({'masked half skipped' if skips else 'all scores'}"
                f"; nearer than {other:.2f})",
                abs(math.log(ratio / claim)) < abs(math.log(ratio / other)),
                "{:.2f}",
            )  # fmt: skip
        )
    return checks


def a1_4(out_dir, bench_dir):
    """Section A1.4 from the attention bench JSONs under `bench_dir`."""
    bench = load_bench(bench_dir)
    statement = [
        Text("Complexity of A1.3 in $L$, $D$ and $M$; when does it beat A1.1?")
    ]
    if not bench:
        w = widths(BENCH_WIDTHS)
        return Section(
            "A1.4", "When linear attention wins", statement=statement,
            derivation=_derivation(w),
            result=[Text(
                "$O(LD^3)$ against $O(L^2D)$ (width $D$, $M = 1 + D + D^2$ features): "
                "linear attention wins once "
                f"$L \\gtrsim M \\approx D^2$; $L^* = {predicted_crossover(w):.0f}$ "
                "at the benchmark's widths by the flop count."
            )],
            evidence=[Text(
                f"**No attention benchmark found** in `{bench_dir}`: run "
                "`python -m zoo.bench attention --out DIR/attention-jax.json` "
                "(any backend) and pass `--bench DIR` (in a checkout, "
                "`make bench` fills the default `reports/bench`)."
            )],
        )  # fmt: skip
    results = analyse(bench)
    w = widths(next(iter(bench.values()))["config"])
    plain = [(b, r) for (b, form), r in results.items() if form == "non_causal"]
    measured = ", ".join(f"{b} {bounded(r, r['measured'])}" for b, r in plain)
    ratios = ", ".join(bounded(r, r["measured"] / r["predicted"], 2) for _, r in plain)
    result = [
        Text(
            "$O(LD^3)$ against $O(L^2D)$ (width $D$, $M = 1 + D + D^2$ features): "
            "linear attention wins once "
            f"$L \\gtrsim M \\approx D^2$. At the benchmark's widths the flop "
            f"count gives $L^* = {predicted_crossover(w):.0f}$ (non-causal); "
            f"measured: {measured}, i.e. {ratios} times $L^*$. The count gives "
            "the order; the factor left comes from how fast each backend runs "
            "each layer's flops, its fixed costs, and what that model misses "
            "(last table)."
        )
    ]
    stem = "a1_4_crossover"
    plot_crossovers(results, out_dir, stem)
    evidence = tables(results) + discussion(results)
    evidence.append(
        Figure(
            stem,
            "Median forward time of softmax and linear (taylor) attention "
            f"against $L$, log-log, per backend (batch 1, $d = {w['d']}$, "
            f"$H = {w['H']}$, $D_f = {w['D_f']}$); dashed: the crossover $L^*$ "
            "predicted by the flop count.",
        )
    )
    return Section(
        "A1.4",
        "When linear attention wins",
        statement=statement,
        derivation=_derivation(w),
        result=result,
        evidence=evidence,
        checks=_checks(bench, results),
    )
