"""What the training engine and the CLI read of a task, named once.

A task (`TrafficTask`, `ChatbotTask`) turns a `TrainConfig` into data, a
model and a report; `zoo.train.engine.train_and_evaluate` drives every task
through the same steps:

1. `prepare(config)`: `check(config)` (settings alone, also called up front
   for every run of a comparison), then load and check the data. Bad input
   raises `ZooError` here, before the run directory exists.
2. `build_model(config, data)`, compiled by the engine with `loss`.
3. `config.json`, then `write_artifacts(data, run_dir)`: the files fixed at
   preparation (vocabulary, scaler), so a diverged or interrupted run stays
   usable.
4. `fit` on `arrays(data, "train")`, validated on `arrays(data, "val")`,
   with `callbacks(config, data)` (their logs become columns of
   `history.csv`) and the kept epoch chosen by `monitor(config)`.
5. `evaluate(...)` returns the content of `metrics.json`;
   `table_rows(metrics)` is what the CLI prints of it.

Example:
>>> from zoo.train.traffic_task import TrafficTask
>>> isinstance(TrafficTask(), Task)
True
"""

from typing import Protocol, runtime_checkable


@runtime_checkable
class Task(Protocol):
    """The members a task provides.

    Attributes:
        name: str, the CLI's TASK argument.
        models: tuple of model names (the registry's keys).
        default_suite: tuple of models `python -m zoo.train` trains.
        loss: a Keras loss.
        loss_label: str, the loss axis label of the figures.
    """

    name: str
    models: tuple
    default_suite: tuple
    loss: object
    loss_label: str

    def monitor(self, config):
        """(history column, "min" | "max"): the kept epoch and early stopping."""

    def check(self, config):
        """Checks the settings that need no data; raises ZooError."""

    def prepare(self, config):
        """The task's data object (after `check`); raises ZooError on bad input."""

    def write_artifacts(self, data, run_dir):
        """Writes the files fixed at preparation beside config.json."""

    def arrays(self, data, split):
        """(inputs, targets) of "train", "val" or "test" for `fit`."""

    def build_model(self, config, data):
        """An uncompiled keras.Model."""

    def callbacks(self, config, data):
        """Extra Keras callbacks; logs they add become history columns."""

    def summary(self, data):
        """One line describing the prepared data."""

    def evaluate(self, model, predict, data, config, run_dir):
        """The content of metrics.json (model and baselines); writes figures."""

    def table_rows(self, metrics_json):
        """Rows (dicts) the CLI prints for one run."""
