"""`python -m zoo.train`: the training engine and its tasks.

The exports load lazily: `python -m zoo.train --backend torch` must be able to
set KERAS_BACKEND before anything imports Keras.

Example:
>>> from zoo.train import TrainConfig, train_and_evaluate  # doctest: +SKIP
>>> config = TrainConfig(model="gru", preset="quick")  # doctest: +SKIP
>>> metrics = train_and_evaluate(config, "runs/gru")  # doctest: +SKIP
"""

__all__ = ["TrainConfig", "train_and_evaluate"]


def __getattr__(name):
    if name == "TrainConfig":
        from zoo.config import TrainConfig

        return TrainConfig
    if name == "train_and_evaluate":
        from zoo.train.engine import train_and_evaluate

        return train_and_evaluate
    raise AttributeError(f"module 'zoo.train' has no attribute {name!r}")
