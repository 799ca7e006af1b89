"""Reply similarities against hand-computed examples (sheet A3.4)."""

import math

import pytest

from zoo.metrics import bleu, cosine, damerau_levenshtein, jaccard, similarity_report


def test_jaccard_by_hand():
    # {the, cat, sat} vs {the, cat, ran}: 2 shared of 4 distinct.
    assert jaccard("the cat sat".split(), "the cat ran".split()) == 0.5
    # Sets: repetition and order do not count.
    assert jaccard("a a b".split(), "b a".split()) == 1.0
    assert jaccard([], []) == 1.0 and jaccard(["a"], []) == 0.0


def test_cosine_by_hand():
    # counts a:2 b:1 vs a:1 b:2 -> (2 + 2) / (sqrt 5 * sqrt 5) = 0.8
    assert cosine("a a b".split(), "a b b".split()) == pytest.approx(0.8)
    # Counts matter, order does not.
    assert cosine("x y".split(), "y x".split()) == pytest.approx(1.0)
    assert cosine("a".split(), "b".split()) == 0.0
    assert cosine([], []) == 1.0 and cosine(["a"], []) == 0.0


def test_damerau_levenshtein_counts_transpositions_over_tokens():
    # One adjacent swap is one edit: 1 - 1/3.
    assert damerau_levenshtein("i am here".split(), "am i here".split()) == (
        pytest.approx(2 / 3)
    )
    # Unrestricted DL: "ca" -> "abc" is 2 edits (OSA would say 3): 1 - 2/3.
    assert damerau_levenshtein(list("ca"), list("abc")) == pytest.approx(1 / 3)
    # Substitution + deletion over tokens, not characters: 1 - 2/4.
    assert damerau_levenshtein("how are you today".split(), "how is you".split()) == (
        pytest.approx(0.5)
    )
    assert damerau_levenshtein([], []) == 1.0 and damerau_levenshtein(["a"], []) == 0.0


def test_bleu_perfect_partial_and_report():
    sentence = "the cat sat on the mat".split()
    assert bleu([sentence], [sentence]) == pytest.approx(1.0)
    # 5 of 6 unigrams ... a hand-checkable case: unigram-only overlap is tiny.
    assert 0.0 < bleu([sentence], ["the dog".split()]) < 0.1
    report = similarity_report([sentence, ["hi"]], [sentence, ["hello"]])
    assert report["jaccard"] == 0.5 and report["cosine"] == 0.5
    assert report["damerau_levenshtein"] == 0.5
    assert math.isfinite(report["bleu"])
    with pytest.raises(ValueError, match="1 references but 2"):
        similarity_report([["a"]], [["a"], ["b"]])
