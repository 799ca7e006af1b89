"""What `python -m zoo.train` prints after training: tables, replies, claims."""

import os

import pandas as pd

# Printed tables stay readable in an 80-column terminal only up to a point;
# replies are cut to this many characters in the prompt listing.
REPLY_WIDTH = 60
CHATBOT_CAPTION = (
    "\nchatbot: similarities (J Jaccard, cos cosine, DL Damerau-Levenshtein) of "
    "the replies; train and val on the fixed per-epoch samples at the kept "
    "epoch, test on the whole test split; baselines: the most frequent "
    "training reply, and the reply of the nearest training input (TF-IDF); "
    "the sheet's rows are its TRAINING numbers on another corpus"
)


def _rows(task_name, result):
    from zoo.train.engine import get_task

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
    return ", ".join(parts) or "plain"


def chatbot_table(results):
    """Models, baselines (once) and the sheet's rows in one DataFrame."""
    from zoo.train.chatbot_task import sheet_rows

    models, baselines = [], {}
    for result in results:
        first, *others = _rows("chatbot", result)
        models.append(first)
        for row in others:  # the baselines: the same in every run of a suite
            baselines.setdefault(row["model"], row)
    rows = [*models, *baselines.values(), *sheet_rows()]
    return pd.DataFrame(rows)


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
