"""`python -m zoo.bench precision`: float32 against mixed bfloat16 training.

Two questions, per backend, on this CPU:
- Throughput: the same workload built twice, under the `float32` and the
  `mixed_bfloat16` Keras dtype policies (`zoo.runtime.dtype_policy`), timed
  in rounds that alternate between the two (ABBA): the LSTM forecaster's
  `fit` epoch (as `python -m zoo.bench lstm`), the chatbots' training rounds
  (as `python -m zoo.bench seq2seq`, padded batches), and multi-head
  attention's forward + backward (as `python -m zoo.bench attention`).
  The ratio is float32 seconds over bfloat16 seconds (> 1: bfloat16 faster).
- Quality: real runs of `zoo.train` (`train_and_evaluate`, the path of
  `--precision`) on the embedded data, the same epochs in both precisions
  with early stopping out of reach; the kept epoch's validation loss of
  each and bfloat16's relative difference.

bfloat16 pays only where the CPU computes in it (AVX-512 BF16, AMX): the
report prints the CPU's relevant flags beside the numbers.
"""

import contextlib
import dataclasses
import io
import os
import tempfile
from dataclasses import dataclass

import numpy as np

from zoo.bench import lstm as lstm_bench
from zoo.bench import seq2seq as seq2seq_bench
from zoo.bench.runners import keras_layer_runner, median_seconds, result_header
from zoo.config import TrainConfig
from zoo.layers import MultiHeadAttention
from zoo.runtime import dtype_policy
from zoo.train.engine import train_and_evaluate

PRECISIONS = ("float32", "mixed_bfloat16")
# The CPU features that decide whether bfloat16 can be fast (from /proc/cpuinfo).
BF16_FLAGS = ("avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "avx2")


@dataclass
class PrecisionBenchConfig:
    """Every knob of the precision benchmark."""

    # Which throughput workloads run: forecaster, chatbots, attention.
    workloads: tuple = ("forecaster", "chatbots", "attention")
    repeats: int = 3  # timed rounds of each precision (median reported)
    pause: float = 0.5  # seconds before each round (idle worker threads)
    lstm: dict = dataclasses.field(
        default_factory=lambda: {"batches": 10}
    )  # LstmBenchConfig overrides
    seq2seq: dict = dataclasses.field(
        default_factory=lambda: {"batches": 5}
    )  # Seq2SeqBenchConfig overrides
    chatbots: tuple = ("lstm", "lstm-attention", "transformer")
    attention: dict = dataclasses.field(
        default_factory=lambda: {"batch": 4, "length": 256, "dim": 256, "heads": 8}
    )
    # Quality runs: (task, model) trained `epochs` epochs in each precision.
    quality_runs: tuple = (("traffic", "lstm"), ("chatbot", "lstm"),
                           ("chatbot", "transformer"))  # fmt: skip
    traffic_epochs: int = 10
    chatbot_epochs: int = 2
    chatbot_train_pairs: int | None = 3000  # None: the whole training split


def cpu_flags(path="/proc/cpuinfo"):
    """The bfloat16-relevant flags this CPU reports (empty where unknown).

    Args:
        path: str, the cpuinfo file.

    Returns:
        list of str, in `BF16_FLAGS` order.

    Example:
    >>> cpu_flags("/nowhere")
    []
    """
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("flags"):
                    present = set(line.split(":", 1)[1].split())
                    return [flag for flag in BF16_FLAGS if flag in present]
    except OSError:
        pass
    return []


def _attention_pass(config, precision):
    size = config.attention
    x = np.random.default_rng(0).standard_normal(
        (size["batch"], size["length"], size["dim"])
    )
    with dtype_policy(precision):
        layer = MultiHeadAttention(size["heads"], size["dim"] // size["heads"])
        layer(x[:1, :2].astype("float32"), x[:1, :2].astype("float32"))
    runner = keras_layer_runner(layer, x.astype("float32"), backward=True)
    runner.model = layer
    return runner


def _workloads(config):
    """{name: (unit, units a round, build(precision) -> callable)}.

    Each callable carries what it trains as `.model` (its dtype policy).
    """
    work = {}
    if "forecaster" in config.workloads:
        lstm_config = lstm_bench.LstmBenchConfig(**config.lstm)
        work["lstm forecaster (fit)"] = (
            "samples",
            lstm_config.batch * lstm_config.batches,
            lambda p: _under(p, lstm_bench.keras_epoch, lstm_config),
        )
    if "chatbots" in config.workloads:
        seq_config = seq2seq_bench.Seq2SeqBenchConfig(**config.seq2seq)
        tokens = seq2seq_bench.target_tokens(seq_config)
        for name in config.chatbots:
            work[f"chatbot {name}"] = (
                "tokens",
                tokens,
                lambda p, n=name: _under(p, seq2seq_bench.keras_epoch, n, seq_config),
            )
    if "attention" in config.workloads:
        work["multi-head attention (fwd+bwd)"] = (
            "sequences",
            config.attention["batch"],
            lambda p: _attention_pass(config, p),
        )
    return work


def compute_dtypes(model):
    """The compute dtypes of a layer's (or model's) weighted layers, sorted.

    Args:
        model: a built Keras layer or model.

    Returns:
        list of str.

    Example:
    >>> import keras
    >>> layer = keras.layers.Dense(2, dtype="mixed_bfloat16")
    >>> layer.build((None, 3))
    >>> compute_dtypes(layer)
    ['bfloat16']
    """
    leaves = [
        layer
        for layer in model._flatten_layers(include_self=True)
        if layer.weights and not list(layer._flatten_layers(include_self=False))
    ]  # the layers that compute with weights of their own
    return sorted({layer.compute_dtype for layer in leaves})


def _under(precision, build, *args):
    with dtype_policy(precision):
        return build(*args)


def throughput(config):
    """Rows of float32 vs bfloat16 speed, rounds alternating; a list of dicts."""
    rows = []
    for name, (unit, per_round, build) in _workloads(config).items():
        runners = {p: build(p) for p in PRECISIONS}
        seconds = median_seconds(
            runners, config.repeats, pause=config.pause, alternate=True
        )
        f32, bf16 = seconds["float32"], seconds["mixed_bfloat16"]
        rows.append(
            {
                "workload": name,
                "unit": unit,
                # What each side computed in: its weighted layers' compute dtypes.
                "compute_dtypes": {
                    p: compute_dtypes(runner.model) for p, runner in runners.items()
                },
                "float32_per_second": round(per_round / f32, 1),
                "bfloat16_per_second": round(per_round / bf16, 1),
                "speedup": round(f32 / bf16, 3),
            }
        )
    return rows


def _train(task, model, precision, config, folder):
    chatbot = task == "chatbot"
    epochs = config.chatbot_epochs if chatbot else config.traffic_epochs
    settings = {"task": task, "model": model, "preset": "quick", "epochs": epochs,
                "patience": epochs, "precision": precision}  # fmt: skip
    if chatbot:
        settings["max_train_pairs"] = config.chatbot_train_pairs
    out = os.path.join(folder, f"{task}-{model}-{precision}")
    with contextlib.redirect_stdout(io.StringIO()):  # the runs' own report
        metrics = train_and_evaluate(TrainConfig(**settings), out, verbose=0)
    return metrics["kept_epoch_history"]["val_loss"], metrics["epochs_run"]


def quality(config):
    """Validation loss after the same epochs in both precisions; dict rows."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="zoo-precision-") as folder:
        for task, model in config.quality_runs:
            losses, epochs = {}, None
            for precision in PRECISIONS:
                losses[precision], epochs = _train(
                    task, model, precision, config, folder
                )
            f32, bf16 = losses["float32"], losses["mixed_bfloat16"]
            rows.append(
                {
                    "run": f"{task} {model}",
                    "epochs": epochs,
                    "float32_val_loss": f32,
                    "bfloat16_val_loss": bf16,
                    "relative_difference": round((bf16 - f32) / abs(f32), 4),
                }
            )
    return rows


def run(config):
    """Throughput and quality of both precisions; a JSON-ready dict."""
    return {
        **result_header(config),
        "cpu_flags": cpu_flags(),
        "throughput": throughput(config),
        "quality": quality(config),
    }


def print_report(result):
    flags = ", ".join(result["cpu_flags"]) or "unknown"
    print(f"\nfloat32 vs mixed_bfloat16 training ({result['backend']}; CPU: {flags})")
    for row in result["throughput"]:
        print(
            f"  {row['workload']:<32} float32 {row['float32_per_second']:>9.1f} "
            f"{row['unit']}/s, bfloat16 {row['bfloat16_per_second']:>9.1f}, "
            f"speed-up {row['speedup']:.2f}x"
        )
    for row in result["quality"]:
        print(
            f"  {row['run']:<32} val loss after {row['epochs']} epochs: float32 "
            f"{row['float32_val_loss']:.4f}, bfloat16 {row['bfloat16_val_loss']:.4f} "
            f"({100 * row['relative_difference']:+.2f}%)"
        )
