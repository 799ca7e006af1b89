"""The one configuration object of a training run: every knob, commented."""

import dataclasses
from dataclasses import dataclass, field

# Values a preset sets when the command line leaves them unset.
PRESETS = {
    # A smoke-sized run: the default suite (`python -m zoo.train`) uses it.
    "quick": {"epochs": 25, "units": 32, "patience": 5, "batch_size": 64},
    "full": {"epochs": 150, "units": 64, "patience": 15, "batch_size": 64},
}
# Tasks whose presets differ from PRESETS.
TASK_PRESETS = {
    "chatbot": {
        "quick": {"epochs": 40, "units": 64, "patience": 8, "batch_size": 32},
        "full": {"epochs": 100, "units": 128, "patience": 15, "batch_size": 32},
    },
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
    learning_rate: float = 3e-3  # Adam; the data is standardized per series
    seed: int = 0  # weights, shuffling and splits are all derived from it
    distribute: str | None = None  # "data-parallel": all local devices (JAX)
    # -- chatbot task ----------------------------------------------------------
    corpus: str = "chatterbot"  # chatterbot (embedded) | cornell | convokit | tsv
    language: str = "english"  # chatterbot-corpus language folder
    level: str = "word"  # word | char tokens
    max_tokens: int | None = None  # longest side kept (None: 10 Cornell, 20 else)
    min_count: int | None = None  # rarer words trimmed (None: 3 Cornell, 1 else)
    attention_score: str = "general"  # lstm-attention: dot | general | additive
    num_heads: int = 4  # transformer heads
    num_layers: int = 2  # transformer blocks per side
    # -- filled in by the engine ----------------------------------------------
    environment: dict = field(default_factory=dict)

    def resolved(self):
        """A copy with the preset's values filled in where unset."""
        preset = TASK_PRESETS.get(self.task, PRESETS)[self.preset]
        updates = {k: v for k, v in preset.items() if getattr(self, k) is None}
        return dataclasses.replace(self, **updates)

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
        data = dict(data)
        if "split" in data:
            data["split"] = tuple(data["split"])
        return cls(**data)
