"""`python -m zoo.bench seq2seq`: training tokens/s of the chatbot models.

Each zoo seq2seq model (teacher forcing, masked cross-entropy, Adam,
`train_on_batch`) on the current backend against plain-PyTorch models of
the same sizes trained in the same process, rounds interleaved (reference,
model, reference, model...) so the machine's drift hits both alike:
- the LSTM models against an LSTM encoder-decoder (`nn.Embedding`, two
  `nn.LSTM` fed through `pack_padded_sequence`, as a PyTorch user handles
  padding, `nn.Linear`, Adam);
- the transformers against `nn.Transformer` (pre-norm, same width, heads,
  layers and feed-forward size, key-padding and causal masks).
Batches have real padding: every row's length is drawn between 3 and
`length` tokens, as in a dialog corpus. The ratio is target tokens per
second of ours over the reference's (> 1: faster than PyTorch).
"""

from dataclasses import dataclass

import keras
import numpy as np

from zoo.bench.runners import linear_feature_dim, median_seconds, result_header
from zoo.losses import TokenCrossEntropy
from zoo.models.seq2seq import SEQ2SEQ, build_seq2seq
from zoo.models.seq2seq.transformer_seq2seq import LINEAR_FEATURE_DIM


@dataclass
class Seq2SeqBenchConfig:
    """Every knob of the seq2seq benchmark."""

    batch: int = 64
    length: int = 20  # input and reply tokens
    vocab: int = 2000
    units: int = 128
    batches: int = 10  # batches per timed round
    repeats: int = 3  # timed rounds (median reported)
    heads: int = 4  # attention heads of the transformers
    layers: int = 2  # encoder and decoder blocks of the transformers
    # transformer-linear's Taylor map input per head (None: the head size)
    feature_dim: int | None = LINEAR_FEATURE_DIM
    # Seconds slept before each timed round: the other library's worker
    # threads go idle first (without it, on 2 cores, torch's reference
    # ranged 2.8k-13.7k tokens/s in one process).
    pause: float = 1.0


def _data(config):
    """(source, decoder input, target) int arrays, zero-padded after each row's
    length (drawn in [3, length]); the target is the input shifted by one."""
    rng = np.random.default_rng(0)
    rows = config.batch * config.batches
    arrays = []
    for _ in range(2):
        ids = rng.integers(4, config.vocab, size=(rows, config.length)).astype("int32")
        lengths = rng.integers(3, config.length + 1, size=rows)
        ids[np.arange(config.length)[None, :] >= lengths[:, None]] = 0
        arrays.append(ids)
    source, reply = arrays
    decoder_in = np.concatenate([np.ones((rows, 1), "int32"), reply[:, :-1]], 1)
    decoder_in[reply == 0] = 0
    decoder_in[:, 0] = 1  # SOS
    return source, decoder_in, reply


def _batches(config, arrays):
    for i in range(config.batches):
        rows = slice(i * config.batch, (i + 1) * config.batch)
        yield tuple(a[rows] for a in arrays)


def keras_epoch(name, config):
    """A function training one round of `config.batches` batches of `name`."""
    arrays = _data(config)
    model = build_seq2seq(
        name, config.vocab, config.units, num_heads=config.heads,
        num_layers=config.layers, feature_dim=linear_feature_dim(name, config),
    )  # fmt: skip
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=TokenCrossEntropy(pad_id=0),
    )

    def epoch():
        for source, decoder_in, target in _batches(config, arrays):
            model.train_on_batch([source, decoder_in], target)

    epoch.model = model  # what it trains (its dtype policy, for zoo.bench precision)
    return epoch


def _torch_loss(logits, target, vocab):
    import torch

    return torch.nn.functional.cross_entropy(
        logits.reshape(-1, vocab), target.reshape(-1), ignore_index=0
    )


def torch_lstm_epoch(config):
    """The plain-PyTorch LSTM encoder-decoder, padding packed away."""
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    arrays = [torch.as_tensor(a).long() for a in _data(config)]
    embedding = torch.nn.Embedding(config.vocab, config.units, padding_idx=0)
    encoder = torch.nn.LSTM(config.units, config.units, batch_first=True)
    decoder = torch.nn.LSTM(config.units, config.units, batch_first=True)
    head = torch.nn.Linear(config.units, config.vocab)
    modules = (embedding, encoder, decoder, head)
    optimizer = torch.optim.Adam([p for m in modules for p in m.parameters()], 1e-3)

    def packed(tokens):
        lengths = (tokens != 0).sum(1).clamp(min=1)
        return pack_padded_sequence(
            embedding(tokens), lengths, batch_first=True, enforce_sorted=False
        )

    def epoch():
        for source, decoder_in, target in _batches(config, arrays):
            optimizer.zero_grad()
            _, state = encoder(packed(source))
            output, _ = decoder(packed(decoder_in), state)
            output, _ = pad_packed_sequence(
                output, batch_first=True, total_length=target.shape[1]
            )
            loss = _torch_loss(head(output), target, config.vocab)
            loss.backward()
            optimizer.step()

    return epoch


def torch_transformer_epoch(config):
    """`nn.Transformer` of the zoo transformer's sizes (pre-norm)."""
    import math
    import warnings

    import torch

    arrays = [torch.as_tensor(a).long() for a in _data(config)]
    d = config.units
    embedding = torch.nn.Embedding(config.vocab, d, padding_idx=0)
    position = torch.arange(config.length)[:, None] / torch.pow(
        10000.0, torch.arange(0, d, 2) / d
    )
    sinusoid = torch.zeros(config.length, d)
    sinusoid[:, 0::2], sinusoid[:, 1::2] = torch.sin(position), torch.cos(position)
    with warnings.catch_warnings():  # pre-norm disables nested tensors: fine
        warnings.simplefilter("ignore", UserWarning)
        model = torch.nn.Transformer(
            d_model=d, nhead=config.heads, num_encoder_layers=config.layers,
            num_decoder_layers=config.layers,
            dim_feedforward=2 * d, dropout=0.1, batch_first=True, norm_first=True,
        )  # fmt: skip
    head = torch.nn.Linear(d, config.vocab)
    modules = (embedding, model, head)
    optimizer = torch.optim.Adam([p for m in modules for p in m.parameters()], 1e-3)
    causal = torch.nn.Transformer.generate_square_subsequent_mask(config.length)

    def embed(tokens):
        return embedding(tokens) * math.sqrt(d) + sinusoid[: tokens.shape[1]]

    def epoch():
        for source, decoder_in, target in _batches(config, arrays):
            optimizer.zero_grad()
            output = model(
                embed(source), embed(decoder_in), tgt_mask=causal, tgt_is_causal=True,
                src_key_padding_mask=source == 0, memory_key_padding_mask=source == 0,
            )  # fmt: skip
            loss = _torch_loss(head(output), target, config.vocab)
            loss.backward()
            optimizer.step()

    return epoch


# Which plain-PyTorch model each zoo model is measured against.
REFERENCES = {
    "lstm": ("torch LSTM seq2seq (packed)", torch_lstm_epoch),
    "lstm-attention": ("torch LSTM seq2seq (packed)", torch_lstm_epoch),
    "transformer": ("torch nn.Transformer", torch_transformer_epoch),
    "transformer-linear": ("torch nn.Transformer", torch_transformer_epoch),
}


def target_tokens(config):
    """The real (unpadded) target tokens of one round of `config.batches`."""
    return int((_data(config)[2] != 0).sum())


def run(config, names=tuple(SEQ2SEQ)):
    """Zoo models (default: all) against their references; a JSON-ready dict."""
    tokens = target_tokens(config)
    models = {}
    for name in names:
        label, reference = REFERENCES[name]
        seconds = median_seconds(
            {"ours": keras_epoch(name, config), "reference": reference(config)},
            config.repeats,
            pause=config.pause,
        )
        ours, theirs = seconds["ours"], seconds["reference"]
        models[name] = {
            "reference": label,
            "tokens_per_second": round(tokens / ours, 1),
            "reference_tokens_per_second": round(tokens / theirs, 1),
            "ratio_to_reference": round(theirs / ours, 3),
        }
    return {
        **result_header(config),
        "real_target_tokens_per_round": tokens,
        "models": models,
    }


def print_report(result):
    c = result["config"]
    print(
        f"\nseq2seq training, batch {c['batch']}, up to {c['length']} tokens each "
        f"side (padded), vocabulary {c['vocab']}, {c['units']} units, Adam"
    )
    for name, row in result["models"].items():
        print(
            f"  {name:<19} ({result['backend']}): {row['tokens_per_second']:>9.1f} "
            f"tokens/s, {row['reference']}: "
            f"{row['reference_tokens_per_second']:>9.1f}, "
            f"ratio {row['ratio_to_reference']:.3f}"
        )
