"""`--precision mixed_bfloat16`: bfloat16 compute, float32 weights, losses
and metrics, on every backend; the saved model keeps its policy."""

import json

import keras
import numpy as np
import pytest

# pytest's default (prepend) import mode puts this folder on sys.path.
from test_chatbot_cli import write_chitchat

from zoo.decoding import greedy
from zoo.models.seq2seq import generator_for
from zoo.saving import load_model
from zoo.train.__main__ import main as train_main


def policies(model):
    """The dtype policy names of a model's layers that have weights."""
    return {layer.dtype_policy.name for layer in model.layers if layer.weights}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny transformer chatbot trained in mixed bfloat16."""
    folder = tmp_path_factory.mktemp("bf16")
    corpus = write_chitchat(folder / "dataset.json")
    out = folder / "run"
    argv = ["chatbot", "--model", "transformer", "--data", str(corpus),
            "--units", "8", "--num-heads", "2", "--num-layers", "1",
            "--epochs", "2", "--batch-size", "16", "--precision",
            "mixed_bfloat16", "--out", str(out)]  # fmt: skip
    assert train_main(argv) == 0
    return out


def test_a_mixed_bfloat16_run_trains_and_saves_its_policy(run):
    assert json.loads((run / "config.json").read_text())["precision"] == (
        "mixed_bfloat16"
    )
    metrics = json.loads((run / "metrics.json").read_text())
    kept = metrics["kept_epoch_history"]
    assert np.isfinite(kept["loss"]) and np.isfinite(kept["val_loss"])
    assert np.isfinite(metrics["results"]["transformer"]["loss"])
    model = load_model(run / "model.keras")
    assert policies(model) == {"mixed_bfloat16"}
    # Weights stay float32; the logits come out in bfloat16.
    assert {w.dtype for w in model.weights} == {"float32"}
    sources = np.array([[5, 6, 7, 0]], "int32")
    logits = model([sources, np.array([[1, 5]], "int32")])
    assert keras.backend.standardize_dtype(logits.dtype) == "bfloat16"


def test_cached_decoding_equals_recomputation_in_bfloat16(run):
    model = load_model(run / "model.keras")
    generator = generator_for(model)
    sources = np.array([[5, 6, 7, 0], [8, 9, 0, 0]], "int32")
    cached = greedy(generator, sources, max_length=6)
    recomputed = greedy(generator, sources, max_length=6, cached=False)
    # Both paths round to bfloat16 at different points; a tie between two
    # logits within bfloat16's 8-bit mantissa may break either way, which a
    # tiny model's near-uniform logits make possible but not likely here.
    np.testing.assert_array_equal(cached, recomputed)


def test_a_float32_run_has_float32_layers(tmp_path):
    corpus = write_chitchat(tmp_path / "dataset.json")
    out = tmp_path / "run"
    argv = ["chatbot", "--model", "lstm", "--data", str(corpus), "--units", "4",
            "--epochs", "1", "--out", str(out)]  # fmt: skip
    assert train_main(argv) == 0
    assert policies(load_model(out / "model.keras")) == {"float32"}


def test_an_unknown_precision_is_one_line(tmp_path, capsys):
    out = tmp_path / "r"
    with pytest.raises(SystemExit) as exit_info:  # argparse's choices
        train_main(["chatbot", "--precision", "float16", "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and "\n" not in err
    assert "--precision: invalid choice: 'float16'" in err
    assert not out.exists()
    # A resumed run's config.json is checked like the command line.
    from zoo.config import TrainConfig
    from zoo.errors import ZooError

    with pytest.raises(ZooError, match="--precision: unknown 'float16'"):
        TrainConfig(precision="float16").validate()
