"""The training batches of a run, in an order a resumed run repeats.

Example:
>>> import numpy as np
>>> ordered = EpochSeededShuffle(np.arange(5), 10 * np.arange(5), 2, 0, shuffle=False)
>>> len(ordered), ordered[2]
(3, (array([4]), array([40])))
>>> one, two = (EpochSeededShuffle(np.arange(5), np.arange(5), 2, 7) for _ in "ab")
>>> bool((one[0][0] == two[0][0]).all())  # the same (seed, epoch), the same order
True
>>> rows = slice(2, 4)
>>> second_half = EpochSeededShuffle(np.arange(8), np.arange(8), 4, 0, False, rows=rows)
>>> second_half[1][0]  # process 1 of 2 reads rows 2:4 of every batch of 4
array([6, 7])
"""

import math

import keras


class EpochSeededShuffle(keras.utils.PyDataset):
    """Batches of (x, y) in an order fixed by (seed, epoch).

    The order of epoch e does not depend on how many epochs this process
    ran, so a resumed run sees the same batches as an uninterrupted one.

    Args:
        x: numpy array (N, ...) or a tuple of them (several model inputs).
        y: numpy array (N, ...).
        batch_size: int.
        seed: int.
        shuffle: bool. False keeps the order (validation).
        drop_remainder: bool. Leave out the last, smaller batch (data-parallel
            training shards every batch evenly over the devices).
        rows: slice. The rows of each batch this process reads (one process
            of several reads its share of every global batch). Defaults to
            all of them.
    """

    def __init__(
        self, x, y, batch_size, seed, shuffle=True, drop_remainder=False, rows=None
    ):
        super().__init__()
        self.x, self.y = x, y
        self.batch_size, self.seed, self.shuffle = batch_size, seed, shuffle
        self.drop_remainder = drop_remainder
        self.rows = slice(None) if rows is None else rows
        self.epoch = 0

    def __len__(self):
        if self.drop_remainder:
            return self._count() // self.batch_size
        return math.ceil(self._count() / self.batch_size)

    def _count(self):
        return len(self.x[0] if isinstance(self.x, tuple) else self.x)

    def __getitem__(self, index):
        import numpy as np

        order = np.arange(self._count())
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(order)
        rows = order[index * self.batch_size : (index + 1) * self.batch_size]
        rows = rows[self.rows]
        if isinstance(self.x, tuple):
            return tuple(x[rows] for x in self.x), self.y[rows]
        return self.x[rows], self.y[rows]
