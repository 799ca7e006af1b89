"""Filtering, vocabulary and seeded split of dialog pairs.

Defaults follow the PyTorch chatbot tutorial on Cornell: pairs longer than
10 tokens on either side are dropped, words seen fewer than 3 times are
trimmed and every pair containing one is dropped. Exact duplicate pairs are
dropped (after normalization), then the pairs are shuffled with the seed and
split train/val/test; the vocabulary comes from the training split only, so
validation and test words the model never saw become UNK.
"""

from dataclasses import dataclass

import numpy as np

from zoo.data.text import EOS_ID, SOS_ID, Vocabulary, tokenize
from zoo.errors import ZooError

# Per corpus: (max tokens per side, min count of a kept word).
FILTER_DEFAULTS = {
    "cornell": (10, 3),
    "convokit": (10, 3),
    "chatterbot": (20, 1),
    "tsv": (20, 1),
}


@dataclass
class DialogPairs:
    """Tokenized pairs per split and the training vocabulary.

    Attributes:
        splits: dict split -> list of (input tokens, response tokens).
        vocab: Vocabulary of the training split.
        dropped: dict reason -> number of pairs dropped by the filters.
    """

    splits: dict
    vocab: Vocabulary
    dropped: dict

    def arrays(self, split, max_len):
        """(encoder ids, decoder input ids, decoder target ids), zero-padded.

        The decoder input is SOS + response, the target response + EOS
        (teacher forcing); `max_len` counts the EOS/SOS.
        """
        pairs = self.splits[split]
        encoder = np.zeros((len(pairs), max_len), "int32")
        decoder_in = np.zeros((len(pairs), max_len), "int32")
        target = np.zeros((len(pairs), max_len), "int32")
        for row, (question, answer) in enumerate(pairs):
            q = self.vocab.encode(question)[:max_len]
            a = self.vocab.encode(answer)[: max_len - 1]
            encoder[row, : len(q)] = q
            decoder_in[row, : len(a) + 1] = [SOS_ID, *a]
            target[row, : len(a) + 1] = [*a, EOS_ID]
        return encoder, decoder_in, target


def prepare_pairs(
    pairs, level="word", max_tokens=20, min_count=1, split=(0.8, 0.1, 0.1), seed=0
):
    """Tokenizes, filters, de-duplicates and splits `pairs`.

    Args:
        pairs: list of (str, str).
        level: "word" or "char".
        max_tokens: int, longest side kept.
        min_count: int, rarer training words are trimmed with their pairs.
        split: three shares summing to 1.
        seed: int.

    Returns:
        DialogPairs.

    Raises:
        ZooError: nothing is left after filtering, or a split is empty.
    """
    dropped = {"too long": 0, "duplicate": 0, "rare word": 0, "empty": 0}
    seen, kept = set(), []
    for question, answer in pairs:
        q, a = tokenize(question, level), tokenize(answer, level)
        if not q or not a:
            dropped["empty"] += 1
        elif len(q) > max_tokens or len(a) > max_tokens:
            dropped["too long"] += 1
        elif (tuple(q), tuple(a)) in seen:
            dropped["duplicate"] += 1
        else:
            seen.add((tuple(q), tuple(a)))
            kept.append((q, a))
    if min_count > 1:
        trimmed = Vocabulary.build((t for p in kept for t in p), min_count, level=level)
        rare = [p for p in kept if not all(t in trimmed for t in p[0] + p[1])]
        dropped["rare word"] = len(rare)
        kept = [p for p in kept if all(t in trimmed for t in p[0] + p[1])]
    if not kept:
        raise ZooError(
            f"the corpus is empty after filtering ({len(pairs)} pairs read; "
            f"dropped {dropped}); raise --max-tokens or lower --min-count"
        )
    order = np.random.default_rng(seed).permutation(len(kept))
    bounds = np.cumsum([int(round(s * len(kept))) for s in split[:2]])
    names = ("train", "val", "test")
    splits = {
        name: [kept[i] for i in part]
        for name, part in zip(names, np.split(order, bounds), strict=True)
    }
    empty = [n for n in names if not splits[n]]
    if empty:
        raise ZooError(
            f"only {len(kept)} pairs after filtering: the {empty} split is empty; "
            "use a larger corpus or looser filters"
        )
    vocab = Vocabulary.build((t for p in splits["train"] for t in p), level=level)
    return DialogPairs(splits, vocab, dropped)
