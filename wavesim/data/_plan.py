"""The order of one epoch: which item each rank and worker yields, in which batch.

Pure NumPy, no torch and no I/O, so that every property the datasets promise
(exactly once, equal counts per rank, resumable) is a property of this plan
and is tested here.

Items (clips, wave pairs) come grouped in *units*: items that one read serves
(the clips of one chunk of one movie). An epoch's sequence is:

1. the units in an order drawn from (seed, epoch), their items concatenated;
   a sequence of ``n_items`` positions;
2. cut into ``world_size`` contiguous slices of ``per_rank`` positions, one
   per rank; with ``remainder="drop"`` the last ``n_items % world_size``
   positions are left out, with ``"pad"`` positions past the end wrap
   around to the start (those items are yielded twice, and flagged), and
   ``"error"`` refuses a world size that does not divide ``n_items``;
3. each rank's slice cut into windows of ``window`` positions, each window
   shuffled by a draw from (seed, epoch, the window's first position): the
   shuffle buffer, made a pure function of position so it can be resumed;
4. window ``j`` goes to worker ``j % n_workers``; a worker cuts its windows
   into batches of ``batch_size`` (``window`` is a multiple of it, so only a
   rank's very last batch can be short).

The contiguous slices keep a rank's and a worker's reads to few units, unlike
striding item by item, which would make every worker read every unit.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..errors import ParameterError

REMAINDERS = ("drop", "pad", "error")

_TAG_UNITS = 1
_TAG_WINDOW = 2


def rng_for(seed: int, epoch: int, *key: int) -> np.random.Generator:
    """A generator that is a pure function of (seed, epoch, key...)."""
    return np.random.Generator(np.random.Philox(np.random.SeedSequence([int(seed), int(epoch), *map(int, key)])))


def hash_uniform(seed: int, epoch: int, ids: np.ndarray, salt: int) -> np.ndarray:
    """Uniform floats in [0, 1), one per id: a pure function of (seed, epoch, id, salt).

    A SplitMix64 finaliser over the mixed integers; used for per-item choices
    (crop offsets, pair frames) so that they do not depend on the order in
    which items are drawn.
    """
    with np.errstate(over="ignore"):
        x = np.asarray(ids, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        x ^= np.uint64(int(seed) % 2**64) * np.uint64(0xBF58476D1CE4E5B9)
        x ^= np.uint64((int(epoch) * 0x94D049BB133111EB + int(salt) * 0xD6E8FEB86659FD93) % 2**64)
        for shift, mult in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB)):
            x = (x ^ (x >> np.uint64(shift))) * np.uint64(mult)
        x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) / float(2**53)


@dataclasses.dataclass(frozen=True)
class EpochPlan:
    """The sequence of one epoch (module docstring) for one rank.

    Parameters
    ----------
    unit_sizes : (U,) int array
        Items per unit; unit ``u`` holds item ids ``item_start[u] + 0..size-1``.
    seed, epoch : int
    shuffle : bool
        Shuffle units and windows; without it items come in id order.
    rank, world_size : int
    n_workers : int
        Reading processes of this rank (DataLoader workers; 1 for in-process).
    batch_size : int
    window : int
        Shuffle-window length in items, rounded up to a multiple of ``batch_size``.
    remainder : {"drop", "pad", "error"}
    drop_last : bool
        Leave out a rank's last batch if it is short.
    """

    unit_sizes: np.ndarray
    seed: int
    epoch: int
    shuffle: bool
    rank: int
    world_size: int
    n_workers: int
    batch_size: int
    window: int
    remainder: str
    drop_last: bool

    def __post_init__(self):
        sizes = np.asarray(self.unit_sizes, dtype=np.int64)
        object.__setattr__(self, "unit_sizes", sizes)
        checks = [
            (self.world_size >= 1, f"world_size must be >= 1, got {self.world_size}"),
            (0 <= self.rank < self.world_size, f"rank must lie in [0, world_size={self.world_size}), got {self.rank}"),
            (self.n_workers >= 1, f"n_workers must be >= 1, got {self.n_workers}"),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (self.window >= 1, f"window must be >= 1, got {self.window}"),
            (self.remainder in REMAINDERS, f"remainder must be one of {REMAINDERS}, got {self.remainder!r}"),
            (sizes.ndim == 1 and (sizes >= 0).all(), "unit sizes must be a 1-d array of counts >= 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ParameterError(message + ".")
        object.__setattr__(self, "window", math.ceil(self.window / self.batch_size) * self.batch_size)
        if self.remainder == "error" and self.n_items % self.world_size:
            raise ParameterError(
                f"{self.n_items} items do not divide evenly over {self.world_size} ranks (remainder='error'): "
                f"{self.n_items % self.world_size} would be left out or repeated. Use a world size that divides "
                f"{self.n_items}, or remainder='drop' or 'pad'."
            )
        if self.per_rank == 0:
            raise ParameterError(
                f"{self.n_items} items cannot be split over {self.world_size} ranks with remainder='drop': "
                f"each rank would get none. Use more data, fewer ranks, or remainder='pad'."
            )

    # ------------------------------------------------------------------ sizes

    @property
    def n_items(self) -> int:
        return int(self.unit_sizes.sum())

    @property
    def per_rank(self) -> int:
        """Items each rank yields per epoch (before ``drop_last``)."""
        if self.remainder != "pad":
            return self.n_items // self.world_size
        return -(-self.n_items // self.world_size) if self.n_items else 0

    @property
    def n_windows(self) -> int:
        return -(-self.per_rank // self.window)

    def worker_items(self, worker: int) -> int:
        """Items worker ``worker`` yields per epoch, before ``drop_last``."""
        windows = range(worker, self.n_windows, self.n_workers)
        return sum(min(self.window, self.per_rank - j * self.window) for j in windows)

    def worker_batches(self, worker: int) -> int:
        """Batches worker ``worker`` yields per epoch."""
        items = self.worker_items(worker)
        full, short = divmod(items, self.batch_size)
        return full + (1 if short and not self.drop_last else 0)

    def n_batches(self) -> int:
        """Batches this rank yields per epoch, over all its workers."""
        return sum(self.worker_batches(w) for w in range(self.n_workers))

    # ------------------------------------------------------------------ order

    def item_ids(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Item ids at epoch positions, and whether each is a pad (a wrapped-around repeat)."""
        positions = np.asarray(positions, dtype=np.int64)
        order = np.arange(self.unit_sizes.size)
        if self.shuffle:
            order = rng_for(self.seed, self.epoch, _TAG_UNITS).permutation(self.unit_sizes.size)
        item_start = np.concatenate([[0], np.cumsum(self.unit_sizes)[:-1]])
        ordered_end = np.cumsum(self.unit_sizes[order])
        wrapped = positions % self.n_items
        slot = np.searchsorted(ordered_end, wrapped, side="right")
        offset = wrapped - (ordered_end[slot] - self.unit_sizes[order][slot])
        return item_start[order[slot]] + offset, positions >= self.n_items

    def window_positions(self, j: int) -> np.ndarray:
        """Epoch positions of this rank's window ``j``, in the order they are yielded."""
        first = self.rank * self.per_rank + j * self.window
        positions = np.arange(first, first + min(self.window, self.per_rank - j * self.window), dtype=np.int64)
        if self.shuffle:
            rng_for(self.seed, self.epoch, _TAG_WINDOW, first).shuffle(positions)
        return positions

    def batches(self, worker: int, skip: int = 0):
        """Yield ``(batch_index, window, positions)`` of worker ``worker``'s batches, from batch ``skip`` on.

        ``batch_index`` counts the worker's batches from the start of the
        epoch, skipped ones included.
        """
        if not 0 <= worker < self.n_workers:
            raise ParameterError(f"worker must lie in [0, {self.n_workers}), got {worker}.")
        index = 0
        for j in range(worker, self.n_windows, self.n_workers):
            n_in_window = -(-min(self.window, self.per_rank - j * self.window) // self.batch_size)
            if index + n_in_window <= skip:
                index += n_in_window
                continue
            positions = self.window_positions(j)
            for b in range(n_in_window):
                if index >= skip:
                    batch = positions[b * self.batch_size : (b + 1) * self.batch_size]
                    if batch.size == self.batch_size or not self.drop_last:
                        yield index, j, batch
                index += 1
