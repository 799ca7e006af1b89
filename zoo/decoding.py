"""Decoding a seq2seq model: greedy, beam search, top-k and top-p sampling.

Every decoder drives a `zoo.models.seq2seq.Seq2SeqGenerator`: the encoder
runs once, then one token per step with the model's cache (LSTM state,
key/value cache, linear attention's recurrent state). `cached=False` runs
the naive reference instead (the whole model on the whole prefix each
step); both give the same tokens, which the tests check on every backend.

Two options against the loops small chatbots fall into, as in the
generation libraries (Hugging Face's `no_repeat_ngram_size` and
`repetition_penalty`), for every decoder:
- `no_repeat_ngram=n`: a token that would complete an n-gram already in
  the reply is never chosen (0: off).
- `repetition_penalty=p` (CTRL, Keskar et al. 2019): the logit of every
  token already in the reply is divided by p when positive, multiplied by
  p when negative (1.0: off).
They act on the logits before the softmax; beam search ranks hypotheses by
the log-probabilities of the adjusted logits.

Against generic replies, greedy decoding also takes maximum mutual
information in its anti-language-model form (Li et al., 2016, "A
Diversity-Promoting Objective Function for Neural Conversation Models"):
`mmi_weight=lambda` scores each of the first `mmi_steps` tokens by
`log p(y_t | y_<t, x) - lambda * log p(y_t | y_<t)`, where the second term
is the same decoder given an empty input (so a reply likely whatever was
said, such as "i don't know.", is penalized). Both inputs run as one batch
of 2B rows, cached or recomputed alike.

Example:
>>> ids = greedy(generator, sources, max_length=20)  # doctest: +SKIP
"""

import inspect
import math

import numpy as np
from keras import ops

from zoo.data.text import EOS_ID, PAD_ID, SOS_ID
from zoo.errors import ZooError

DECODERS = ("greedy", "beam", "top-k", "top-p")


def _generable_logits(x):
    """Logits as float64 numpy; PAD and SOS can never be generated."""
    logits = np.array(ops.convert_to_numpy(x), dtype="float64")
    logits[:, [PAD_ID, SOS_ID]] = -np.inf
    return logits


def check_options(no_repeat_ngram=0, repetition_penalty=1.0, mmi_weight=0.0,
                  mmi_steps=0):  # fmt: skip
    """Raises ZooError naming the flag when a decoding option is out of range."""
    if not 0.0 <= mmi_weight < 1.0:
        raise ZooError(
            f"--mmi-weight must be in [0, 1) (0: off; Li et al. use 0.1-0.5), "
            f"got {mmi_weight}"
        )
    if mmi_steps < 0:
        raise ZooError(f"--mmi-steps must be >= 0, got {mmi_steps}")
    if no_repeat_ngram < 0:
        raise ZooError(f"--no-repeat-ngram must be >= 0, got {no_repeat_ngram}")
    if not 1.0 <= repetition_penalty < math.inf:
        raise ZooError(
            "--repetition-penalty must be a finite number >= 1.0 (1.0: off), "
            f"got {repetition_penalty}"
        )


def adjust_logits(logits, history, no_repeat_ngram=0, repetition_penalty=1.0):
    """Applies n-gram blocking and the repetition penalty to next-token logits.

    Args:
        logits: float array `(B, V)` (a copy is changed).
        history: int array `(B, t)` or list of B sequences: the tokens
            generated so far in each row (SOS excluded).
        no_repeat_ngram: int, block tokens completing a repeated n-gram.
        repetition_penalty: float >= 1.

    Returns:
        float array `(B, V)`.

    Example:
    >>> import numpy as np
    >>> out = adjust_logits(np.array([[2.0, -1.0, 0.5]]), [[0, 1]], 0, 2.0)
    >>> out.tolist()
    [[1.0, -2.0, 0.5]]
    >>> adjust_logits(np.zeros((1, 3)), [[1, 2, 1]], no_repeat_ngram=2).tolist()
    [[0.0, 0.0, -inf]]
    """
    logits = np.array(logits, dtype="float64")
    if repetition_penalty == 1.0 and not no_repeat_ngram:
        return logits
    for row, tokens in enumerate(history):
        tokens = [int(t) for t in tokens]
        if repetition_penalty != 1.0 and tokens:
            seen = np.unique(tokens)
            values = logits[row, seen]
            logits[row, seen] = np.where(
                values > 0, values / repetition_penalty, values * repetition_penalty
            )
        n = no_repeat_ngram
        if n and len(tokens) >= n - 1:
            tail = tuple(tokens[len(tokens) - n + 1 :])
            banned = [
                tokens[i + n - 1]
                for i in range(len(tokens) - n + 1)
                if tuple(tokens[i : i + n - 1]) == tail
            ]
            logits[row, banned] = -np.inf
    return logits


def _log_softmax(logits):
    shifted = logits - logits.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def starting_state(generator, memory, max_length):
    """The generator's state before the first of at most `max_length` steps.

    A generator whose `initial_state` takes `max_length` (the transformer's
    key/value cache) preallocates its cache for the whole generation, so
    every step sees the same shapes (one compiled program on JAX, instead
    of one per generated length).

    Args:
        generator: a seq2seq generator (`zoo.models.seq2seq.generator_for`).
        memory: what its `encode` returned.
        max_length: int, the most steps that will follow.

    Returns:
        the generator's state (nested tensors).
    """
    if "max_length" in inspect.signature(generator.initial_state).parameters:
        return generator.initial_state(memory, max_length=max_length)
    return generator.initial_state(memory)


def with_empty_inputs(sources):
    """`sources` `(B, S)` followed by B empty inputs (all PAD): one batch
    that gives p(y | x) in its first half and p(y) in its second.

    Example:
    >>> with_empty_inputs(np.array([[4, 5]])).tolist()
    [[4, 5], [0, 0]]
    """
    sources = np.asarray(sources, dtype="int32")
    return np.concatenate([sources, np.full_like(sources, PAD_ID)])


def _run(generator, sources, max_length, choose, cached=True, mmi_weight=0.0,
         mmi_steps=0, **options):  # fmt: skip
    """Shared loop: `choose(scores (B, V) float64) -> ids (B,)` each step.

    `options`: no_repeat_ngram and repetition_penalty (see `adjust_logits`);
    `mmi_weight`, `mmi_steps`: the anti-language-model term (module doc).
    """
    sources = np.asarray(sources, dtype="int32")
    batch = len(sources)
    mmi = mmi_weight > 0.0 and mmi_steps > 0
    if mmi:  # rows B.. decode the same tokens from an empty input
        sources = with_empty_inputs(sources)
    copies = 2 if mmi else 1  # of each token fed back: B rows, or 2B with p(y)
    output = np.full((batch, max_length), PAD_ID, dtype="int32")
    done = np.zeros(batch, dtype=bool)
    tokens = np.full((copies * batch, 1), SOS_ID, dtype="int32")
    if cached:
        memory = generator.encode(sources)
        state = starting_state(generator, memory, max_length)
    for t in range(max_length):
        if cached:
            logits, state = generator.step(tokens, state, memory)
        else:
            # The whole prefix in a fixed-size buffer: position t reads only
            # positions <= t (causal), so the padding after it changes
            # nothing, and a compiling backend sees one shape.
            prefix = np.full((batch, max_length), PAD_ID, dtype="int32")
            prefix[:, 0] = SOS_ID
            prefix[:, 1 : t + 1] = output[:, :t]
            logits = generator.recompute(sources, np.tile(prefix, (copies, 1)), t)
        logits = _generable_logits(logits)
        scores = adjust_logits(logits[:batch], output[:, :t], **options)
        if mmi and t < mmi_steps:
            with np.errstate(invalid="ignore"):  # -inf - -inf at banned tokens
                anti = _log_softmax(scores) - mmi_weight * _log_softmax(logits[batch:])
            scores = np.where(np.isneginf(scores), -np.inf, anti)
        chosen = np.where(done, PAD_ID, choose(scores))
        output[:, t] = chosen
        done |= chosen == EOS_ID
        if done.all():
            break
        tokens = np.tile(chosen[:, None], (copies, 1)).astype("int32")
    return output


def greedy(
    generator,
    sources,
    max_length=20,
    cached=True,
    no_repeat_ngram=0,
    repetition_penalty=1.0,
    mmi_weight=0.0,
    mmi_steps=3,
):
    """The most likely token at every step (sheet B1's decoder).

    Args:
        generator: Seq2SeqGenerator.
        sources: int array `(B, S)` of input ids (0 = padding).
        max_length: int, tokens generated at most (EOS included).
        cached: bool. False recomputes the full model every step (reference).
        no_repeat_ngram: int, n-gram blocking (0: off; see the module doc).
        repetition_penalty: float >= 1 (1.0: off).
        mmi_weight: float in [0, 1), lambda of the anti-language-model term
            (0.0: off; see the module doc).
        mmi_steps: int, the first tokens it applies to. Defaults to 3.

    Returns:
        int array `(B, max_length)`: ids, EOS then PAD after the end.

    On JAX and TensorFlow the cached search is the generator's
    `generate_greedy`: the whole loop, options included, one compiled
    program (the options in float32 there, in float64 here: equal but for
    near-ties). On torch, where nothing compiles, the loop below is faster
    (LSTM, batch 256, vocabulary 4,221, bigram blocking and penalty: 0.36 s
    against 1.8 s for the same loop in tensor ops run eagerly).
    """
    check_options(no_repeat_ngram, repetition_penalty, mmi_weight, mmi_steps)
    if cached and generator.compiles():
        return generator.generate_greedy(
            sources, max_length, no_repeat_ngram, repetition_penalty, mmi_weight,
            mmi_steps,
        )  # fmt: skip
    return _run(
        generator,
        sources,
        max_length,
        lambda lp: lp.argmax(-1),
        cached,
        mmi_weight,
        mmi_steps,
        no_repeat_ngram=no_repeat_ngram,
        repetition_penalty=repetition_penalty,
    )


def _filter_logits(logits, top_k=None, top_p=None):
    """Logits outside the top k / the top-p nucleus set to -inf."""
    logits = logits.copy()
    if top_k:
        kth = np.sort(logits, axis=-1)[:, -min(top_k, logits.shape[-1])][:, None]
        logits[logits < kth] = -np.inf
    if top_p is not None and top_p < 1.0:
        order = np.argsort(-logits, axis=-1)
        sorted_logits = np.take_along_axis(logits, order, -1)
        probs = np.exp(_log_softmax(sorted_logits))
        # Keep the smallest prefix whose mass reaches top_p (at least 1 token).
        drop_sorted = np.cumsum(probs, -1) - probs >= top_p
        drop = np.zeros_like(drop_sorted)
        np.put_along_axis(drop, order, drop_sorted, -1)
        logits[drop] = -np.inf
    return logits


def sample(
    generator,
    sources,
    max_length=20,
    top_k=None,
    top_p=None,
    temperature=1.0,
    seed=0,
    cached=True,
    no_repeat_ngram=0,
    repetition_penalty=1.0,
):
    """Samples each token from the (filtered) softmax of logits / temperature.

    Args:
        generator, sources, max_length: as in `greedy`.
        top_k: int or None, keep the k most likely tokens.
        top_p: float in (0, 1] or None, keep the smallest set of most likely
            tokens whose probability reaches top_p (nucleus sampling).
        temperature: float > 0.
        seed: int; the same seed gives the same replies.
        cached, no_repeat_ngram, repetition_penalty: as in `greedy`.

    Returns:
        int array `(B, max_length)`.
    """
    check_options(no_repeat_ngram, repetition_penalty)
    if not temperature > 0:
        raise ZooError(f"--temperature must be > 0, got {temperature}")
    if top_p is not None and not 0 < top_p <= 1:
        raise ZooError(f"--top-p must be in (0, 1], got {top_p}")
    if top_k is not None and top_k < 1:
        raise ZooError(f"--top-k must be >= 1, got {top_k}")
    rng = np.random.default_rng(seed)

    def choose(logits):
        probs = np.exp(_log_softmax(_filter_logits(logits / temperature, top_k, top_p)))
        cumulative = np.cumsum(probs, -1)
        draws = rng.random((len(probs), 1)) * cumulative[:, -1:]
        return (cumulative < draws).sum(-1).clip(max=probs.shape[-1] - 1)

    return _run(
        generator,
        sources,
        max_length,
        choose,
        cached,
        no_repeat_ngram=no_repeat_ngram,
        repetition_penalty=repetition_penalty,
    )


def _length_penalty(length, alpha):
    """GNMT's ((5 + |Y|) / 6)^alpha; alpha = 0 ranks by total log-probability."""
    return ((5.0 + length) / 6.0) ** alpha


def beam_search(
    generator,
    sources,
    max_length=20,
    width=4,
    length_penalty=0.6,
    cached=True,
    no_repeat_ngram=0,
    repetition_penalty=1.0,
):
    """Keeps the `width` best prefixes per input; returns the best finished one.

    Hypotheses are ranked by log-probability / `_length_penalty(length)`.
    One input at a time, the beam being the batch.

    Args:
        generator, sources, max_length: as in `greedy`.
        width: int >= 1; width 1 equals greedy search.
        length_penalty: float alpha >= 0.
        cached, no_repeat_ngram, repetition_penalty: as in `greedy`.

    Returns:
        int array `(B, max_length)`.
    """
    if width < 1:
        raise ZooError(f"--beam-width must be >= 1, got {width}")
    check_options(no_repeat_ngram, repetition_penalty)
    options = {
        "cached": cached,
        "no_repeat_ngram": no_repeat_ngram,
        "repetition_penalty": repetition_penalty,
    }
    sources = np.asarray(sources, dtype="int32")
    output = np.full((len(sources), max_length), PAD_ID, dtype="int32")
    for row, source in enumerate(sources):
        best = _beam_one(
            generator, source[None], max_length, width, length_penalty, **options
        )
        output[row, : len(best)] = best
    return output


def _beam_one(generator, source, max_length, width, alpha, cached=True, **options):
    """Beam search over one input, always `width` rows wide.

    The beam starts as one live hypothesis and `width - 1` dead ones (score
    -inf), and dead rows pad it whenever fewer than `width` hypotheses
    survive a step, so the generator sees one batch size for the whole
    search (one compiled step on JAX) and the memory is repeated once.
    Dead rows' candidates score -inf and are never chosen; live rows come
    first, so the ranking equals that of a beam holding live rows only.
    """
    sources = np.repeat(source, width, axis=0)
    if cached:
        memory = generator.reorder(generator.encode(source), np.zeros(width, "int32"))
        state = starting_state(generator, memory, max_length)
    beams = [([], 0.0)] + [([], -math.inf)] * (width - 1)  # (tokens, log-prob)
    finished = []
    tokens = np.full((width, 1), SOS_ID, dtype="int32")
    for t in range(max_length):
        if cached:
            logits, state = generator.step(tokens, state, memory)
        else:
            # Every beam's prefix in a fixed-size buffer, as in `_run`.
            prefix = np.full((width, max_length), PAD_ID, dtype="int32")
            prefix[:, 0] = SOS_ID
            for row, (beam_tokens, _) in enumerate(beams):
                prefix[row, 1 : t + 1] = beam_tokens
            logits = generator.recompute(sources, prefix, t)
        history = [beam_tokens for beam_tokens, _ in beams]
        log_probs = _log_softmax(
            adjust_logits(_generable_logits(logits), history, **options)
        )
        scores = np.array([score for _, score in beams])[:, None] + log_probs
        flat = np.argsort(-scores, axis=None, kind="stable")[: 2 * width]
        parents, ids = np.unravel_index(flat, scores.shape)
        survivors = []
        for parent, token in zip(parents, ids, strict=True):
            if beams[parent][1] == -math.inf:
                break  # a dead row: sorted, only dead rows' candidates follow
            hypothesis = (beams[parent][0] + [int(token)], float(scores[parent, token]))
            if token == EOS_ID or t == max_length - 1:
                length = len(hypothesis[0])
                finished.append(
                    (hypothesis[1] / _length_penalty(length, alpha), hypothesis[0])
                )
            else:
                survivors.append((parent, hypothesis))
            if len(survivors) == width:
                break
        best_finished = max((s for s, _ in finished), default=-math.inf)
        # Stop when no live beam can still beat the best finished hypothesis
        # (log-probabilities only fall, and the penalty is at most its bound).
        bound = max(
            (h[1] / _length_penalty(max_length, alpha) for _, h in survivors),
            default=-math.inf,
        )
        if not survivors or (len(finished) >= width and bound <= best_finished):
            break
        # Dead rows (copies of the first survivor, score -inf) keep the width.
        first_parent, (first_tokens, _) = survivors[0]
        dead = (first_parent, (first_tokens, -math.inf))
        survivors += [dead] * (width - len(survivors))
        beams = [h for _, h in survivors]
        if cached:
            state = generator.reorder(state, [parent for parent, _ in survivors])
        tokens = np.array([[h[0][-1]] for h in beams], dtype="int32")
    return max(finished)[1]


def decode(generator, sources, method="greedy", max_length=20, **options):
    """Dispatches to one of DECODERS by name.

    Args:
        method: "greedy", "beam", "top-k" or "top-p".
        **options: width/length_penalty (beam), top_k/top_p/temperature/seed
            (sampling); no_repeat_ngram/repetition_penalty (all).
    """
    if method == "greedy":
        return greedy(generator, sources, max_length, **options)
    if method == "beam":
        return beam_search(generator, sources, max_length, **options)
    if method in ("top-k", "top-p"):
        return sample(generator, sources, max_length, **options)
    raise ZooError(f"--decoder: unknown {method!r}; choose from {list(DECODERS)}")
