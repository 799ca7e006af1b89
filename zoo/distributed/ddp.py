"""Data parallelism on the torch backend with `DistributedDataParallel`.

Keras' torch trainer calls the model itself in `train_step`, so DDP's
gradient hooks would never fire. `synchronize_gradients` overrides the
model's `train_step` (the extension point of Keras' guide "Customizing what
happens in fit() with PyTorch") with one whose forward pass goes through a
`torch.nn.parallel.DistributedDataParallel` wrapper: DDP averages the
gradients over the processes during `backward`, and every process applies
the same update. Each process reads its own slice of every global batch,
so the update equals one process's on the whole batch. `AverageLogs`
averages the logged metrics over the processes, so every process's
history holds the global loss and all decide early stopping alike.

Example:
>>> AverageLogs().average({"loss": 2.0})  # one process: nothing to average
{'loss': 2.0}
"""

import keras


def start_group():
    """A process group of one for a torch run that no launcher started.

    `torchrun` starts the group of several processes (`zoo.distributed.cluster`);
    without it, `--distribute data-parallel` trains in a group of one, on
    the same code path.
    """
    import socket

    import torch.distributed as dist

    if dist.is_initialized():
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", world_size=1, rank=0
    )


def synchronize_gradients(model):
    """Makes `model.fit` average gradients over the processes through DDP.

    Args:
        model: a compiled keras.Model (torch backend); its `train_step` is
            replaced on this instance only (saving is unaffected).
    """
    import torch

    wrapper = torch.nn.parallel.DistributedDataParallel(model)

    def train_step(data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        y_pred = wrapper(x, training=True)
        model.zero_grad()
        loss = model.compute_loss(
            x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True
        )
        # DDP's hooks average the gradients over the processes here.
        model.optimizer.scale_loss(loss).backward()
        weights = model.trainable_weights[:]
        with torch.no_grad():
            model.optimizer.apply([w.value.grad for w in weights], weights)
        for metric in model.metrics:
            if metric.name == "loss":
                metric.update_state(loss, sample_weight=len(y))
        return model.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    model.train_step = train_step


class AverageLogs(keras.callbacks.Callback):
    """Replaces each logged number by its mean over the processes (torch).

    Put it before the callbacks that read the logs: they share the dict.
    """

    def average(self, logs):
        """Averages every number of `logs` over the process group, in place.

        Args:
            logs: dict of name -> number, or None.

        Returns:
            the same dict.
        """
        import torch.distributed as dist

        if not logs or not dist.is_initialized() or dist.get_world_size() == 1:
            return logs
        import torch

        names = sorted(logs)
        values = torch.tensor([float(logs[n]) for n in names], dtype=torch.float64)
        dist.all_reduce(values)
        values /= dist.get_world_size()
        logs.update(zip(names, values.tolist(), strict=True))
        return logs

    def on_train_batch_end(self, batch, logs=None):
        self.average(logs)

    def on_epoch_end(self, epoch, logs=None):
        self.average(logs)
