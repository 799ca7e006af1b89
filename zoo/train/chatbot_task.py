"""Sheets A3 and B1: single-turn chatbots trained on dialog pairs."""

import math
import os
from dataclasses import dataclass

import keras
import numpy as np

from zoo import metrics, plotting
from zoo.data.dialog_pairs import DialogPairs, prepare_pairs
from zoo.data.dialogs import load_dialogs
from zoo.data.text import PAD_ID, SOS_ID, detokenize, tokenize
from zoo.errors import ZooError
from zoo.io import write_json, write_text
from zoo.losses import TokenCrossEntropy
from zoo.models.seq2seq import SEQ2SEQ, build_seq2seq, generator_for
from zoo.models.seq2seq.baselines import baseline_replies
from zoo.relevance import Rubric, reply_measures
from zoo.replies import (
    ReplySimilarity,
    decode_replies,
    prompt_report,
    read_prompts,
)
from zoo.run_dir import VOCAB, decoding_options, filter_settings
from zoo.sheet_reference import SHEET_REFERENCE

# Per-epoch similarities are measured on fixed seeded samples of this many
# training and validation pairs (the sheet's "training similarity per epoch").
EPOCH_SAMPLE = 128
SAMPLE_REPLIES = 6
SPLITS = ("train", "val", "test")
MONITORS = ("val_loss", *(f"val_{name}" for name in metrics.SIMILARITIES))


@dataclass
class ChatData:
    pairs: DialogPairs
    max_len: int  # encoder/decoder length: max tokens + EOS
    prompts: list  # the everyday prompts every run answers
    sample_rows: dict  # split -> rows of the fixed per-epoch sample
    rubric: Rubric  # everyday prompts with the forms of an on-topic reply


def _prepared_pairs(config, max_tokens, min_count):
    """Loaded, filtered and split pairs; reused within a process.

    The default suite and `--seeds` train several models on the same data:
    reading and tokenizing chitchat (131k pairs) costs seconds each time.
    The key holds every setting the result depends on and the data file's
    size and modification time.
    """
    stamp = None
    if config.data and os.path.exists(config.data):
        info = os.stat(config.data)
        stamp = (info.st_size, info.st_mtime_ns)
    key = (config.corpus, config.data, stamp, config.language, config.level,
           max_tokens, min_count, tuple(config.split), config.seed,
           config.max_train_pairs, config.long_pairs)  # fmt: skip
    if key not in _PREPARED:
        pairs, conversations = load_dialogs(config.corpus, config.data, config.language)
        _PREPARED.clear()  # one corpus at a time: chitchat holds ~100 MB
        _PREPARED[key] = prepare_pairs(
            pairs,
            config.level,
            max_tokens,
            min_count,
            config.split,
            config.seed,
            conversations,
            config.max_train_pairs,
            config.long_pairs,
        )
    return _PREPARED[key]


_PREPARED = {}


def _sample_rows(count, seed, split):
    """A fixed seeded sample of at most EPOCH_SAMPLE rows of a split."""
    rng = np.random.default_rng([seed, SPLITS.index(split), 7])
    return np.sort(rng.permutation(count)[:EPOCH_SAMPLE])


class ChatbotTask:
    """Loads and splits dialog pairs, builds seq2seq models, scores replies."""

    name = "chatbot"
    models = tuple(SEQ2SEQ)
    default_suite = ("lstm", "lstm-attention", "transformer")
    loss = TokenCrossEntropy(pad_id=PAD_ID)
    loss_label = "cross-entropy per token"

    def monitor(self, config):
        """(history column, "min" | "max") that picks the kept epoch."""
        return config.monitor, "min" if config.monitor.endswith("loss") else "max"

    def check(self, config):
        """Every check on the settings that needs no data (ZooError)."""
        # Choices (level, attention score, monitor...): TrainConfig.validate.
        if config.model.startswith("transformer") and (
            config.units % config.num_heads or config.units % 2
        ):
            raise ZooError(
                f"--units {config.units} must be a multiple of --num-heads "
                f"{config.num_heads} (and even) for the transformer"
            )
        if config.feature_dim is not None and config.model != "transformer-linear":
            raise ZooError(
                f"--feature-dim sizes linear attention's feature map; --model "
                f"{config.model} has none: use --model transformer-linear or "
                "drop --feature-dim"
            )
        if config.corpus != "chatterbot" and config.language != "english":
            raise ZooError(
                f"--language picks a chatterbot-corpus language; --corpus "
                f"{config.corpus} has one language: drop --language"
            )
        return read_prompts(config.prompts)

    def prepare(self, config):
        prompts = self.check(config)
        max_tokens, min_count = filter_settings(config)
        prepared = _prepared_pairs(config, max_tokens, min_count)
        rows = {
            split: _sample_rows(len(prepared.splits[split]), config.seed, split)
            for split in ("train", "val")
        }
        return ChatData(prepared, max_tokens + 1, prompts, rows, Rubric.load())

    def write_artifacts(self, data, run_dir):
        """Files fixed at preparation, written beside config.json."""
        write_text(os.path.join(run_dir, VOCAB), data.pairs.vocab.to_json())

    def arrays(self, data, split):
        encoder, decoder_in, target = data.pairs.arrays(split, data.max_len)
        return (encoder, decoder_in), target

    def _sample(self, data, split):
        """(encoder ids, reference token lists) of the split's fixed sample."""
        rows = data.sample_rows[split]
        encoder = data.pairs.arrays(split, data.max_len)[0][rows]
        references = [data.pairs.splits[split][row][1] for row in rows]
        return encoder, references

    def build_model(self, config, data):
        return build_seq2seq(
            config.model,
            len(data.pairs.vocab),
            config.units,
            config.attention_score,
            config.num_heads,
            config.num_layers,
            config.dropout,
            config.feature_dim,
        )

    def callbacks(self, config, data):
        # Encoded once: the same samples are decoded after every epoch.
        samples = {split: self._sample(data, split) for split in ("train", "val")}
        return [
            ReplySimilarity(
                samples, data.pairs.vocab, data.max_len, decoding_options(config)
            )
        ]

    def summary(self, data):
        sizes = {k: len(v) for k, v in data.pairs.splits.items()}
        return (
            f"pairs train/val/test {sizes['train']}/{sizes['val']}/{sizes['test']}, "
            f"vocabulary {len(data.pairs.vocab)}, dropped {data.pairs.dropped}"
        )

    def evaluate(self, model, predict, data, config, run_dir):
        """Losses, similarities on train/val samples and test, baselines, prompts."""
        vocab, options = data.pairs.vocab, decoding_options(config)
        test = data.pairs.splits["test"]
        (encoder, decoder_in), target = self.arrays(data, "test")
        # In the run's batch size, as fit validates, not Keras' default 32
        # (the presets' 64: the test split in half the steps).
        batch = config.batch_size
        loss = float(model.evaluate([encoder, decoder_in], target, batch, verbose=0))
        (val_encoder, val_decoder_in), val_target = self.arrays(data, "val")
        val_loss = float(
            model.evaluate([val_encoder, val_decoder_in], val_target, batch, verbose=0)
        )
        replies = decode_replies(model, encoder, vocab, data.max_len, options)
        references = [answer for _, answer in test]
        report = {
            "loss": round(loss, 4),
            # None when exp overflows (a loss beyond ~709 nats).
            "perplexity": round(math.exp(loss), 3) if loss < 700 else None,
            "val_loss": round(val_loss, 4),
        }
        report.update(metrics.similarity_report(references, replies))
        report.update(reply_measures(replies))
        splits = {config.model: {"test": {k: report[k] for k in metrics.SIMILARITIES}}}
        inputs = {"test": [question for question, _ in test]}
        expected = {"test": references}
        # Decoded in batches of the per-epoch callback's shape, so these are
        # the kept epoch's history values exactly.
        sample_batch = max(len(rows) for rows in data.sample_rows.values())
        for split in ("train", "val"):
            sample_encoder, sample_refs = self._sample(data, split)
            sample_replies = decode_replies(
                model, sample_encoder, vocab, data.max_len, options, sample_batch
            )
            splits[config.model][split] = _rounded(
                metrics.mean_similarities(sample_refs, sample_replies)
            )
            rows = data.sample_rows[split]
            inputs[split] = [data.pairs.splits[split][row][0] for row in rows]
            expected[split] = sample_refs
        results = {config.model: report}
        level = vocab.level
        rubric_replies = {
            config.model: self._answer(model, data, options, data.rubric.prompts)
        }
        # The baselines are fitted once on the training split, then answer
        # every split's inputs and the rubric's prompts.
        rubric_inputs = [tokenize(p, level) for p in data.rubric.prompts]
        answers = baseline_replies(
            data.pairs.splits["train"], {**inputs, "rubric": rubric_inputs}
        )
        rubric_replies.update(answers.pop("rubric"))
        for split, by_name in answers.items():
            for name, baseline in by_name.items():
                splits.setdefault(name, {})[split] = _rounded(
                    metrics.mean_similarities(expected[split], baseline)
                )
                if split == "test":
                    results[name] = metrics.similarity_report(expected[split], baseline)
                    results[name].update(reply_measures(baseline))
        rubric = {}
        for name, replies_of in rubric_replies.items():
            texts = [detokenize(r, level) for r in replies_of]
            score = data.rubric.score(texts)
            results[name]["on_topic"] = score["on_topic"]
            rubric[name] = {"by_topic": score["by_topic"], "replies": texts}
        prompts = self._answer_prompts(model, data, options)
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
        write_json(
            os.path.join(run_dir, "samples.json"),
            {"decoding": {"method": "greedy", **options}, "test": samples,
             "prompts": prompts["replies"],
             "rubric": {"prompts": data.rubric.prompts, **rubric}},
        )  # fmt: skip
        self._figures(model, data, config, run_dir, encoder, replies)
        return {
            "model": config.model,
            "test_pairs": len(test),
            "data": {
                "pairs": {k: len(v) for k, v in data.pairs.splits.items()},
                "vocabulary": len(vocab),
                "dropped": data.pairs.dropped,
                "max_tokens": data.max_len - 1,
                "long_pairs": config.long_pairs,
            },
            "epoch_sample_pairs": {k: len(v) for k, v in data.sample_rows.items()},
            "similarity_over": f"{level} tokens",
            "kept_epoch_rule": f"{self.monitor(config)[1]} {config.monitor}",
            "decoding": {"method": "greedy", **options},
            "results": results,
            "splits": splits,
            "samples": samples,
            "prompts": prompts["replies"],
            "prompt_report": prompts["report"],
            "rubric": {
                "version": data.rubric.version,
                "prompts": len(data.rubric.prompts),
                "by_topic": {name: r["by_topic"] for name, r in rubric.items()},
            },
        }

    def _answer(self, model, data, options, prompts):
        """The model's greedy replies (token lists) to `prompts` (str)."""
        vocab = data.pairs.vocab
        encoder = np.zeros((len(prompts), data.max_len), "int32")
        for row, prompt in enumerate(prompts):
            ids = vocab.encode(prompt)[: data.max_len]
            encoder[row, : len(ids)] = ids
        return decode_replies(model, encoder, vocab, data.max_len, options)

    def _answer_prompts(self, model, data, options):
        vocab = data.pairs.vocab
        replies = self._answer(model, data, options, data.prompts)
        return {
            "replies": [
                {"prompt": prompt, "reply": detokenize(reply, vocab.level)}
                for prompt, reply in zip(data.prompts, replies, strict=True)
            ],
            "report": prompt_report(data.prompts, replies),
        }

    def _figures(self, model, data, config, run_dir, encoder, replies):
        import csv

        with open(os.path.join(run_dir, "history.csv"), newline="") as handle:
            rows = list(csv.DictReader(handle))
        if rows and all(f"val_{k}" in rows[0] for k in metrics.SIMILARITIES):
            plotting.similarity_panels(
                rows,
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
        plotting.attention_heatmap(
            weights[:, : len(question)],
            question,
            reply,
            os.path.join(run_dir, "figures", "attention.png"),
            f"{config.model}: attention of the greedy reply over the input",
        )

    def table_rows(self, metrics_json):
        """The printed summary: the model, then the baselines, then the sheet.

        Train and validation similarities are on the fixed per-epoch samples
        at the kept epoch; the sheet's numbers are training similarities.
        """
        rows = []
        model = metrics_json["model"]
        for name, by_split in metrics_json["splits"].items():
            result = metrics_json["results"][name]
            row = {"model": name, "val loss": result.get("val_loss")}
            if name == model:
                row["train loss"] = metrics_json.get("kept_epoch_history", {}).get(
                    "loss"
                )
            for split in SPLITS:
                for key, label in SIMILARITY_LABELS.items():
                    row[f"{split} {label}"] = by_split[split][key]
            row["test BLEU"] = result["bleu"]
            rows.append(row)
        rows[0]["model"] = model
        return rows


SIMILARITY_LABELS = {"jaccard": "J", "cosine": "cos", "damerau_levenshtein": "DL"}


def relevance_rows(metrics_json):
    """The model's and the baselines' relevance measures (the summary's
    second table): distinct-1/2 and the generic rate of the test replies,
    and the rubric prompts answered on topic, with the validation loss.

    Args:
        metrics_json: dict, a chatbot run's metrics.json.

    Returns:
        list of dicts, the model first.
    """
    prompts = metrics_json["rubric"]["prompts"]
    return [
        {
            "model": name,
            "val loss": result.get("val_loss"),
            "distinct-1": result["distinct_1"],
            "distinct-2": result["distinct_2"],
            "generic": result["generic_rate"],
            "on topic": f"{result['on_topic']}/{prompts}",
        }
        for name, result in metrics_json["results"].items()
    ]


def sheet_rows():
    """The sheet's reference rows in the columns of `ChatbotTask.table_rows`."""
    return [
        {
            "model": name,
            "train loss": values["loss"],
            **{
                f"train {label}": values[key]
                for key, label in SIMILARITY_LABELS.items()
            },
        }
        for name, values in SHEET_REFERENCE.items()
    ]


def _rounded(values):
    return {k: round(float(v), 4) for k, v in values.items()}
