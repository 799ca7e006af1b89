"""Reference replies a chatbot must beat, as the traffic task has persistence.

- `most-frequent`: the most frequent training reply, whatever the input.
- `retrieval`: the reply of the nearest training input by TF-IDF cosine
  (scikit-learn's `TfidfVectorizer`: raw counts, smoothed idf
  ln((1 + n) / (1 + df)) + 1, rows L2-normalized, so cosine is a dot
  product). An input sharing no word with any training input gets the
  most frequent reply. On the training split itself retrieval finds each
  input and returns its own reply: it measures memorization, not skill.

Both take and return token lists.

Example:
>>> pairs = [(["hi"], ["hello"]), (["how", "are", "you"], ["fine"]),
...          (["hi", "there"], ["hello"])]
>>> baseline_replies(pairs, {"test": [["how", "you"], ["zzz"]]})["test"]["retrieval"]
[['fine'], ['hello']]
"""

import collections

import numpy as np

BASELINES = ("most-frequent", "retrieval")


def _tokens(tokens):
    """The analyzer of the vectorizer: inputs are already tokenized."""
    return tokens


def most_frequent_reply(pairs):
    """The most frequent reply of `pairs` (the first seen on ties).

    Args:
        pairs: list of (input tokens, reply tokens).

    Returns:
        list of str.
    """
    if not pairs:
        raise ValueError("pairs: expected at least one (input, reply) pair, got 0")
    counts = collections.Counter(tuple(reply) for _, reply in pairs)
    return list(counts.most_common(1)[0][0])


class TfidfRetrieval:
    """Answers with the reply of the most similar training input.

    Args:
        pairs: list of (input tokens, reply tokens), the training split.

    Example:
    >>> bot = TfidfRetrieval([(["good", "morning"], ["hi"]), (["bye"], ["ciao"])])
    >>> bot.reply([["bye", "now"]])
    [['ciao']]
    """

    def __init__(self, pairs):
        from sklearn.feature_extraction.text import TfidfVectorizer

        if not pairs:
            raise ValueError("pairs: expected at least one (input, reply) pair, got 0")
        self.replies = [list(reply) for _, reply in pairs]
        self.fallback = most_frequent_reply(pairs)
        self.vectorizer = TfidfVectorizer(analyzer=_tokens, lowercase=False)
        self.matrix = self.vectorizer.fit_transform([list(q) for q, _ in pairs])

    def nearest(self, inputs, batch_size=1024):
        """Row of the nearest training input for each input; -1 if none shares a word.

        Returns:
            int array `(len(inputs),)`.
        """
        rows = np.full(len(inputs), -1, dtype="int64")
        for start in range(0, len(inputs), batch_size):
            chunk = inputs[start : start + batch_size]
            cosine = self.vectorizer.transform([list(q) for q in chunk]) @ self.matrix.T
            cosine = cosine.toarray()
            best = cosine.argmax(axis=1)
            found = cosine[np.arange(len(chunk)), best] > 0
            rows[start : start + len(chunk)] = np.where(found, best, -1)
        return rows

    def reply(self, inputs):
        """Replies (token lists) to `inputs` (token lists)."""
        return [
            self.replies[row] if row >= 0 else list(self.fallback)
            for row in self.nearest(inputs)
        ]


def baseline_replies(train_pairs, inputs):
    """Every baseline's replies to several lists of inputs, fitted once.

    Args:
        train_pairs: list of (input tokens, reply tokens).
        inputs: dict key (e.g. a split) -> list of token lists.

    Returns:
        dict key -> {baseline name -> list of reply token lists}.
    """
    constant = most_frequent_reply(train_pairs)
    retrieval = TfidfRetrieval(train_pairs)
    return {
        key: {
            "most-frequent": [list(constant) for _ in questions],
            "retrieval": retrieval.reply(questions),
        }
        for key, questions in inputs.items()
    }
