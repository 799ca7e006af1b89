"""Relevance measures: distinct-n, the generic rate and the everyday-prompt
rubric, against hand counts and against real human replies."""

import collections
import re

import pytest

from zoo.relevance import Rubric, distinct_n, generic_rate

RUBRIC = Rubric.load()


def test_distinct_n_counts_by_hand():
    replies = [["i", "am", "fine"], ["i", "am", "here"], []]
    # unigrams: i am fine i am here -> 4 distinct of 6
    assert distinct_n(replies, 1) == pytest.approx(4 / 6)
    # bigrams: (i am) (am fine) (i am) (am here) -> 3 of 4
    assert distinct_n(replies, 2) == pytest.approx(3 / 4)
    assert distinct_n([["a"]], 2) == 0.0  # no bigram at all
    with pytest.raises(ValueError, match="n: expected"):
        distinct_n(replies, 0)


def test_generic_rate_counts_by_hand():
    assert generic_rate([["yeah"]] * 3 + [["no"]]) == 0.75
    assert generic_rate([["a"], ["b"]]) == 0.5
    assert generic_rate([]) == 0.0


def test_the_rubric_covers_everyday_topics():
    assert len(RUBRIC.prompts) >= 40 and RUBRIC.version >= 1
    topics = collections.Counter(RUBRIC.topics.values())
    for topic in ("greeting", "self", "likes", "plans", "food", "pets", "weather",
                  "feelings", "thanks", "goodbye"):  # fmt: skip
        assert topics[topic] >= 2, topic
    # The shipped everyday prompts are all in it (each run answers both).
    from zoo.replies import read_prompts

    english = [p for p in read_prompts() if re.fullmatch(r"[ -~]+", p)]
    assert set(english) <= set(RUBRIC.prompts)


@pytest.mark.parametrize(
    "prompt, reply, expected",
    [
        # The generic replies of the models issue 29 quotes: never on topic
        ("what's your name?", "i am doing well, i don't know", False),
        ("what's your name?", "i am from south carolina", False),
        ("do you have any pets?", "i don't know.", False),
        ("what's the weather like today?", "i'm doing well.", False),
        ("thanks for the chat!", "i am from a lot of the best", False),
        ("thanks for the chat!", "i am doing well, how are you?", False),
        ("hi!", "yeah", False),
        ("do you have any pets?", "i am from south carolina", False),
        ("where are you from?", "yeah", False),
        ("it's raining again.", "yeah", False),
        ("how's it going?", "i don't know.", False),
        ("what's your favorite food?", "", False),
        # and answers a person would take
        ("what's your name?", "my name is sam.", True),
        ("what's your name?", "i'm sam", True),
        ("do you have any pets?", "yeah, i have a dog", True),
        ("where do you live?", "in provo?", True),
        ("do you have any siblings?", "yeah, i'm the oldest of 5", True),
        ("thanks for the chat!", "you too!", True),
        ("what's the weather like today?", "it's really cold", True),
        ("i'm so tired today.", "why?", True),
    ],
)
def test_the_rubric_judges_replies(prompt, reply, expected):
    assert RUBRIC.on_topic(prompt, reply) is expected


def test_score_counts_per_topic_and_fails_on_off_topic_replies():
    on = ["hello!" if t == "greeting" else "" for t in map(RUBRIC.topics.get,
          RUBRIC.prompts)]  # fmt: skip
    score = RUBRIC.score(on)
    greetings = sum(t == "greeting" for t in RUBRIC.topics.values())
    assert 0 < score["on_topic"] <= greetings < score["prompts"]
    assert RUBRIC.score(["i don't know."] * len(RUBRIC.prompts))["on_topic"] == 0
    with pytest.raises(ValueError, match="one per rubric prompt"):
        RUBRIC.score(["hi"])


def test_a_broken_rubric_is_one_clear_error(tmp_path):
    from zoo.errors import ZooError

    path = tmp_path / "rubric.yaml"
    path.write_text("version: 1\nprompts:\n  - {prompt: hi, topic: x, accept: ['(']}\n")
    with pytest.raises(ZooError, match="cannot read .* as a rubric"):
        Rubric.load(path)


@pytest.mark.jax_only  # plain Python: one lane is enough
def test_people_in_the_corpus_answer_on_topic_by_the_rubric():
    """The rubric's forms come from how people answer: of the replies people
    gave in the chitchat corpus to its prompts (a turn ending with the
    prompt, at most 40 per prompt), version 1 accepts 257 of 315 (82%); the
    rest mostly change the subject ("are you an incoming freshman?")."""
    from zoo.data.dialogs import load_chitchat

    pairs = load_chitchat()[0]

    def norm(text):
        return re.sub(r"[^a-z' ]", "", text.lower()).strip()

    wanted = {norm(p): p for p in RUBRIC.prompts}
    replies = collections.defaultdict(list)
    for question, answer in pairs:
        text = norm(question)
        for key, prompt in wanted.items():
            if text.endswith(key) and len(text) < len(key) + 25:
                replies[prompt].append(answer.lower())
    judged = [RUBRIC.on_topic(p, r) for p, rs in replies.items() for r in rs[:40]]
    assert len(judged) >= 200
    assert sum(judged) / len(judged) >= 0.8, sum(judged) / len(judged)
