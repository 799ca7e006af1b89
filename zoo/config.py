"""The one configuration object of a training run: every knob, commented."""

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field

from zoo.errors import ZooError
from zoo.names import LONG_PAIRS

# Values a preset sets when the command line leaves them unset: BASE, then
# the task's preset, then the model's overrides.
BASE = {
    "learning_rate": 3e-3,  # Adam; the traffic data is standardized per series
    "monitor": "val_loss",
    "dropout": 0.0,
    "no_repeat_ngram": 0,
    "repetition_penalty": 1.0,
    "mmi_weight": 0.0,
    "mmi_steps": 0,
    "long_pairs": "drop",
}
PRESETS = {
    # A smoke-sized run: the default suite (`python -m zoo.train`) uses it.
    "quick": {"epochs": 25, "units": 32, "patience": 5, "batch_size": 64},
    "full": {"epochs": 150, "units": 64, "patience": 15, "batch_size": 64},
}
# Replies of the chatbots: greedy search that never repeats a bigram and
# discourages repeated words (sheet B1's greedy decoder; without these,
# small models loop: "i you you you").
CHATBOT_DECODING = {"no_repeat_ngram": 2, "repetition_penalty": 1.2,
                    # Against generic replies (zoo.decoding, MMI anti-LM): the
                    # first 3 tokens at lambda 0.5, chosen against 0.35 and off
                    # on the validation split's distinct-2 and the rubric (the
                    # measurements: docs/experiments.md, "Relevance").
                    "mmi_weight": 0.5, "mmi_steps": 3}  # fmt: skip
# Tasks whose presets differ from PRESETS. The chatbot's are sized for the
# embedded chitchat corpus (12,008 training pairs, vocabulary 4,221) on 2 CPU
# cores: quick fits three chatbots into `make run`'s minutes, full trains one
# model in at most 20 minutes.
TASK_PRESETS = {
    "chatbot": {
        "quick": {"epochs": 6, "units": 128, "patience": 2, "batch_size": 64,
                  "dropout": 0.2, "learning_rate": 5e-3, **CHATBOT_DECODING},
        "full": {"epochs": 20, "units": 192, "patience": 3, "batch_size": 64,
                 "dropout": 0.3, "learning_rate": 3e-3, **CHATBOT_DECODING},
    },
}  # fmt: skip
# Ranges of the numeric settings, checked by `TrainConfig.validate` for the
# command line and for a resumed run's config.json alike.
AT_LEAST_ONE = ("lookback", "horizon", "epochs", "units", "patience", "batch_size",
                "max_tokens", "min_count", "num_heads", "num_layers",
                "max_train_pairs", "feature_dim")  # fmt: skip
DISTRIBUTE = (None, "data-parallel", "model-parallel")
# Keras dtype policies a run may train in: mixed_bfloat16 computes in
# bfloat16 and keeps the weights, the losses and the metrics in float32.
PRECISIONS = ("float32", "mixed_bfloat16")
# Per-model overrides of a task's preset. The transformers' validation loss
# falls about twice as fast per epoch as the LSTMs', so they get fewer
# epochs (transformer-linear's epoch is also the slowest). The quick
# transformer learns at 1e-3: at the LSTMs' 5e-3 (no warm-up) it settles on
# generic replies (the measurements: docs/experiments.md, "Chatbots").
# transformer-linear's feature_dim is zoo.models.seq2seq.transformer's
# LINEAR_FEATURE_DIM (written out here: this module imports no Keras, for a
# fast --help; a test holds the two equal).
MODEL_PRESETS = {
    ("chatbot", "quick", "transformer"): {"epochs": 5, "learning_rate": 1e-3},
    ("chatbot", "quick", "transformer-linear"): {"epochs": 3, "feature_dim": 16},
    ("chatbot", "full", "transformer"): {"epochs": 10},
    ("chatbot", "full", "transformer-linear"): {"epochs": 10, "feature_dim": 16},
}


@dataclass
class TrainConfig:
    """Everything that defines a run; saved as `config.json` in the run.

    Example:
    >>> TrainConfig(model="gru").horizon
    3
    """

    task: str = "traffic"
    model: str = "lstm"  # a name from the task's registry (see --help)
    preset: str = "full"  # quick | full: sets epochs/units/patience when unset
    # -- data ------------------------------------------------------------------
    data: str | None = None  # file to read; None = the embedded dataset
    time_col: str | None = None  # columns; None = detected
    value_col: str | None = None
    series_col: str | None = None
    series: str | None = None  # keep one series only
    # The embedded data has 14 hourly readings a day (06:00-19:00) and no
    # window may cross the night: 6 hours in, 3 hours out gives 6 windows a day.
    lookback: int = 6
    horizon: int = 3
    split: tuple = (0.7, 0.1, 0.2)  # chronological train / val / test shares
    # -- model and optimization -----------------------------------------------
    units: int | None = None  # recurrent units (preset)
    epochs: int | None = None  # upper bound; early stopping usually ends sooner
    patience: int | None = None  # epochs without a better val loss before stopping
    batch_size: int | None = None  # preset
    learning_rate: float | None = None  # Adam (preset)
    # The history column whose best value picks the kept epoch and drives
    # early stopping (preset): always a validation column, never test.
    monitor: str | None = None
    seed: int = 0  # weights, shuffling and splits are all derived from it
    # data-parallel | model-parallel (zoo.train.cluster); None: one device
    distribute: str | None = None
    precision: str = "float32"  # a name of PRECISIONS (Keras dtype policy)
    # -- chatbot task ----------------------------------------------------------
    # chitchat (embedded, default) | chatterbot (embedded) | cornell | convokit | tsv
    corpus: str = "chitchat"
    language: str = "english"  # chatterbot-corpus language folder
    level: str = "word"  # word | char tokens
    # Longest side kept and rarer words trimmed; None: the corpus default
    # (10 and 3 on chitchat, Cornell and ConvoKit as in the PyTorch chatbot
    # tutorial; 20 and 1 on chatterbot and TSV).
    max_tokens: int | None = None
    min_count: int | None = None
    # A seeded sample of the training split (preset): the quick preset trains
    # on part of chitchat to fit `make run` into minutes; None keeps it whole.
    max_train_pairs: int | None = None
    # A pair with a side over max_tokens: "drop" it (the tutorial's rule) or
    # "cut" it to whole sentences (zoo.data.dialog_pairs.cut_pair) (preset).
    long_pairs: str | None = None
    dropout: float | None = None  # seq2seq dropout rate (preset)
    attention_score: str = "general"  # lstm-attention: dot | general | additive
    num_heads: int = 4  # transformer heads
    num_layers: int = 2  # transformer blocks per side
    # transformer-linear: query/key size per head fed to the Taylor map
    # (M = 1 + f + f^2 features); None: the head size (preset).
    feature_dim: int | None = None
    # Decoding of every reply the run writes (similarities, samples, prompts)
    # and the default of `zoo.chat`: greedy search (the sheet's decoder) with
    # n-gram blocking (0: off) and a repetition penalty (1.0: off) (preset).
    no_repeat_ngram: int | None = None
    repetition_penalty: float | None = None
    # ... and maximum mutual information over the first mmi_steps tokens
    # (weight 0.0: off) (preset).
    mmi_weight: float | None = None
    mmi_steps: int | None = None
    prompts: str | None = None  # None: zoo/datasets/dialogs/everyday_prompts.txt
    # -- filled in by the engine ----------------------------------------------
    environment: dict = field(default_factory=dict)

    def resolved(self):
        """A copy with the preset's values filled in where unset."""
        preset = {
            **BASE,
            **TASK_PRESETS.get(self.task, PRESETS)[self.preset],
            **MODEL_PRESETS.get((self.task, self.preset, self.model), {}),
        }
        updates = {k: v for k, v in preset.items() if getattr(self, k) is None}
        return dataclasses.replace(self, **updates)

    def validate(self):
        """Checks every setting's type and range; returns self.

        Run directories travel between people, so a resumed run's
        config.json is checked like the command line. Choices that depend on
        the task (model, corpus, monitor...) are the task's own `check`.

        Returns:
            TrainConfig: self.

        Raises:
            ZooError: one line naming the setting (as its command-line flag),
                the value and the range.

        Example:
        >>> TrainConfig(units=0).validate()
        Traceback (most recent call last):
        ...
        zoo.errors.ZooError: --units must be an integer >= 1, got 0
        """
        for spec in dataclasses.fields(self):
            value = getattr(self, spec.name)
            if not _has_type(value, spec.type):
                raise ZooError(
                    f"{flag(spec.name)} must be {_type_words(spec.type)}, got {value!r}"
                )
        for key in AT_LEAST_ONE:
            value = getattr(self, key)
            if value is not None and value < 1:
                raise ZooError(f"{flag(key)} must be an integer >= 1, got {value}")
        if not 0 <= self.seed < 2**32:  # numpy's and the backends' seed range
            raise ZooError(
                f"{flag('seed')} must be an integer in [0, 2**32), got {self.seed}"
            )
        rate = self.learning_rate
        if rate is not None and not (rate > 0 and math.isfinite(rate)):
            raise ZooError(
                f"{flag('learning_rate')} must be a finite number > 0, got {rate}"
            )
        if self.dropout is not None and not 0 <= self.dropout < 1:
            raise ZooError(f"{flag('dropout')} must be in [0, 1), got {self.dropout}")
        if self.long_pairs not in (None, *LONG_PAIRS):
            raise ZooError(
                f"{flag('long_pairs')}: unknown {self.long_pairs!r}; choose from "
                f"{list(LONG_PAIRS)}"
            )
        if self.preset not in PRESETS:
            raise ZooError(
                f"{flag('preset')}: unknown {self.preset!r}; choose from "
                f"{sorted(PRESETS)}"
            )
        if self.distribute not in DISTRIBUTE:
            raise ZooError(
                f"{flag('distribute')}: unknown strategy {self.distribute!r}; "
                "use data-parallel or model-parallel"
            )
        if self.precision not in PRECISIONS:
            raise ZooError(
                f"{flag('precision')}: unknown {self.precision!r}; choose from "
                f"{list(PRECISIONS)}"
            )
        shares = self.split
        if len(shares) != 3 or not all(
            isinstance(s, (int, float)) and not isinstance(s, bool) and 0 < s < 1
            for s in shares
        ):
            raise ZooError(
                f"{flag('split')} must be three shares in (0, 1) (train, val, "
                f"test), got {list(shares)}"
            )
        if abs(sum(shares) - 1) > 1e-6:
            raise ZooError(f"{flag('split')} must sum to 1, got {list(shares)}")
        from zoo.decoding import check_options

        check_options(
            **{
                key: getattr(self, key)
                for key in (
                    "no_repeat_ngram",
                    "repetition_penalty",
                    "mmi_weight",
                    "mmi_steps",
                )
                if getattr(self, key) is not None
            }
        )
        return self

    def to_dict(self):
        data = dataclasses.asdict(self)
        data["split"] = list(self.split)
        return data

    @classmethod
    def from_dict(cls, data):
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown settings {unknown}")
        # A setting left out would silently take today's default.
        missing = sorted(known - set(data) - {"environment"})
        if missing:
            raise ValueError(f"missing settings {missing}")
        data = dict(data)
        if isinstance(data.get("split"), list):  # JSON has no tuples
            data["split"] = tuple(data["split"])
        return cls(**data)


def _has_type(value, annotation):
    """Whether a JSON-loaded value fits a field's annotation (no bool as int)."""
    if isinstance(annotation, types.UnionType):
        return any(_has_type(value, a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if isinstance(value, bool):
        return annotation is bool
    if annotation is float:
        return isinstance(value, (int, float))
    if annotation is tuple:
        return isinstance(value, (tuple, list))
    return isinstance(value, annotation)


def _type_words(annotation):
    """`int | None` -> "an integer or unset (null)", for error messages."""
    words = {
        int: "an integer",
        float: "a number",
        str: "a string",
        tuple: "a list",
        dict: "a mapping",
        type(None): "unset (null)",
    }
    parts = typing.get_args(annotation) or (annotation,)
    return " or ".join(words.get(part, part.__name__) for part in parts)


def flag(field_name):
    """The command-line flag of a setting: `batch_size` -> `--batch-size`.

    Example:
    >>> flag("batch_size")
    '--batch-size'
    """
    return "--" + field_name.replace("_", "-")
