"""How `--distribute model-parallel` shards the zoo's kernels (JAX).

The devices form a mesh `("batch", "model")` of shape `(1, n)`; every
kernel listed here is split over the `"model"` axis, everything else is
replicated:

| variables (path ends with) | shape | split |
|---|---|---|
| attention `query|key|value/kernel` | (dim, heads, head_dim) | by head |
| attention `query|key|value/bias` | (heads, head_dim) | by head |
| attention `attention_output/kernel` | (heads, head_dim, dim) | by head |
| `lstm_cell|gru_cell/kernel|recurrent_kernel` | (in, gates * units) | by gate block |
| `lstm_cell/bias` | (gates * units,) | by gate block |
| `gru_cell/bias` | (2, gates * units) | by gate block |

The gate columns are split in contiguous blocks: with two devices an
LSTM's input and forget gates live on one device and its cell and output
gates on the other; with four, one gate each (a GRU's three gates split by
column). Heads, and gate columns, must divide evenly over the devices.

Example:
>>> [pattern for pattern, _ in MODEL_PARALLEL_RULES][:2]
['.*(query|key|value)/kernel', '.*(query|key|value)/bias']
"""

from zoo.errors import ZooError

# (regular expression matching a whole `variable.path`, as Keras' LayoutMap
# matches, and the variable's axes on the mesh).
MODEL_PARALLEL_RULES = (
    (".*(query|key|value)/kernel", (None, "model", None)),
    (".*(query|key|value)/bias", ("model", None)),
    (".*attention_output/kernel", ("model", None, None)),
    (".*(lstm|gru)_cell/(kernel|recurrent_kernel)", (None, "model")),
    (".*lstm_cell/bias", ("model",)),
    (".*gru_cell/bias", (None, "model")),
)


def model_parallel(devices):
    """A `keras.distribution.ModelParallel` over `devices` with the rules above.

    Args:
        devices: list of device names (`keras.distribution.list_devices()`).

    Returns:
        keras.distribution.ModelParallel.
    """
    import keras

    mesh = keras.distribution.DeviceMesh(
        (1, len(devices)), axis_names=("batch", "model"), devices=devices
    )
    layout_map = keras.distribution.LayoutMap(mesh)
    for pattern, axes in MODEL_PARALLEL_RULES:
        layout_map[pattern] = axes
    return keras.distribution.ModelParallel(
        layout_map=layout_map, batch_dim_name="batch"
    )


def check_divisible(model, devices):
    """Every sharded dimension of `model` splits evenly over `devices`.

    Args:
        model: keras.Model, built.
        devices: int.

    Raises:
        ZooError: naming the variable and what to change.
    """
    import re

    for variable in model.weights:
        for pattern, axes in MODEL_PARALLEL_RULES:
            if re.fullmatch(pattern, variable.path):
                size = variable.shape[axes.index("model")]
                what = "gate columns" if "_cell/" in variable.path else "heads"
                if size % devices:
                    raise ZooError(
                        f"--distribute model-parallel: {variable.path} has "
                        f"{size} {what}, which do not split over {devices} "
                        "devices; pass --units or --num-heads that do"
                    )
                break
