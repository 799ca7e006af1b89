"""The base of the zoo's chatbots: functional models that describe themselves."""

import keras


class Seq2SeqModel(keras.Model):
    """A teacher-forced encoder-decoder `[encoder_tokens, decoder_tokens] -> logits`.

    Subclasses build their graph as a functional model in `__init__` (as
    keras-hub's backbones do), then keep their sublayers as named
    attributes, so decoders and attention maps reach them without looking
    names up. Each carries its registry `kind` (a key of
    `zoo.models.seq2seq.SEQ2SEQ`) and a `get_config` of its constructor's
    arguments, so a `.keras` file rebuilds the same class. Weights keep
    the paths a plain functional model of the same layers has.

    `dtype` is the dtype policy every sublayer is built with (None: the
    global policy when the model is built); it is stored, so a
    `mixed_bfloat16` model loads as one in a float32 process.

    Args:
        inputs, outputs: the functional graph, as for `keras.Model`.
        arguments: dict, the subclass's constructor arguments (its config).
        dtype: str, a `keras.DTypePolicy` or None.
        **kwargs: `name`, `trainable`, passed to `keras.Model`.

    Example:
    >>> from zoo.models.seq2seq import build_seq2seq
    >>> model = build_seq2seq("lstm", vocab_size=20, units=4)
    >>> isinstance(model, Seq2SeqModel), model.kind
    (True, 'lstm')
    """

    def __init__(self, inputs, outputs, arguments, dtype=None, **kwargs):
        super().__init__(inputs, outputs, **kwargs)
        self._arguments = dict(arguments)
        self._layer_dtype = policy_name(dtype)

    @property
    def kind(self):
        """str: the model's key in `zoo.models.seq2seq.SEQ2SEQ`."""
        raise NotImplementedError

    def get_config(self):
        """The constructor's arguments, the dtype policy, name and trainable.

        Returns:
            dict, accepted by `from_config`.
        """
        return {
            **self._arguments,
            "dtype": self._layer_dtype,
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        """Rebuilds the model from `get_config` (weights are loaded apart).

        Args:
            config: dict.

        Returns:
            the subclass's model.
        """
        return cls(**config)


def policy_name(dtype):
    """The name of dtype policy `dtype`, or of the global policy for None.

    Args:
        dtype: str, `keras.DTypePolicy` or None.

    Returns:
        str, e.g. "float32" or "mixed_bfloat16".

    Example:
    >>> policy_name(None), policy_name("mixed_bfloat16")
    ('float32', 'mixed_bfloat16')
    """
    if dtype is None:
        return keras.config.dtype_policy().name
    return keras.dtype_policies.get(dtype).name
