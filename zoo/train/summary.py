"""What `python -m zoo.train` prints after training: tables, replies, claims."""

import ast
import os
import re

import pandas as pd

from zoo.train.chatbot_task import relevance_rows, sheet_rows
from zoo.train.tasks import get_task

# Printed tables stay readable in an 80-column terminal only up to a point;
# replies are cut to this many characters in the prompt listing.
REPLY_WIDTH = 60
CHATBOT_CAPTION = (
    "\nchatbot: similarities (J Jaccard, cos cosine, DL Damerau-Levenshtein) of "
    "the replies; train and val on the fixed per-epoch samples at the kept "
    "epoch, test on the whole test split; baselines: the most frequent "
    "training reply, and the reply of the nearest training input (TF-IDF); "
    "the sheet's rows are on another corpus, of a split it leaves ambiguous "
    '("the final testing metrics", beside figures titled "Training ... '
    'similarity per epoch"): shown under train, compare them with test too'
)
RELEVANCE_CAPTION = (
    "\nchatbot: what a person notices: distinct-1 and distinct-2 (distinct "
    "words and word pairs over all, test replies), generic (share of the test "
    "split answered by the single most frequent reply) and on topic (everyday "
    "prompts of the rubric answered in a form a person would accept)"
)


def _rows(task_name, result):
    return get_task(task_name).table_rows(result)


def print_samples(model, result, count=3):
    """A few test replies of one chatbot run."""
    for sample in result.get("samples", [])[:count]:
        print(
            f"  [{model}] > {sample['input']}\n"
            f"      reply: {sample['reply'] or '(empty)'}   "
            f"(reference: {sample['reference']})"
        )


def print_prompts(results):
    """Every chatbot's reply to each everyday prompt, and their counts.

    Args:
        results: list of chatbot metrics.json dicts (one per model).
    """
    results = [r for r in results if r.get("prompts")]
    if not results:
        return
    decoding = results[0].get("decoding", {})
    print(f"\nEveryday prompts (greedy, {_decoding_text(decoding)}):")
    for index, entry in enumerate(results[0]["prompts"]):
        print(f"  > {entry['prompt']}")
        for result in results:
            reply = result["prompts"][index]["reply"] or "(empty)"
            print(f"      {result['model']:>15}: {reply[:REPLY_WIDTH]}")
    for result in results:
        report = result["prompt_report"]
        print(
            f"  {result['model']}: {report['distinct']} distinct replies of "
            f"{report['count']}, {report['degenerate']} degenerate "
            f"(a token 3 times in a row), {report['empty']} empty"
        )


def _decoding_text(decoding):
    parts = []
    if decoding.get("no_repeat_ngram"):
        parts.append(f"no repeated {decoding['no_repeat_ngram']}-grams")
    if decoding.get("repetition_penalty", 1.0) != 1.0:
        parts.append(f"repetition penalty {decoding['repetition_penalty']}")
    if decoding.get("mmi_weight") and decoding.get("mmi_steps"):
        parts.append(
            f"MMI lambda {decoding['mmi_weight']} over the first "
            f"{decoding['mmi_steps']} tokens"
        )
    return ", ".join(parts) or "plain"


def chatbot_table(results):
    """Models, baselines (once) and the sheet's rows in one DataFrame."""
    models, baselines = [], {}
    for result in results:
        first, *others = _rows("chatbot", result)
        models.append(first)
        for row in others:  # the baselines: the same in every run of a suite
            baselines.setdefault(row["model"], row)
    rows = [*models, *baselines.values(), *sheet_rows()]
    return pd.DataFrame(rows)


def relevance_table(results):
    """Each model's and the baselines' (once) relevance measures."""
    rows = {}
    for result in results:
        for row in relevance_rows(result):
            rows.setdefault(row["model"], row)
    return pd.DataFrame(list(rows.values()))


def print_relevance(results):
    """The relevance table of chatbot runs (skipped for runs without it)."""
    results = [r for r in results if "rubric" in r]
    if results:
        print(RELEVANCE_CAPTION)
        print("\n" + relevance_table(results).to_string(index=False, na_rep=""))


def print_suite(results, suite_dir):
    """The default suite's tables (one per task), then the chatbots' replies.

    Args:
        results: list of (task name, metrics.json dict).
        suite_dir: str, where results.csv goes.
    """
    tables = []
    print(f"\nResults (embedded data) in {suite_dir}:")
    for task_name in dict.fromkeys(name for name, _ in results):
        mine = [r for name, r in results if name == task_name]
        if task_name == "chatbot":
            table = chatbot_table(mine)
            print(CHATBOT_CAPTION)
        else:
            table = pd.DataFrame(
                [
                    {**row, "epochs": r["epochs_run"],
                     "train s": r["train_seconds_this_process"]}
                    for r in mine for row in _rows(task_name, r)
                ]
            )  # fmt: skip
        print("\n" + table.to_string(index=False, na_rep=""))
        tables.append(table.assign(task=task_name))
    chats = [r for name, r in results if name == "chatbot"]
    if chats:
        print_relevance(chats)
        print("\nSample replies (test split):")
        for result in chats:
            print_samples(result["model"], result)
        print_prompts(chats)
    pd.concat(tables).to_csv(os.path.join(suite_dir, "results.csv"), index=False)


def print_run(task_name, result):
    """One run's rows, and for a chatbot its sample and prompt replies."""
    if task_name == "chatbot":
        print(CHATBOT_CAPTION)
        print("\n" + chatbot_table([result]).to_string(index=False, na_rep=""))
        print_relevance([result])
        print("\nSample replies (test split):")
        print_samples(result["model"], result)
        print_prompts([result])
        return
    for row in _rows(task_name, result):
        print("\n" + "\n".join(f"{k:>20}: {v}" for k, v in row.items()))


def print_comparison(comparison, table, folder):
    """Mean ± std over seeds and the sheet's claim per metric."""
    print(f"\nChatbots over seeds {comparison['seeds']} (mean ± std) in {folder}:\n")
    print(table.to_string(index=False))
    if comparison["claims"]:
        print("\nSheet A3's claim, attention decoder better than the LSTM decoder:")
        for claim in comparison["claims"]:
            print(f"  {claim['split']:>5} {claim['metric']:<20} {claim['verdict']}")


# How the chatbot's filters name what they dropped, in a sentence.
DROPPED_WORDS = {
    "too long": "too long",
    "duplicate": "duplicates",
    "rare word": "with a rare word",
    "empty": "empty",
}
_SPLITS = re.compile(r"(\w+) train/val/test (\d+)/(\d+)/(\d+)")
_VOCABULARY = re.compile(r"\bvocabulary (\d+)")
_DICT = re.compile(r"\{[^{}]*\}")


def _and(parts):
    """["a", "b", "c"] -> "a, b and c"."""
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def counts_text(counts, words=DROPPED_WORDS):
    """A count per reason in words; zero counts are left out.

    Args:
        counts: mapping of reason -> int.
        words: how each reason reads after its count (default: the reason).

    Returns:
        str.

    Example:
    >>> counts_text({"too long": 107095, "duplicate": 287, "empty": 0})
    '107,095 too long and 287 duplicates'
    >>> counts_text({"empty": 0})
    'none'
    """
    parts = [f"{n:,} {words.get(k, k)}" for k, n in counts.items() if n]
    return _and(parts) if parts else "none"


def _literal_counts(match):
    """A `{'reason': count}` literal of a summary, in words (else unchanged)."""
    try:
        counts = ast.literal_eval(match.group(0))
    except (ValueError, SyntaxError):
        return match.group(0)
    if isinstance(counts, dict) and all(isinstance(n, int) for n in counts.values()):
        return counts_text(counts)
    return match.group(0)


def data_sentence(summary):
    """The data summary of a run (`task.summary(data)`) as words.

    Splits "windows train/val/test 1032/150/294" become "1,032 training, 150
    validation and 294 test windows", a Python dict of counts becomes a
    list of counts in words. A mapping summary reads "key value" per item.

    Args:
        summary: str or mapping, what the task's `summary` returned.

    Returns:
        str, without a final period.

    Example:
    >>> data_sentence("6 series, windows train/val/test 1032/150/294")
    '6 series, 1,032 training, 150 validation and 294 test windows'
    >>> data_sentence("vocabulary 4221, dropped {'too long': 5, 'empty': 0}")
    'a vocabulary of 4,221 tokens, dropped 5 too long'
    """
    if isinstance(summary, dict):
        summary = ", ".join(
            f"{k} {counts_text(v) if isinstance(v, dict) else v}"
            for k, v in summary.items()
        )
    text = _SPLITS.sub(
        lambda m: (
            f"{int(m[2]):,} training, {int(m[3]):,} validation and "
            f"{int(m[4]):,} test {m[1]}"
        ),
        str(summary),
    )
    text = _VOCABULARY.sub(lambda m: f"a vocabulary of {int(m[1]):,} tokens", text)
    return _DICT.sub(_literal_counts, text)


def run_directory_sentence(workdir, summary):
    """The line printed before training: where the run goes, what data it has.

    Args:
        workdir: str, the run directory.
        summary: str or mapping, what the task's `summary(data)` returned.

    Returns:
        str, one sentence.

    Example:
    >>> run_directory_sentence("runs/x", "6 series, windows train/val/test 9/2/3")
    'Run directory runs/x: 6 series, 9 training, 2 validation and 3 test windows.'
    """
    return f"Run directory {workdir}: {data_sentence(summary)}."
