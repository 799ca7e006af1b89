"""Loading zoo models: registrations first, and only ever with safe_mode.

A `.keras` file that uses zoo layers or losses names them as `zoo>Name`;
Keras resolves those only after the defining modules are imported.
"""

import keras


def load_model(path, compile=True):
    """Loads a `.keras` file written by the zoo, on any backend.

    Args:
        path: str or path-like.
        compile: bool. Restore the optimizer and loss too. Defaults to True.

    Returns:
        keras.Model.

    Example:
    >>> model = load_model("runs/traffic-lstm/model.keras")  # doctest: +SKIP
    """
    import zoo.layers  # noqa: F401  registers the attention layers
    import zoo.models.forecasting  # noqa: F401  registers masked_mse

    return keras.saving.load_model(path, compile=compile, safe_mode=True)
