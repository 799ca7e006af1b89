"""Training on several devices and processes with each backend's own engine.

`--distribute data-parallel` splits every global batch over replicas:

- JAX: `keras.distribution.DataParallel` over the local devices; with
  several processes, `jax.distributed` (the launcher sets
  `KERAS_DISTRIBUTION_JOB_ADDRESSES`, `..._NUM_PROCESSES`,
  `..._PROCESS_ID`) and `DataParallel` over the global devices.
- PyTorch: `torch.distributed` and `DistributedDataParallel`
  (`zoo.distributed.ddp`), several processes started by `torchrun` (`RANK`,
  `WORLD_SIZE`, ...), or a group of one without it.
- TensorFlow: `tf.distribute.MirroredStrategy` over the local devices.
  Several processes (`TF_CONFIG`) are refused: Keras 3's `fit` fails in
  its metric reduction under `MultiWorkerMirroredStrategy`
  (tensorflow/tensorflow#72388).

`--distribute model-parallel` (JAX, one process) shards the kernels of
attention by head and of recurrent layers by gate block over the local
devices (`zoo.distributed.layouts`).

Every process reads its own slice of each global batch (`Cluster.shard`),
so the global batches, and hence the losses, are those of one process.
Only process 0 writes the run directory; the others write the same files
into a private temporary folder (`zoo.train.engine`).

The process group is joined once, before the backend runs anything
(`join`, called by `python -m zoo.train` first thing): JAX requires it.
Collective operations on CPU use gloo; on GPUs, NCCL.

Example:
>>> cluster = Cluster()
>>> cluster.processes, cluster.rank, cluster.writes
(1, 0, True)
>>> cluster.shard(8)
slice(0, 8, None)
"""

import contextlib
import json
import os
from dataclasses import dataclass

from zoo.errors import ZooError

# Seconds a process waits for the others (joining, or a lost peer's
# collective) before the run ends with one line.
TIMEOUT_VARIABLE = "ZOO_CLUSTER_TIMEOUT"
DEFAULT_TIMEOUT = 300


def launched_processes():
    """(backend, processes, rank) the launcher set in the environment, or None.

    Returns:
        None when no launcher variable is set; else a tuple naming the
        engine whose variables were found.

    Raises:
        ZooError: a variable that is not an integer, or a bad TF_CONFIG.
    """
    env = os.environ
    if "KERAS_DISTRIBUTION_NUM_PROCESSES" in env:
        return (
            "jax",
            _integer("KERAS_DISTRIBUTION_NUM_PROCESSES"),
            _integer("KERAS_DISTRIBUTION_PROCESS_ID"),
        )
    if "TF_CONFIG" in env:
        try:
            spec = json.loads(env["TF_CONFIG"])
            workers = spec["cluster"]["worker"]
            rank = int(spec["task"]["index"])
        except (ValueError, KeyError, TypeError):
            raise ZooError(
                "TF_CONFIG is not a cluster spec like "
                '{"cluster": {"worker": ["host:port", ...]}, "task": '
                '{"type": "worker", "index": 0}}; fix it or unset it'
            ) from None
        return "tensorflow", len(workers), rank
    if "WORLD_SIZE" in env and "RANK" in env:
        return "torch", _integer("WORLD_SIZE"), _integer("RANK")
    return None


def _integer(name):
    value = os.environ.get(name, "")
    try:
        return int(value)
    except ValueError:
        raise ZooError(
            f"{name} must be an integer, got {value!r}; set it or unset the "
            "launcher variables"
        ) from None


def timeout_seconds():
    """Seconds to wait for other processes (`ZOO_CLUSTER_TIMEOUT`, default 300).

    Returns:
        int.

    Raises:
        ZooError: the variable is not a whole number >= 1.
    """
    value = os.environ.get(TIMEOUT_VARIABLE, str(DEFAULT_TIMEOUT))
    try:
        seconds = int(value)
    except ValueError:
        seconds = 0
    if seconds < 1:
        raise ZooError(
            f"{TIMEOUT_VARIABLE} must be a whole number of seconds >= 1, got {value!r}"
        )
    return seconds


@dataclass
class Cluster:
    """The processes of one run and the engine that connects them.

    Attributes:
        backend: str, the Keras backend.
        processes: int, processes in the run (1: no process group).
        rank: int, this process's index; 0 writes the run directory.
        tf_strategy: the `tf.distribute.MirroredStrategy` of a TensorFlow
            data-parallel run, else None.
    """

    backend: str = "jax"
    processes: int = 1
    rank: int = 0
    tf_strategy: object = None

    def describe(self):
        """The CLI's note on this process.

        Returns:
            str: " | process R of N" for a process of several, else "".
        """
        if self.processes == 1:
            return ""
        return f" | process {self.rank} of {self.processes}"

    @property
    def writes(self):
        """Whether this process writes the run directory."""
        return self.rank == 0

    def shard(self, batch_size):
        """This process's rows of a global batch.

        Args:
            batch_size: int, the global batch.

        Returns:
            slice.

        Raises:
            ZooError: the batch does not split evenly over the processes.
        """
        if batch_size % self.processes:
            raise ZooError(
                f"--batch-size {batch_size} does not split evenly over "
                f"{self.processes} processes; pass a multiple of {self.processes}"
            )
        share = batch_size // self.processes
        return slice(self.rank * share, (self.rank + 1) * share)

    def scope(self):
        """The context models are built in (the TensorFlow strategy's scope)."""
        if self.tf_strategy is not None:
            return self.tf_strategy.scope()
        return contextlib.nullcontext()

    def replicas(self):
        """Devices each global batch is split over.

        Returns:
            int.
        """
        if self.tf_strategy is not None:
            return self.tf_strategy.num_replicas_in_sync
        if self.backend == "jax":
            import keras

            return len(keras.distribution.list_devices())
        return self.processes


_JOINED = None


def join():
    """Joins the process group the launcher describes; the `Cluster`.

    Call before the backend runs anything. Without launcher variables this
    is a cluster of one process (and joins nothing). Joining twice returns
    the first cluster.

    Returns:
        Cluster.

    Raises:
        ZooError: bad launcher variables, another backend's launcher, or
            the other processes did not come within the timeout.
    """
    global _JOINED
    if _JOINED is not None:
        return _JOINED
    import keras

    backend = keras.backend.backend()
    launched = launched_processes()
    if launched is None:
        _JOINED = Cluster(backend)
        return _JOINED
    engine, processes, rank = launched
    if engine != backend:
        raise ZooError(
            f"the environment launches {engine} processes but KERAS_BACKEND is "
            f"{backend}; set KERAS_BACKEND={engine} or use {backend}'s launcher "
            "(see docs/scaling-out.md)"
        )
    if processes < 1 or not 0 <= rank < processes:
        raise ZooError(
            f"process {rank} of {processes}: the rank must be in "
            f"[0, {processes}); check the launcher variables"
        )
    if backend == "tensorflow":
        # MultiWorkerMirroredStrategy + Keras 3's fit fail in Keras' own
        # metric reduction (tensorflow/tensorflow#72388, handed to Keras).
        raise ZooError(
            "several TensorFlow processes (TF_CONFIG) are not supported: "
            "Keras 3's fit fails under MultiWorkerMirroredStrategy "
            "(tensorflow/tensorflow#72388); use KERAS_BACKEND=jax or torch to "
            "train on several processes, or unset TF_CONFIG"
        )
    joiners = {"jax": _join_jax, "torch": _join_torch}
    _JOINED = joiners[backend](processes, rank, timeout_seconds())
    return _JOINED


def _join_jax(processes, rank, timeout):
    import jax

    addresses = os.environ.get("KERAS_DISTRIBUTION_JOB_ADDRESSES", "")
    coordinator = addresses.split(",")[0]
    if not coordinator:
        raise ZooError(
            "KERAS_DISTRIBUTION_JOB_ADDRESSES must name the coordinator "
            "(process 0), e.g. 127.0.0.1:12345"
        )
    platforms = jax.config.jax_platforms
    if platforms == "cpu" or (platforms in (None, "") and not _has_gpu()):
        # CPU devices of several processes talk through gloo.
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    try:
        jax.distributed.initialize(
            coordinator_address=coordinator,
            num_processes=processes,
            process_id=rank,
            initialization_timeout=timeout,
        )
    except Exception as error:  # jax raises RuntimeError or XlaRuntimeError
        raise ZooError(
            f"process {rank} of {processes} could not join the coordinator at "
            f"{coordinator} within {timeout} s ({first_line(error)}); start "
            "every process, or check the address"
        ) from None
    return Cluster("jax", processes, rank)


def _join_torch(processes, rank, timeout):
    import datetime

    import torch
    import torch.distributed as dist

    engine = "nccl" if torch.cuda.is_available() else "gloo"
    if engine == "nccl":  # one GPU per process on each machine
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    try:
        dist.init_process_group(engine, timeout=datetime.timedelta(seconds=timeout))
    except (RuntimeError, ValueError) as error:
        raise ZooError(
            f"process {rank} of {processes} could not join the process group "
            f"({first_line(error)}); start every process with torchrun"
        ) from None
    return Cluster("torch", processes, rank)


def lost_peer(error):
    """Whether `error`, raised in a collective, means another process is gone.

    Args:
        error: an exception raised while training with several processes.

    Returns:
        bool: torch's `DistError`s, and runtime errors (torch's, JAX's) of
        the collectives' transports (gloo, NCCL) or of a lost peer.
    """
    names = {c.__name__ for c in type(error).__mro__}
    if "DistError" in names:  # torch.distributed.DistBackendError & co.
        return True
    text = str(error).lower()
    runtime = names & {"RuntimeError", "JaxRuntimeError", "XlaRuntimeError"}
    return bool(runtime) and any(
        word in text for word in ("gloo", "nccl", "peer", "deadline_exceeded")
    )


def _has_gpu():
    """Whether nvidia-smi sees a GPU (JAX must know before it starts)."""
    import shutil
    import subprocess

    if not shutil.which("nvidia-smi"):
        return False
    found = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
    return "GPU" in found.stdout


def first_line(error):
    """The first line of an error's message.

    Args:
        error: an exception.

    Returns:
        str, 200 characters at most (the type's name if the message is empty).
    """
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__
