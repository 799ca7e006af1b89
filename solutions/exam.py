"""B4: an original exam problem — causal linear attention is an RNN."""

import numpy as np
import pandas as pd

from solutions.document import Math, Section, Table, Text, check


def state_bytes(state):
    from keras import ops

    return sum(int(np.prod(ops.shape(x))) * 4 for x in state)


def recurrent_check(length=12, dim=16, heads=2, seed=0):
    """LinearAttention.step token by token against the causal call.

    Returns:
        (max relative difference, {t: state bytes}, {t: KV-cache bytes}).
    """
    from keras import ops

    from zoo.layers import LinearAttention, MultiHeadAttention

    x = np.random.default_rng(seed).standard_normal((1, length, dim)).astype("float32")
    layer = LinearAttention(heads, key_dim=dim // heads)
    full = ops.convert_to_numpy(layer(x, x, use_causal_mask=True))
    softmax = MultiHeadAttention(heads, key_dim=dim // heads)
    softmax(x, x)
    state, cache = layer.get_initial_state(1), softmax.get_initial_state(1)
    outputs, sizes, cache_sizes = [], {}, {}
    for t in range(length):
        out, state = layer.step(x[:, t : t + 1], state)
        _, cache = softmax.step(x[:, t : t + 1], cache)
        outputs.append(ops.convert_to_numpy(out))
        if t + 1 in (1, length // 2, length):
            sizes[t + 1] = state_bytes(state)
            cache_sizes[t + 1] = state_bytes(cache)
    steps = np.concatenate(outputs, axis=1)
    error = float(np.abs(steps - full).max() / np.abs(full).max())
    return error, sizes, cache_sizes


def b4(out_dir):
    error, sizes, cache_sizes = recurrent_check()
    table = pd.DataFrame(
        {
            "tokens generated": list(sizes),
            "linear attention state (bytes)": list(sizes.values()),
            "softmax key/value cache (bytes)": list(cache_sizes.values()),
        }
    )
    constant = len(set(sizes.values())) == 1
    return Section(
        "B4",
        "Exam problem: causal linear attention is a recurrent network",
        statement=[
            Text(
                "**Problem.** In causal linear attention, token $i$ attends to "
                "tokens $j \\le i$: $y_i = \\frac{\\phi(q_i)^\\top\\sum_{j\\le i}\\phi(k_j)v_j^\\top}"
                "{\\phi(q_i)^\\top\\sum_{j\\le i}\\phi(k_j)}$ with $\\phi: \\mathbb{R}^D \\to "
                "\\mathbb{R}^M$. (a) Write it as a recurrence with a state that does "
                "not grow with $i$. (b) Give the memory and time per generated "
                "token and compare with softmax attention using a key/value cache. "
                "(c) What is lost?"
            )
        ],
        derivation=[
            Text(
                "(a) Define the state $(S_i, z_i)$ with $S_0 = 0 \\in \\mathbb{R}^{M\\times D_v}$, $z_0 = 0 \\in \\mathbb{R}^M$:"
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
                "(b) The state holds $M(D_v + 1)$ numbers per head whatever $i$ is; "
                "one step costs $O(MD_v)$. Softmax attention with a key/value cache "
                "stores $2iD$ numbers after $i$ tokens and spends $O(iD)$ on token "
                "$i$: memory grows linearly, and generating $L$ tokens costs "
                "$O(L^2D)$ against $O(LMD_v)$."
            ),
            Text(
                "(c) The state is a fixed-size summary: the model cannot recall an "
                "arbitrary earlier token exactly once $i \\gg M$ (the recall/"
                "throughput trade-off), and the kernel only approximates $\\exp$."
            ),
        ],
        result=[
            Text(
                "A recurrence with constant state $(S, z)$: $O(MD_v)$ memory and time per token."
            )
        ],
        checks=[
            Text(
                "`zoo.layers.LinearAttention.step` run token by token (12 tokens, "
                "$D = 16$, 2 heads, Taylor map) against the causal layer call on "
                "the whole sequence, and the bytes held after 1, 6 and 12 tokens "
                "next to `zoo.layers.MultiHeadAttention`'s key/value cache:"
            ),
            Table(table, "Decoder memory against tokens generated", 6),
        ],
        verdicts=[
            check(
                "max relative |recurrent - causal call|",
                error,
                "0 (< 1e-5)",
                error < 1e-5,
                "{:.1e}",
            ),
            check(
                "linear state bytes after 1, 6, 12 tokens",
                ", ".join(map(str, sizes.values())),
                "constant",
                constant,
            ),
            check(
                "softmax cache bytes after 12 tokens / after 1",
                str(cache_sizes[12] // cache_sizes[1]),
                "12 (linear growth)",
                cache_sizes[12] == 12 * cache_sizes[1],
            ),
        ],  # fmt: skip
    )
