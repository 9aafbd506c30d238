"""Candidates simulated rung by rung (:mod:`wavesim.fit.fidelity`), on worker processes or in this one.

A candidate's retinas run from step 0; at each rung they advance to the
rung's window, record the electrode pixels over it and are scored as
recordings; between rungs each retina's state is kept (a few tens of kB),
so a candidate that goes on continues where it stopped. The last rung's
window is the full objective's (the warm-up, then the recording), so its
distance is bit for bit :meth:`Objective.evaluate`'s.

Where the work runs:

- ``workers > 1`` (the CPU engines): this process and ``workers - 1``
  worker processes, each with one Numba thread; every (candidate, retina)
  is a task of its own, handed to whichever is free, so the cores stay busy
  however unequal the candidates' costs (a candidate whose waves are
  frequent costs several times one whose waves are rare), and the analysis
  of the virtual recordings runs in parallel too. Workers are started with
  ``spawn`` when the first rung runs: a script that calls
  :func:`wavesim.fit.fit` needs the usual ``if __name__ == "__main__":`` guard.
- ``workers == 1`` (``cuda``, or one core): all candidates and retinas of a
  rung in one :class:`~wavesim.Simulation` batch in this process, as
  :meth:`Objective.evaluate` simulates them.

Results do not depend on where they ran: retinas are independent, and each
keeps its seed and its electrodes' seed.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Sequence

import numpy as np

from ..errors import ParameterError, WavesimError
from ..models import model_of
from ..simulate import Simulation, SimulationState
from ..warm_cache import default_warm_cache, warm_up
from .fidelity import Rung
from .objective import Evaluation
from .statistics import FitStatistics, fit_statistics

__all__ = ["StagedEvaluator", "default_workers"]


def default_workers(backend: str) -> int:
    """Worker processes of a fit on ``backend`` (resolved): one per usable core on the CPU engines, else 1."""
    if backend == "cuda":
        return 1
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclasses.dataclass(frozen=True)
class _Problem:
    """What a worker needs to advance and score retinas: the virtual arrays, their retina groups, the rungs."""

    arrays: tuple
    groups: tuple[tuple[int, ...], ...]  # indices of the arrays that share one retina size
    rungs: tuple[Rung, ...]
    warmup_s: float
    analysis: object
    min_channel_rate_hz: float
    backend: str


@dataclasses.dataclass(frozen=True)
class _Run:
    """Retinas of one retina group, simulated as one batch: their parameters, retina indices and state."""

    group: int
    params: tuple
    retinas: tuple[int, ...]
    state: SimulationState | None  # None before the first rung
    # the electrode frames of the full recording read so far (rungs at its start), (B, n, pixels)
    recorded: np.ndarray | None = None


def _run_rung(problem: _Problem, run: _Run, k: int) -> tuple[_Run, list[list[FitStatistics]]]:
    """Advance ``run`` through rung ``k``'s window and score it: statistics[b][m] of retina b, member array m."""
    rung = problem.rungs[k]
    members = [problem.arrays[m] for m in problem.groups[run.group]]
    first = members[0]
    in_recording = rung.start_s >= problem.warmup_s  # the window is the start of the full recording
    if run.state is None:
        sim = Simulation(list(run.params), [first.retina_seeds[r] for r in run.retinas],
                         retina=first.retina_for(run.params[0]),
                         readout=first.readout, backend=problem.backend)
        start = sim.steps_for(rung.start_s)
        if in_recording:  # no rung inside the warm-up: a cached warm-up serves as well as a simulated one
            warm_up(sim, start, default_warm_cache(first.warm_cache))
        else:
            sim.advance(start)
    else:
        sim = Simulation.from_state(run.state, backend=problem.backend)
        if run.recorded is None:
            sim.advance(sim.steps_for(rung.start_s) - sim.step)
    lengths = [_window_frames(a, rung) for a in members]
    codes = np.unique(np.concatenate([a.pixel_codes for a in members]))
    rows, cols = np.divmod(codes, first._width_px)
    done = 0 if run.recorded is None else run.recorded.shape[1]
    # Going on with a recording, the first frame read is the last one of the rung before (frame 0 is "now").
    again = 1 if done else 0
    frames = np.empty((sim.batch_size, max(lengths) - done + again, codes.size), dtype=np.uint8)
    for start, chunk in sim.frames(frames.shape[1], chunk_frames=256, pixels=(rows, cols)):
        frames[:, start:start + chunk.shape[1]] = sim.to_host(chunk)
    if done:
        frames = np.concatenate([run.recorded, frames[:, again:]], axis=1)
    columns = [np.searchsorted(codes, a.pixel_codes) for a in members]
    statistics = [[fit_statistics(a.recording(frames[b, :n][:, c], r), problem.analysis,
                                  problem.min_channel_rate_hz)
                   for a, n, c in zip(members, lengths, columns)]
                  for b, r in enumerate(run.retinas)]
    if rung.full:
        return dataclasses.replace(run, state=None, recorded=None), statistics
    return dataclasses.replace(run, state=sim.save_state(), recorded=frames if in_recording else None), statistics


def _window_frames(array, rung: Rung) -> int:
    """Frames of ``array``'s window at ``rung`` (its whole recording at the full rung)."""
    if rung.full:
        return array.n_frames
    return max(1, int(round(rung.fraction * array.duration_s / array.simulation.frame_period_s)))


def _prepare_worker(backend: str, model: str) -> None:
    """Worker start-up: one Numba thread (the processes share the cores), and the engine loaded before any task."""
    import numba

    from ..lattice import Retina
    from ..models import get_model

    numba.set_num_threads(1)
    Simulation(get_model(model).preset(), [0], retina=Retina(width_um=200.0, height_um=200.0),
               backend=backend).advance(1)


class StagedEvaluator:
    """Scores candidates of an objective rung by rung.

    Parameters
    ----------
    objective : Objective or PooledObjective
    rungs : sequence of Rung
        From :func:`~wavesim.fit.fidelity.rung_schedule`; the last is the full objective.
    backend : str
        The resolved backend (``cpu``, ``cpu-events`` or ``cuda``).
    workers : int
        Worker processes; 1 simulates in this process.

    Use as a context manager (the pool is shut down on exit)::

        with StagedEvaluator(objective, rungs, "cpu-events", 2) as staged:
            runs = staged.start(candidates)
            evaluations = staged.score(runs, 0)
    """

    def __init__(self, objective, rungs: Sequence[Rung], backend: str, workers: int):
        if int(workers) < 1:
            raise ParameterError(f"workers must be at least 1, got {workers}.")
        arrays = [part.array for part in objective.parts]
        groups: dict[tuple, list[int]] = {}
        for index, array in enumerate(arrays):
            groups.setdefault(array._retina_key(), []).append(index)
        self.objective = objective
        self.problem = _Problem(tuple(arrays), tuple(tuple(g) for g in groups.values()), tuple(rungs),
                                objective.simulation.warmup_s, objective.analysis,
                                objective.settings.min_channel_rate_hz, backend)
        self.workers = int(workers)
        self.n_retinas = objective.simulation.n_retinas
        self._pool = None

    def __enter__(self) -> "StagedEvaluator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker processes (queued work is dropped)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def start(self, candidates: Sequence) -> list[list[_Run]]:
        """Each candidate's runs before its first rung: one per (retina group, retina)."""
        return [[_Run(g, (params,), (r,), None) for g in range(len(self.problem.groups))
                 for r in range(self.n_retinas)] for params in candidates]

    def score(self, runs: Sequence[list[_Run]], k: int) -> list[tuple[list[_Run], Evaluation]]:
        """Advance the candidates ``runs`` (from :meth:`start` or the last call) through rung ``k``.

        Returns
        -------
        list of (runs, Evaluation)
            Per candidate, in order: its runs after rung ``k`` (for rung ``k + 1``) and its evaluation there.
        """
        flat = [run for candidate in runs for run in candidate]
        done = self._in_pool(flat, k) if self.workers > 1 else self._in_batches(flat, k)
        n_groups, n_arrays = len(self.problem.groups), len(self.problem.arrays)
        out = []
        for c in range(len(runs)):
            mine = done[c * n_groups * self.n_retinas:(c + 1) * n_groups * self.n_retinas]
            statistics: list[list[FitStatistics | None]] = [[None] * self.n_retinas for _ in range(n_arrays)]
            for run, stats in mine:
                for m, per_array in zip(self.problem.groups[run.group], stats[0]):
                    statistics[m][run.retinas[0]] = per_array
            out.append(([run for run, _ in mine], self.objective.evaluation(statistics)))
        return out

    def _in_pool(self, flat: list[_Run], k: int) -> list[tuple[_Run, list]]:
        """One task per run (one retina each), on ``workers - 1`` worker processes and this one.

        This process takes tasks too, so its engine, compiled already, starts
        at once while the workers start up; each worker holds one task at a
        time (no queue), so none is left waiting behind a busy worker at the end.
        """
        if self._pool is None:
            import multiprocessing

            model = model_of(flat[0].params[0]).name
            self._pool = ProcessPoolExecutor(self.workers - 1, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_prepare_worker, initargs=(self.problem.backend, model))
        results: list = [None] * len(flat)
        waiting = collections.deque(range(len(flat)))
        futures: dict = {}
        try:
            while waiting or futures:
                while waiting and len(futures) < self.workers - 1:
                    i = waiting.popleft()
                    futures[self._pool.submit(_run_rung, self.problem, flat[i], k)] = i
                if waiting:
                    i = waiting.pop()
                    results[i] = _run_rung(self.problem, flat[i], k)
                else:
                    concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_COMPLETED)
                for f in [f for f in futures if f.done()]:
                    results[futures.pop(f)] = f.result()
            return results
        except BrokenProcessPool as exc:
            raise WavesimError(
                f"a worker process of the fit died ({exc}). If the fit runs from a script, call it under "
                f"`if __name__ == \"__main__\":` (workers are started with spawn); to see the worker's own "
                f"error, run with workers=1 (--workers 1)."
            ) from None
        finally:
            for f in futures:
                f.cancel()

    def _in_batches(self, flat: list[_Run], k: int) -> list[tuple[_Run, list]]:
        """All runs of one retina group as one simulation batch in this process, then split per retina again."""
        out: list = [None] * len(flat)
        for g in range(len(self.problem.groups)):
            index = [i for i, run in enumerate(flat) if run.group == g]
            if not index:
                continue
            runs = [flat[i] for i in index]
            first = runs[0]
            batch = _Run(g, sum((run.params for run in runs), ()), sum((run.retinas for run in runs), ()),
                         None if first.state is None else SimulationState.concat([run.state for run in runs]),
                         None if first.recorded is None else np.concatenate([run.recorded for run in runs]))
            after, statistics = _run_rung(self.problem, batch, k)
            for b, i in enumerate(index):
                out[i] = (dataclasses.replace(
                    flat[i], state=None if after.state is None else after.state.select([b]),
                    recorded=None if after.recorded is None else after.recorded[b:b + 1]), [statistics[b]])
        return out
