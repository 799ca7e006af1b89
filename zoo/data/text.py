"""Text pipeline of the chatbots: normalization, tokenization, vocabulary.

Normalization is Unicode-aware: NFKC, case folding, and every letter of
every script is kept (Cyrillic, Greek, CJK, Thai...). Tokenization is one
regular expression of the `regex` module (Unicode's word characters,
combining marks included), which needs no downloaded data: words are runs
of letters/digits, each punctuation mark is a token, and each character of
a script written without spaces (Han, Hiragana, Katakana) is a token of its
own, so a Chinese sentence still yields tokens. `level="char"` tokenizes
into characters (spaces become "▁").

Example:
>>> tokenize("Hello, World!")
['hello', ',', 'world', '!']
>>> tokenize("我爱你")
['我', '爱', '你']
"""

import collections
import json
import unicodedata

import regex

PAD, SOS, EOS, UNK = "<pad>", "<sos>", "<eos>", "<unk>"
SPECIALS = (PAD, SOS, EOS, UNK)
PAD_ID, SOS_ID, EOS_ID, UNK_ID = range(4)
LEVELS = ("word", "char")
SPACE = "\u2581"  # stands for a space in character-level sequences

# Scripts written without spaces between words: one token per character.
_UNSPACED = (
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # Han
)
# nltk's `RegexpTokenizer` with this pattern gives the same tokens (checked
# on all 287,002 texts of chitchat and of chatterbot's 28 language folders,
# tests/data/test_text.py compares a sample of each) but runs every match
# under a ReDoS timeout, twice the time; the pattern is ours and fixed (no
# nested quantifiers), so it is compiled directly.
_WORD_TOKENS = regex.compile(
    rf"[{_UNSPACED}]|[^\W{_UNSPACED}]+(?:'[^\W{_UNSPACED}]+)*|[^\w\s]",
    regex.UNICODE | regex.MULTILINE | regex.DOTALL,
)


def normalize(text):
    """NFKC, case-folded, whitespace collapsed; letters of all scripts kept.

    Args:
        text: str (anything else is converted with `str`).

    Returns:
        str.
    """
    text = unicodedata.normalize("NFKC", str(text)).casefold()
    # Control and format characters (zero-width joiners, BOM...) go. Every
    # character of category C is unprintable, so a printable text (most of
    # them) skips the per-character pass.
    if not text.isprintable():
        text = "".join(
            c for c in text if unicodedata.category(c)[0] != "C" or c in "\t\n"
        )
    return " ".join(text.split())


def tokenize(text, level="word", normalized=False):
    """Normalized tokens of `text`.

    Args:
        text: str.
        level: "word" (default) or "char".
        normalized: bool, `text` is already `normalize(text)` (skips it).

    Returns:
        list of str.
    """
    if level not in LEVELS:
        raise ValueError(f"level: expected one of {LEVELS}, got {level!r}")
    if not normalized:
        text = normalize(text)
    if level == "char":
        return [SPACE if c == " " else c for c in text]
    return _WORD_TOKENS.findall(text)


def detokenize(tokens, level="word"):
    """Joins tokens back into readable text (inverse of `tokenize` up to spacing)."""
    if level == "char":
        return "".join(" " if t == SPACE else t for t in tokens)
    text = ""
    for token in tokens:
        glue = not text or token in ".,!?;:%)]}'" or "\u3040" <= token[:1] <= "\u9fff"
        text += token if glue else " " + token
    return text


class Vocabulary:
    """Token <-> id map with PAD=0, SOS=1, EOS=2, UNK=3.

    Args:
        tokens: list of str, the regular tokens in id order (after the
            specials).
        level: "word" or "char": how `encode` tokenizes text.

    Example:
    >>> vocab = Vocabulary.build([["hi", "there"], ["hi"]], min_count=1)
    >>> vocab.encode("hi you")
    [4, 3]
    >>> vocab.decode([4, 5, 2, 4])
    ['hi', 'there']
    """

    def __init__(self, tokens, level="word"):
        if level not in LEVELS:
            raise ValueError(f"level: expected one of {LEVELS}, got {level!r}")
        self.itos = list(SPECIALS) + [t for t in tokens if t not in SPECIALS]
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        self.level = level

    @classmethod
    def build(cls, token_lists, min_count=1, max_size=None, level="word"):
        """Tokens seen at least `min_count` times, most frequent first.

        Ties are broken alphabetically, so the vocabulary does not depend on
        the order of the corpus.
        """
        counts = collections.Counter(t for tokens in token_lists for t in tokens)
        kept = sorted(
            (t for t, n in counts.items() if n >= min_count),
            key=lambda t: (-counts[t], t),
        )
        return cls(kept[:max_size] if max_size else kept, level)

    def __len__(self):
        return len(self.itos)

    def __contains__(self, token):
        return token in self.stoi

    def encode(self, text_or_tokens):
        """Ids of a text (tokenized at this level) or of a token list; UNK=3."""
        tokens = text_or_tokens
        if isinstance(text_or_tokens, str):
            tokens = tokenize(text_or_tokens, self.level)
        return [self.stoi.get(t, UNK_ID) for t in tokens]

    def decode(self, ids):
        """Tokens up to the first EOS; PAD and SOS are dropped."""
        tokens = []
        for i in ids:
            i = int(i)
            if i == EOS_ID:
                break
            if i in (PAD_ID, SOS_ID):
                continue
            tokens.append(self.itos[i] if 0 <= i < len(self.itos) else UNK)
        return tokens

    def to_json(self):
        return json.dumps(
            {"level": self.level, "tokens": self.itos[len(SPECIALS) :]},
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text):
        """Reads `to_json` output; raises ValueError when it is not one."""
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("tokens"), list):
            raise ValueError("not a vocabulary: expected {'level', 'tokens'}")
        if not all(isinstance(t, str) for t in data["tokens"]):
            raise ValueError("not a vocabulary: tokens must be strings")
        return cls(data["tokens"], data.get("level", "word"))
