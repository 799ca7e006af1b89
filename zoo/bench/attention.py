"""`python -m zoo.bench attention`: softmax MHA speed and linear vs softmax scaling.

Part (a) times forward and forward+backward of self-attention at one size for
our `MultiHeadAttention`, `keras.layers.MultiHeadAttention` and the backend's
native attention, reported as time ratios to Keras (the anchor) measured in
the same process, with GFLOP/s and the fraction of the sgemm peak. Part (b)
times our `LinearAttention` (taylor) against our softmax attention over a
range of lengths, causal and non-causal, with the peak memory of each call
and the crossover length.
"""

import ctypes
import threading
import time
from dataclasses import dataclass

import keras
import numpy as np

from zoo.bench.runners import (
    keras_layer_runner,
    matmul_runner,
    median_seconds,
    native_attention_runner,
    result_header,
)
from zoo.layers import LinearAttention, MultiHeadAttention


@dataclass
class AttentionBenchConfig:
    """Every knob of the attention benchmark."""

    batch: int = 8  # (a) B
    length: int = 512  # (a) L
    dim: int = 256  # (a) d, the model width
    heads: int = 8  # H, for (a) and (b)
    repeats: int = 11  # timed rounds per measurement (median reported)
    # (b): lengths for linear vs softmax, at batch 1 and width `scaling_dim`.
    # From 32, where softmax still wins on every backend, so the crossover is
    # bracketed by measurements rather than bounded by the grid's edge.
    scaling_lengths: tuple = (32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384)
    scaling_dim: int = 128
    # 4 heads keep softmax's (H, L, L) scores at L = 16384 to 4 GiB.
    scaling_heads: int = 4
    feature_dim: int = 16  # Q/K size per head fed to the taylor map (Based)
    chunk_size: int = 128  # C of LinearAttention's causal form
    scaling_repeats: int = 3
    # Lengths up to `short_length` take a few ms: more rounds for the same
    # cost, as their medians are the noisiest (shared machines, dispatch).
    short_length: int = 1024
    short_repeats: int = 11
    sgemm_sizes: tuple = (512, 1024, 2048)  # square sgemms; the best is the peak


def _rss_bytes():
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096


def _release_free_memory():
    """Hand freed heap pages back to the OS so that RSS shows the next peak."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: RSS stays an upper bound
        pass


def _peak_rss_increase(run):
    """Peak resident memory above the level before the call, sampled at 1 kHz."""
    _release_free_memory()
    baseline, peak, done = _rss_bytes(), [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _rss_bytes())
            time.sleep(0.001)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    try:
        run()
    finally:
        done.set()
        watcher.join()
    return max(0, max(peak[0], _rss_bytes()) - baseline)


def mha_flops(batch, length, dim):
    """Multiply-adds x 2 of one self-attention forward.

    Projections Q, K, V, O: 4 products of (B L x d) by (d x d); scores and
    weighted sum: 2 products of (B H L x L x d_h) each.
    """
    return 8 * batch * length * dim * dim + 4 * batch * length * length * dim


def sgemm_peak_gflops(sizes, repeats):
    """Best float32 matmul throughput over square sizes, GFLOP/s."""
    runners = {size: matmul_runner(size) for size in sizes}
    seconds = median_seconds(runners, repeats)
    return max(2 * size**3 / seconds[size] / 1e9 for size in sizes)


def speed_comparison(config):
    """Part (a): ours vs Keras vs native at (B, L, d, H)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((config.batch, config.length, config.dim)).astype("float32")
    ours = MultiHeadAttention(num_heads=config.heads)
    reference = keras.layers.MultiHeadAttention(
        num_heads=config.heads, key_dim=config.dim // config.heads
    )
    ours(x[:1], x[:1])
    reference(x[:1], x[:1])
    ours.set_weights(reference.get_weights())
    flops = mha_flops(config.batch, config.length, config.dim)
    peak = sgemm_peak_gflops(config.sgemm_sizes, config.repeats)
    rows = []
    for mode, backward in (("forward", False), ("forward+backward", True)):
        native_name, native = native_attention_runner(
            x, config.heads, backward=backward
        )
        runners = {
            "zoo.layers.MultiHeadAttention": keras_layer_runner(ours, x, backward),
            "keras.layers.MultiHeadAttention": keras_layer_runner(
                reference, x, backward
            ),
            native_name: native,
        }
        seconds = median_seconds(runners, config.repeats)
        anchor = seconds["keras.layers.MultiHeadAttention"]
        # A backward pass costs about twice the forward's multiply-adds.
        work = flops * (3 if backward else 1)
        for name, secs in seconds.items():
            gflops = work / secs / 1e9
            rows.append(
                {
                    "mode": mode,
                    "implementation": name,
                    "milliseconds": round(secs * 1e3, 2),
                    "speedup_vs_keras": round(anchor / secs, 3),
                    "gflops": round(gflops, 1),
                    "fraction_of_sgemm_peak": round(gflops / peak, 3),
                }
            )
    return {"sgemm_peak_gflops": round(peak, 1), "rows": rows}


def _crossover(lengths, softmax_seconds, linear_seconds):
    """Length beyond which linear is faster at every measured length.

    Interpolated in log-log space between the last length where softmax is
    at least as fast and the next one. When linear is already faster at the
    shortest length, that length is returned: an upper bound only (see
    `_crossover_is_upper_bound`). None when softmax wins at the longest.
    """
    ratios = [
        np.log(s / lin) for s, lin in zip(softmax_seconds, linear_seconds, strict=True)
    ]
    if ratios[-1] <= 0:
        return None
    last = max((i for i, r in enumerate(ratios) if r <= 0), default=None)
    if last is None:
        return lengths[0]
    lo, hi = np.log(lengths[last]), np.log(lengths[last + 1])
    t = -ratios[last] / (ratios[last + 1] - ratios[last])
    return int(round(float(np.exp(lo + t * (hi - lo)))))


def _crossover_is_upper_bound(softmax_seconds, linear_seconds):
    """True when linear wins everywhere: the crossover is at or below the grid."""
    return all(s > lin for s, lin in zip(softmax_seconds, linear_seconds, strict=True))


def scaling_comparison(config):
    """Part (b): LinearAttention (taylor) vs softmax MultiHeadAttention."""
    dim, heads = config.scaling_dim, config.scaling_heads
    rng = np.random.default_rng(1)
    softmax = MultiHeadAttention(num_heads=heads)
    linear = LinearAttention(
        num_heads=heads,
        feature_map="taylor",
        feature_dim=config.feature_dim,
        chunk_size=config.chunk_size,
    )
    probe = np.zeros((1, 2, dim), "float32")
    softmax(probe, probe)
    linear(probe, probe)
    result = {}
    for causal in (False, True):
        rows = []
        for length in config.scaling_lengths:
            x = rng.standard_normal((1, length, dim)).astype("float32")
            runners = {
                name: keras_layer_runner(layer, x, use_causal_mask=causal)
                for name, layer in (("softmax", softmax), ("linear", linear))
            }
            repeats = (
                config.short_repeats
                if length <= config.short_length
                else config.scaling_repeats
            )
            seconds = median_seconds(runners, repeats)
            row = {"length": length}
            for name, run in runners.items():
                row[f"{name}_ms"] = round(seconds[name] * 1e3, 3)
                row[f"{name}_peak_mb"] = round(_peak_rss_increase(run) / 2**20, 1)
            row["speedup_linear"] = round(row["softmax_ms"] / row["linear_ms"], 2)
            rows.append(row)
        key = "causal" if causal else "non_causal"
        softmax_ms = [r["softmax_ms"] for r in rows]
        linear_ms = [r["linear_ms"] for r in rows]
        result[key] = {
            "rows": rows,
            "crossover_length": _crossover(
                [r["length"] for r in rows], softmax_ms, linear_ms
            ),
            "crossover_is_upper_bound": _crossover_is_upper_bound(
                softmax_ms, linear_ms
            ),
        }
    return result


def run(config):
    """Runs both parts; returns a JSON-ready dict."""
    return {
        **result_header(config, machine=True),
        "speed": speed_comparison(config),
        "scaling": scaling_comparison(config),
    }


def plot(result, path):
    """Time and peak memory against L for softmax and linear attention."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from zoo.plotting import save

    figure, (time_axis, memory_axis) = plt.subplots(1, 2, figsize=(11, 4.2))
    for form, style in (("non_causal", "-"), ("causal", "--")):
        rows = result["scaling"][form]["rows"]
        lengths = [r["length"] for r in rows]
        for name, color in (("softmax", "tab:red"), ("linear", "tab:blue")):
            label = f"{name} ({form.replace('_', '-')})"
            time_axis.plot(
                lengths,
                [r[f"{name}_ms"] for r in rows],
                style,
                color=color,
                marker="o",
                label=label,
            )
            memory_axis.plot(
                lengths,
                [max(r[f"{name}_peak_mb"], 0.1) for r in rows],
                style,
                color=color,
                marker="o",
                label=label,
            )
    for axis, ylabel in (
        (time_axis, "milliseconds (median)"),
        (memory_axis, "peak RSS increase (MiB)"),
    ):
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_xlabel("sequence length L")
        axis.set_ylabel(ylabel)
        axis.grid(True, which="both", alpha=0.3)
    time_axis.legend(fontsize=8)
    figure.suptitle(
        f"Linear (taylor) vs softmax attention, backend {result['backend']}"
    )
    figure.tight_layout()
    save(figure, path, bbox_inches=None)


def print_report(result):
    speed = result["speed"]
    print(
        f"\n(a) self-attention B={result['config']['batch']} "
        f"L={result['config']['length']} d={result['config']['dim']} "
        f"H={result['config']['heads']}; sgemm peak "
        f"{speed['sgemm_peak_gflops']} GFLOP/s"
    )
    print(
        f"{'mode':<17} {'implementation':<38} {'ms':>9} {'x keras':>8} "
        f"{'GFLOP/s':>8} {'of peak':>8}"
    )
    for row in speed["rows"]:
        print(
            f"{row['mode']:<17} {row['implementation']:<38} "
            f"{row['milliseconds']:>9.1f} {row['speedup_vs_keras']:>8.2f} "
            f"{row['gflops']:>8.1f} {row['fraction_of_sgemm_peak']:>8.2f}"
        )
    for form, block in result["scaling"].items():
        print(
            f"\n(b) {form}, B=1 d={result['config']['scaling_dim']} "
            f"H={result['config']['scaling_heads']}: linear (taylor, feature_dim "
            f"{result['config']['feature_dim']}) vs softmax; crossover "
            f"L {'<=' if block.get('crossover_is_upper_bound') else '='} "
            f"{block['crossover_length']}"
        )
        print(
            f"{'L':>7} {'softmax ms':>11} {'linear ms':>10} {'speedup':>8} "
            f"{'softmax MiB':>12} {'linear MiB':>11}"
        )
        for row in block["rows"]:
            print(
                f"{row['length']:>7} {row['softmax_ms']:>11.2f} "
                f"{row['linear_ms']:>10.2f} {row['speedup_linear']:>8.2f} "
                f"{row['softmax_peak_mb']:>12.1f} {row['linear_peak_mb']:>11.1f}"
            )
