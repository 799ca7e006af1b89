"""Long dialog pairs: cut to whole sentences instead of dropped, and a split
of conversations that no filter moves."""

import numpy as np
import pytest

from zoo.data.dialog_pairs import cut_pair, prepare_pairs


def words(text):
    return text.split()


@pytest.mark.parametrize(
    "prompt, reply, kept",
    [
        # Short sides stay whole.
        ("how are you ?", "fine .", ("how are you ?", "fine .")),
        # The prompt keeps its last whole sentences that fit (5 tokens).
        ("i went out . it was so cold . ok ?", "no .", ("ok ?", "no .")),
        # A run of marks ends one sentence: no cut between "?" and "!".
        ("a b ? ! c d e", "x", ("c d e", "x")),
        # A last sentence longer than the limit: its last tokens.
        ("one two three four five six seven", "x", ("three four five six seven", "x")),
        # The reply keeps its first whole sentences that fit.
        ("hi", "yes . i do . i really do !", ("hi", "yes . i do .")),
        # A reply whose first sentence does not fit is refused.
        ("hi", "well i think that it is", None),
    ],
)
def test_cut_pair_keeps_whole_sentences(prompt, reply, kept):
    got = cut_pair(words(prompt), words(reply), 5)
    if kept is None:
        assert got is None
    else:
        assert got == (words(kept[0]), words(kept[1]))
        assert all(len(side) <= 5 for side in got)


def test_long_pairs_cut_keeps_what_drop_throws_away():
    pairs = []
    for i in range(8):
        pairs += [
            (f"so i was thinking {i}. do you like pizza?", f"yes {i}! i love cheese."),
            (f"hi {i}", "well i think that it depends on what you mean"),
            (f"hello {i}", "hey"),
        ]
    pairs += [("i was thinking. do you like pizza?", "yes 0!")]  # a duplicate, cut
    drop = prepare_pairs(pairs, max_tokens=6, split=(0.5, 0.25, 0.25), seed=0)
    assert drop.dropped["too long"] == 17
    cut = prepare_pairs(
        pairs, max_tokens=6, split=(0.5, 0.25, 0.25), seed=0, long_pairs="cut"
    )
    # Only the replies without a first sentence of 6 tokens go.
    assert cut.dropped["too long"] == 8
    assert cut.dropped["duplicate"] == 1
    kept = {(" ".join(q), " ".join(a)) for rows in cut.splits.values() for q, a in rows}
    assert ("do you like pizza ?", "yes 3 !") in kept
    assert len(kept) == 16
    with pytest.raises(ValueError, match="long_pairs"):
        prepare_pairs(pairs, long_pairs="trim")


def test_a_conversation_stays_in_its_split_whatever_the_filter_keeps():
    """Runs with different filters are scored on the same held-out
    conversations: a conversation's split depends on the pairs read, not on
    the pairs kept."""
    rng = np.random.default_rng(1)
    pairs, conversations = [], []
    for c in range(80):
        for _ in range(rng.integers(1, 8)):
            length = int(rng.integers(1, 9))
            pairs.append((" ".join(["w"] * length) + f" {len(pairs)}", "ok ."))
            conversations.append(f"conv{c}")

    def owners(max_tokens):
        prepared = prepare_pairs(
            pairs, max_tokens=max_tokens, split=(0.6, 0.2, 0.2), seed=5,
            conversations=conversations,
        )  # fmt: skip
        return {
            conversations[int(q[-1])]: split
            for split, rows in prepared.splits.items()
            for q, _ in rows
        }

    loose, strict = owners(20), owners(4)
    assert len(strict) < len(loose)  # the strict filter dropped conversations
    assert all(loose[c] == split for c, split in strict.items())
