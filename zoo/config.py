"""The one configuration object of a training run: every knob, commented."""

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field

from zoo.errors import ZooError
from zoo.names import ATTENTION_SCORES, CORPORA, LEVELS, LONG_PAIRS, MONITORS

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
# transformer-linear's feature_dim is zoo.models.seq2seq.transformer_seq2seq's
# LINEAR_FEATURE_DIM (written out here: this module imports no Keras, for a
# fast --help; a test holds the two equal).
MODEL_PRESETS = {
    ("chatbot", "quick", "transformer"): {"epochs": 5, "learning_rate": 1e-3},
    ("chatbot", "quick", "transformer-linear"): {"epochs": 3, "feature_dim": 16},
    ("chatbot", "full", "transformer"): {"epochs": 10},
    ("chatbot", "full", "transformer-linear"): {"epochs": 10, "feature_dim": 16},
}


def setting(default, help=None, *, choices=None, task=None, preset=False, cli=True):
    """A TrainConfig field and its command-line option, described once.

    `zoo.cli.train_arguments` builds `python -m zoo.train`'s parser from these:
    the flag is the field's name (`flag`), its type the annotation, its
    default the field's own unless None.

    Args:
        default: the field's default (None: unset, a preset or the data decides).
        help: str, the option's help (the default is appended by the parser).
        choices: tuple of str, the values the option accepts.
        task: str, the one task that reads it (given to the other: refused).
        preset: bool, its unset value comes from --preset (the help says which).
        cli: bool, False for fields the command line does not set.

    Returns:
        dataclasses.Field.

    Example:
    >>> f = setting(3, "hours out", task="traffic")
    >>> f.default, f.metadata["task"]
    (3, 'traffic')
    """
    metadata = {"help": help, "choices": choices, "task": task, "preset": preset,
                "cli": cli}  # fmt: skip
    return field(default=default, metadata=metadata)


@dataclass
class TrainConfig:
    """Everything that defines a run; saved as `config.json` in the run.

    Example:
    >>> TrainConfig(model="gru").horizon
    3
    """

    task: str = setting("traffic", cli=False)  # the positional TASK
    model: str = setting(
        "lstm",
        "model name (see below); chatbot: a comma-separated list trains each "
        "and writes a comparison",
    )
    # quick | full: sets epochs/units/patience... when unset (help: preset_help)
    preset: str = setting("full", choices=tuple(sorted(PRESETS)))
    # -- data ------------------------------------------------------------------
    # None = the embedded dataset
    data: str | None = setting(
        None, "CSV, parquet or METR-LA .h5 file (default: embedded)"
    )
    time_col: str | None = setting(
        None, "time column (default: detected)", task="traffic"
    )
    value_col: str | None = setting(
        None, "value column (default: detected)", task="traffic"
    )
    series_col: str | None = setting(
        None, "series id column (default: detected)", task="traffic"
    )
    series: str | None = setting(
        None, "keep only this series id (default: all)", task="traffic"
    )
    # The embedded data has 14 hourly readings a day (06:00-19:00) and no
    # window may cross the night: 6 hours in, 3 hours out gives 6 windows a day.
    lookback: int = setting(
        6, "traffic: hours of readings each window sees", task="traffic"
    )
    horizon: int = setting(3, "traffic: hours each window forecasts", task="traffic")
    # chronological train / val / test shares
    split: tuple = setting((0.7, 0.1, 0.2), cli=False)
    # -- model and optimization -----------------------------------------------
    units: int | None = setting(None, "recurrent units", preset=True)
    # an upper bound; early stopping usually ends sooner
    epochs: int | None = setting(None, "maximum epochs", preset=True)
    # epochs without a better val loss before stopping
    patience: int | None = setting(
        None, "early-stopping patience (epochs)", preset=True
    )
    batch_size: int | None = setting(None, "batch size", preset=True)
    learning_rate: float | None = setting(None, "Adam's learning rate", preset=True)
    # The history column whose best value picks the kept epoch and drives
    # early stopping (preset): always a validation column, never test.
    monitor: str | None = setting(
        None,
        "validation column that picks the kept epoch (chatbot; traffic keeps val_loss)",
        choices=MONITORS,
        preset=True,
    )
    # weights, shuffling and splits are all derived from it
    seed: int = setting(0, "seeds the weights, shuffling and splits")
    # data-parallel | model-parallel (zoo.distributed.cluster); None: one device
    distribute: str | None = setting(
        None,
        "data-parallel: split every batch over the devices, and over the "
        "processes a launcher started (torchrun, TF_CONFIG, KERAS_DISTRIBUTION_*); "
        "model-parallel: shard attention heads and LSTM gates over the local "
        "devices (JAX); see docs/scaling-out.md (default: one device)",
        choices=tuple(d for d in DISTRIBUTE if d),
    )
    precision: str = setting(
        "float32",
        "Keras dtype policy: mixed_bfloat16 computes in bfloat16 and keeps "
        "weights, losses and metrics in float32",
        choices=PRECISIONS,
    )
    # -- chatbot task ----------------------------------------------------------
    corpus: str = setting(
        "chitchat",
        "chitchat, chatterbot: embedded; cornell: --data FOLDER or the Keras "
        "cache; convokit: utterances.jsonl; tsv: input<TAB>response rows",
        choices=CORPORA,
        task="chatbot",
    )
    # the chatterbot-corpus language folder
    language: str = setting("english", "chatterbot-corpus language", task="chatbot")
    level: str = setting(
        "word", "tokens: words or characters", choices=LEVELS, task="chatbot"
    )
    # Longest side kept and rarer words trimmed; None: the corpus default
    # (10 and 3 on chitchat, Cornell and ConvoKit as in the PyTorch chatbot
    # tutorial; 20 and 1 on chatterbot and TSV).
    max_tokens: int | None = setting(
        None,
        "longest side kept (default: 10 on chitchat/Cornell/ConvoKit, 20 else; "
        "5 times that at --level char)",
        task="chatbot",
    )
    min_count: int | None = setting(
        None,
        "rarer words drop their pairs (default: 3 on chitchat/Cornell/ConvoKit, "
        "1 else)",
        task="chatbot",
    )
    # None keeps the training split whole.
    max_train_pairs: int | None = setting(
        None,
        "seeded sample of the training split (default: all pairs)",
        task="chatbot",
    )
    # A pair with a side over max_tokens: "drop" it (the tutorial's rule) or
    # "cut" it to whole sentences (zoo.data.dialog_pairs.cut_pair) (preset).
    long_pairs: str | None = setting(
        None,
        "a pair with a side over --max-tokens: drop it, or cut it to whole "
        "sentences (the prompt's last, the reply's first)",
        choices=LONG_PAIRS,
        task="chatbot",
        preset=True,
    )
    dropout: float | None = setting(
        None, "seq2seq dropout", task="chatbot", preset=True
    )
    attention_score: str = setting(
        "general",
        "lstm-attention score (Luong dot/general, Bahdanau additive)",
        choices=ATTENTION_SCORES,
        task="chatbot",
    )
    num_heads: int = setting(4, "transformer attention heads", task="chatbot")
    num_layers: int = setting(2, "transformer blocks per side", task="chatbot")
    # None: the head size (preset).
    feature_dim: int | None = setting(
        None,
        "transformer-linear: query/key size per head fed to the Taylor feature "
        "map (1 + f + f^2 features; None: the head size)",
        task="chatbot",
        preset=True,
    )
    # Decoding of every reply the run writes (similarities, samples, prompts)
    # and the default of `zoo.chat`: greedy search (the sheet's decoder) with
    # n-gram blocking, a repetition penalty and maximum mutual information
    # over the first mmi_steps tokens (preset).
    no_repeat_ngram: int | None = setting(
        None,
        "replies never repeat an n-gram of this size, 0 for off",
        task="chatbot",
        preset=True,
    )
    repetition_penalty: float | None = setting(
        None, "CTRL repetition penalty, 1.0 for off", task="chatbot", preset=True
    )
    mmi_weight: float | None = setting(
        None,
        "maximum mutual information against generic replies: lambda of "
        "log p(y|x) - lambda log p(y), 0 for off",
        task="chatbot",
        preset=True,
    )
    mmi_steps: int | None = setting(
        None, "the first tokens MMI scores", task="chatbot", preset=True
    )
    # None: zoo/datasets/dialogs/everyday_prompts.txt
    prompts: str | None = setting(
        None,
        "prompts file every run answers (default: the 21 shipped ones)",
        task="chatbot",
    )
    # -- filled in by the engine ----------------------------------------------
    environment: dict = field(default_factory=dict, metadata={"cli": False})

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
        for spec in dataclasses.fields(self):  # the settings' own choices
            value, choices = getattr(self, spec.name), spec.metadata.get("choices")
            if choices is not None and value is not None and value not in choices:
                raise ZooError(
                    f"{flag(spec.name)}: unknown {value!r}; choose from {list(choices)}"
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
