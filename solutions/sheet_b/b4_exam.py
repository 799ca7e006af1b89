"""B4: an original exam problem — causal linear attention is an RNN."""

import numpy as np
import pandas as pd

from solutions.core.document import Math, Section, Table, Text, check

# Katharopoulos, Vyas, Pappas, Fleuret (2020), the paper this problem follows.
REFERENCE = (
    "A. Katharopoulos, A. Vyas, N. Pappas, F. Fleuret, *Transformers are RNNs: "
    "Fast Autoregressive Transformers with Linear Attention*, ICML 2020 "
    "(arXiv:2006.16236)."
)
MARKS = (
    ("(a) recurrence, state and its induction proof", 4),
    ("(b) memory and time per token, both models", 3),
    ("(b) the memory crossover $t^*$", 2),
    ("(c) what is lost", 1),
)


def claimed_state_floats(heads, features, value_dim):
    """The derivation's linear-attention state: M (d_v + 1) numbers per head.

    Example:
    >>> claimed_state_floats(2, 73, 8)
    1314
    """
    return heads * features * (value_dim + 1)


def claimed_cache_floats(tokens, heads, key_dim, value_dim):
    """The derivation's key/value cache after `tokens` tokens: t H (d_k + d_v)."""
    return tokens * heads * (key_dim + value_dim)


def claimed_crossover(heads, features, key_dim, value_dim):
    """The first t at which the cache holds more numbers than the state.

    Example:
    >>> claimed_crossover(2, 73, 8, 8)  # 1314 / 32 = 41.06
    42
    """
    state = claimed_state_floats(heads, features, value_dim)
    per_token = claimed_cache_floats(1, heads, key_dim, value_dim)
    return state // per_token + 1


def recurrent_check(length=48, dim=16, heads=2, seed=0):
    """LinearAttention.step token by token against the causal call.

    Returns:
        (max relative difference, {t: state bytes} for every t = 1..length,
        cache_bytes): `cache_bytes(t)` measures the bytes of
        `zoo.layers.MultiHeadAttention`'s key/value cache after t tokens
        (one `step` over the first t tokens, memoized; stepping the cache
        token by token compiles a program per length on JAX, about 1 s each).
    """
    from keras import ops

    from zoo.bench.runners import state_bytes
    from zoo.layers import LinearAttention, MultiHeadAttention

    x = np.random.default_rng(seed).standard_normal((1, length, dim)).astype("float32")
    layer = LinearAttention(heads, key_dim=dim // heads)
    full = ops.convert_to_numpy(layer(x, x, use_causal_mask=True))
    softmax = MultiHeadAttention(heads, key_dim=dim // heads)
    softmax(x, x)
    state = layer.get_initial_state(1)
    outputs, sizes = [], {}
    for t in range(length):
        out, state = layer.step(x[:, t : t + 1], state)
        outputs.append(ops.convert_to_numpy(out))
        sizes[t + 1] = state_bytes(state)
    steps = np.concatenate(outputs, axis=1)
    error = float(np.abs(steps - full).max() / np.abs(full).max())
    measured = {}

    def cache_bytes(tokens):
        if tokens not in measured:
            _, cache = softmax.step(x[:, :tokens], softmax.get_initial_state(1))
            measured[tokens] = state_bytes(cache)
        return measured[tokens]

    cache_bytes.measured = measured  # every length probed so far
    return error, sizes, cache_bytes


def first_larger(sizes, cache_bytes):
    """The first t whose cache is larger than the state, by bisection.

    The cache grows with t and the state does not (both checked on the
    probed t), so bisection over t = 1..len(sizes) finds it with about
    log2(len) measurements. None when the cache never gets larger.
    """
    low, high = 1, len(sizes)
    if cache_bytes(high) <= sizes[high]:
        return None
    while low < high:
        middle = (low + high) // 2
        if cache_bytes(middle) > sizes[middle]:
            high = middle
        else:
            low = middle + 1
    return low


def b4(out_dir, length=48, dim=16, heads=2):
    from solutions.sheet_a.a1_2_taylor import feature_counts

    error, sizes, cache_bytes = recurrent_check(length, dim, heads)
    head_dim = dim // heads
    features = feature_counts(head_dim, 3)[0]  # Taylor map on each head
    crossover = claimed_crossover(heads, features, head_dim, head_dim)
    measured = first_larger(sizes, cache_bytes)
    shown = sorted({1, crossover - 1, crossover, length // 4, length} & set(sizes))
    cache_sizes = {t: cache_bytes(t) for t in shown}
    table = pd.DataFrame(
        {
            "tokens $t$": shown,
            "linear state (bytes)": [sizes[t] for t in shown],
            "key/value cache (bytes)": [cache_sizes[t] for t in shown],
        }
    )
    state_claim = 4 * claimed_state_floats(heads, features, head_dim)
    wrong_state = [t for t in sizes if sizes[t] != state_claim]
    wrong_cache = [
        t
        for t, size in sorted(cache_bytes.measured.items())
        if size != 4 * claimed_cache_floats(t, heads, head_dim, head_dim)
    ]
    marks = pd.DataFrame(MARKS, columns=["part", "points"])
    return Section(
        "B4",
        "Exam problem: causal linear attention is a recurrent network",
        statement=[
            Text(
                "**Problem** (10 points). In causal linear attention, token $i$ "
                "attends to tokens $j \\le i$: $y_i = \\frac{\\phi(q_i)^\\top\\sum_{j\\le i}\\phi(k_j)v_j^\\top}"
                "{\\phi(q_i)^\\top\\sum_{j\\le i}\\phi(k_j)}$ with $\\phi: \\mathbb{R}^{d_k} \\to "
                "\\mathbb{R}^M$, $H$ heads. (a) Write it as a recurrence with a "
                "state that does not grow with $i$ (4 points). (b) Give the memory "
                "and time per generated token and compare with softmax attention "
                "using a key/value cache; after how many tokens $t^*$ does the "
                "state become smaller than the cache? (5 points) (c) What is "
                "lost? (1 point)"
            )
        ],
        derivation=[
            Text(
                "(a) Define the state $(S_i, z_i)$ with $S_0 = 0 \\in \\mathbb{R}^{M\\times d_v}$, $z_0 = 0 \\in \\mathbb{R}^M$:"
            ),
            Math(
                "S_i &= S_{i-1} + \\phi(k_i)\\,v_i^\\top, \\qquad z_i = z_{i-1} + \\phi(k_i) \\\\ "
                "y_i &= \\frac{S_i^\\top \\phi(q_i)}{\\phi(q_i)^\\top z_i}"
            ),
            Text(
                "By induction $S_i = \\sum_{j \\le i}\\phi(k_j)v_j^\\top$ and "
                "$z_i = \\sum_{j\\le i}\\phi(k_j)$, which are exactly the numerator "
                "and denominator sums: an RNN whose hidden state is $(S_i, z_i)$."
            ),
            Text(
                "(b) The state holds $M(d_v + 1)$ numbers per head whatever $i$ is; "
                "one step costs $O(Md_v)$. Softmax attention with a key/value cache "
                "stores $t(d_k + d_v)$ numbers per head after $t$ tokens and "
                "spends $O(t(d_k + d_v))$ on token $t$ ($t$ scores $q_t^\\top k_j$, "
                "then the weighted sum of $t$ values): memory grows linearly, and "
                "generating $L$ tokens costs $O(L^2(d_k + d_v))$ against "
                "$O(L M d_v)$. "
                "The state is the smaller one once $t(d_k + d_v) > M(d_v + 1)$:"
            ),
            Math(
                "t^* = \\Big\\lfloor \\frac{M(d_v + 1)}{d_k + d_v} \\Big\\rfloor + 1, "
                "\\qquad d_k = d_v = 8,\\; M = 1 + 8 + 8^2 = 73:\\; "
                f"t^* = \\lfloor 657/16 \\rfloor + 1 = {crossover}"
            ),
            Text(
                "(c) The state is a fixed-size summary: the model cannot recall an "
                "arbitrary earlier token exactly once $i \\gg M$ (the recall/"
                "throughput trade-off), and the kernel only approximates $\\exp$."
            ),
            Text(f"Reference: {REFERENCE}"),
        ],
        result=[
            Text(
                "A recurrence with constant state $(S, z)$: $O(Md_v)$ memory and "
                f"time per token; with the Taylor map on 8-wide heads the state "
                f"is smaller than a key/value cache from $t^* = {crossover}$ "
                "tokens on."
            ),
            Table(
                marks,
                "Marking scheme (10 points)",
                6,
                column_format="p{0.7\\linewidth}r",
            ),
        ],
        evidence=[
            Text(
                f"`zoo.layers.LinearAttention.step` run token by token ({length} "
                f"tokens, $D = {dim}$, {heads} heads, Taylor map) against the "
                "causal layer call on the whole sequence, and the bytes held "
                "after every token; beside it `zoo.layers.MultiHeadAttention`'s "
                "key/value cache, measured at the rows shown and at the lengths "
                "a bisection for the crossover probes (float32):"
            ),
            Table(table, "Decoder memory against tokens generated", 6),
        ],
        checks=[
            check(
                "max relative $|$recurrent $-$ causal call$|$",
                error,
                "0 (< 1e-5)",
                error < 1e-5,
                "{:.1e}",
            ),
            check(
                f"tokens $t \\le {length}$ whose state bytes differ from $4HM(d_v+1)$",
                ", ".join(map(str, wrong_state)) or "none",
                f"none ({state_claim} bytes)",
                not wrong_state,
            ),
            check(
                "probed $t$ whose cache bytes differ from $4tH(d_k+d_v)$",
                ", ".join(map(str, wrong_cache)) or "none",
                "none",
                not wrong_cache,
            ),
            check(
                "first $t$ with cache bytes > state bytes (bisection)",
                str(measured),
                f"$t^* = {crossover}$",
                measured == crossover,
            ),
        ],  # fmt: skip
    )
