"""The exercise sheet's own chatbot numbers (PROBLEMS.md, A3).

The sheet reports them as "the final testing metrics for the RNN", while
its figures are titled "Training ... similarity per epoch": which split
they are is ambiguous. They come from another dataset and are printed
exactly as given beside ours (by the training summary and the report),
never used as targets.

Example:
>>> sorted(SHEET_REFERENCE)
['sheet LSTM', 'sheet attention']
"""

SHEET_REFERENCE = {
    "sheet LSTM": {"jaccard": 0.7149, "cosine": 0.8324,
                   "damerau_levenshtein": 0.5087, "loss": 1.1828},
    "sheet attention": {"jaccard": 0.7648, "cosine": 0.8655,
                        "damerau_levenshtein": 0.6344, "loss": 1.1596},
}  # fmt: skip
