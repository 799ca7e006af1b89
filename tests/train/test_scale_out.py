"""Scaling out (`zoo.distributed.cluster`): two processes on this machine, each
backend's own launcher and engine, against one process on the same global
batches; model parallelism on two forced JAX host devices; bad launches."""

import csv
import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest

from zoo.distributed import cluster as cluster_module
from zoo.distributed.cluster import Cluster, launched_processes
from zoo.errors import ZooError
from zoo.train.epoch_seeded_shuffle import EpochSeededShuffle

BACKEND = keras.backend.backend()
# Batches of 16 fill both the training and the validation split the same
# way for one replica and for two (the last, partial batch is left out).
TWO_EPOCHS = [
    "traffic",
    "--epochs",
    "2",
    "--series",
    "448838574",
    "--units",
    "4",
    "--batch-size",
    "16",
    "--patience",
    "50",
    "--distribute",
    "data-parallel",
]
LAUNCHER_VARIABLES = (
    "KERAS_DISTRIBUTION_JOB_ADDRESSES",
    "KERAS_DISTRIBUTION_NUM_PROCESSES",
    "KERAS_DISTRIBUTION_PROCESS_ID",
    "TF_CONFIG",
    "WORLD_SIZE",
    "RANK",
)


# Two JAX host devices in one process; the matrix's cheap-compile XLA flags
# (tests/matrix.py) are kept.
TWO_HOST_DEVICES = {
    "XLA_FLAGS": " ".join(
        [os.environ.get("XLA_FLAGS", ""), "--xla_force_host_platform_device_count=2"]
    ).strip()
}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def base_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in LAUNCHER_VARIABLES}
    env.update(KERAS_BACKEND=BACKEND, TF_CPP_MIN_LOG_LEVEL="3", **extra)
    return env


def rank_tf_config(processes, rank):
    workers = [f"127.0.0.1:{free_port()}" for _ in range(processes)]
    spec = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": rank}}
    return json.dumps(spec)


def rank_envs(processes, **extra):
    """The environment of each process, as the backend's launcher sets it."""
    port = free_port()
    if BACKEND == "jax":
        return [
            base_env(
                KERAS_DISTRIBUTION_JOB_ADDRESSES=f"127.0.0.1:{port}",
                KERAS_DISTRIBUTION_NUM_PROCESSES=str(processes),
                KERAS_DISTRIBUTION_PROCESS_ID=str(rank),
                **extra,
            )
            for rank in range(processes)
        ]
    if BACKEND == "tensorflow":
        return [
            base_env(TF_CONFIG=rank_tf_config(processes, rank), **extra)
            for rank in range(processes)
        ]
    return [
        base_env(
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=str(port),
            WORLD_SIZE=str(processes),
            RANK=str(rank),
            LOCAL_RANK=str(rank),
            **extra,
        )
        for rank in range(processes)
    ]


def launch(argv, envs, timeout=400):
    """Starts `python -m zoo.train argv` once per environment; their results."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "zoo.train", *argv],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for env in envs
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=timeout)
        results.append((process.returncode, out, err))
    return results


def read_run(run):
    with open(run / "history.csv", newline="") as handle:
        history = [
            {k: float(v) for k, v in row.items()} for row in csv.DictReader(handle)
        ]
    metrics = json.loads((run / "metrics.json").read_text())
    config = json.loads((run / "config.json").read_text())
    return history, metrics, config


@pytest.mark.skipif(
    BACKEND == "tensorflow", reason="several TensorFlow processes are refused"
)
def test_two_processes_train_as_one_on_the_same_global_batches(tmp_path):
    shadows = tmp_path / "tmp"
    shadows.mkdir()
    one, two = tmp_path / "one", tmp_path / "two"
    [(code, _, err)] = launch(
        [*TWO_EPOCHS, "--out", str(one)],
        # JAX: one process with two devices, the same two replicas.
        [base_env(**(TWO_HOST_DEVICES if BACKEND == "jax" else {}))],
    )
    assert code == 0, err
    results = launch(
        [*TWO_EPOCHS, "--out", str(two)], rank_envs(2, TMPDIR=str(shadows))
    )
    for rank, (code, out, err) in enumerate(results):
        assert code == 0, f"process {rank}: {err[-2000:]}"
        assert f"process {rank} of 2" in out
        assert ("wrote " in out) == (rank == 0)  # process 0 alone writes
    assert not list(shadows.iterdir())  # the other's copy of the run is gone
    history_one, metrics_one, config_one = read_run(one)
    history_two, metrics_two, config_two = read_run(two)
    assert [sorted(r) for r in history_one] == [sorted(r) for r in history_two]
    for row_one, row_two in zip(history_one, history_two, strict=True):
        for column in row_one:
            np.testing.assert_allclose(row_two[column], row_one[column], rtol=1e-4)
    if BACKEND == "jax":  # and one process on one device: the same again
        single_device = tmp_path / "single-device"
        [(code, _, err)] = launch(
            [*TWO_EPOCHS, "--out", str(single_device)], [base_env()]
        )
        assert code == 0, err
        history, _, config = read_run(single_device)
        assert len(config["environment"]["devices"]) == 1
        assert len(config_one["environment"]["devices"]) == 2
        for row, row_one in zip(history, history_one, strict=True):
            for column in row_one:
                np.testing.assert_allclose(row[column], row_one[column], rtol=1e-4)
    for metrics in (metrics_one, metrics_two):
        metrics.pop("train_seconds_this_process")
    assert json.dumps(metrics_one["results"]) != "{}"
    for name, value in metrics_one.items():
        if name != "kept_epoch_history":
            assert metrics_two[name] == value, name
    assert config_two["environment"].pop("processes") == 2
    assert config_one["environment"].pop("processes") == 1
    for config in (config_one, config_two):
        config["environment"].pop("devices")
        # The runs start one after the other: the minute may differ.
        config["environment"].pop("started")
    assert config_one == config_two
    assert sorted(p.name for p in one.iterdir()) == sorted(
        p.name for p in two.iterdir()
    )


@pytest.mark.skipif(
    BACKEND == "tensorflow", reason="several TensorFlow processes are refused"
)
def test_a_process_whose_peers_never_come_ends_with_one_line(tmp_path):
    run = tmp_path / "run"
    env = rank_envs(2, ZOO_CLUSTER_TIMEOUT="2")[1]  # process 1 alone
    [(code, out, err)] = launch([*TWO_EPOCHS, "--out", str(run)], [env], timeout=120)
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("zoo.train: error:"), err
    assert "process 1 of 2" in err and "Traceback" not in err
    assert not run.exists()


@pytest.mark.tensorflow_only
def test_several_tensorflow_processes_are_refused_in_one_line(tmp_path):
    run = tmp_path / "run"
    env = base_env(TF_CONFIG=rank_tf_config(2, 0))
    [(code, _, err)] = launch([*TWO_EPOCHS, "--out", str(run)], [env], timeout=120)
    assert code == 2 and err.count("\n") == 1, err
    assert "tensorflow/tensorflow#72388" in err
    assert not run.exists()


def test_a_launched_process_without_distribute_is_refused(tmp_path, monkeypatch):
    # In-process: the CLI itself would end a process of several with
    # os._exit (JAX's exit hooks wait for lost processes).
    monkeypatch.setattr(cluster_module, "_JOINED", Cluster(BACKEND, processes=2))
    from zoo.config import TrainConfig
    from zoo.train.engine import train_and_evaluate

    run = tmp_path / "run"
    config = TrainConfig(series="448838574", units=4, epochs=1)
    with pytest.raises(ZooError, match="one of 2 .* pass --distribute data-parallel"):
        train_and_evaluate(config, str(run))
    assert not run.exists()


@pytest.mark.parametrize(
    "variables, message",
    [
        ({"TF_CONFIG": "{not json"}, "TF_CONFIG is not a cluster spec"),
        ({"TF_CONFIG": '{"cluster": {}}'}, "TF_CONFIG is not a cluster spec"),
        (
            {"KERAS_DISTRIBUTION_NUM_PROCESSES": "two"},
            "KERAS_DISTRIBUTION_NUM_PROCESSES must be an integer, got 'two'",
        ),
        ({"WORLD_SIZE": "2", "RANK": "x"}, "RANK must be an integer"),
    ],
)
def test_bad_launcher_variables_are_named(monkeypatch, variables, message):
    for name in LAUNCHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ZooError, match=message):
        launched_processes()


def test_launcher_variables_name_the_engine(monkeypatch):
    for name in LAUNCHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert launched_processes() is None
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    assert launched_processes() == ("torch", 4, 3)
    spec = {"cluster": {"worker": ["a:1", "b:2"]}, "task": {"index": 1}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(spec))
    assert launched_processes() == ("tensorflow", 2, 1)


def test_each_process_reads_its_rows_of_every_global_batch():
    x = np.arange(20)
    whole = EpochSeededShuffle(x, x, 8, seed=3)
    halves = [
        EpochSeededShuffle(x, x, 8, seed=3, rows=Cluster(processes=2, rank=r).shard(8))
        for r in (0, 1)
    ]
    for index in range(len(whole)):
        joined = np.concatenate([half[index][0] for half in halves])
        np.testing.assert_array_equal(joined, whole[index][0])
    with pytest.raises(ZooError, match="does not split evenly over 3 processes"):
        Cluster(processes=3).shard(8)


def test_model_parallel_names_what_does_not_split():
    from zoo.distributed.layouts import check_divisible
    from zoo.models.forecasting import build_forecaster

    model = build_forecaster("lstm-attention", 6, 3, 2, units=16)
    check_divisible(model, 4)  # 4 heads, 64 gate columns
    with pytest.raises(ZooError, match="lstm_cell/kernel has 64 gate columns"):
        check_divisible(model, 3)
    with pytest.raises(ZooError, match="attention/query/kernel has 4 heads"):
        check_divisible(model, 8)


@pytest.mark.skipif(BACKEND == "jax", reason="model-parallel runs on JAX")
def test_model_parallel_elsewhere_is_one_line(tmp_path, capsys):
    from zoo.train.__main__ import main

    run = tmp_path / "run"
    argv = [a for a in TWO_EPOCHS if a != "data-parallel"] + ["model-parallel"]
    assert main([*argv, "--out", str(run)]) == 2
    assert "runs on the JAX backend in one process" in capsys.readouterr().err
    assert not run.exists()


@pytest.mark.jax_only
def test_model_parallel_shards_heads_and_gates_and_trains_as_one_device(tmp_path):
    script = tmp_path / "model_parallel.py"
    script.write_text(MODEL_PARALLEL_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script)],
        env=base_env(**TWO_HOST_DEVICES),
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    one, two = report["losses"]
    np.testing.assert_allclose(two, one, rtol=1e-4)
    specs, shards = report["specs"], report["shard_shapes"]
    # Attention by head, the LSTM by gate block, the rest replicated.
    assert specs["attention/query/kernel"] == [None, "model", None]
    assert specs["attention/value/bias"] == ["model", None]
    assert specs["attention/attention_output/kernel"] == ["model", None, None]
    assert specs["attention/attention_output/bias"] == [None]
    assert specs["encoder/lstm_cell/recurrent_kernel"] == [None, "model"]
    assert specs["encoder/lstm_cell/bias"] == ["model"]
    assert specs["forecast/kernel"] == [None, None]
    # Each device holds half: 2 of the 4 heads, 2 of the 4 gate blocks.
    assert shards["attention/key/kernel"] == [[16, 2, 4], [16, 2, 4]]
    assert shards["encoder/lstm_cell/kernel"] == [[2, 32], [2, 32]]


MODEL_PARALLEL_SCRIPT = r"""
import json
import keras
import numpy as np
from zoo.models.forecasting import build_forecaster
from zoo.distributed.layouts import model_parallel

rng = np.random.default_rng(0)
inputs = rng.normal(size=(32, 6, 2)).astype("float32")
target = rng.normal(size=(32, 3)).astype("float32")


def train(distribution):
    keras.distribution.set_distribution(distribution)
    keras.utils.set_random_seed(0)
    # An LSTM encoder and multi-head attention over its outputs.
    model = build_forecaster("lstm-attention", 6, 3, 2, units=16)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    history = model.fit(inputs, target, batch_size=8, epochs=3, shuffle=False,
                        verbose=0)
    return model, history.history["loss"]


devices = keras.distribution.list_devices()
assert len(devices) == 2, devices
_, one = train(None)
model, two = train(model_parallel(devices))
specs, shard_shapes = {}, {}
for variable in model.weights:
    sharding = variable.value.sharding
    specs[variable.path] = list(sharding.spec) + [None] * (
        len(variable.shape) - len(sharding.spec))
    shard_shapes[variable.path] = [
        list(s.data.shape) for s in variable.value.addressable_shards]
print(json.dumps({"losses": [one, two], "specs": specs, "shard_shapes": shard_shapes}))
"""
