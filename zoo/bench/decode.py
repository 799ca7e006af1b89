"""`python -m zoo.bench decode`: cached against recomputed greedy decoding.

For each seq2seq model: greedy decoding of `steps` tokens with the model's
cache (one new token per step) against the naive reference that reruns the
whole model on the whole prefix at every step, same process, same tokens
(checked); the speed-up is their time ratio. Cache memory per step: the
bytes the decoder state holds after 1, `steps`/2 and `steps` tokens when it
grows with the tokens (no `max_length`): linear attention's recurrent state
stays constant, the key/value cache grows; and the bytes of the
preallocated key/value cache that the decoders use (`steps` positions from
the first token on). On JAX, the number of programs compiled during the
first cached decode and during the timed ones (0 when every step has the
same shapes).
"""

import contextlib
from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

from zoo.bench.runners import result_header, state_bytes, timed_median
from zoo.data.text import SOS_ID
from zoo.decoding import _initial_state, greedy
from zoo.models.seq2seq import SEQ2SEQ, build_seq2seq, generator_for


@dataclass
class DecodeBenchConfig:
    """Every knob of the decoding benchmark."""

    batch: int = 16
    source_length: int = 20
    steps: int = 32  # generated tokens
    vocab: int = 2000
    units: int = 128
    repeats: int = 2


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
    state = _initial_state(generator, memory, steps)
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


def _timed_counting(fn, repeats):
    """`timed_median` of `fn`, plus JAX's compilations in its runs.

    Returns:
        (median seconds, the first run's result, None off JAX or
        `{"first_run": n, "timed_runs": n}`).
    """
    with _counting_compilations() as compiled:
        if compiled is None:
            return (*timed_median(fn, repeats), None)
        counts = []

        def counted():
            before = len(compiled)
            result = fn()
            counts.append(len(compiled) - before)
            return result

        seconds, result = timed_median(counted, repeats)
    return seconds, result, {"first_run": counts[0], "timed_runs": sum(counts[1:])}


def run(config):
    rng = np.random.default_rng(0)
    sources = rng.integers(4, config.vocab, size=(config.batch, config.source_length))
    sources = sources.astype("int32")
    models = {}
    for name in SEQ2SEQ:
        keras.utils.set_random_seed(0)
        model = build_seq2seq(
            name, config.vocab, config.units, num_heads=4, num_layers=2
        )
        _no_eos(model)
        generator = generator_for(model)
        fast, cached, compilations = _timed_counting(
            lambda g=generator: greedy(g, sources, config.steps), config.repeats
        )
        slow, recomputed = timed_median(
            lambda g=generator: greedy(g, sources, config.steps, cached=False),
            config.repeats,
        )
        same = bool((cached == recomputed).all())
        models[name] = {
            "cached_seconds": round(fast, 4),
            "recomputed_seconds": round(slow, 4),
            "speedup": round(slow / fast, 2),
            "same_tokens": same,
            "cache_bytes_after_steps": _cache_growth(generator, sources, config.steps),
            "preallocated_cache_bytes": _preallocated_bytes(
                generator, sources, config.steps
            ),
        }
        if compilations is not None:
            models[name]["jax_compilations_cached"] = compilations
    return {**result_header(config), "models": models}


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
    compiled = {
        name: row["jax_compilations_cached"]
        for name, row in result["models"].items()
        if "jax_compilations_cached" in row
    }
    if compiled:
        print("  JAX programs compiled by cached decoding (first run, timed runs):")
        for name, counts in compiled.items():
            print(f"    {name:<19} {counts['first_run']}, {counts['timed_runs']}")
