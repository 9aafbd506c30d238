"""Tune model parameters to a recording: ``wavesim fit``.

The search is an Optuna study. Optuna because it gives, out of the box,
what a long fit on shared machines needs: ask/tell (so that many candidates
are simulated in one batch), a pruner interface for multi-fidelity search,
storages that several processes (a journal file with file locks) or several
machines (an SQL database URL) share, and studies that survive a killed
process (:mod:`wavesim.fit.study`). The default sampler is TPE with the
constant liar: it copes with the noisy, sometimes flat objective (retinas
without waves score a finite penalty) and, with the liar, a batch of asked
candidates spreads out instead of piling onto one point. CMA-ES
(``sampler="cmaes"``) suits smooth problems with a few continuous
parameters and larger budgets; it needs the ``cmaes`` package. Each trial's
candidate is drawn by a sampler seeded from the fit's seed, the study name
and the trial's number (:mod:`wavesim.fit.samplers`), so a fit run again, or
resumed, proposes the same candidates.

Each batch asks ``batch_size`` trials and scores them rung by rung
(:mod:`wavesim.fit.fidelity`): a short simulation first, the full objective
last, each candidate's retinas continuing from where the last rung left
them. After each rung but the last, :class:`~wavesim.fit.pruning.HalvingPruner`
stops the candidates that are clearly worse than the best scored there;
they are told to the study as PRUNED, with the distance of their last rung
as an intermediate value, never as complete. On the CPU engines the
(candidate, retina) pairs of a rung run on one worker process per core
(:mod:`wavesim.fit.staged`); on ``cuda`` a rung is one batch of all of them.

The trial budget counts finished trials (complete or pruned) over the whole
study: a trial whose number puts it past the budget (counting the live
trials before it) is marked failed with the user attribute ``surplus`` and
never simulated, so processes sharing a study stop at exactly ``n_trials``
finished trials. A trial left running by a dead process is failed and its
parameters are enqueued again with the user attribute ``retry_of``, and the
next batch of any process evaluates them, so a killed worker loses no
candidate and a killed fit resumes where it was.

The study's first trial is the starting point (the preset or the parameter
file, clipped into the search ranges): it is enqueued with the user
attribute ``start`` and never pruned, so the best trial, and with it
``best_params.toml``, is never worse than the start. A resumed study keeps
its start; processes that enqueue one at the same moment keep the
lowest-numbered and fail the others unsimulated, like surplus trials.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import time
from pathlib import Path
from typing import Any, Mapping

from ..backends import resolve_backend
from ..errors import ParameterError
from ..validate import check_int
from ..io.recordings import load_recording
from ..models import get_model, model_of
from .fidelity import PruningSettings, Rung, rung_schedule
from .objective import Objective, ObjectiveSettings, PooledObjective
from .ranges import DEFAULT_FITTED, grid_step, parameter_ranges, start_point
from .report import FitResult, held_out_scores, recording_attrs, summarize_study, write_outputs
from .statistics import mean_statistics
from .study import START_ATTR, Heartbeat, fail_stale_trials, open_study, worker_id
from .virtual import SimulationSettings

__all__ = ["DEFAULT_FITTED", "SAMPLERS", "SearchPlan", "fit", "run_search", "search_plan"]

SAMPLERS = ("tpe", "cmaes")
#: How often a process whose budget is taken looks whether the trials of others finished or died (s).
_POLL_S = 1.0


@dataclasses.dataclass(frozen=True)
class SearchPlan:
    """How a process runs its part of a fit.

    Attributes
    ----------
    rungs : tuple of Rung
        The fidelities each candidate passes, the full objective last.
    backend : str
        The resolved simulation backend.
    workers : int
        Worker processes (1: candidates are simulated in this process, as one batch per rung).
    note : str
        Why pruning is off, where it was asked for but cannot run (else empty).
    """

    rungs: tuple[Rung, ...]
    backend: str
    workers: int
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for the report."""
        return {"rungs": [dataclasses.asdict(r) for r in self.rungs], "backend": self.backend,
                "workers": self.workers, "note": self.note}


def search_plan(objective, base, pruning: PruningSettings | None = None, workers: int | None = None) -> SearchPlan:
    """The rungs, backend and worker processes of a search.

    Parameters
    ----------
    objective : Objective or PooledObjective
    base : parameters of a registered model
    pruning : PruningSettings, optional
        Default: successive halving over a rung at a third of the full
        simulation. Pruning needs the standard error of the distance, so
        with one retina per candidate every candidate runs in full.
    workers : int, optional
        Worker processes; default one per usable core on the CPU engines, one on ``cuda``.

    Raises
    ------
    ParameterError
        If ``workers`` is below 1.
    """
    from .staged import default_workers

    pruning = pruning or PruningSettings()
    backend = resolve_backend(objective.simulation.backend, model_of(base))
    if workers is None:
        workers = default_workers(backend)
    else:
        workers = check_int("workers", workers, low=1, what="processes; 1 simulates in this process")
    note = ""
    if pruning.pruner != "none" and objective.simulation.n_retinas < 2:
        note = "pruning needs 2 retinas or more per candidate (the distance's standard error); none was done"
        pruning = dataclasses.replace(pruning, pruner="none")
    parts = objective.parts
    steps_per_frame = objective.simulation.frame_period_s / base.dt_s
    rungs = rung_schedule(objective.simulation.warmup_s, [p.array.duration_s for p in parts],
                          [p.recorded.median_iwi_s for p in parts], pruning,
                          recording_starts=abs(steps_per_frame - round(steps_per_frame)) < 1e-9)
    return SearchPlan(rungs, backend, workers, note)


def _cells(base) -> dict[str, Any]:
    """The cell lattice candidates of ``base``'s model are simulated on (part of a study's identity)."""
    retina = model_of(base).run.retina
    return {"spacing_um": retina.spacing_um, "dendrite_radius_um": retina.dendrite_radius_um, "shape": retina.shape}


def _enqueue_start(study, start: Mapping[str, float], n_trials: int) -> None:
    """Enqueue the starting point, unless the study holds a live one or its budget is taken."""
    from optuna.trial import TrialState

    live = [t for t in study.get_trials(deepcopy=False) if t.state != TrialState.FAIL]
    if len(live) >= n_trials or any(t.user_attrs.get(START_ATTR) for t in live):
        return
    study.enqueue_trial(dict(start), user_attrs={START_ATTR: True})


def _duplicate_start(trials, trial) -> bool:
    """Whether ``trial`` is a start that another process enqueued after a live one (it is then not simulated)."""
    from optuna.trial import TrialState

    if not trial.user_attrs.get(START_ATTR):
        return False
    return any(t.user_attrs.get(START_ATTR) and t.number < trial.number and t.state != TrialState.FAIL
               for t in trials)


def _distribution(optuna, base, name: str, low: float, high: float):
    """Where a trial draws ``name``: on the model's grid of steps where it has one, else continuously."""
    step = grid_step(base, name)
    if step is not None:
        return optuna.distributions.FloatDistribution(low, high, step=step)
    return optuna.distributions.FloatDistribution(low, high, log=_log_scale(low, high))


def _log_scale(low: float, high: float) -> bool:
    """Sample on a log scale when the range is positive and spans a factor of 10 or more."""
    return low > 0 and high / low >= 10


def _live_before(trials, number: int) -> int:
    from optuna.trial import TrialState

    return sum(1 for t in trials if t.number < number and t.state != TrialState.FAIL)


@contextlib.contextmanager
def _optuna_warnings_only():
    """Silence Optuna's per-trial info logs for the search, then restore the caller's verbosity."""
    import optuna

    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)


def run_search(objective: Objective, ranges: Mapping[str, tuple[float, float]], base,
               storage: str | Path, study_name: str, n_trials: int, *, batch_size: int = 1,
               sampler: str = "tpe", sampler_seed: int | None = None, stale_after_s: float = 900.0,
               heartbeat_interval_s: float = 60.0, progress: bool = True, pruning: PruningSettings | None = None,
               workers: int | None = None):
    """Run (or join, or resume) the study until it holds ``n_trials`` finished trials.

    Parameters
    ----------
    objective : Objective or PooledObjective
    ranges : mapping of str to (low, high)
        From :func:`parameter_ranges`.
    base : parameters of a registered model
        Values of the parameters not fitted, and the start: a study without
        a live start trial enqueues one with the base's fitted values,
        clipped into ``ranges`` (:func:`start_point`).
    storage : str or Path
        A journal file path, or a database URL (``sqlite:///fit.db``, ``postgresql://...``).
    study_name : str
    n_trials : int
        Finished trials (complete or pruned) the whole study should hold, over all processes.
    batch_size : int
        Candidates asked, and scored rung by rung, together.
    sampler : {"tpe", "cmaes"}
    sampler_seed : int, optional
        Seeds each trial's sampler with the study name and the trial's
        number; None: the objective's seed.
    stale_after_s : float (s)
        Running trials of other machines whose last heartbeat is older than
        this count as abandoned and are retried.
    heartbeat_interval_s : float (s)
        How often this process renews the heartbeat of the trials it
        evaluates; well below ``stale_after_s``.
    progress : bool
        Show a bar with the study's finished trials and the best distance.
    pruning : PruningSettings, optional
        Rungs and pruner (:func:`search_plan`); default successive halving.
    workers : int, optional
        Worker processes that simulate candidates (:func:`search_plan`).

    Returns
    -------
    optuna.Study
    """
    if int(n_trials) < 1 or int(batch_size) < 1:
        raise ParameterError(f"n_trials and batch_size must be >= 1, got {n_trials} and {batch_size}.")
    if not 0 < heartbeat_interval_s < stale_after_s:
        raise ParameterError(f"need 0 < heartbeat_interval_s < stale_after_s, got {heartbeat_interval_s} s and "
                             f"{stale_after_s} s.")
    if sampler not in SAMPLERS:
        raise ParameterError(f"sampler must be one of {SAMPLERS}, got {sampler!r}.")
    pruning = pruning or PruningSettings()
    plan = search_plan(objective, base, pruning, workers)
    from .staged import StagedEvaluator

    with _optuna_warnings_only(), Heartbeat(heartbeat_interval_s) as heartbeat, \
            StagedEvaluator(objective, plan.rungs, plan.backend, plan.workers) as staged:
        return _search(objective, ranges, base, storage, study_name, int(n_trials), int(batch_size), sampler,
                       objective.simulation.seed if sampler_seed is None else sampler_seed, stale_after_s,
                       heartbeat, progress, pruning, staged)


def _search(objective, ranges, base, storage, study_name, n_trials, batch_size, sampler, sampler_seed,
            stale_after_s, heartbeat, progress, pruning, staged):
    """:func:`run_search` with checked arguments."""
    import optuna
    from optuna.trial import TrialState
    from tqdm.auto import tqdm

    from .pruning import HalvingPruner
    from .samplers import TrialSeededSampler

    config = {"fit": objective.describe(), "ranges": {k: list(v) for k, v in ranges.items()},
              "model": model_of(base).name, "base": base.to_dict(), "cells": _cells(base)}
    study = open_study(storage, study_name, config, TrialSeededSampler(sampler, sampler_seed, study_name),
                       HalvingPruner(pruning.reduction_factor, pruning.n_sem))
    fail_stale_trials(study, stale_after_s)
    distributions = {name: _distribution(optuna, base, name, low, high) for name, (low, high) in ranges.items()}
    worker = worker_id()
    _enqueue_start(study, start_point(base, ranges)[0], n_trials)
    finished_states = (TrialState.COMPLETE, TrialState.PRUNED)

    def n_finished():
        return len(study.get_trials(deepcopy=False, states=finished_states))

    bar = tqdm(total=n_trials, desc=f"fit {objective.name}", unit="trial", disable=not progress)
    bar.update(min(n_finished(), n_trials))
    while True:
        trials = study.get_trials(deepcopy=False)
        taken = [t for t in trials if t.state in (TrialState.RUNNING, *finished_states)]
        if len(taken) >= n_trials and not any(t.state == TrialState.WAITING for t in trials):
            # The budget is taken. Trials other processes still run may yet die: wait for them, retrying
            # those that go stale, so that the study ends with exactly n_trials finished ones.
            if not any(t.state == TrialState.RUNNING for t in taken):
                break
            time.sleep(_POLL_S)
            if fail_stale_trials(study, stale_after_s):
                bar.refresh()
            continue
        asked = [study.ask(distributions) for _ in range(batch_size)]
        trials = study.get_trials(deepcopy=False)
        mine = []
        for trial in asked:
            if _duplicate_start(trials, trial):
                trial.set_user_attr("surplus", True)
                trial.set_user_attr("duplicate_start", True)
                study.tell(trial, state=TrialState.FAIL)
            elif _live_before(trials, trial.number) >= n_trials:
                trial.set_user_attr("surplus", True)
                study.tell(trial, state=TrialState.FAIL)
            else:
                trial.set_user_attr("worker", worker)
                mine.append(trial)
        if not mine:
            break
        heartbeat.beat(mine)
        _evaluate(study, mine, base, staged)
        bar.n = min(n_finished(), n_trials)
        try:
            best = study.best_trial
            n_pruned = len(study.get_trials(deepcopy=False, states=(TrialState.PRUNED,)))
            bar.set_postfix_str(f"best {best.value:.3f} +- {best.user_attrs.get('distance_sem', math.nan):.3f} "
                                f"(trial {best.number}), {n_pruned} pruned")
        except ValueError:
            pass
        bar.refresh()
    bar.close()
    return study


def _evaluate(study, trials, base, staged) -> None:
    """Score ``trials`` rung by rung: report each rung, prune or go on, tell the full distance of the rest.

    Every trial of the batch reports a rung before any is judged there, and
    they are judged in the order of their numbers, so the pruner's decisions
    do not depend on which simulation finished first.
    """
    from optuna.trial import TrialState

    from .pruning import RUNG_SEM_ATTR

    runs = staged.start([dataclasses.replace(base, **t.params) for t in trials])
    alive, untold = list(range(len(trials))), set(range(len(trials)))
    sems: list[dict[str, float]] = [{} for _ in trials]
    try:
        for k, rung in enumerate(staged.problem.rungs):
            results = dict(zip(alive, staged.score([runs[i] for i in alive], k)))
            for i, (after, ev) in results.items():
                runs[i] = after
                sems[i][str(rung.step)] = ev.distance_sem
                trials[i].set_user_attr(RUNG_SEM_ATTR, sems[i])
                trials[i].report(ev.distance, rung.step)
            if rung.full:
                for i, (_, ev) in results.items():
                    _record(trials[i], ev)
                    study.tell(trials[i], ev.distance)
                    untold.discard(i)
                return
            survivors = []
            for i in alive:
                if trials[i].should_prune():
                    trials[i].set_user_attr("pruned_at_s", rung.step)
                    study.tell(trials[i], state=TrialState.PRUNED)
                    untold.discard(i)
                else:
                    survivors.append(i)
            alive = survivors
            if not alive:
                return
    except BaseException:
        for i in untold:
            study.tell(trials[i], state=TrialState.FAIL)
        raise


def _record(trial, evaluation) -> None:
    """A complete trial's user attributes: standard error, per-retina distances, terms, statistics."""
    trial.set_user_attr("distance_sem", evaluation.distance_sem)
    trial.set_user_attr("retina_distances", evaluation.retina_distances)
    trial.set_user_attr("terms", {k: (v if math.isfinite(v) else None) for k, v in evaluation.terms.items()})
    trial.set_user_attr("statistics", mean_statistics(evaluation.statistics))
    if evaluation.recordings:
        trial.set_user_attr("recordings", recording_attrs(evaluation))


def _load(recordings) -> list:
    """Recordings (loaded from paths where needed) as a list."""
    if hasattr(recordings, "spike_times_s") or isinstance(recordings, (str, os.PathLike)):
        recordings = [recordings]
    return [r if hasattr(r, "spike_times_s") else load_recording(r) for r in recordings]


def fit(recording, out_dir: str | Path | None = None, *, storage: str | Path | None = None,
        study_name: str = "wavesim-fit", base=None, base_name: str | None = None, model: str | None = None,
        fitted=None, ranges: Mapping[str, tuple[float, float]] | None = None, n_trials: int = 50,
        batch_size: int = 1, sampler: str = "tpe", sampler_seed: int | None = None,
        objective_settings: ObjectiveSettings | None = None, simulation: SimulationSettings | None = None,
        analysis=None, hold_out=(), progress: bool = True, pruning: PruningSettings | None = None,
        workers: int | None = None) -> FitResult:
    """Fit model parameters to a recording, or one parameter set to several.

    Parameters
    ----------
    recording : MEARecording or path, or a sequence of them
        Several recordings are pooled (:class:`~wavesim.fit.objective.PooledObjective`):
        the report gives each one's distance besides the pooled one.
    out_dir : path, optional
        Where to write the outputs (see :func:`write_outputs`); also holds the
        default storage ``study.journal``.
    storage : path or URL, optional
        Journal file or database URL of the study.
    base : parameters of a registered model, optional
        Start point and values of unfitted parameters (default: the preset
        ``base_name`` of ``model``: default the model's ``fit_start_preset``, of the default model).
    fitted : sequence of str, optional
        Parameters to fit (plus every name in ``ranges``); default the model's ``fit_defaults``.
    ranges : mapping of str to (low, high), optional
        Search ranges; default the model's ``fit_ranges``, else its allowed ranges.
    n_trials, batch_size, sampler, sampler_seed, pruning, workers
        See :func:`run_search`.
    objective_settings, simulation, analysis
        See :class:`~wavesim.fit.objective.Objective`.
    hold_out : sequence of MEARecording or path
        Recordings left out of the fit: the fitted and the base parameters
        are scored on them afterwards, each and pooled (the report's ``held_out``).

    Returns
    -------
    FitResult
    """
    start = time.perf_counter()
    recordings, held = _load(recording), _load(hold_out)
    both = sorted({r.name for r in recordings} & {r.name for r in held})
    if both:
        raise ParameterError(f"recording(s) {both} are both fitted and held out; hold out recordings not fitted.")
    if base is None:
        base_name = base_name or get_model(model).fit_start_preset
        base = get_model(model).preset(base_name)
    base_model = model_of(base)
    base_model.check_fittable(base)
    base_name = base_name or base_model.default_preset
    ranges = parameter_ranges(base_model.fit_defaults if fitted is None else fitted, ranges, base)
    if len(recordings) == 1:
        objective = Objective(recordings[0], objective_settings, simulation, analysis)
    else:
        objective = PooledObjective(recordings, objective_settings, simulation, analysis)
    # checked before the search, so that a held-out recording too short to score fails at once
    held_objective = PooledObjective(held, objective.settings, objective.simulation, objective.analysis) if held \
        else None
    plan = search_plan(objective, base, pruning, workers)
    if storage is None:
        if out_dir is None:
            raise ParameterError("give a storage, or an out_dir to hold the study journal.")
        storage = Path(out_dir) / "study.journal"
    study = run_search(objective, ranges, base, storage, study_name, n_trials, batch_size=batch_size,
                       sampler=sampler, sampler_seed=sampler_seed, progress=progress, pruning=pruning,
                       workers=plan.workers)
    result = summarize_study(study, objective, base, base_name, ranges, time.perf_counter() - start, sampler)
    result.report["search"] = plan.to_dict()
    if held_objective is not None:
        result.report["held_out"] = held_out_scores(held_objective, result.best_params, base)
    if out_dir is not None:
        write_outputs(result, out_dir)
    return result
