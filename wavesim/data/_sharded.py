"""What the store-backed datasets share: sharding, epochs, resumable state, the loader.

A dataset here yields whole batches (use it with ``DataLoader(batch_size=None)``,
which :meth:`ShardedDataset.loader` does): batching inside the worker lets the
worker read each unit once per shuffle window and collate with NumPy, and it
makes the main process's batch order a fixed function of the plan (torch hands
out worker results round-robin), which is what makes an epoch resumable.
"""

from __future__ import annotations

import multiprocessing.sharedctypes
import os
from typing import Any, Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from ..errors import ParameterError
from ._plan import REMAINDERS, EpochPlan

#: Most DataLoader workers per rank whose resume position shared memory holds.
MAX_WORKERS = 256
_STATE_VERSION = 1
_EPOCH, _RESUME_EPOCH, _RESUME_WORKERS, _ROTATION, _SKIPS = 0, 1, 2, 3, 4
_TAKEN = _SKIPS + MAX_WORKERS


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


class _SharedProgress:
    """Epoch and pending resume position in shared memory.

    Persistent DataLoader workers keep the copy of the dataset made when they
    started; shared memory is how ``set_epoch`` and ``load_state_dict`` in the
    main process reach them. Each worker process takes the resume position
    once, so a second pass over the same epoch runs it whole.

    torch hands out batches round-robin starting at worker process 0, so a
    resumed pass maps worker process ``p`` to the plan's worker
    ``(p + rotation) % n``, with ``rotation`` the worker whose batch was next:
    the batches then arrive in the order of an uninterrupted pass.
    """

    def __init__(self):
        self._a = multiprocessing.sharedctypes.RawArray("q", _TAKEN + MAX_WORKERS)

    @property
    def epoch(self) -> int:
        return int(self._a[_EPOCH])

    def set_epoch(self, epoch: int) -> None:
        self._a[_EPOCH] = epoch
        self._a[_RESUME_WORKERS] = 0
        self._a[_ROTATION] = 0
        self._a[_SKIPS:] = [0] * (2 * MAX_WORKERS)

    def set_resume(self, epoch: int, skips: list[int], rotation: int) -> None:
        self.set_epoch(epoch)
        self._a[_RESUME_EPOCH] = epoch
        self._a[_RESUME_WORKERS] = len(skips)
        self._a[_ROTATION] = rotation
        self._a[_SKIPS : _SKIPS + len(skips)] = skips

    def pending(self) -> list[int] | None:
        """The resume position (batches consumed per plan worker) if some worker has yet to take it."""
        n = self._a[_RESUME_WORKERS]
        if n == 0 or self._a[_RESUME_EPOCH] != self._a[_EPOCH] or all(self._a[_TAKEN : _TAKEN + n]):
            return None
        return list(self._a[_SKIPS : _SKIPS + n])

    def take(self, process: int, n_workers: int) -> tuple[int, int]:
        """``(plan worker, batches to skip)`` for worker process ``process`` of ``n_workers``."""
        skips = self.pending()
        if skips is None or self._a[_TAKEN + process]:
            return process, 0
        if n_workers != len(skips):
            raise ParameterError(
                f"this epoch was resumed from a state saved with {len(skips)} DataLoader worker(s) "
                f"but now runs with {n_workers}; resume with num_workers={len(skips) if len(skips) > 1 else 0}."
            )
        self._a[_TAKEN + process] = 1
        worker = (process + self._a[_ROTATION]) % n_workers
        return worker, skips[worker]


class ShardedDataset(IterableDataset):
    """Base of the store-backed datasets: yields batches planned by :class:`~wavesim.data._plan.EpochPlan`.

    Subclasses set ``self._unit_sizes`` and implement ``_make_batch``.
    """

    def __init__(self, *, batch_size: int, shuffle: bool, shuffle_window: int, seed: int, rank: int | None,
                 world_size: int | None, remainder: str, drop_last: bool):
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ParameterError(f"batch_size must be a positive integer, got {batch_size!r}.")
        if not isinstance(shuffle_window, int) or shuffle_window < 1:
            raise ParameterError(f"shuffle_window must be a positive integer, got {shuffle_window!r}.")
        if not isinstance(seed, int) or not 0 <= seed < 2**63:
            raise ParameterError(f"seed must be an integer in [0, 2**63), got {seed!r}.")
        if remainder not in REMAINDERS:
            raise ParameterError(f"remainder must be one of {REMAINDERS}, got {remainder!r}.")
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.shuffle_window = shuffle_window
        self.seed = seed
        self.rank, self.world_size = distributed_rank_and_size(rank, world_size)
        self.remainder = remainder
        self.drop_last = bool(drop_last)
        self._shared = _SharedProgress()
        self._n_workers = 1
        self._consumed: list[int] = [0]
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

    # ------------------------------------------------------------------ epochs and state

    @property
    def epoch(self) -> int:
        return self._shared.epoch

    def set_epoch(self, epoch: int) -> None:
        """Start epoch ``epoch``: a new order, crops and pairs. Call on every rank before iterating."""
        if not isinstance(epoch, (int, np.integer)) or epoch < 0:
            raise ParameterError(f"epoch must be a non-negative integer, got {epoch!r}.")
        self._shared.set_epoch(int(epoch))
        self._consumed = [0] * self._n_workers

    def state_dict(self) -> dict[str, Any]:
        """Where this rank is in the current epoch, to resume it with :meth:`load_state_dict`.

        Exact when the batches were drawn in this process, or through
        :meth:`loader`, which records each batch as the training loop gets it.
        """
        return {
            "version": _STATE_VERSION,
            "epoch": self.epoch,
            "worker_batches": list(self._consumed),
            "fingerprint": self._fingerprint(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume mid-epoch: the next pass yields exactly the batches not yet consumed."""
        try:
            version, epoch, skips, fingerprint = (state[k] for k in ("version", "epoch", "worker_batches", "fingerprint"))
        except (KeyError, TypeError):
            raise ParameterError("state must be a dict from state_dict() with version, epoch, worker_batches and fingerprint.") from None
        if version != _STATE_VERSION:
            raise ParameterError(f"state has version {version!r}; this wavesim reads version {_STATE_VERSION}.")
        ours = self._fingerprint()
        differ = [f"{k}: saved {fingerprint.get(k)!r}, now {ours[k]!r}" for k in ours if fingerprint.get(k) != ours[k]]
        if differ:
            raise ParameterError("state was saved for a different dataset or sharding (" + "; ".join(differ) + ").")
        if not 1 <= len(skips) <= MAX_WORKERS:
            raise ParameterError(f"state has {len(skips)} workers; at most {MAX_WORKERS} are supported.")
        self._n_workers = len(skips)
        plan = self.plan(epoch)
        for w, s in enumerate(skips):
            if not 0 <= s <= plan.worker_batches(w):
                raise ParameterError(f"state says worker {w} consumed {s} batches; it has {plan.worker_batches(w)} in this epoch.")
        self._shared.set_resume(int(epoch), [int(s) for s in skips], _next_worker(plan, skips))
        self._consumed = [int(s) for s in skips]

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

    def note_consumed(self, batch: dict[str, Any]) -> None:
        """Record that the training loop got ``batch`` (done by :meth:`loader` and in-process iteration)."""
        worker, index = int(batch["worker"]), int(batch["worker_batch"])
        if worker >= len(self._consumed):
            self._consumed.extend([0] * (worker + 1 - len(self._consumed)))
        self._consumed[worker] = index + 1

    # ------------------------------------------------------------------ iteration

    def __iter__(self) -> Iterator[dict[str, Any]]:
        info = get_worker_info()
        worker, n_workers = (info.id, info.num_workers) if info is not None else (0, 1)
        if n_workers > MAX_WORKERS:
            raise ParameterError(f"at most {MAX_WORKERS} DataLoader workers per rank are supported, got {n_workers}.")
        worker, skip = self._shared.take(worker, n_workers)
        epoch = self.epoch
        plan = self.plan(epoch, n_workers)
        in_process = info is None
        if in_process:
            self._n_workers = 1
            self._consumed = [skip]
        for index, window, positions in plan.batches(worker, skip):
            batch = self._make_batch(plan, positions, window)
            batch.update(epoch=epoch, worker=worker, worker_batch=index)
            if in_process:
                self.note_consumed(batch)
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


def _next_worker(plan: EpochPlan, consumed: list[int]) -> int:
    """The worker whose batch comes next when ``consumed[w]`` batches of each were handed out round-robin."""
    left = [plan.worker_batches(w) - c for w, c in enumerate(consumed)]
    start = sum(consumed) % len(consumed)
    for k in range(len(consumed)):
        w = (start + k) % len(consumed)
        if left[w] > 0:
            return w
    return 0


class BatchLoader:
    """Iterates a :class:`ShardedDataset` through a DataLoader and records each batch it hands out."""

    def __init__(self, dataset: ShardedDataset, num_workers: int = 0, **dataloader_kwargs):
        if not isinstance(num_workers, int) or not 0 <= num_workers <= MAX_WORKERS:
            raise ParameterError(f"num_workers must be an integer in [0, {MAX_WORKERS}], got {num_workers!r}.")
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
