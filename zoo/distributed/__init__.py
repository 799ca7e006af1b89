"""Scaling a training run out, on each backend's own engine: the process
group and `--distribute` (`cluster`), torch's DistributedDataParallel inside
`fit` (`ddp`), model-parallel sharding of attention heads and LSTM gates
(`layouts`), the memory check before a run (`memory`), and the supervisor
that turns a lost process into one line (`supervisor`). `zoo.train.engine`
uses them; they import nothing from `zoo.train`."""
