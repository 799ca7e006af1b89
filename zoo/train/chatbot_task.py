"""Sheets A3 and B1: single-turn chatbots trained on dialog pairs."""

import math
import os
from dataclasses import dataclass

import keras
import numpy as np

from zoo import metrics
from zoo.data.dialog_pairs import FILTER_DEFAULTS, DialogPairs, prepare_pairs
from zoo.data.dialogs import load_pairs
from zoo.data.text import LEVELS, SOS_ID, Vocabulary, detokenize
from zoo.decoding import greedy
from zoo.errors import ZooError
from zoo.io import write_json, write_text
from zoo.layers.seq2seq_attention import SCORES
from zoo.models.seq2seq import SEQ2SEQ, build_seq2seq, generator_for
from zoo.train import figures

SIMILARITY_KEYS = tuple(f"val_{name}" for name in metrics.SIMILARITIES)
# Per-epoch validation similarity is measured on this many pairs at most.
VALIDATION_SAMPLE = 128
SAMPLE_REPLIES = 6


@dataclass
class ChatData:
    pairs: DialogPairs
    max_len: int  # encoder/decoder length: max tokens + EOS


def filter_settings(config):
    """(max_tokens, min_count) of the config, or the corpus defaults."""
    max_tokens, min_count = FILTER_DEFAULTS[config.corpus]
    if config.level == "char":
        max_tokens *= 5
    return (
        config.max_tokens if config.max_tokens is not None else max_tokens,
        config.min_count if config.min_count is not None else min_count,
    )


def greedy_replies(model, encoder, vocab, max_len, batch_size=64):
    """Greedy replies (token lists) to encoder ids `(N, max_len)`, in batches."""
    generator = generator_for(model)
    replies = []
    for start in range(0, len(encoder), batch_size):
        ids = greedy(generator, encoder[start : start + batch_size], max_len)
        replies.extend(vocab.decode(row) for row in ids)
    return replies


class ValidationSimilarity(keras.callbacks.Callback):
    """Adds val_jaccard / val_cosine / val_damerau_levenshtein to the logs.

    Greedy replies to a fixed sample of validation pairs after every epoch,
    so `history.csv` holds the per-epoch similarities of sheet A3.

    Args:
        encoder: int array `(N, max_len)`, the sample's encoded inputs.
        references: list of N token lists, the sample's responses.
        vocab: Vocabulary.
        max_len: int, longest reply generated.
    """

    def __init__(self, encoder, references, vocab, max_len):
        super().__init__()
        self.encoder, self.references = encoder, references
        self.vocab, self.max_len = vocab, max_len

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        replies = greedy_replies(self.model, self.encoder, self.vocab, self.max_len)
        for name, fn in metrics.SIMILARITIES.items():
            pairs = zip(self.references, replies, strict=True)
            scores = [fn(r, h) for r, h in pairs]
            logs[f"val_{name}"] = float(np.mean(scores))


class ChatbotTask:
    """Loads and splits dialog pairs, builds seq2seq models, scores replies."""

    name = "chatbot"
    models = tuple(SEQ2SEQ)
    default_suite = ("lstm", "lstm-attention", "transformer")
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)
    loss_label = "cross-entropy per token"
    # Early stopping and the kept epoch follow the sheet's task metric: the
    # validation loss bottoms out within a few epochs on small corpora, long
    # before greedy replies become sentences.
    monitor = ("val_damerau_levenshtein", "max")

    def prepare(self, config):
        if config.level not in LEVELS:
            raise ZooError(f"--level: unknown {config.level!r}; choose from {LEVELS}")
        if config.attention_score not in SCORES:
            raise ZooError(
                f"--attention-score: unknown {config.attention_score!r}; "
                f"choose from {list(SCORES)}"
            )
        if config.model.startswith("transformer") and (
            config.units % config.num_heads or config.units % 2
        ):
            raise ZooError(
                f"--units {config.units} must be a multiple of --num-heads "
                f"{config.num_heads} (and even) for the transformer"
            )
        max_tokens, min_count = filter_settings(config)
        pairs = load_pairs(config.corpus, config.data, config.language)
        prepared = prepare_pairs(
            pairs, config.level, max_tokens, min_count, config.split, config.seed
        )
        return ChatData(prepared, max_tokens + 1)

    def arrays(self, data, split):
        encoder, decoder_in, target = data.pairs.arrays(split, data.max_len)
        return (encoder, decoder_in), target

    def build_model(self, config, data):
        return build_seq2seq(
            config.model,
            len(data.pairs.vocab),
            config.units,
            config.attention_score,
            config.num_heads,
            config.num_layers,
        )

    def callbacks(self, config, data):
        # Encoded once: the same sample is decoded after every epoch.
        encoder = data.pairs.arrays("val", data.max_len)[0][:VALIDATION_SAMPLE]
        sample = data.pairs.splits["val"][:VALIDATION_SAMPLE]
        references = [answer for _, answer in sample]
        return [
            ValidationSimilarity(encoder, references, data.pairs.vocab, data.max_len)
        ]

    def summary(self, data):
        sizes = {k: len(v) for k, v in data.pairs.splits.items()}
        return (
            f"pairs train/val/test {sizes['train']}/{sizes['val']}/{sizes['test']}, "
            f"vocabulary {len(data.pairs.vocab)}, dropped {data.pairs.dropped}"
        )

    def evaluate(self, model, predict, data, config, run_dir):
        """Test loss, perplexity, similarities and BLEU of greedy replies."""
        vocab, test = data.pairs.vocab, data.pairs.splits["test"]
        write_text(os.path.join(run_dir, "vocab.json"), vocab.to_json())
        (encoder, decoder_in), target = self.arrays(data, "test")
        loss = float(model.evaluate([encoder, decoder_in], target, verbose=0))
        replies = greedy_replies(model, encoder, vocab, data.max_len)
        references = [answer for _, answer in test]
        report = {"loss": round(loss, 4), "perplexity": round(math.exp(loss), 3)}
        report.update(metrics.similarity_report(references, replies))
        level = vocab.level
        samples = [
            {
                "input": detokenize(question, level),
                "reference": detokenize(answer, level),
                "reply": detokenize(reply, level),
            }
            for (question, answer), reply in list(zip(test, replies, strict=True))[
                :SAMPLE_REPLIES
            ]
        ]
        write_json(os.path.join(run_dir, "samples.json"), samples)
        self._figures(model, data, config, run_dir, encoder, replies)
        return {
            "model": config.model,
            "test_pairs": len(test),
            "similarity_over": f"{level} tokens",
            "results": {config.model: report},
            "samples": samples,
        }

    def _figures(self, model, data, config, run_dir, encoder, replies):
        import csv

        with open(os.path.join(run_dir, "history.csv"), newline="") as handle:
            rows = list(csv.DictReader(handle))
        if rows and all(k in rows[0] for k in SIMILARITY_KEYS):
            figures.similarity_curves(
                rows,
                SIMILARITY_KEYS,
                os.path.join(run_dir, "figures", "similarity.png"),
                f"chatbot / {config.model}",
            )
        if config.model == "lstm":
            return
        # The first test pair with a non-empty greedy reply (else the first).
        row = max(range(len(replies)), key=lambda i: (len(replies[i]) > 0, -i))
        question = data.pairs.splits["test"][row][0]
        reply = replies[row] or ["<eos>"]
        vocab = data.pairs.vocab
        source = encoder[row : row + 1]
        decoder_in = np.array([[SOS_ID, *vocab.encode(reply)]], "int32")
        weights = generator_for(model).attention_weights(source, decoder_in)
        weights = keras.ops.convert_to_numpy(weights)[0, : len(reply)]
        figures.attention_heatmap(
            weights[:, : len(question)],
            question,
            reply,
            os.path.join(run_dir, "figures", "attention.png"),
            f"{config.model}: attention of the greedy reply over the input",
        )

    def table_row(self, metrics_json):
        """The printed summary: loss and similarities of the greedy replies."""
        result = metrics_json["results"][metrics_json["model"]]
        return {
            "loss": result["loss"],
            "perplexity": result["perplexity"],
            "Jaccard": result["jaccard"],
            "cosine": result["cosine"],
            "Damerau-Lev.": result["damerau_levenshtein"],
            "BLEU": result["bleu"],
        }


def load_vocabulary(run_dir):
    """The Vocabulary saved in a chatbot run directory."""
    path = os.path.join(run_dir, "vocab.json")
    try:
        with open(path, encoding="utf-8") as handle:
            return Vocabulary.from_json(handle.read())
    except (OSError, ValueError) as error:
        raise ZooError(
            f"--run: {path} is missing or corrupt ({type(error).__name__}); "
            "pass the directory of a finished chatbot run"
        ) from None
