"""`python -m zoo.bench seq2seq`: training tokens/s of the chatbot models.

Each zoo seq2seq model (teacher forcing, masked cross-entropy, Adam,
`train_on_batch`) on the current backend against a plain-PyTorch LSTM
encoder-decoder of the same sizes (`nn.Embedding`, two `nn.LSTM`,
`nn.Linear`, Adam) trained in the same process: target tokens per second
and the ratio to the PyTorch reference (the anchor).
"""

from dataclasses import asdict, dataclass

import keras
import numpy as np

from zoo.bench.runners import timed_median
from zoo.models.seq2seq import SEQ2SEQ, build_seq2seq
from zoo.runtime import library_versions, list_devices


@dataclass
class Seq2SeqBenchConfig:
    """Every knob of the seq2seq benchmark."""

    batch: int = 64
    length: int = 20  # input and reply tokens
    vocab: int = 2000
    units: int = 128
    batches: int = 10  # batches per timed round
    repeats: int = 3  # timed rounds (median reported)


def _data(config):
    rng = np.random.default_rng(0)
    shape = (config.batch * config.batches, config.length)
    return tuple(
        rng.integers(4, config.vocab, size=shape).astype("int32") for _ in range(3)
    )


def keras_tokens_per_second(name, config):
    source, decoder_in, target = _data(config)
    model = build_seq2seq(name, config.vocab, config.units, num_heads=4, num_layers=2)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, ignore_class=0
        ),
    )

    def epoch():
        for i in range(config.batches):
            rows = slice(i * config.batch, (i + 1) * config.batch)
            model.train_on_batch([source[rows], decoder_in[rows]], target[rows])

    return target.size / timed_median(epoch, config.repeats)[0]


def torch_tokens_per_second(config):
    import torch

    source, decoder_in, target = (torch.as_tensor(a).long() for a in _data(config))
    embedding = torch.nn.Embedding(config.vocab, config.units, padding_idx=0)
    encoder = torch.nn.LSTM(config.units, config.units, batch_first=True)
    decoder = torch.nn.LSTM(config.units, config.units, batch_first=True)
    head = torch.nn.Linear(config.units, config.vocab)
    modules = (embedding, encoder, decoder, head)
    optimizer = torch.optim.Adam([p for m in modules for p in m.parameters()], 1e-3)

    def epoch():
        for i in range(config.batches):
            rows = slice(i * config.batch, (i + 1) * config.batch)
            optimizer.zero_grad()
            _, state = encoder(embedding(source[rows]))
            output, _ = decoder(embedding(decoder_in[rows]), state)
            logits = head(output)
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, config.vocab),
                target[rows].reshape(-1),
                ignore_index=0,
            )
            loss.backward()
            optimizer.step()

    return target.numel() / timed_median(epoch, config.repeats)[0]


def run(config):
    """Every zoo model, then the PyTorch reference; a JSON-ready dict."""
    reference = torch_tokens_per_second(config)
    models = {}
    for name in SEQ2SEQ:
        ours = keras_tokens_per_second(name, config)
        models[name] = {
            "tokens_per_second": round(ours, 1),
            "ratio_to_torch_lstm": round(ours / reference, 3),
        }
    return {
        "backend": keras.backend.backend(),
        "versions": library_versions(),
        "devices": list_devices(),
        "config": asdict(config),
        "torch_reference_tokens_per_second": round(reference, 1),
        "models": models,
    }


def print_report(result):
    c = result["config"]
    print(
        f"\nseq2seq training, batch {c['batch']}, {c['length']} tokens each side, "
        f"vocabulary {c['vocab']}, {c['units']} units, Adam"
    )
    reference = result["torch_reference_tokens_per_second"]
    print(f"  plain PyTorch LSTM seq2seq: {reference:>10.1f} tokens/s")
    for name, row in result["models"].items():
        print(
            f"  {name:<19} ({result['backend']}): {row['tokens_per_second']:>10.1f} "
            f"tokens/s  ratio {row['ratio_to_torch_lstm']:.3f}"
        )
