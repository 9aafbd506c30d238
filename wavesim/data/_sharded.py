"""What the store-backed datasets share: sharding, epochs, resumable state, the loader.

A dataset here yields whole batches (use it with ``DataLoader(batch_size=None)``,
which :meth:`ShardedDataset.loader` does): batching inside the worker lets the
worker read each unit once per shuffle window and collate with NumPy, and it
makes the main process's batch order a fixed function of the plan (torch hands
out worker results round-robin), which is what makes an epoch resumable.
"""

from __future__ import annotations

import os
from typing import Any, Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset

from ..errors import ParameterError
from ..validate import check_int, check_seed
from ._plan import REMAINDERS, EpochPlan
from ._state import MAX_WORKERS, ResumableEpochs


def distributed_rank_and_size(rank: int | None, world_size: int | None) -> tuple[int, int]:
    """``(rank, world_size)``: as given, else from an initialised ``torch.distributed``, else (0, 1)."""
    if (rank is None) != (world_size is None):
        raise ParameterError("give both rank and world_size, or neither (to take them from torch.distributed).")
    if rank is None:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            return dist.get_rank(), dist.get_world_size()
        return 0, 1
    rank, world_size = int(rank), int(world_size)
    if world_size < 1 or not 0 <= rank < world_size:
        raise ParameterError(f"rank must lie in [0, world_size) and world_size >= 1; got rank={rank}, world_size={world_size}.")
    return rank, world_size


class ShardedDataset(ResumableEpochs, IterableDataset):
    """Base of the store-backed datasets: yields batches planned by :class:`~wavesim.data._plan.EpochPlan`.

    Subclasses set ``self._unit_sizes`` and implement ``_make_batch``.
    """

    def __init__(self, *, batch_size: int, shuffle: bool, shuffle_window: int, seed: int, rank: int | None,
                 world_size: int | None, remainder: str, drop_last: bool):
        self.batch_size = check_int("batch_size", batch_size, low=1)
        self.shuffle_window = check_int("shuffle_window", shuffle_window, low=1)
        self.seed = check_seed("seed", seed)
        if remainder not in REMAINDERS:
            raise ParameterError(f"remainder must be one of {REMAINDERS}, got {remainder!r}.")
        self.shuffle = bool(shuffle)
        self.rank, self.world_size = distributed_rank_and_size(rank, world_size)
        self.remainder = remainder
        self.drop_last = bool(drop_last)
        self._init_progress()
        self._unit_sizes = np.zeros(0, dtype=np.int64)

    # ------------------------------------------------------------------ planning

    def plan(self, epoch: int | None = None, n_workers: int | None = None) -> EpochPlan:
        """This rank's plan of an epoch (default: the current one) for ``n_workers`` readers."""
        return EpochPlan(
            unit_sizes=self._unit_sizes,
            seed=self.seed,
            epoch=self.epoch if epoch is None else epoch,
            shuffle=self.shuffle,
            rank=self.rank,
            world_size=self.world_size,
            n_workers=max(1, self._n_workers if n_workers is None else n_workers),
            batch_size=self.batch_size,
            window=self.shuffle_window,
            remainder=self.remainder,
            drop_last=self.drop_last,
        )

    @property
    def n_items(self) -> int:
        """Items (clips, pairs) in one epoch over all ranks, before dropping or padding."""
        return int(self._unit_sizes.sum())

    def __len__(self) -> int:
        """Batches this rank yields per epoch (what ``len(DataLoader(ds, batch_size=None))`` reports)."""
        return self.plan().n_batches()

    # ------------------------------------------------------------------ state

    def _fingerprint(self) -> dict[str, Any]:
        return {
            "n_items": self.n_items,
            "seed": self.seed,
            "shuffle": self.shuffle,
            "rank": self.rank,
            "world_size": self.world_size,
            "batch_size": self.batch_size,
            "shuffle_window": self.shuffle_window,
            "remainder": self.remainder,
            "drop_last": self.drop_last,
        }

    # ------------------------------------------------------------------ iteration

    def __iter__(self) -> Iterator[dict[str, Any]]:
        # The pass starts here, not at the first batch: StatefulDataLoader asks a worker for its state right
        # after iter(), and that state must be this pass's.
        epoch, worker, n_workers, skip = self._begin_pass()
        return self._batches(self.plan(epoch, n_workers), worker, skip)

    def _batches(self, plan: EpochPlan, worker: int, skip: int) -> Iterator[dict[str, Any]]:
        for index, window, positions in plan.batches(worker, skip):
            batch = self._make_batch(plan, positions, window)
            batch.update(epoch=plan.epoch, worker=worker, worker_batch=index)
            self._handed_out(batch)
            yield batch

    def _make_batch(self, plan: EpochPlan, positions: np.ndarray, window: int) -> dict[str, Any]:
        raise NotImplementedError

    # ------------------------------------------------------------------ loading

    def loader(self, num_workers: int = 0, **dataloader_kwargs) -> "BatchLoader":
        """A DataLoader over this dataset that records progress for :meth:`state_dict`.

        Keyword arguments go to :class:`torch.utils.data.DataLoader`
        (``pin_memory``, ``persistent_workers``, ``prefetch_factor``,
        ``multiprocessing_context``...); ``batch_size`` is this dataset's.
        """
        if "batch_size" in dataloader_kwargs or "sampler" in dataloader_kwargs:
            raise ParameterError("the dataset batches its own items: set batch_size on the dataset, not the loader.")
        return BatchLoader(self, num_workers=num_workers, **dataloader_kwargs)


class BatchLoader:
    """Iterates a :class:`ShardedDataset` through a DataLoader and records each batch it hands out."""

    def __init__(self, dataset: ShardedDataset, num_workers: int = 0, **dataloader_kwargs):
        num_workers = check_int("num_workers", num_workers, low=0, high=MAX_WORKERS)
        self.dataset = dataset
        self.num_workers = num_workers
        self._loader = DataLoader(dataset, batch_size=None, num_workers=num_workers, **dataloader_kwargs)

    def __len__(self) -> int:
        return self.dataset.plan(n_workers=max(1, self.num_workers)).n_batches()

    def __iter__(self):
        n = max(1, self.num_workers)
        ds = self.dataset
        pending = ds._shared.pending()
        ds._n_workers = n
        ds._consumed = list(pending) if pending is not None and len(pending) == n else [0] * n
        for batch in self._loader:
            ds.note_consumed(batch)
            yield batch

    def state_dict(self) -> dict[str, Any]:
        return self.dataset.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.dataset.load_state_dict(state)

    def set_epoch(self, epoch: int) -> None:
        self.dataset.set_epoch(epoch)


def worker_pid_cache(holder: dict, key, opener):
    """``opener()`` once per process: handles opened before a fork are not reused after it."""
    pid = os.getpid()
    if holder.get("pid") != pid:
        holder.clear()
        holder["pid"] = pid
    if key not in holder:
        holder[key] = opener()
    return holder[key]


def as_tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array))
