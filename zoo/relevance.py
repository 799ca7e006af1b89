"""What a person notices in a chatbot's replies, beside overlap metrics.

- distinct-n (Li et al., 2016, "A Diversity-Promoting Objective Function for
  Neural Conversation Models"): distinct n-grams over all n-grams of a set
  of replies; 1.0 when no n-gram repeats, near 0 when every reply is the same.
- the generic rate: the share of replies that are the single most frequent
  reply ("i don't know." to everything gives 1.0).
- the rubric score: how many everyday prompts get a reply a person would
  take as an answer, judged by the forms of answer written for each prompt
  in a versioned rubric (`zoo/datasets/dialogs/rubric.yaml`).

Example:
>>> replies = [["i", "am", "fine"], ["i", "am", "fine"], ["hello"]]
>>> round(distinct_n(replies, 2), 3), round(generic_rate(replies), 3)
(0.5, 0.667)
"""

import collections
import re

import yaml

from zoo.data.embedded import embedded_file
from zoo.errors import ZooError

RUBRIC_NAME = ("dialogs", "rubric.yaml")  # in zoo/datasets/


def distinct_n(replies, n):
    """Distinct n-grams / all n-grams over `replies` (0.0 when there are none).

    Args:
        replies: list of token lists.
        n: int >= 1.

    Returns:
        float in [0, 1].

    Example:
    >>> distinct_n([["a", "b"], ["a", "c"]], 1)
    0.75
    """
    if n < 1:
        raise ValueError(f"n: expected an int >= 1. Received: n={n}")
    grams = [tuple(r[i : i + n]) for r in replies for i in range(len(r) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def generic_rate(replies):
    """Share of `replies` equal to the most frequent one (0.0 for none).

    Example:
    >>> generic_rate([["yeah"], ["yeah"], ["no"], ["yeah"]])
    0.75
    """
    if not replies:
        return 0.0
    counts = collections.Counter(tuple(r) for r in replies)
    return counts.most_common(1)[0][1] / len(replies)


def reply_measures(replies):
    """distinct-1, distinct-2 and the generic rate of a set of replies.

    Args:
        replies: list of token lists (e.g. the test split's replies).

    Returns:
        dict `distinct_1`, `distinct_2`, `generic_rate`, rounded to 4 places.

    Example:
    >>> reply_measures([["yeah"], ["yeah"], ["i", "am", "fine"]])
    {'distinct_1': 0.8, 'distinct_2': 1.0, 'generic_rate': 0.6667}
    """
    return {
        "distinct_1": round(distinct_n(replies, 1), 4),
        "distinct_2": round(distinct_n(replies, 2), 4),
        "generic_rate": round(generic_rate(replies), 4),
    }


def _pattern(form):
    """A rubric form as one compiled regex: a list of phrases matches any of
    them as whole words; a string is a pattern as it is."""
    if isinstance(form, list):
        form = r"\b(?:" + "|".join(form) + r")\b"
    return re.compile(form, re.IGNORECASE)


class Rubric:
    """Everyday prompts with the forms of reply a person would accept.

    Args:
        entries: list of dicts with `prompt` (str), `topic` (str) and
            `accept` (list of forms: a regex string, or a list of phrases).
        version: int, the rubric's version (scores of two versions differ).

    Example:
    >>> rubric = Rubric([{"prompt": "hi!", "topic": "greeting",
    ...                   "accept": [["hi", "hello"]]}])
    >>> rubric.on_topic("hi!", "hello there!"), rubric.on_topic("hi!", "i'm 20")
    (True, False)
    """

    def __init__(self, entries, version=1):
        self.version = version
        self.prompts = [entry["prompt"] for entry in entries]
        self.topics = {entry["prompt"]: entry["topic"] for entry in entries}
        try:
            self.patterns = {
                entry["prompt"]: [_pattern(form) for form in entry["accept"]]
                for entry in entries
            }
        except (re.error, TypeError) as error:
            raise ValueError(f"rubric: a pattern does not compile ({error})") from None

    @classmethod
    def load(cls, path=None):
        """The rubric of a YAML file (default: the shipped one).

        Raises:
            ZooError: the file is missing or not a rubric.
        """
        path = path or embedded_file(*RUBRIC_NAME)
        try:
            with open(path, encoding="utf-8") as handle:
                data = yaml.safe_load(handle)
            return cls(data["prompts"], data["version"])
        except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as error:
            raise ZooError(
                f"rubric: cannot read {path} as a rubric ({error}); see the "
                "shipped zoo/datasets/dialogs/rubric.yaml for the format"
            ) from None

    def on_topic(self, prompt, reply):
        """Whether `reply` (str) answers `prompt` by one of the accepted forms."""
        reply = reply.strip()
        return bool(reply) and any(p.search(reply) for p in self.patterns[prompt])

    def score(self, replies):
        """Replies to `self.prompts`, in order, scored.

        Args:
            replies: list of str, one per prompt.

        Returns:
            dict: `version`, `on_topic` (count), `prompts` (count), `share`,
            `by_topic` ({topic: [on topic, prompts]}).
        """
        if len(replies) != len(self.prompts):
            raise ValueError(
                f"replies: expected one per rubric prompt ({len(self.prompts)}). "
                f"Received: {len(replies)}"
            )
        hits = [self.on_topic(p, r) for p, r in zip(self.prompts, replies, strict=True)]
        by_topic = {}
        for prompt, hit in zip(self.prompts, hits, strict=True):
            counts = by_topic.setdefault(self.topics[prompt], [0, 0])
            counts[0] += hit
            counts[1] += 1
        return {
            "version": self.version,
            "on_topic": sum(hits),
            "prompts": len(hits),
            "share": round(sum(hits) / len(hits), 4) if hits else 0.0,
            "by_topic": by_topic,
        }
