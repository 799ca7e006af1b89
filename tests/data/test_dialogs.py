"""Dialog loaders on fixtures written here, filters and the split."""

import json
import warnings

import pytest

from zoo.data import dialogs
from zoo.data.dialog_pairs import prepare_pairs
from zoo.data.dialogs import load_pairs
from zoo.errors import ZooError

SEP = " +++$+++ "


def write_cornell(folder):
    """A tiny Cornell release: iso-8859-1, one malformed line, a dangling id."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        f"L1{SEP}u0{SEP}m0{SEP}BIANCA{SEP}Can we make this quick?",
        f"L2{SEP}u2{SEP}m0{SEP}CAMERON{SEP}Well, I thought we'd start with café.",
        f"L3{SEP}u0{SEP}m0{SEP}BIANCA{SEP}Not the hacking and gagging.",
        "this line is malformed",
        f"L4{SEP}u2{SEP}m0{SEP}CAMERON{SEP}__import__('os').system('echo pwned')",
        f"L5{SEP}u0{SEP}m0{SEP}BIANCA{SEP}Why?",
    ]
    conversations = [
        f"u0{SEP}u2{SEP}m0{SEP}['L1', 'L2', 'L3']",
        f"u0{SEP}u2{SEP}m0{SEP}['L4', 'L99', 'L5']",  # L99 dangles
        f"u0{SEP}u2{SEP}m0{SEP}__import__('os').system('echo pwned')",
        f"u0{SEP}u2{SEP}m0{SEP}['L5', 'L4']",
    ]
    (folder / "movie_lines.txt").write_bytes("\n".join(lines).encode("iso-8859-1"))
    (folder / "movie_conversations.txt").write_text("\n".join(conversations))
    return folder


def test_cornell_pairs_are_consecutive_and_hostile_text_stays_text(tmp_path):
    folder = write_cornell(tmp_path / "cornell")
    with pytest.warns(UserWarning, match="skipped 3"):
        pairs = load_pairs("cornell", str(folder))
    hostile = "__import__('os').system('echo pwned')"
    assert pairs == [
        ("Can we make this quick?", "Well, I thought we'd start with café."),
        ("Well, I thought we'd start with café.", "Not the hacking and gagging."),
        ("Why?", hostile),
    ]


def test_cornell_missing_file_and_offline_fetch(tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ZooError, match="no movie_lines.txt"):
        load_pairs("cornell", str(tmp_path / "empty"))
    monkeypatch.setenv("HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr("keras.utils.get_file", offline)
    with pytest.raises(ZooError, match="cannot be fetched.*--data"):
        load_pairs("cornell")
    cached = tmp_path / ".keras" / "datasets" / "cornell movie-dialogs corpus"
    write_cornell(cached)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert len(load_pairs("cornell")) == 3


def test_convokit_reply_links_both_spellings(tmp_path):
    records = [
        {"id": "a", "conversation_id": "a", "text": "Hi there", "speaker": "x"},
        {"id": "b", "text": "Hello!", "speaker": "y", "reply-to": "a"},
        {"id": "c", "text": "Привет", "speaker": "x", "reply_to": "b"},
        {"id": "d", "text": "orphan", "speaker": "y", "reply_to": "zzz"},
    ]
    path = tmp_path / "utterances.jsonl"
    path.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n{broken"
    )
    with pytest.warns(UserWarning, match="skipped 2"):
        pairs = load_pairs("convokit", str(tmp_path))
    assert pairs == [("Hi there", "Hello!"), ("Hello!", "Привет")]


def test_convokit_ids_that_are_not_strings_are_skipped_lines(tmp_path):
    records = [
        {"id": "a", "text": "Hi there"},
        {"id": "b", "text": "Hello!", "reply-to": "a"},
        {"id": ["x", "y"], "text": "list id", "reply-to": "a"},
        {"id": {"k": 1}, "text": "dict id", "reply-to": "a"},
        {"id": 7, "text": "number id", "reply-to": "a"},
        {"id": "c", "text": "list parent", "reply-to": ["a"]},
        {"id": "d", "text": "dict parent", "reply_to": {"id": "a"}},
        {"id": "e", "text": "Fine, thanks", "reply-to": "c"},
    ]
    path = tmp_path / "utterances.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records))
    with pytest.warns(UserWarning, match="skipped 5"):
        pairs = load_pairs("convokit", str(path))
    # "c" keeps its text: a reply to it is still a pair.
    assert pairs == [("Hi there", "Hello!"), ("list parent", "Fine, thanks")]


def test_wrong_encoding_is_one_clear_error(tmp_path):
    path = tmp_path / "utterances.jsonl"
    path.write_bytes(b'{"id": "a", "text": "caf\xe9"}\n')
    with pytest.raises(ZooError, match="not utf-8 text"):
        load_pairs("convokit", str(path))


def test_tsv_pairs_and_a_tsv_without_two_columns(tmp_path):
    good = tmp_path / "good.tsv"
    good.write_text("hi\thello\nhow are you?\tfine\nbad row\n")
    with pytest.warns(UserWarning, match="skipped 1"):
        assert load_pairs("tsv", str(good)) == [
            ("hi", "hello"),
            ("how are you?", "fine"),
        ]
    bad = tmp_path / "bad.tsv"
    bad.write_text("one column\nstill one\n")
    with pytest.raises(ZooError, match="two tab-separated columns"):
        load_pairs("tsv", str(bad))


def test_unknown_corpus_language_and_missing_data(tmp_path):
    with pytest.raises(ZooError, match="unknown 'reddit'"):
        load_pairs("reddit")
    with pytest.raises(ZooError, match="unknown 'klingon'"):
        load_pairs("chatterbot", language="klingon")
    with pytest.raises(ZooError, match="needs --data"):
        load_pairs("tsv")
    with pytest.raises(ZooError, match="no such file"):
        load_pairs("tsv", str(tmp_path / "nope.tsv"))


def test_embedded_chatterbot_corpus_in_two_languages():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        english = load_pairs("chatterbot")
        russian = load_pairs("chatterbot", language="russian")
    assert len(english) > 2000
    assert ("Hello", "Hi") in english
    assert "russian" in dialogs.chatterbot_languages() and len(russian) > 10


def test_filters_dedup_and_seeded_split():
    pairs = [(f"q{i} common", f"a{i} common") for i in range(40)]
    pairs += [("q0 common", "a0 common")]  # duplicate
    pairs += [("way " * 30, "too long")]
    prepared = prepare_pairs(pairs, max_tokens=5, split=(0.5, 0.25, 0.25), seed=1)
    assert prepared.dropped["duplicate"] == 1 and prepared.dropped["too long"] == 1
    sizes = [len(prepared.splits[s]) for s in ("train", "val", "test")]
    assert sizes == [20, 10, 10]
    again = prepare_pairs(pairs, max_tokens=5, split=(0.5, 0.25, 0.25), seed=1)
    assert again.splits == prepared.splits
    # The vocabulary is the training split's: test-only words are unknown.
    train_words = {t for q, a in prepared.splits["train"] for t in q + a}
    assert set(prepared.vocab.itos[4:]) == train_words
    encoder, decoder_in, target = prepared.arrays("train", 4)
    assert decoder_in[0, 0] == 1 and target[0, 2] == 2  # SOS in, EOS out
    assert (decoder_in[:, 1:3] == target[:, :2]).all()  # shifted by one


def test_rare_words_drop_their_pairs_and_an_empty_corpus_is_an_error():
    # "there" and "you" occur once: their two pairs go.
    pairs = [("hello", "hi"), ("hello there", "hi"), ("hello you", "hi")]
    pairs += [("hi", "hello"), ("hi hello", "hi")]
    prepared = prepare_pairs(pairs, min_count=2, split=(0.34, 0.33, 0.33))
    assert prepared.dropped["rare word"] == 2
    with pytest.raises(ZooError, match="empty after filtering"):
        prepare_pairs([("a b c", "d e f")], max_tokens=2)
