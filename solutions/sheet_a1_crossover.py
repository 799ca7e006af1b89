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
import pandas as pd

from solutions import figures
from solutions.document import Figure, Math, Section, Table, Text, check
from solutions.sheet_a1 import feature_counts

BACKENDS = ("jax", "tensorflow", "torch")
FORMS = ("non_causal", "causal")
FORM_NAMES = {"non_causal": "non-causal", "causal": "causal"}
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


# -- presentation -----------------------------------------------------------

RUNS_AS = {
    "jax": "compiled by XLA under `jax.jit`",
    "tensorflow": "a `tf.function` graph",
    "torch": "eager: every operation dispatched from Python on each call",
}


def _number(value):
    if value is None:
        return "—"
    return f"{value:.0f}" if value >= 10 else f"{value:.2g}"


def _bounded(result, value, digits=None):
    """`value` from the measured crossover, with "≤"/">" when that is a bound."""
    text = _number(value) if digits is None else f"{value:.{digits}f}"
    return text if result["relation"] == "=" else f"{result['relation']} {text}"


def _factor(value):
    return "—" if value is None else f"{value:.2f}"


def _within(result, reference, factor):
    """The measured crossover (or its bound) within `factor` of `reference`."""
    if reference is None:
        return False
    lo, hi = reference / factor, reference * factor
    value = result["measured"]
    if result["relation"] == "≤":
        return value >= lo
    if result["relation"] == ">":
        return value <= hi
    return lo <= value <= hi


def _factors(result):
    """measured / L* as rates x fixed parts x rest (None where undefined)."""
    model, no_fixed = result["model"], result["model_no_fixed"]
    rates = no_fixed / result["predicted"] if no_fixed else None
    fixed = model / no_fixed if model and no_fixed else None
    rest = result["measured"] / model if model else None
    return rates, fixed, rest


def plot_crossovers(results, out_dir, stem):
    """Softmax and linear time against L: a panel per backend and form."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import LogLocator, NullFormatter

    backends = [b for b in BACKENDS if (b, "non_causal") in results]
    style = {"font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9,
             "legend.fontsize": 9, "xtick.labelsize": 8, "ytick.labelsize": 8}  # fmt: skip
    with plt.rc_context(style):
        figure, axes = plt.subplots(
            len(FORMS), len(backends), figsize=(5.5, 4.6), sharex=True,
            sharey=True, squeeze=False, layout="constrained",
        )  # fmt: skip
        for row, form in enumerate(FORMS):
            for col, backend in enumerate(backends):
                _panel(axes[row][col], results[backend, form], backend, form)
                if row == len(FORMS) - 1:
                    axes[row][col].set_xlabel("length $L$")
                if col == 0:
                    axes[row][col].set_ylabel("forward time (ms)")
        axis = axes[0][0]
        axis.yaxis.set_major_locator(LogLocator(base=10, numticks=12))
        axis.yaxis.set_minor_formatter(NullFormatter())
        handles, labels = axis.get_legend_handles_labels()
        figure.legend(handles, labels, loc="outside lower center", ncol=3,
                      frameon=False)  # fmt: skip
        figures.save(figure, out_dir, stem)


def _panel(axis, result, backend, form):
    from matplotlib.ticker import NullFormatter

    rows = result["rows"]
    lengths = [r["length"] for r in rows]
    for name, color, marker in (("softmax", "tab:red", "o"),
                                ("linear", "tab:blue", "s")):  # fmt: skip
        axis.plot(lengths, [r[f"{name}_ms"] for r in rows], color=color,
                  marker=marker, markersize=3.5, linewidth=1.2, label=name)  # fmt: skip
    axis.axvline(result["predicted"], color="black", linestyle="--", linewidth=1,
                 label="$L^*$ (flop count)")  # fmt: skip
    axis.set_xscale("log", base=2)
    axis.set_yscale("log")
    axis.grid(True, which="major", alpha=0.3)
    axis.set_title(f"{backend}, {FORM_NAMES[form]}")
    ticks = [n for n in lengths if round(math.log2(n)) % 3 == 2]  # 32, 256, 2k...
    axis.set_xticks(ticks, [f"{n // 1024}k" if n >= 1024 else str(n) for n in ticks])
    axis.xaxis.set_minor_formatter(NullFormatter())


def _derivation(w):
    """The derivation, with the bench's widths filled in."""
    causal_full = predicted_crossover(w, causal=True)
    causal_skip = predicted_crossover(w, causal=True, skips_masked=True)
    return [
        Text(
            "Per head: queries and keys of width $D$ go through $\\phi$, values "
            "have width $d_h$, and $\\phi$ has $M = 1 + D + D^2$ features. "
            "Softmax attention spends $2L^2 d_h$ flops on $QK^\\top$ and "
            "$2L^2 d_h$ on the weights times $V$. Linear attention spends "
            "$D^2$ products per row on each of $\\Phi(Q), \\Phi(K)$, "
            "$2LM(d_h+1)$ on $\\Phi(K)^\\top [V, 1]$ (the column of ones gives "
            "the normalizer in the same product) and as much on "
            "$\\Phi(Q)(\\cdot)$:"
        ),
        Math(
            "T_{\\mathrm{soft}} = 4L^2 d_h = O(L^2 d_h) \\quad\\text{vs}\\quad "
            "T_{\\mathrm{lin}} = 4LM(d_h+1) + 2LD^2 = O(L D^2 d_h)"
        ),
        Text(
            "Linear wins once $4L^2 d_h > 4LM(d_h + 1) + 2LD^2$, i.e. "
            "$L > L^* \\approx M(1 + 1/d_h)$: the crossover is of order "
            "$M \\approx D^2$, whatever $d_h$."
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


def _grid_text(results):
    grids = {tuple(r["length"] for r in res["rows"]) for res in results.values()}
    if len(grids) == 1:
        grid = next(iter(grids))
        return f"lengths {grid[0]} to {grid[-1]}"
    return "lengths as in the JSON files"


def _tables(results):
    crossovers, fits, parts = [], [], []
    for (backend, form), r in results.items():
        (a_s, r_s), (a_l, r_l) = r["fit_softmax"], r["fit_linear"]
        crossovers.append({
            "backend": backend,
            "form": FORM_NAMES[form],
            "$L^*$ (flops)": _number(r["predicted"]),
            "measured": _bounded(r, r["measured"]),
            "measured / $L^*$": _bounded(r, r["measured"] / r["predicted"], 2),
            "fits cross": _number(r["model"]),
        })  # fmt: skip
        fits.append({
            "backend": backend,
            "form": FORM_NAMES[form],
            "$a$ softmax (ms)": f"{a_s:.2f}",
            "$a$ linear (ms)": f"{a_l:.2f}",
            "$R$ softmax": f"{r_s:.1f}",
            "$R$ linear": f"{r_l:.1f}",
        })  # fmt: skip
        rates, fixed, rest = _factors(r)
        parts.append({
            "backend": backend,
            "form": FORM_NAMES[form],
            "measured / $L^*$": _bounded(r, r["measured"] / r["predicted"], 2),
            "rates": _factor(rates),
            "fixed parts": _factor(fixed),
            "rest": "—" if rest is None else _bounded(r, rest, 2),
        })  # fmt: skip
    bracketed = all(
        r["rows"][0]["softmax_ms"] < r["rows"][0]["linear_ms"]
        and r["rows"][-1]["linear_ms"] < r["rows"][-1]["softmax_ms"]
        for r in results.values()
    )
    if bracketed:
        edge = (
            "softmax is faster at the shortest length and linear at the "
            "longest on every backend and form, so each crossover is measured "
            "inside the grid, not bounded by its edge"
        )
    else:
        edge = (
            "“≤” marks a crossover at or below the shortest length (linear is "
            "already faster there): an upper bound, not a measurement; “>” "
            "one beyond the longest (softmax still faster there)"
        )
    worst = max(r["worst_miss"] for r in results.values())
    rests = [_factors(r)[2] for r in results.values()]
    rest = max((max(x, 1 / x) for x in rests if x), default=None)
    count = max(len(r["rows"]) for r in results.values())
    return [
        Text(
            "Crossover lengths: $L^*$ from the flop count at the benchmark's "
            "widths; measured by `python -m zoo.bench attention` (committed in "
            f"`reports/bench/`, {_grid_text(results)}), interpolated in log-log "
            "between the last length where softmax is faster and the next; "
            f"{edge}. The last column is where the fitted curves of the next "
            "table cross."
        ),
        Table(pd.DataFrame(crossovers), "Where linear attention overtakes softmax"),
        Text(
            f"Each layer's {count} timings fitted as $T = a + F/R$ ($F$ the "
            "counted flops; least squares in relative error, $a \\ge 0$; $R$ in "
            "GFLOP/s). Two numbers per curve over three decades of $L$ are "
            f"crude (the worst timing is off by ×{worst:.1f}), but the fitted "
            f"curves cross within ×{_factor(rest)} of the measured crossovers, "
            "enough to say which effect moves them:"
        ),
        Table(pd.DataFrame(fits), "Fixed part a and rate R of each layer"),
        Text(
            "The ratio measured / $L^*$ as a product of three factors: the "
            "rates (where the fitted curves without their fixed parts cross, "
            "over $L^*$), the fixed parts (the fitted curves' crossover with "
            "them, over without) and the rest (measured over the fitted "
            "curves' crossover: what $a + F/R$ misses):"
        ),
        Table(pd.DataFrame(parts), "Measured / $L^*$ in three factors"),
    ]


def _rate_words(fast, slow):
    ratio = fast / slow
    if 1 / 1.1 <= ratio <= 1.1:
        return "at about the same rate"
    who = "softmax" if ratio > 1 else "linear attention"
    return f"{max(ratio, 1 / ratio):.1f} times faster for {who}"


def _discussion(results):
    blocks = []
    for backend in BACKENDS:
        r = results.get((backend, "non_causal"))
        if r is None:
            continue
        (a_s, r_s), (a_l, r_l) = r["fit_softmax"], r["fit_linear"]
        rates, fixed, rest = _factors(r)
        fixed_text = (
            "no fixed part the fit can find ($a = 0$)"
            if max(a_s, a_l) < 0.005
            else f"fixed parts {a_s:.2f} ms (softmax) and {a_l:.2f} ms (linear)"
        )
        text = (
            f"**{backend}** ({RUNS_AS[backend]}), non-causal: {fixed_text}; "
            f"the counted flops run {_rate_words(r_s, r_l)} ({r_s:.0f} against {r_l:.0f} "
            f"GFLOP/s), a factor {_factor(rates)} on the crossover; the fixed "
            f"parts, {_factor(fixed)}; the rest, {_factor(rest)}."
        )
        causal = results.get((backend, "causal"))
        if causal is not None:
            (_, c_s), (_, c_l) = causal["fit_softmax"], causal["fit_linear"]
            text += (
                f" Causal: {c_s:.0f} (softmax) and {c_l:.0f} GFLOP/s (linear), "
                "measured "
                f"{_bounded(causal, causal['measured'] / causal['predicted'], 2)}"
                " times its $L^*$."
            )
        blocks.append(Text(text))
    torch = results.get(("torch", "non_causal"))
    jax = results.get(("jax", "non_causal"))
    if torch is not None:
        (a_s, r_s), (a_l, r_l) = torch["fit_softmax"], torch["fit_linear"]
        rates, fixed, _ = _factors(torch)
        first, longest = torch["rows"][0], torch["rows"][-1]
        memory = (
            f" (its peak memory at $L = {longest['length']}$ is "
            f"{longest['softmax_peak_mb']:.0f} MiB, where JAX, which "
            f"materializes them, peaks at {jax['rows'][-1]['softmax_peak_mb']:.0f}"
            " MiB)"
            if jax is not None and jax["rows"][-1]["length"] == longest["length"]
            else ""
        )
        blocks.append(
            Text(
                "torch's fixed parts are the eager dispatch: each call runs the "
                "layer's operations one by one from Python, and linear "
                "attention has more of them (feature map, concatenations, "
                f"normalizer); {a_s:.2f} and {a_l:.2f} ms are about the whole "
                f"time at $L = {first['length']}$ ({first['softmax_ms']:.2f} and "
                f"{first['linear_ms']:.2f} ms). They move the crossover by a "
                f"factor {_factor(fixed)} only. What puts torch's crossover "
                f"{_bounded(torch, torch['measured'] / torch['predicted'], 1)} "
                "times past $L^*$ is the rate: softmax is one fused "
                "`scaled_dot_product_attention` call that never stores the "
                f"$L \\times L$ scores{memory} and runs at {r_s:.0f} GFLOP/s, "
                f"against {r_l:.0f} for linear attention's separate products "
                f"and its feature map, which writes $M = {torch['widths']['M']}$ "
                f"floats per row and head: a factor {_factor(rates)}."
            )
        )
    return blocks


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
                _bounded(r, r["measured"]),
                f"fit $a + F/R$: {_number(r['model'])} (within ×{MODEL_FACTOR:g})",
                _within(r, r["model"], MODEL_FACTOR),
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
                "$O(LD^2d_h)$ against $O(L^2d_h)$: linear attention wins once "
                f"$L \\gtrsim M \\approx D^2$; $L^* = {predicted_crossover(w):.0f}$ "
                "at the benchmark's widths by the flop count."
            )],
            evidence=[Text("**No attention benchmark found**: run `make bench`.")],
        )  # fmt: skip
    results = analyse(bench)
    w = widths(next(iter(bench.values()))["config"])
    plain = [(b, r) for (b, form), r in results.items() if form == "non_causal"]
    measured = ", ".join(f"{b} {_bounded(r, r['measured'])}" for b, r in plain)
    ratios = ", ".join(_bounded(r, r["measured"] / r["predicted"], 2) for _, r in plain)
    result = [
        Text(
            "$O(LD^2d_h)$ against $O(L^2d_h)$: linear attention wins once "
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
    evidence = _tables(results) + _discussion(results)
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
