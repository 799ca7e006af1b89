"""`python -m zoo.bench decode`: cached against recomputed greedy decoding.

For each seq2seq model: greedy decoding of `steps` tokens with the model's
cache (`zoo.decoding.greedy`: on JAX and TensorFlow the generator's
`generate_greedy`, the whole loop one XLA program; on torch a step at a
time, eagerly) against the naive reference that reruns the whole model on
the whole prefix at every step (each step one XLA program on JAX and
TensorFlow), same process, same tokens (checked); the speed-up is their
time ratio. Cache memory per step: the bytes the decoder state holds after
1, `steps`/2 and `steps` tokens when it grows with the tokens (no
`max_length`): linear attention's recurrent state stays constant, the
key/value cache grows; and the bytes of the preallocated key/value cache
that the decoders use (`steps` positions from the first token on). On
JAX, the number of programs compiled during the first cached decode and
during the timed ones (0 when every step has the same shapes). On torch,
also the cached step compiled by `torch.compile` (`torch_compile`), its
first call (compiling) timed apart, against the same eager recomputation.
"""

import contextlib
from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

from zoo.bench.runners import (
    linear_feature_dim,
    result_header,
    state_bytes,
    timed_rounds,
)
from zoo.data.text import SOS_ID
from zoo.decoding import greedy, starting_state
from zoo.models.seq2seq import SEQ2SEQ, build_seq2seq, generator_for
from zoo.models.seq2seq.transformer_seq2seq import LINEAR_FEATURE_DIM
from zoo.runtime import set_random_seed


@dataclass
class DecodeBenchConfig:
    """Every knob of the decoding benchmark."""

    batch: int = 16
    source_length: int = 20
    steps: int = 32  # generated tokens
    vocab: int = 2000
    units: int = 128
    repeats: int = 3  # timed rounds, cached and recomputed alternating
    models: tuple = tuple(SEQ2SEQ)  # names of zoo.models.seq2seq.SEQ2SEQ
    # transformer-linear's Taylor map input per head (None: the head size)
    feature_dim: int | None = LINEAR_FEATURE_DIM
    # torch only: also time the step compiled by torch.compile with this
    # backend (None: not measured)
    torch_compile: str | None = "inductor"


def _no_eos(model):
    """Forbids EOS so that every run decodes exactly `steps` tokens."""
    logits = model.get_layer("logits")
    bias = ops.convert_to_numpy(logits.bias).copy()
    bias[2] = -1e4
    logits.bias.assign(bias)


def _cache_growth(generator, sources, steps):
    memory = generator.encode(sources)
    state = generator.initial_state(memory)
    tokens = np.full((len(sources), 1), SOS_ID, dtype="int32")
    sizes = {}
    for t in range(1, steps + 1):
        _, state = generator.step(tokens, state, memory)
        if t in (1, steps // 2, steps):
            sizes[t] = state_bytes(state)
    return sizes


def _preallocated_bytes(generator, sources, steps):
    """Bytes of a cache preallocated for `steps` tokens, or None."""
    memory = generator.encode(sources)
    state = starting_state(generator, memory, steps)
    return state_bytes(state)


@contextlib.contextmanager
def _counting_compilations():
    """Yields a list that gets one item per program JAX compiles (None off JAX)."""
    if keras.backend.backend() != "jax":
        yield None
        return
    import jax

    compiled = []

    def listener(event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            compiled.append(duration)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield compiled
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)


def _timed_against_reference(fn, reference, repeats):
    """Seconds of `fn` and of `reference`, timed in alternating rounds.

    Both run once to warm up (compiling); then `repeats` rounds call both,
    the order reversed every other round, so that the machine's drift in
    speed hits both alike; the speed-up is the median of the rounds'
    ratios. JAX's compilations are counted for `fn`.

    Args:
        fn: callable, the decoder under test.
        reference: callable, the decoder it is compared with.
        repeats: int >= 1, timed rounds.

    Returns:
        dict: "seconds" and "reference_seconds" (medians), "speedup",
        "result" and "reference_result" (the warm-up calls' results),
        "compilations" (None off JAX, else `{"first_run": n, "timed_runs":
        n}` for `fn`).

    Example:
    >>> row = _timed_against_reference(lambda: 1, lambda: 2, repeats=2)
    >>> row["result"], row["reference_result"], row["speedup"] > 0
    (1, 2, True)
    """
    import statistics

    with _counting_compilations() as compiled:
        events = [] if compiled is None else compiled  # off JAX: none come
        counts = []

        def counted():
            before = len(events)
            result = fn()
            counts.append(len(events) - before)
            return result

        result, reference_result = counted(), reference()
        table = timed_rounds(
            [counted, reference], repeats, alternate=True, warm_up=False
        )
    return {
        "seconds": statistics.median(row[0] for row in table),
        "reference_seconds": statistics.median(row[1] for row in table),
        "speedup": statistics.median(row[1] / max(row[0], 1e-9) for row in table),
        "result": result,
        "reference_result": reference_result,
        "compilations": None
        if compiled is None
        else {"first_run": counts[0], "timed_runs": sum(counts[1:])},
    }


def run(config):
    rng = np.random.default_rng(0)
    sources = rng.integers(4, config.vocab, size=(config.batch, config.source_length))
    sources = sources.astype("int32")
    models = {}
    for name in config.models:
        set_random_seed(0)
        model = build_seq2seq(
            name,
            config.vocab,
            config.units,
            num_heads=4,
            num_layers=2,
            feature_dim=linear_feature_dim(name, config),
        )
        _no_eos(model)
        generator = generator_for(model)
        timed = _timed_against_reference(
            lambda g=generator: greedy(g, sources, config.steps),
            lambda g=generator: greedy(g, sources, config.steps, cached=False),
            config.repeats,
        )
        same = bool((timed["result"] == timed["reference_result"]).all())
        compilations = timed["compilations"]
        models[name] = {
            "cached_seconds": round(timed["seconds"], 4),
            "recomputed_seconds": round(timed["reference_seconds"], 4),
            "speedup": round(timed["speedup"], 2),
            "same_tokens": same,
            "cache_bytes_after_steps": _cache_growth(generator, sources, config.steps),
            "preallocated_cache_bytes": _preallocated_bytes(
                generator, sources, config.steps
            ),
        }
        if compilations is not None:
            models[name]["jax_compilations_cached"] = compilations
        if config.torch_compile and keras.backend.backend() == "torch":
            models[name]["torch_compile"] = _torch_compiled_row(
                model, name, sources, config
            )
    return {**result_header(config), "models": models}


def _torch_compiled_row(model, name, sources, config):
    """The cached step through `torch.compile`, against recomputation.

    Returns:
        dict: "backend", "first_call_seconds" (compiling included),
        "cached_seconds", "recomputed_seconds", "speedup", "same_tokens"
        (as the eager cached decoding's).
    """
    import time

    generator = SEQ2SEQ[name].generator(model, torch_compile=config.torch_compile)
    start = time.perf_counter()
    first = greedy(generator, sources, config.steps)
    first_seconds = time.perf_counter() - start
    timed = _timed_against_reference(
        lambda: greedy(generator, sources, config.steps),
        lambda: greedy(generator, sources, config.steps, cached=False),
        config.repeats,
    )
    return {
        "backend": config.torch_compile,
        "first_call_seconds": round(first_seconds, 2),
        "cached_seconds": round(timed["seconds"], 4),
        "recomputed_seconds": round(timed["reference_seconds"], 4),
        "speedup": round(timed["speedup"], 2),
        "same_tokens": bool((first == timed["reference_result"]).all()),
    }


def print_report(result):
    c = result["config"]
    print(
        f"\ngreedy decoding of {c['steps']} tokens, batch {c['batch']}, input "
        f"{c['source_length']} tokens, vocabulary {c['vocab']}, {c['units']} units"
    )
    header = f"{'model':<19} {'cached s':>9} {'recomputed s':>13} {'speed-up':>9}"
    print(f"  {header}  cache bytes (1, mid, last)")
    for name, row in result["models"].items():
        sizes = ", ".join(str(v) for v in row["cache_bytes_after_steps"].values())
        same = "" if row["same_tokens"] else "  TOKENS DIFFER"
        print(
            f"  {name:<19} {row['cached_seconds']:>9.3f} "
            f"{row['recomputed_seconds']:>13.3f} {row['speedup']:>8.2f}x  {sizes}{same}"
        )
        compiled = row.get("torch_compile")
        if compiled:
            same = "" if compiled["same_tokens"] else "  TOKENS DIFFER"
            print(
                f"  {'  torch.compile':<19} {compiled['cached_seconds']:>9.3f} "
                f"{compiled['recomputed_seconds']:>13.3f} "
                f"{compiled['speedup']:>8.2f}x  ({compiled['backend']}, first call "
                f"{compiled['first_call_seconds']:.1f} s){same}"
            )
    compiled = {
        name: row["jax_compilations_cached"]
        for name, row in result["models"].items()
        if "jax_compilations_cached" in row
    }
    if compiled:
        print("  JAX programs compiled by cached decoding (first run, timed runs):")
        for name, counts in compiled.items():
            print(f"    {name:<19} {counts['first_run']}, {counts['timed_runs']}")
