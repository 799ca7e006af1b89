"""The names the command lines offer, in a module that does not import Keras.

`python -m zoo.train --help` and argument errors must answer without
loading a backend (seconds to import), so the choices of the parser live
here as plain tuples. The registries that build the models and read the
data hold the same names (`zoo.models.forecasting.FORECASTERS`,
`zoo.models.seq2seq.SEQ2SEQ`, `zoo.data.dialogs.CORPORA`,
`zoo.data.text.LEVELS`, `zoo.data.dialog_pairs.LONG_PAIRS`,
`zoo.layers.seq2seq_attention.SCORES`, `zoo.train.chatbot_task.MONITORS`,
`zoo.decoding.DECODERS`, the tasks of `zoo.train.tasks.TASKS`);
tests/train/test_cli_quiet.py checks that they agree, so a model added
there and forgotten here fails a test.

Example:
>>> TASK_MODELS["chatbot"][:2]
('lstm', 'lstm-attention')
>>> MONITORS[0]
'val_loss'
"""

# Models of each task, in the registries' order (the help lists them so).
TASK_MODELS = {
    "traffic": ("lstm", "stacked-lstm", "gru", "seq2seq-lstm", "lstm-attention"),
    "chatbot": ("lstm", "lstm-attention", "transformer", "transformer-linear"),
}
TASKS = tuple(TASK_MODELS)
# Dialog corpora (zoo.data.dialogs) and token levels (zoo.data.text).
CORPORA = ("chitchat", "chatterbot", "cornell", "convokit", "tsv")
LEVELS = ("word", "char")
# What a chatbot run does with a pair over --max-tokens (zoo.data.dialog_pairs).
LONG_PAIRS = ("drop", "cut")
# Scores of the lstm-attention chatbot (zoo.layers.seq2seq_attention).
ATTENTION_SCORES = ("dot", "general", "additive")
# Reply similarities (zoo.metrics.SIMILARITIES); a chatbot run may keep the
# epoch of the best validation loss or of the best validation similarity.
SIMILARITIES = ("jaccard", "cosine", "damerau_levenshtein")
MONITORS = ("val_loss", *(f"val_{name}" for name in SIMILARITIES))
# Decoders of `python -m zoo.chat` (zoo.decoding.DECODERS).
DECODERS = ("greedy", "beam", "top-k", "top-p")
