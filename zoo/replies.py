"""Replies of a chatbot during and after training: decoding, similarity, prompts.

Every reply a run writes (per-epoch similarities, test metrics, samples,
prompts) goes through `decode_replies` with the run's decoding settings,
so the summary, `samples.json` and `zoo.chat --say` agree.

Example:
>>> is_degenerate(["no", "no", "no", "way"])
True
>>> is_degenerate(["ha", "ha", "!"])
False
"""

import keras
import numpy as np

from zoo import metrics
from zoo.data.embedded import embedded_file
from zoo.decoding import greedy
from zoo.errors import ZooError
from zoo.models.seq2seq import generator_for

PROMPTS_NAME = ("dialogs", "everyday_prompts.txt")  # in zoo/datasets/
# A reply is degenerate when one token comes this many times in a row.
DEGENERATE_RUN = 3


def decode_replies(model, encoder, vocab, max_len, options=None, batch_size=256):
    """Greedy replies (token lists) to encoder ids `(N, max_len)`, in batches.

    Args:
        model: a seq2seq model of `zoo.models.seq2seq`.
        encoder: int array `(N, S)`.
        vocab: Vocabulary.
        max_len: int, tokens generated at most.
        options: dict of `greedy` options (no_repeat_ngram, repetition_penalty).
        batch_size: int. Large batches amortize the per-step dispatch of
            eager decoding (the test split: 14 batches instead of 54).

    Returns:
        list of N token lists.
    """
    generator = generator_for(model)
    # Every batch has the same shape (the last one padded with empty inputs),
    # so compiling backends reuse one program per decoding step.
    padded = -len(encoder) % batch_size
    encoder = np.concatenate([encoder, np.zeros((padded, encoder.shape[1]), "int32")])
    replies = []
    for start in range(0, len(encoder), batch_size):
        ids = greedy(
            generator, encoder[start : start + batch_size], max_len, **(options or {})
        )
        replies.extend(vocab.decode(row) for row in ids)
    return replies[: len(replies) - padded]


class ReplySimilarity(keras.callbacks.Callback):
    """Adds `<split>_jaccard`, `_cosine`, `_damerau_levenshtein` to the logs.

    After every epoch, greedy replies to fixed samples of pairs (the same
    pairs every epoch) are compared with their references, so `history.csv`
    holds the sheet's per-epoch training similarities (its Figures 2 and 4)
    and the validation ones beside them.

    Args:
        samples: dict split name -> (encoder ids `(N, S)`, N reference token
            lists).
        vocab: Vocabulary.
        max_len: int, longest reply generated.
        options: dict of decoding options.
    """

    def __init__(self, samples, vocab, max_len, options=None):
        super().__init__()
        self.samples, self.vocab = samples, vocab
        self.max_len, self.options = max_len, options
        # One batch per sample, the same shape every epoch.
        self.batch_size = max(len(encoder) for encoder, _ in samples.values())

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        for split, (encoder, references) in self.samples.items():
            replies = decode_replies(
                self.model,
                encoder,
                self.vocab,
                self.max_len,
                self.options,
                self.batch_size,
            )
            similarities = metrics.mean_similarities(references, replies)
            for name, value in similarities.items():
                logs[f"{split}_{name}"] = value


def read_prompts(path=None):
    """The prompts of a UTF-8 file, one a line (`#` comments, blanks skipped).

    Args:
        path: str, or None for the zoo's everyday prompts.

    Returns:
        list of str.

    Raises:
        ZooError: the file is missing, not UTF-8 text, or holds no prompt.
    """
    shown = path or "the shipped prompts"
    path = path or str(embedded_file(*PROMPTS_NAME))
    try:
        with open(path, encoding="utf-8", errors="strict") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise ZooError(f"--prompts: no file {path!r}") from None
    except UnicodeDecodeError:
        raise ZooError(
            f"--prompts: {path} is not UTF-8 text; pass a text file, one prompt a line"
        ) from None
    except OSError as error:
        raise ZooError(f"--prompts: cannot read {path} ({error.strerror})") from None
    if "\x00" in text:
        raise ZooError(
            f"--prompts: {path} is binary; pass a text file, one prompt a line"
        )
    prompts = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not prompts:
        raise ZooError(f"--prompts: {shown} holds no prompt; write one per line")
    return prompts


def is_degenerate(tokens, run=DEGENERATE_RUN):
    """True when one token comes `run` times in a row ("a a a")."""
    return any(len(set(tokens[i : i + run])) == 1 for i in range(len(tokens) - run + 1))


def prompt_report(prompts, replies):
    """Distinct and degenerate replies to the prompts, and the replies.

    Args:
        prompts: list of str.
        replies: list of token lists, one per prompt.

    Returns:
        dict with `count`, `distinct`, `degenerate`, `empty`.
    """
    return {
        "count": len(prompts),
        "distinct": len({tuple(r) for r in replies}),
        "degenerate": sum(is_degenerate(r) for r in replies),
        "empty": sum(not r for r in replies),
    }
