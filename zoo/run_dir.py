"""The run directory: the names of its files, whether a folder may be one,
and reading a run back (its config; a chatbot run's vocabulary, input
length and decoding options, which `zoo.chat` needs as much as training).

A run directory (`python -m zoo.train --out RUN`) holds `config.json` (the
settings, written first), `history.csv` (one row per epoch), `backup/` (the
checkpoints `--resume` continues from), `model.keras` (the kept epoch),
`metrics.json` (written last: a run with it is finished), `vocab.json` or
`scaler.json`, and `figures/`.

Example:
>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> check_out_dir(os.path.join(folder, "run"), resume=False)
>>> check_out_dir(folder, resume=True)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
zoo.errors.ZooError: --resume: no run in ... (no config.json); pass --out ...
"""

import datetime
import json
import os

from zoo.errors import ZooError

CONFIG = "config.json"
VOCAB = "vocab.json"
HISTORY = "history.csv"
METRICS = "metrics.json"
MODEL = "model.keras"
BACKUP = "backup"
FIGURES = "figures"


def run_stamp():
    """The UTC time a run starts, as its default folder names it.

    Returns:
        str, e.g. "20261207T115200Z" (sorts by time).

    Example:
    >>> len(run_stamp()), run_stamp().endswith("Z")
    (16, True)
    """
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _nearest_existing(path):
    path = os.path.abspath(path)
    while not os.path.exists(path):
        path = os.path.dirname(path)
    return path


def _holds_files(path):
    """Whether any file lies under `path` (empty folders left by a run that
    died before its config.json was written do not count)."""
    return any(files for _, _, files in os.walk(path))


def remove_leftovers(path):
    """Deletes the temporary files of atomic writes a killed run left behind.

    Args:
        path: str. The run directory.

    Returns:
        list of str: the names removed.
    """
    removed = []
    for name in os.listdir(path):
        if name.startswith(".tmp-") and os.path.isfile(os.path.join(path, name)):
            os.unlink(os.path.join(path, name))
            removed.append(name)
    return removed


def shadow_directory(path, resume):
    """A private folder where a process other than 0 writes its copy of a run.

    Processes of a data-parallel run compute the same history, checkpoints
    and model; process 0 writes them to `path`, every other one to its
    shadow, removed when the run ends (`remove_shadow`). A resumed
    process starts from a copy of the run in `path`.

    Args:
        path: str. The run directory that process 0 writes.
        resume: bool. Copy the run in `path` into the shadow.

    Returns:
        str: the shadow folder (temporary).
    """
    import shutil
    import tempfile

    shadow = tempfile.mkdtemp(prefix="zoo-shadow-run-")
    if resume:
        try:  # process 0 may be writing: its temporary files are left out
            shutil.copytree(
                path,
                shadow,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns(".tmp-*"),
            )
        except (OSError, shutil.Error) as error:
            remove_shadow(shadow)
            raise ZooError(
                f"--resume: cannot copy the run in {path!r} for this process "
                f"({error}); start every process again"
            ) from None
    return shadow


def remove_shadow(shadow):
    """Deletes a folder made by `shadow_directory`.

    Args:
        shadow: str.
    """
    import shutil

    shutil.rmtree(shadow, ignore_errors=True)


def check_out_dir(path, resume):
    """Raises ZooError unless `path` can take a new run (or continue one).

    A new run needs a new or empty folder on a writable file system; a
    resumed run needs a folder holding an unfinished run.

    Args:
        path: str. The `--out` folder.
        resume: bool. Whether the run is continued.

    Raises:
        ZooError: one line saying what is wrong and what to pass instead.
    """
    if os.path.exists(path) and not os.path.isdir(path):
        raise ZooError(f"--out: {path!r} is a file; pass a folder for the run")
    holds_run = os.path.exists(os.path.join(path, CONFIG))
    if resume:
        if not holds_run:
            raise ZooError(
                f"--resume: no run in {path!r} (no {CONFIG}); pass --out RUN_DIR "
                "of a run"
            )
        if os.path.exists(os.path.join(path, METRICS)):
            raise ZooError(
                f"--resume: the run in {path!r} is finished ({METRICS} is "
                "written); nothing to continue: start a new run with a new --out"
            )
    elif holds_run:
        raise ZooError(
            f"--out: {path!r} already holds a run; pass --resume or a new --out"
        )
    elif os.path.isdir(path) and _holds_files(path):
        raise ZooError(
            f"--out: {path!r} is a folder with other files in it; pass a new "
            "or empty folder for the run"
        )
    existing = _nearest_existing(path)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ZooError(
            f"--out: cannot write in {existing!r} (read-only or not yours); "
            "pass a folder you can write to"
        )


def read_config(path, option="--resume"):
    """The validated `TrainConfig` of the run in `path`.

    Run directories travel between people, so `config.json` is checked like
    the command line (types, ranges, no unknown keys).

    Args:
        path: str. The run directory.
        option: str. The option that named it, for messages.

    Returns:
        zoo.config.TrainConfig.

    Raises:
        ZooError: the folder or its config.json is missing, corrupt or holds
            a bad setting.
    """
    from zoo.config import TrainConfig

    file = os.path.join(path, CONFIG)
    if not os.path.isdir(path):
        raise ZooError(f"{option}: no run directory {path!r}; pass the folder of a run")
    try:
        with open(file, encoding="utf-8") as handle:
            data = json.load(handle)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        data.pop("environment", None)
        config = TrainConfig.from_dict(data)
    except (OSError, ValueError, TypeError) as error:
        raise ZooError(
            f"{option}: {file} is missing or corrupt ({error}); "
            "pass the folder of a run written by zoo.train"
        ) from None
    try:
        return config.validate()
    except ZooError as error:
        raise ZooError(f"{option}: {file}: {error}") from None


def filter_settings(config):
    """(max_tokens, min_count) of a chatbot config, or the corpus defaults.

    Args:
        config: TrainConfig of the chatbot task.

    Returns:
        (int, int); a run's encoder and decoder read `max_tokens + 1` ids.

    Example:
    >>> from zoo.config import TrainConfig
    >>> filter_settings(TrainConfig(task="chatbot", corpus="tsv", level="char"))
    (100, 1)
    """
    from zoo.data.dialog_pairs import FILTER_DEFAULTS

    max_tokens, min_count = FILTER_DEFAULTS[config.corpus]
    if config.level == "char":
        max_tokens *= 5
    return (
        config.max_tokens if config.max_tokens is not None else max_tokens,
        config.min_count if config.min_count is not None else min_count,
    )


def decoding_options(config):
    """A chatbot run's decoding options (greedy search + these), from its config.

    Example:
    >>> from zoo.config import TrainConfig
    >>> decoding_options(TrainConfig(task="chatbot"))
    {'no_repeat_ngram': 0, 'repetition_penalty': 1.0, 'mmi_weight': 0.0, 'mmi_steps': 0}
    """
    return {
        "no_repeat_ngram": config.no_repeat_ngram or 0,
        "repetition_penalty": config.repetition_penalty or 1.0,
        # Runs written before MMI decoding have none: off, as they decoded.
        "mmi_weight": config.mmi_weight or 0.0,
        "mmi_steps": config.mmi_steps or 0,
    }


def load_vocabulary(run_dir):
    """The Vocabulary saved in a chatbot run directory.

    Args:
        run_dir: str.

    Returns:
        zoo.data.text.Vocabulary.

    Raises:
        ZooError: `vocab.json` is missing or corrupt.
    """
    from zoo.data.text import Vocabulary

    path = os.path.join(run_dir, VOCAB)
    try:
        with open(path, encoding="utf-8") as handle:
            return Vocabulary.from_json(handle.read())
    except (OSError, ValueError) as error:
        raise ZooError(
            f"--run: {path} is missing or corrupt ({type(error).__name__}); "
            "pass the directory of a finished chatbot run"
        ) from None
