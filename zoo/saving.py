"""Loading zoo models: registrations first, and only ever with safe_mode.

A `.keras` file that uses zoo layers or losses names them as `zoo>Name`;
Keras resolves those only after the defining modules are imported.

Inference (replies, forecasts) loads with `compile=False`: no optimizer, no
training step, nothing compiled for training. `compile=True` restores the
optimizer and loss, to train on.

A chatbot written by an older zoo (a plain functional model, before
`zoo.models.seq2seq.Seq2SeqModel`) comes back as today's class with the
same weights (`zoo.models.seq2seq.legacy`).
"""

import keras


def load_model(path, compile=True):
    """Loads a `.keras` file written by the zoo, on any backend.

    The zoo compiles with Keras' `jit_compile="auto"`, which the file stores
    as the training backend's choice (True on JAX). Restored as such, it
    would make torch wrap every step in `torch.compile` (tens of seconds
    and dynamo warnings on CPU): with `compile=True` the setting is chosen
    again, as "auto" does on this backend.

    Args:
        path: str or path-like.
        compile: bool. Restore the optimizer and loss too, to train on;
            pass False for inference. Defaults to True.

    Returns:
        keras.Model; a chatbot is a `Seq2SeqModel`, also when an older zoo
        wrote it.

    Raises:
        ZooError: an older zoo's chatbot whose layers are not today's.

    Example:
    >>> model = load_model("runs/lstm/model.keras", compile=False)  # doctest: +SKIP
    """
    import zoo.layers  # noqa: F401  registers the attention layers
    import zoo.losses  # noqa: F401  registers the chatbots' TokenCrossEntropy
    import zoo.models.forecasting  # noqa: F401  registers masked_mse
    from zoo.models.seq2seq.legacy import is_legacy_seq2seq, upgrade_legacy_seq2seq

    model = keras.saving.load_model(path, compile=compile, safe_mode=True)
    if is_legacy_seq2seq(model):
        model = upgrade_legacy_seq2seq(model)
    if model.compiled:
        model.jit_compile = _auto_jit_compile(model)
    return model


def _auto_jit_compile(model):
    """What `compile(jit_compile="auto")` picks for `model` on this backend.

    Args:
        model: keras.Model.

    Returns:
        bool.
    """
    resolve = getattr(model, "_resolve_auto_jit_compile", None)
    if resolve is None:  # a Keras without it: torch eager, XLA elsewhere
        return keras.backend.backend() != "torch"
    return bool(resolve())
