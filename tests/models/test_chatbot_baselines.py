"""Chatbot baselines against plain-numpy TF-IDF and counting."""

import numpy as np
import pytest

from zoo.models.seq2seq.baselines import (
    TfidfRetrieval,
    baseline_replies,
    most_frequent_reply,
)

TRAIN = [
    (["how", "are", "you"], ["fine"]),
    (["hello"], ["hi"]),
    (["hello", "there"], ["hi"]),
    (["what", "is", "your", "name"], ["bot"]),
    (["how", "old", "are", "you"], ["two"]),
]


def numpy_tfidf(documents, vocabulary):
    """Raw counts x (ln((1 + n) / (1 + df)) + 1), rows L2-normalized."""
    counts = np.array([[d.count(w) for w in vocabulary] for d in documents], float)
    df = (counts > 0).sum(0)
    idf = np.log((1 + len(documents)) / (1 + df)) + 1
    weights = counts * idf
    norms = np.linalg.norm(weights, axis=1, keepdims=True)
    return weights / np.where(norms > 0, norms, 1)


def test_retrieval_picks_the_nearest_input_by_numpy_tfidf_cosine():
    inputs = [["how", "are", "you", "today"], ["old", "you"], ["name", "please"]]
    vocabulary = sorted({t for q, _ in TRAIN for t in q})
    train = numpy_tfidf([q for q, _ in TRAIN], vocabulary)
    # Query vectors use the training idf, as a fitted vectorizer does.
    counts = np.array([[q.count(w) for w in vocabulary] for q in inputs], float)
    df = np.array([sum(w in q for q, _ in TRAIN) for w in vocabulary])
    query = counts * (np.log((1 + len(TRAIN)) / (1 + df)) + 1)
    query /= np.linalg.norm(query, axis=1, keepdims=True)
    expected = (query @ train.T).argmax(1)
    retrieval = TfidfRetrieval(TRAIN)
    np.testing.assert_array_equal(retrieval.nearest(inputs), expected)
    assert retrieval.reply(inputs) == [TRAIN[i][1] for i in expected]
    assert retrieval.reply(inputs) == [["fine"], ["two"], ["bot"]]


def test_unknown_inputs_fall_back_to_the_most_frequent_reply():
    assert most_frequent_reply(TRAIN) == ["hi"]
    retrieval = TfidfRetrieval(TRAIN)
    assert retrieval.nearest([["zzz"]]).tolist() == [-1]
    assert retrieval.reply([["zzz"]]) == [["hi"]]
    replies = baseline_replies(TRAIN, {"test": [["hello"], ["zzz"]]})["test"]
    assert replies["most-frequent"] == [["hi"], ["hi"]]
    assert replies["retrieval"] == [["hi"], ["hi"]]


def test_on_its_own_training_inputs_retrieval_memorizes():
    inputs = [q for q, _ in TRAIN]
    assert TfidfRetrieval(TRAIN).reply(inputs) == [a for _, a in TRAIN]


def test_no_training_pairs_is_an_error():
    with pytest.raises(ValueError, match="at least one"):
        most_frequent_reply([])
