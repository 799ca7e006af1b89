"""Dialog corpora as (input, response) pairs, filtered and split.

Corpora:
- `chitchat` (default, embedded): the `chitchat-dataset` package (MIT; BYU
  PCC lab's Chit-Chat Challenge, 7,168 conversations), installed from PyPI
  with the zoo: `chitchat_dataset/dataset.json`, read as JSON (never
  evaluated). A conversation is a list of turns, a turn the consecutive
  messages of one sender, joined with a space; a pair is (turn i, turn
  i + 1). Pairs carry their conversation id, so splits can keep each
  conversation on one side. No download at run time.
- `chatterbot` (embedded): the YAML files of the `chatterbot-corpus`
  package (BSD licence); `language` picks its folder (english, spanish,
  chinese...).
- `cornell`: the original Cornell Movie-Dialogs release (`movie_lines.txt`
  and `movie_conversations.txt`, fields separated by ` +++$+++ `,
  iso-8859-1). `data` is the folder holding them; without it the Keras
  cache folder is searched and, when online, the archive is fetched there.
- `convokit`: ConvoKit's `utterances.jsonl` (reply-to links give the pairs).
- `tsv`: any tab-separated file of (input, response) rows.

Pairs are consecutive utterances of a conversation. Every loader returns
`(pairs, skipped)` (`load_chitchat` also the conversation of each pair):
skipped counts malformed lines, empty texts and dangling ids, reported in
one warning by `load_dialogs`.
"""

import glob
import importlib.util
import json
import os
import re
import warnings

from zoo.errors import ZooError

CORPORA = ("chitchat", "chatterbot", "cornell", "convokit", "tsv")
# Corpora shipped inside an installed package: --data is optional for them.
EMBEDDED = ("chitchat", "chatterbot")
SEPARATOR = " +++$+++ "
CORNELL_ENCODING = "iso-8859-1"
CORNELL_URL = (
    "https://www.cs.cornell.edu/~cristian/data/cornell_movie_dialogs_corpus.zip"
)
CORNELL_FILES = ("movie_lines.txt", "movie_conversations.txt")
# "['L194', 'L195']": parsed with a pattern, never evaluated.
_ID_LIST = re.compile(r"^\[\s*(?:'[^',\[\]]+'\s*(?:,\s*'[^',\[\]]+'\s*)*)?\]$")
_ID = re.compile(r"'([^']+)'")


def _read_lines(path, encoding):
    try:
        with open(path, encoding=encoding, errors="strict", newline="") as handle:
            return handle.read().splitlines()
    except FileNotFoundError:
        raise ZooError(f"--data: no file {path!r}") from None
    except UnicodeDecodeError as error:
        raise ZooError(
            f"--data: {path} is not {encoding} text (byte {error.start}); "
            "convert it or pick the right --corpus"
        ) from None
    except OSError as error:
        raise ZooError(f"--data: cannot read {path} ({error.strerror})") from None


def _consecutive(texts):
    pairs = zip(texts, texts[1:], strict=False)
    return [(a, b) for a, b in pairs if a.strip() and b.strip()]


def load_cornell(folder):
    """Pairs from the original Cornell Movie-Dialogs files in `folder`.

    Args:
        folder: str, holding movie_lines.txt and movie_conversations.txt.

    Returns:
        (pairs, skipped): list of (str, str) and the count of skipped items.
    """
    lines_path, conversations_path = (os.path.join(folder, f) for f in CORNELL_FILES)
    for path in (lines_path, conversations_path):
        if not os.path.isfile(path):
            raise ZooError(
                f"--data: {folder!r} has no {os.path.basename(path)}; pass the "
                "folder of the unzipped Cornell corpus"
            )
    texts, skipped = {}, 0
    for line in _read_lines(lines_path, CORNELL_ENCODING):
        fields = line.split(SEPARATOR)
        if len(fields) != 5 or not fields[0].strip():
            skipped += 1
            continue
        skipped += not fields[4].strip()  # kept: an empty line breaks pairs
        texts[fields[0].strip()] = fields[4]
    pairs = []
    for line in _read_lines(conversations_path, CORNELL_ENCODING):
        fields = line.split(SEPARATOR)
        if len(fields) != 4 or not _ID_LIST.match(fields[3].strip()):
            skipped += 1
            continue
        # A dangling id breaks the conversation: pairs never jump over it.
        run = []
        for i in [*_ID.findall(fields[3]), None]:
            if i in texts:
                run.append(texts[i])
                continue
            skipped += i is not None
            pairs.extend(_consecutive(run))
            run = []
    return pairs, skipped


def load_convokit(path):
    """Pairs (parent text, reply text) from a ConvoKit `utterances.jsonl`.

    Ids are strings in ConvoKit. A line that is not a JSON object with a
    string `id` and a string `text` is skipped; a line whose `reply-to` (or
    `reply_to`) is neither a string nor null keeps its text (other lines may
    reply to it) but gives no pair, and counts as skipped too.

    Args:
        path: str, the .jsonl file or a folder holding `utterances.jsonl`.

    Returns:
        (pairs, skipped).
    """
    if os.path.isdir(path):
        path = os.path.join(path, "utterances.jsonl")
    texts, replies, skipped = {}, [], 0
    for line in _read_lines(path, "utf-8"):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            key, text = record["id"], record["text"]
        except (ValueError, KeyError, TypeError):
            skipped += 1
            continue
        # A list or dict id is unhashable; a number is no ConvoKit id.
        if not isinstance(key, str) or not isinstance(text, str):
            skipped += 1
            continue
        texts[key] = text
        parent = record.get("reply-to", record.get("reply_to"))
        if parent is None:
            continue
        if not isinstance(parent, str):
            skipped += 1
            continue
        replies.append((parent, key))
    pairs = []
    for parent, key in replies:
        if parent not in texts or not texts[parent].strip() or not texts[key].strip():
            skipped += 1
            continue
        pairs.append((texts[parent], texts[key]))
    return pairs, skipped


def chatterbot_languages():
    """Languages (folder names) of the installed chatterbot-corpus."""
    import chatterbot_corpus

    root = os.path.join(os.path.dirname(chatterbot_corpus.__file__), "data")
    return sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))


def load_chatterbot(language="english"):
    """Pairs from the chatterbot-corpus YAML files of one language.

    Args:
        language: str, a folder of the package (see `chatterbot_languages`).

    Returns:
        (pairs, skipped).
    """
    import chatterbot_corpus
    import yaml

    languages = chatterbot_languages()
    if language not in languages:
        raise ZooError(f"--language: unknown {language!r}; choose from {languages}")
    root = os.path.join(os.path.dirname(chatterbot_corpus.__file__), "data", language)
    pairs, skipped = [], 0
    for path in sorted(glob.glob(os.path.join(root, "*.yml"))):
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle) or {}
        for conversation in document.get("conversations") or []:
            if not isinstance(conversation, list):
                skipped += 1
                continue
            texts = [str(t) for t in conversation if t is not None]
            found = _consecutive(texts)
            skipped += len(texts) - 1 - len(found) if texts else 1
            pairs.extend(found)
    return pairs, skipped


def chitchat_path():
    """The `dataset.json` of the installed chitchat-dataset package.

    Raises:
        ZooError: the package is not installed (says how to install it).
    """
    spec = importlib.util.find_spec("chitchat_dataset")
    if spec is None or not spec.submodule_search_locations:
        raise ZooError(
            "--corpus chitchat: the chitchat-dataset package is not installed; "
            "run `pip install chitchat-dataset` (make run installs it), or pass "
            "--data PATH/dataset.json"
        )
    return os.path.join(list(spec.submodule_search_locations)[0], "dataset.json")


def _turn_text(turn):
    """A turn's messages joined with a space, or None when malformed."""
    if not isinstance(turn, list):
        return None
    texts = [m.get("text") if isinstance(m, dict) else None for m in turn]
    if not texts or not all(isinstance(t, str) for t in texts):
        return None
    return " ".join(t.strip() for t in texts if t.strip())


def load_chitchat(path=None):
    """Pairs (turn i, turn i + 1) of the Chit-Chat Challenge conversations.

    Args:
        path: str, a `dataset.json` of the same format; None for the one of
            the installed chitchat-dataset package.

    Returns:
        (pairs, skipped, conversations): `conversations[i]` is the id of the
        conversation that pair i comes from.

    Raises:
        ZooError: the file is missing, not JSON, or not an object of
            conversations.
    """
    path = path or chitchat_path()
    if os.path.isdir(path):
        path = os.path.join(path, "dataset.json")
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except FileNotFoundError:
        raise ZooError(
            f"--data: no file {path!r}; reinstall chitchat-dataset or pass "
            "--data PATH/dataset.json"
        ) from None
    except (ValueError, UnicodeDecodeError) as error:
        raise ZooError(
            f"--data: {path} is not valid JSON ({type(error).__name__}); "
            "reinstall chitchat-dataset or pass a valid dataset.json"
        ) from None
    except OSError as error:
        raise ZooError(f"--data: cannot read {path} ({error.strerror})") from None
    if not isinstance(document, dict):
        raise ZooError(
            f"--data: {path} must hold an object {{conversation id: "
            "{'messages': [[message, ...], ...]}}, like chitchat-dataset's"
        )
    pairs, conversations, skipped = [], [], 0
    for key, conversation in document.items():
        turns = conversation.get("messages") if isinstance(conversation, dict) else None
        if not isinstance(turns, list):
            skipped += 1
            continue
        texts = [_turn_text(turn) for turn in turns]
        skipped += sum(t is None for t in texts)
        # A malformed turn breaks the conversation: pairs never jump over it.
        run = []
        for text in [*texts, None]:
            if text is not None:
                run.append(text)
                continue
            found = _consecutive(run)
            pairs.extend(found)
            conversations.extend([key] * len(found))
            run = []
    return pairs, skipped, conversations


def load_tsv(path):
    """Pairs from a UTF-8 file of `input<TAB>response` rows.

    Returns:
        (pairs, skipped). Raises ZooError when no row has two columns.
    """
    pairs, skipped = [], 0
    for line in _read_lines(path, "utf-8"):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 2 or not fields[0].strip() or not fields[1].strip():
            skipped += 1
            continue
        pairs.append((fields[0], fields[1]))
    if not pairs and skipped:
        raise ZooError(
            f"--data: {path} has no row of two tab-separated columns "
            "(input<TAB>response)"
        )
    return pairs, skipped


def cornell_folder():
    """The cached Cornell folder; fetched with keras.utils.get_file if online.

    Raises:
        ZooError: offline and not cached: says where to put the files.
    """
    import keras

    cache = os.path.join(os.path.expanduser("~"), ".keras", "datasets")
    folder = os.path.join(cache, "cornell movie-dialogs corpus")
    if all(os.path.isfile(os.path.join(folder, f)) for f in CORNELL_FILES):
        return folder
    try:
        keras.utils.get_file(
            "cornell_movie_dialogs_corpus.zip", CORNELL_URL, extract=True
        )
    except Exception as error:  # noqa: BLE001  offline: any transport error
        raise ZooError(
            f"--corpus cornell: the corpus is not cached and cannot be fetched "
            f"({type(error).__name__}); download {CORNELL_URL}, unzip it and pass "
            f"--data 'FOLDER/cornell movie-dialogs corpus', or put the two "
            f"files in {folder!r}"
        ) from None
    matches = glob.glob(os.path.join(cache, "**", CORNELL_FILES[0]), recursive=True)
    if not matches:
        raise ZooError(f"--corpus cornell: the archive has no {CORNELL_FILES[0]}")
    return os.path.dirname(matches[0])


def load_dialogs(corpus, data=None, language="english"):
    """Raw pairs of a corpus and their conversations; one warning counts skips.

    Args:
        corpus: one of CORPORA.
        data: file or folder (required for convokit and tsv; for chitchat a
            `dataset.json` of the same format, default the installed one).
        language: chatterbot language.

    Returns:
        (pairs, conversations): list of (str, str), and the conversation id
        of each pair (chitchat) or None (pairs are then split one by one).
    """
    if corpus not in CORPORA:
        raise ZooError(f"--corpus: unknown {corpus!r}; choose from {list(CORPORA)}")
    if corpus in ("convokit", "tsv") and not data:
        raise ZooError(f"--corpus {corpus} needs --data PATH")
    if data and not os.path.exists(data):
        raise ZooError(f"--data: no such file or folder {data!r}")
    conversations = None
    if corpus == "chitchat":
        pairs, skipped, conversations = load_chitchat(data)
    elif corpus == "chatterbot":
        if data:
            raise ZooError("--corpus chatterbot is embedded; leave out --data")
        pairs, skipped = load_chatterbot(language)
    elif corpus == "cornell":
        pairs, skipped = load_cornell(data or cornell_folder())
    elif corpus == "convokit":
        pairs, skipped = load_convokit(data)
    else:
        pairs, skipped = load_tsv(data)
    if not pairs:
        where = f"--data {data}" if data else f"--corpus {corpus}"
        raise ZooError(
            f"{where} holds no (input, reply) pair ({skipped} malformed items "
            f"skipped); check that it has the format of --corpus {corpus}"
        )
    if skipped:
        warnings.warn(
            f"{corpus}: skipped {skipped} "
            f"{'item that was' if skipped == 1 else 'items that were'} malformed, "
            "empty or a reply to a missing line; the other pairs are used",
            stacklevel=2,
        )
    return pairs, conversations


def load_pairs(corpus, data=None, language="english"):
    """The pairs of `load_dialogs` alone (list of (str, str))."""
    return load_dialogs(corpus, data, language)[0]
