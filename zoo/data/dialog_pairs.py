"""Filtering, vocabulary and seeded split of dialog pairs.

Defaults follow the PyTorch chatbot tutorial on Cornell (and the same on
chitchat): pairs longer than 10 tokens on either side are dropped, words
seen fewer than 3 times are trimmed and every pair containing one is
dropped. Exact duplicate pairs are dropped (after normalization), then the
pairs are split train/val/test with the seed: by conversation when the
corpus gives conversations (no conversation lends pairs to two splits),
pair by pair otherwise. The vocabulary comes from the training split only,
so validation and test words the model never saw become UNK.

The rare-word count runs over every kept pair before the split, as the
tutorial trims its whole corpus: it decides which pairs make up the corpus
(each split's pairs hold only words seen 3 times somewhere), never what the
model learns from; counting the training split alone would drop more test
pairs, those whose words are common only outside training.
"""

import math
from dataclasses import dataclass

import numpy as np

from zoo.data.text import EOS_ID, SOS_ID, Vocabulary, normalize, tokenize
from zoo.errors import ZooError

# Tokens that end a sentence (a run of them ends one sentence: "?!").
SENTENCE_ENDS = frozenset(".!?")
# What happens to a pair with a side over the token limit: dropped (the
# PyTorch tutorial's rule), or cut to whole sentences (`cut_pair`).
LONG_PAIRS = ("drop", "cut")
# Per corpus: (max tokens per side, min count of a kept word).
FILTER_DEFAULTS = {
    "chitchat": (10, 3),
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


def _bounded_tokens(text, level, max_tokens):
    """`tokenize(text, level)`, or None when it has more than `max_tokens`.

    At word level every whitespace-separated chunk of the normalized text
    gives at least one token, so a text with more chunks than `max_tokens`
    is refused before the (slower) tokenizer runs: on chitchat, 8 of 10
    texts.
    """
    text = normalize(text)
    if level == "word" and len(text.split()) > max_tokens:
        return None
    tokens = tokenize(text, level, normalized=True)
    return None if len(tokens) > max_tokens else tokens


def _sentence_bounds(tokens):
    """Positions where a sentence ends: after a run of SENTENCE_ENDS tokens,
    and the end of the text."""
    bounds = [
        i
        for i in range(1, len(tokens))
        if tokens[i - 1] in SENTENCE_ENDS and tokens[i] not in SENTENCE_ENDS
    ]
    return [*bounds, len(tokens)]


def cut_pair(prompt, reply, max_tokens):
    """A long pair cut to whole sentences within `max_tokens` a side.

    The rule: the prompt keeps its last whole sentences that fit (what the
    reply answers is said last: "... have you seen the greatest showman?"),
    or, when its last sentence alone is longer, that sentence's last
    `max_tokens` tokens; the reply keeps its first whole sentences that
    fit, and a reply whose first sentence is longer is refused (a reply cut
    mid-sentence would teach the decoder to stop anywhere).

    Args:
        prompt: list of str tokens.
        reply: list of str tokens.
        max_tokens: int, the most tokens kept a side.

    Returns:
        (prompt tokens, reply tokens), or None when the reply cannot be cut.

    Example:
    >>> cut_pair("i went out . it was cold . did you go ?".split(),
    ...          "no . i stayed home all day long .".split(), 5)
    (['did', 'you', 'go', '?'], ['no', '.'])
    >>> cut_pair(["hi"], "a b c d e f".split(), 5) is None
    True
    """
    if len(prompt) > max_tokens:
        starts = [0, *_sentence_bounds(prompt)[:-1]]
        fitting = [s for s in starts if len(prompt) - s <= max_tokens]
        start = fitting[0] if fitting else len(prompt) - max_tokens
        prompt = prompt[start:]
    if len(reply) > max_tokens:
        ends = [e for e in _sentence_bounds(reply) if e <= max_tokens]
        if not ends:
            return None
        reply = reply[: ends[-1]]
    return prompt, reply


def _split_rows(count, split, seed, groups=None, all_groups=None):
    """Row indices of the train, val and test splits.

    Without groups the rows are shuffled with the seed and cut by the
    shares. With groups (the group of each row), the distinct groups of
    `all_groups` (the group of every pair read, before any filter) are
    shuffled and dealt out in that order until each split holds its share
    of those pairs: rows of one group always stay together, and a group
    lands in the same split whatever the filters kept, so runs with
    different filters (`long_pairs`, `max_tokens`) share their validation
    and test conversations.
    """
    rng = np.random.default_rng(seed)
    if groups is None:
        bounds = np.cumsum([int(round(s * count)) for s in split[:2]])
        return np.split(rng.permutation(count), bounds)
    sizes = {}
    for group in all_groups:
        sizes[group] = sizes.get(group, 0) + 1
    names = sorted(sizes)
    bounds = np.cumsum([s * len(all_groups) for s in split[:2]])
    part_of, dealt = {}, 0
    for index in rng.permutation(len(names)):
        part_of[names[index]] = int(np.searchsorted(bounds, dealt, side="right"))
        dealt += sizes[names[index]]
    parts = ([], [], [])
    for row, group in enumerate(groups):
        parts[part_of[group]].append(row)
    return [np.array(part, dtype="int64") for part in parts]


def prepare_pairs(
    pairs,
    level="word",
    max_tokens=20,
    min_count=1,
    split=(0.8, 0.1, 0.1),
    seed=0,
    conversations=None,
    max_train_pairs=None,
    long_pairs="drop",
):
    """Tokenizes, filters, de-duplicates and splits `pairs`.

    Args:
        pairs: list of (str, str).
        level: "word" or "char".
        max_tokens: int, longest side kept.
        min_count: int, rarer training words are trimmed with their pairs.
        split: three shares summing to 1.
        seed: int.
        conversations: None, or the conversation id of each pair: the split
            then keeps every conversation within one split.
        max_train_pairs: None, or keep a seeded sample of this many training
            pairs (a quick run); validation and test stay whole.
        long_pairs: "drop" a pair with a side over `max_tokens`, or "cut"
            it to whole sentences (`cut_pair`; the reply's first sentence
            must fit).

    Returns:
        DialogPairs.

    Example:
    >>> data = prepare_pairs([("hi", "hello"), ("bye", "see you")] * 3
    ...                      + [("how are you", "fine"), ("ok", "good")],
    ...                      split=(0.5, 0.25, 0.25), seed=0)
    >>> sorted(len(pairs) for pairs in data.splits.values())
    [1, 1, 2]

    Raises:
        ZooError: nothing is left after filtering, or a split is empty.
    """
    if not pairs:
        raise ZooError(
            "the corpus holds no (input, reply) pair; check that --data has the "
            "format of --corpus (see python -m zoo.train --help)"
        )
    if conversations is not None and len(conversations) != len(pairs):
        raise ValueError(
            f"conversations: expected one id per pair ({len(pairs)}), "
            f"got {len(conversations)}"
        )
    if long_pairs not in LONG_PAIRS:
        raise ValueError(
            f"long_pairs: expected one of {LONG_PAIRS}, got {long_pairs!r}"
        )
    dropped = {"too long": 0, "duplicate": 0, "rare word": 0, "empty": 0}
    seen, kept, groups = set(), [], []
    bound = max_tokens if long_pairs == "drop" else math.inf
    for row, (question, answer) in enumerate(pairs):
        q = _bounded_tokens(question, level, bound)
        a = _bounded_tokens(answer, level, bound)
        if long_pairs == "cut" and q and a:
            q, a = cut_pair(q, a, max_tokens) or (q, None)
        if q == [] or a == []:  # None (too long) is not empty
            dropped["empty"] += 1
        elif q is None or a is None:
            dropped["too long"] += 1
        elif (tuple(q), tuple(a)) in seen:
            dropped["duplicate"] += 1
        else:
            seen.add((tuple(q), tuple(a)))
            kept.append((q, a))
            groups.append(None if conversations is None else conversations[row])
    if min_count > 1:
        trimmed = Vocabulary.build((t for p in kept for t in p), min_count, level=level)
        common = [all(t in trimmed for t in q + a) for q, a in kept]
        dropped["rare word"] = common.count(False)
        kept = [p for p, ok in zip(kept, common, strict=True) if ok]
        groups = [g for g, ok in zip(groups, common, strict=True) if ok]
    if not kept:
        raise ZooError(
            f"the corpus is empty after filtering ({len(pairs)} pairs read; "
            f"dropped {dropped}); raise --max-tokens or lower --min-count"
        )
    parts = _split_rows(
        len(kept), split, seed, None if conversations is None else groups,
        conversations,
    )  # fmt: skip
    if max_train_pairs is not None and len(parts[0]) > max_train_pairs:
        sample = np.random.default_rng([seed, 1]).permutation(len(parts[0]))
        parts[0] = parts[0][np.sort(sample[:max_train_pairs])]
        dropped["beyond --max-train-pairs"] = len(sample) - max_train_pairs
    names = ("train", "val", "test")
    splits = {
        name: [kept[i] for i in part] for name, part in zip(names, parts, strict=True)
    }
    empty = [n for n in names if not splits[n]]
    if empty:
        raise ZooError(
            f"only {len(kept)} pairs after filtering: the {empty} split is empty; "
            "use a larger corpus or looser filters"
        )
    vocab = Vocabulary.build((t for p in splits["train"] for t in p), level=level)
    return DialogPairs(splits, vocab, dropped)
