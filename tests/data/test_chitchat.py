"""The chitchat corpus: loader on fixtures written here, the installed
package, bad files, and the split that keeps conversations whole."""

import json
import warnings

import numpy as np
import pytest

from zoo.data import dialogs
from zoo.data.dialog_pairs import prepare_pairs
from zoo.data.dialogs import load_chitchat, load_dialogs
from zoo.errors import ZooError


def message(text, sender="a"):
    return {"text": text, "timestamp": "2018-05-02T19:38:15Z", "sender": sender}


def write_chitchat(path, conversations=None):
    """A dataset.json in chitchat-dataset's format."""
    if conversations is None:
        conversations = {
            "c1": {"messages": [
                [message("Hello"), message("How are you doing today?")],
                [message("im doing good", "b"), message("you?", "b")],
                [message("Great!")],
            ]},
            "c2": {"messages": [
                [message("what do you study?")],
                [message("   ")],  # empty turn: no pair with it
                [message("computer science", "b")],
                "not a turn",  # malformed: breaks the conversation
                [message("nice")],
                [message("thanks", "b")],
            ]},
            "c3": {"no messages": []},  # malformed conversation
            "c4": {"messages": [[message("alone")]]},  # one turn: no pair
        }  # fmt: skip
    path.write_text(json.dumps(conversations), encoding="utf-8")
    return path


def test_pairs_are_consecutive_turns_with_their_conversation(tmp_path):
    path = write_chitchat(tmp_path / "dataset.json")
    pairs, skipped, conversations = load_chitchat(str(path))
    assert pairs == [
        ("Hello How are you doing today?", "im doing good you?"),
        ("im doing good you?", "Great!"),
        ("nice", "thanks"),
    ]
    assert conversations == ["c1", "c1", "c2"]
    assert skipped == 2  # the malformed turn and the malformed conversation
    with pytest.warns(UserWarning, match="chitchat: skipped 2"):
        assert load_dialogs("chitchat", str(tmp_path))[1] == conversations


@pytest.mark.parametrize(
    "content, match",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2, 3]", "must hold an object"),
        ("\udcff", "not valid JSON"),
    ],
)
def test_a_corrupt_dataset_json_is_one_clear_error(tmp_path, content, match):
    path = tmp_path / "dataset.json"
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    with pytest.raises(ZooError, match=match):
        load_chitchat(str(path))


def test_a_missing_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(dialogs.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ZooError, match="pip install chitchat-dataset"):
        load_dialogs("chitchat")


def test_the_installed_package_is_the_default_corpus():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pairs, conversations = load_dialogs("chitchat")
    # 7,168 conversations, 138,737 turns: 131,569 consecutive two turns, less
    # the 21 next to a turn whose text is empty.
    assert len(pairs) == 131_548 and len(conversations) == len(pairs)
    # 3,150 conversations have one turn and one more only empty turns.
    assert len(set(conversations)) == 4_017


def test_the_split_keeps_every_conversation_on_one_side():
    rng = np.random.default_rng(0)
    words = "hi hello how are you fine good thanks ok yes no".split()
    pairs, conversations = [], []
    for c in range(60):
        for _ in range(rng.integers(1, 6)):
            q = " ".join(rng.choice(words, 3))
            pairs.append((f"{q} {len(pairs)}", " ".join(rng.choice(words, 2))))
            conversations.append(f"conv{c}")
    prepared = prepare_pairs(
        pairs, split=(0.7, 0.1, 0.2), seed=3, conversations=conversations
    )
    owner = {}
    for split, rows in prepared.splits.items():
        for question, _ in rows:
            number = int(question[-1])
            owner.setdefault(conversations[number], set()).add(split)
    assert all(len(splits) == 1 for splits in owner.values())
    sizes = [len(prepared.splits[s]) for s in ("train", "val", "test")]
    assert sum(sizes) == len(pairs)
    # Shares are met to within one conversation (at most 5 pairs).
    assert abs(sizes[0] - 0.7 * len(pairs)) <= 5
    assert abs(sizes[1] - 0.1 * len(pairs)) <= 5
    # Pair by pair (no conversations), conversations do straddle splits.
    loose = prepare_pairs(pairs, split=(0.7, 0.1, 0.2), seed=3)
    straddle = {}
    for split, rows in loose.splits.items():
        for question, _ in rows:
            straddle.setdefault(conversations[int(question[-1])], set()).add(split)
    assert any(len(splits) > 1 for splits in straddle.values())


def test_max_train_pairs_samples_the_training_split_only():
    pairs = [(f"q {i}", f"a {i}") for i in range(100)]
    whole = prepare_pairs(pairs, split=(0.6, 0.2, 0.2), seed=0)
    cut = prepare_pairs(pairs, split=(0.6, 0.2, 0.2), seed=0, max_train_pairs=25)
    assert len(cut.splits["train"]) == 25

    def keys(rows):
        return {(tuple(q), tuple(a)) for q, a in rows}

    assert keys(cut.splits["train"]) <= keys(whole.splits["train"])
    assert cut.splits["test"] == whole.splits["test"]
    assert cut.dropped["beyond --max-train-pairs"] == 35


def test_the_word_fast_path_counts_as_the_tokenizer_does():
    # "a,b c0" is two whitespace chunks but four tokens: it must still be cut.
    pairs = []
    for i in range(4):
        pairs += [(f"a,b c{i}", f"ok{i}"), (f"a b c{i}", f"ok{i}")]
        pairs += [(f"a b c d{i}", f"ok{i}")]
    kept = prepare_pairs(pairs, max_tokens=3, split=(0.5, 0.25, 0.25), seed=0)
    assert kept.dropped["too long"] == 8
    assert sum(len(rows) for rows in kept.splits.values()) == 4
