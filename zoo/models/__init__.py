"""Models of the zoo, built from `zoo.layers` and `keras.layers`.

Both families keep one registry of the same shape, name -> `ModelSpec`:
`zoo.models.forecasting.FORECASTERS` and `zoo.models.seq2seq.SEQ2SEQ`.
A spec holds the builder, a one-line description and, for seq2seq
models, the `Seq2SeqGenerator` class that decodes with the model.
`lookup` is how both `build_*` functions find a name: an unknown one is a
`ValueError` naming the choices (the policy of `zoo.errors`).

Example:
>>> registry = {"lstm": ModelSpec(build=lambda: "model", description="an LSTM")}
>>> lookup(registry, "lstm", "forecaster").build()
'model'
>>> lookup(registry, "gpt", "forecaster")
Traceback (most recent call last):
...
ValueError: unknown forecaster 'gpt'; choose from ['lstm']
"""

from typing import NamedTuple


class ModelSpec(NamedTuple):
    """One registered model.

    Attributes:
        build: callable returning an uncompiled keras.Model; its arguments
            are the family's (see `build_forecaster`, `build_seq2seq`).
        description: str, one line.
        generator: the `Seq2SeqGenerator` subclass of a seq2seq model
            (None for forecasters).
    """

    build: object
    description: str
    generator: object = None


def lookup(registry, name, family):
    """The spec of `name` in `registry`.

    Args:
        registry: dict name -> ModelSpec.
        name: str.
        family: str, what the registry holds, for the message.

    Returns:
        ModelSpec.

    Raises:
        ValueError: `name` is not registered.
    """
    if name not in registry:
        raise ValueError(f"unknown {family} {name!r}; choose from {list(registry)}")
    return registry[name]
