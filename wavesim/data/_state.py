"""Where an epoch stands and how to resume it: the state protocol of the store-backed datasets.

Two kinds of caller save and restore this state, and ``state_dict()`` answers
for the copy of the dataset it is called on:

* the training loop, in the training process, through the dataset itself or
  :class:`~wavesim.data.BatchLoader` (``loader.state_dict()``): the rank's
  place in the epoch, the batches handed out by each DataLoader worker
  (``"scope": "rank"``);
* torchdata's ``StatefulDataLoader``, which calls ``state_dict()`` on each
  worker's copy after each batch, keeps the snapshot of the batch the
  training loop last got, and on resume hands every worker its own snapshot
  through ``load_state_dict()`` before the worker calls ``iter()``; the
  state of one worker: its epoch, its place among the workers and the
  batches it has handed out (``"scope": "worker"``). With ``num_workers=0``
  it calls both in the training process, where the state is the rank's.

Either way a resumed epoch yields exactly the batches an uninterrupted one
would have yielded after the saved batch, in the same order: the epoch plan
(:mod:`wavesim.data._plan`) is a pure function of (seed, epoch, worker), so
a worker resumes by skipping its first batches without reading them.
"""

from __future__ import annotations

import multiprocessing.sharedctypes
from typing import Any

from torch.utils.data import get_worker_info

from ..errors import ParameterError
from ..validate import check_int

#: Most DataLoader workers per rank whose resume position shared memory holds.
MAX_WORKERS = 256
_STATE_VERSION = 1
_EPOCH, _RESUME_EPOCH, _RESUME_WORKERS, _ROTATION, _SKIPS = 0, 1, 2, 3, 4
_TAKEN = _SKIPS + MAX_WORKERS
_WORKER_KEYS = ("version", "epoch", "n_workers", "worker", "batches", "fingerprint")


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
        _check_workers(len(skips), n_workers)
        self._a[_TAKEN + process] = 1
        worker = (process + self._a[_ROTATION]) % n_workers
        return worker, skips[worker]


def _check_workers(saved: int, now: int) -> None:
    if saved != now:
        raise ParameterError(
            f"this epoch was resumed from a state saved with {saved} DataLoader worker(s) but now runs with "
            f"{now}; resume with num_workers={saved if saved > 1 else 0}."
        )


def _next_worker(plan, consumed: list[int]) -> int:
    """The worker whose batch comes next when ``consumed[w]`` batches of each were handed out round-robin."""
    left = [plan.worker_batches(w) - c for w, c in enumerate(consumed)]
    start = sum(consumed) % len(consumed)
    for k in range(len(consumed)):
        w = (start + k) % len(consumed)
        if left[w] > 0:
            return w
    return 0


class ResumableEpochs:
    """Epochs, and the ``state_dict`` / ``load_state_dict`` protocol, of a dataset planned by ``EpochPlan``.

    The dataset provides ``plan(epoch, n_workers)`` and ``_fingerprint()``
    and iterates through :meth:`_begin_pass` and :meth:`_handed_out`.
    """

    def _init_progress(self) -> None:
        self._shared = _SharedProgress()
        self._n_workers = 1
        self._consumed: list[int] = [0]
        #: This process's pass: epoch, n_workers, worker (the plan's) and batches handed out.
        self._position: dict[str, int] | None = None
        #: A worker's own resume position, loaded in that worker (StatefulDataLoader) and taken by its next pass.
        self._worker_resume: dict[str, int] | None = None

    @property
    def epoch(self) -> int:
        return self._shared.epoch

    def set_epoch(self, epoch: int) -> None:
        """Start epoch ``epoch``: a new order, crops and pairs. Call on every rank before iterating."""
        self._shared.set_epoch(check_int("epoch", epoch, low=0))
        self._consumed = [0] * self._n_workers

    # ------------------------------------------------------------------ the protocol

    def state_dict(self) -> dict[str, Any]:
        """Where this copy of the dataset is in the current epoch, to resume it with :meth:`load_state_dict`.

        In the training process: the rank's place, exact when the batches
        were drawn in this process or through :meth:`loader`, which records
        each batch as the training loop gets it. In a DataLoader worker
        (where torchdata's ``StatefulDataLoader`` asks after every batch):
        that worker's place.
        """
        info = get_worker_info()
        if info is None:
            return {
                "version": _STATE_VERSION,
                "scope": "rank",
                "epoch": self.epoch,
                "worker_batches": list(self._consumed),
                "fingerprint": self._fingerprint(),
            }
        position = self._worker_resume or self._position or {
            "epoch": self.epoch, "n_workers": info.num_workers, "worker": info.id, "batches": 0}
        return {"version": _STATE_VERSION, "scope": "worker", **position, "fingerprint": self._fingerprint()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume mid-epoch: the next pass yields exactly the batches not yet consumed.

        Takes a state of :meth:`state_dict`: the rank's, in the training
        process (through the dataset or its :class:`BatchLoader`), or a
        worker's, in that worker (as ``StatefulDataLoader`` does).

        Raises
        ------
        ParameterError
            If ``state`` is not such a state, was saved for another dataset,
            seed or sharding, or does not fit this epoch's plan.
        """
        if not isinstance(state, dict) or state.get("scope", "rank") not in ("rank", "worker"):
            raise ParameterError("state must be a dict from state_dict() with version, epoch, worker_batches "
                                 "and fingerprint.")
        if state.get("scope") == "worker":
            self._load_worker_state(state)
            return
        try:
            version, epoch, skips, fingerprint = (state[k] for k in ("version", "epoch", "worker_batches",
                                                                     "fingerprint"))
        except KeyError:
            raise ParameterError("state must be a dict from state_dict() with version, epoch, worker_batches "
                                 "and fingerprint.") from None
        self._check_saved(version, fingerprint)
        if get_worker_info() is not None:
            raise ParameterError("a rank's state (from the dataset or its BatchLoader in the training process) "
                                 "loads in the training process, not inside a DataLoader worker.")
        if not 1 <= len(skips) <= MAX_WORKERS:
            raise ParameterError(f"state has {len(skips)} workers; at most {MAX_WORKERS} are supported.")
        self._n_workers = len(skips)
        plan = self.plan(epoch)
        for w, s in enumerate(skips):
            self._check_batches(plan, w, s)
        self._shared.set_resume(int(epoch), [int(s) for s in skips], _next_worker(plan, skips))
        self._consumed = [int(s) for s in skips]

    def _load_worker_state(self, state: dict[str, Any]) -> None:
        missing = [k for k in _WORKER_KEYS if k not in state]
        if missing:
            raise ParameterError(f"a worker's state needs {', '.join(_WORKER_KEYS)}; it lacks {', '.join(missing)}.")
        self._check_saved(state["version"], state["fingerprint"])
        epoch, n_workers, worker, batches = (int(state[k]) for k in ("epoch", "n_workers", "worker", "batches"))
        info = get_worker_info()
        _check_workers(n_workers, info.num_workers if info is not None else 1)
        plan = self.plan(epoch, n_workers)
        if not 0 <= worker < n_workers:
            raise ParameterError(f"state names worker {worker}; there are {n_workers}.")
        self._check_batches(plan, worker, batches)
        if info is None:  # one worker's state is the rank's when the training process reads alone
            self._n_workers = 1
            self._shared.set_resume(epoch, [batches], 0)
            self._consumed = [batches]
            return
        self._worker_resume = {"epoch": epoch, "n_workers": n_workers, "worker": worker, "batches": batches}

    def _check_saved(self, version, fingerprint) -> None:
        if version != _STATE_VERSION:
            raise ParameterError(f"state has version {version!r}; this wavesim reads version {_STATE_VERSION}.")
        ours = self._fingerprint()
        if not isinstance(fingerprint, dict):
            raise ParameterError("state's fingerprint must be the dict that state_dict() wrote.")
        differ = [f"{k}: saved {fingerprint.get(k)!r}, now {ours[k]!r}" for k in ours if fingerprint.get(k) != ours[k]]
        if differ:
            raise ParameterError("state was saved for a different dataset or sharding (" + "; ".join(differ) + ").")

    @staticmethod
    def _check_batches(plan, worker: int, batches: int) -> None:
        if not 0 <= batches <= plan.worker_batches(worker):
            raise ParameterError(f"state says worker {worker} consumed {batches} batches; it has "
                                 f"{plan.worker_batches(worker)} in this epoch.")

    # ------------------------------------------------------------------ passes

    def _begin_pass(self) -> tuple[int, int, int, int]:
        """``(epoch, plan worker, n_workers, batches to skip)`` of the pass this process starts now."""
        info = get_worker_info()
        process, n_workers = (info.id, info.num_workers) if info is not None else (0, 1)
        if n_workers > MAX_WORKERS:
            raise ParameterError(f"at most {MAX_WORKERS} DataLoader workers per rank are supported, got {n_workers}.")
        if self._worker_resume is not None:
            resume, self._worker_resume = self._worker_resume, None
            epoch, worker, skip = resume["epoch"], resume["worker"], resume["batches"]
        else:
            worker, skip = self._shared.take(process, n_workers)
            epoch = self.epoch
        self._position = {"epoch": epoch, "n_workers": n_workers, "worker": worker, "batches": skip}
        if info is None:
            self._n_workers = 1
            self._consumed = [skip]
        return epoch, worker, n_workers, skip

    def _handed_out(self, batch: dict[str, Any]) -> None:
        """Record, in the process that made it, that ``batch`` leaves this pass."""
        self._position["batches"] = int(batch["worker_batch"]) + 1
        if get_worker_info() is None:
            self.note_consumed(batch)

    def note_consumed(self, batch: dict[str, Any]) -> None:
        """Record that the training loop got ``batch`` (done by :meth:`loader` and in-process iteration)."""
        worker, index = int(batch["worker"]), int(batch["worker_batch"])
        if worker >= len(self._consumed):
            self._consumed.extend([0] * (worker + 1 - len(self._consumed)))
        self._consumed[worker] = index + 1
