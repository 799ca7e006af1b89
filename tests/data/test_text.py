"""Text pipeline: Unicode normalization, tokenizers, vocabulary."""

import pytest

from zoo.data.text import (
    EOS_ID,
    PAD_ID,
    SOS_ID,
    UNK_ID,
    Vocabulary,
    detokenize,
    normalize,
    tokenize,
)


@pytest.mark.parametrize(
    "text, tokens",
    [
        ("Hello, World!", ["hello", ",", "world", "!"]),
        ("I don't KNOW.", ["i", "don't", "know", "."]),
        ("Привет, как дела?", ["привет", ",", "как", "дела", "?"]),
        ("我爱你。", ["我", "爱", "你", "。"]),  # no spaces: one token per character
        ("안녕하세요 반가워요", ["안녕하세요", "반가워요"]),
        ("  tabs\tand\u200b zero-width ", ["tabs", "and", "zero", "-", "width"]),
        ("ＦＵＬＬ width", ["full", "width"]),  # NFKC folds full-width forms
    ],
)
def test_tokenize_keeps_every_script(text, tokens):
    assert tokenize(text) == tokens


def test_words_equal_nltks_regexp_tokenizer_on_every_chatterbot_language():
    # The tokenizer compiles nltk's former pattern with `regex` directly
    # (nltk adds a per-match timeout): the same tokens, combining marks of
    # Hindi, Marathi, Tamil, Telugu, Bengali and Thai included.
    from nltk.tokenize import RegexpTokenizer

    from zoo.data.dialogs import chatterbot_languages, load_chatterbot
    from zoo.data.text import _WORD_TOKENS

    reference = RegexpTokenizer(_WORD_TOKENS.pattern)
    texts = ["नमस्ते, आप कैसे हैं?", "สวัสดีครับ", "l'été don't 'quoted' it's"]
    for language in chatterbot_languages():
        pairs, _ = load_chatterbot(language)
        texts += [side for pair in pairs[:40] for side in pair]
    assert len(texts) > 1000
    for text in map(normalize, texts):
        assert tokenize(text, normalized=True) == reference.tokenize(text), text
    assert tokenize("नमस्ते") == ["नमस्ते"]  # marks stay inside the word


def test_character_level_marks_spaces():
    assert tokenize("Hi yo", "char") == ["h", "i", "\u2581", "y", "o"]
    assert detokenize(tokenize("Hi yo", "char"), "char") == "hi yo"


def test_detokenize_glues_punctuation_and_cjk():
    assert detokenize(["hello", ",", "world", "!"]) == "hello, world!"
    assert detokenize(["我", "爱", "你"]) == "我爱你"


def test_normalize_drops_control_characters():
    assert normalize("a\x00b\u200bc  d") == "abc d"


def test_unknown_level_is_rejected():
    with pytest.raises(ValueError, match="level"):
        tokenize("x", "byte")


def test_vocabulary_ids_specials_and_unknowns():
    vocab = Vocabulary.build([["b", "a", "a"], ["c", "a", "b"]], min_count=2)
    assert vocab.itos[:4] == ["<pad>", "<sos>", "<eos>", "<unk>"]
    assert (PAD_ID, SOS_ID, EOS_ID, UNK_ID) == (0, 1, 2, 3)
    # Most frequent first; "c" (seen once) is below min_count.
    assert vocab.itos[4:] == ["a", "b"]
    assert vocab.encode("a c b") == [4, UNK_ID, 5]
    assert vocab.decode([SOS_ID, 4, 5, EOS_ID, 4]) == ["a", "b"]
    assert vocab.decode([4, PAD_ID, 99]) == ["a", "<unk>"]


def test_vocabulary_round_trips_through_json():
    vocab = Vocabulary.build([["привет", "我"]], level="word")
    again = Vocabulary.from_json(vocab.to_json())
    assert again.itos == vocab.itos and again.level == "word"
    with pytest.raises(ValueError, match="not a vocabulary"):
        Vocabulary.from_json('["just", "a", "list"]')
