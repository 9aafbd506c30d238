"""Tune model parameters to a recording: ``wavesim fit``.

The search is an Optuna study. Optuna because it gives, out of the box,
what a long fit on shared machines needs: ask/tell (so that many candidates
are simulated in one batch), storages that several processes (a journal
file with file locks) or several machines (an SQL database URL) share, and
studies that survive a killed process. The default sampler is TPE with the
constant liar: it copes with the noisy, sometimes flat objective (retinas
without waves score a finite penalty) and, with the liar, a batch of asked
candidates spreads out instead of piling onto one point. CMA-ES
(``sampler="cmaes"``) suits smooth problems with a few continuous
parameters and larger budgets; it needs the ``cmaes`` package.

Each batch asks ``batch_size`` trials, simulates them together (one
parameter set per batch element of one :class:`~wavesim.Simulation`) and
tells their distances. The trial budget is over the whole study: a trial
whose number puts it past the budget (counting the live trials before it) is
marked failed with the user attribute ``surplus`` and never simulated, so
processes sharing a study stop at exactly ``n_trials`` complete trials.
A process beats a heartbeat into each trial it evaluates (the user
attribute ``heartbeat_unix_s``, renewed every ``heartbeat_interval_s``).
A trial left running by a dead process is failed and retried: on this
machine when its process is gone, on another machine when its heartbeat is
older than ``stale_after_s`` (so the machines' clocks must roughly agree).
Its parameters are enqueued again with the user attribute ``retry_of``, and
the next batch of any process evaluates them, so a killed worker loses no
candidate and a killed fit resumes where it was.

The study's first trial is the starting point (the preset or the parameter
file, clipped into the search ranges): it is enqueued with the user
attribute ``start``, so the best trial, and with it ``best_params.toml``, is
never worse than the start. A resumed study keeps its start; processes that
enqueue one at the same moment keep the lowest-numbered and fail the others
unsimulated, like surplus trials.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any, Mapping

from ..errors import ParameterError
from ..models import get_model, model_of
from ..io.recordings import load_recording
from .objective import Objective, ObjectiveSettings, PooledObjective, SimulationSettings, mean_statistics
from .report import FitResult, held_out_scores, recording_attrs, summarize_study, write_outputs

__all__ = ["DEFAULT_FITTED", "SAMPLERS", "fail_stale_trials", "fit", "open_study", "parameter_ranges", "run_search",
           "start_point"]

#: The parameters the default model fits unless told otherwise.
DEFAULT_FITTED = get_model().fit_defaults
SAMPLERS = ("tpe", "cmaes")
_CONFIG_ATTR = "wavesim_fit_config"
#: User attribute marking the trial that evaluates the starting point.
START_ATTR = "start"
#: User attribute: when the process evaluating a trial last showed it was alive (Unix time, s).
HEARTBEAT_ATTR = "heartbeat_unix_s"
#: User attribute of a retried trial: the number of the stale trial it repeats.
RETRY_ATTR = "retry_of"
#: How often a process whose budget is taken looks whether the trials of others finished or died (s).
_POLL_S = 1.0


def parameter_ranges(names, ranges: Mapping[str, tuple[float, float]] | None = None,
                     base=None) -> dict[str, tuple[float, float]]:
    """The search range of each fitted parameter: given, else the model's allowed range.

    Parameters
    ----------
    names : sequence of str
        Parameters to fit.
    ranges : mapping of str to (low, high), optional
        User ranges; every name in it is fitted too.
    base : parameters of a registered model, optional
        The model whose parameters are fitted (default: the default model's
        default preset); supplies ``dt_s``: durations (fields in s) start at
        ``dt_s`` at least.

    Raises
    ------
    ParameterError
        For an unknown name, ``dt_s`` (the time step is not a model property
        to fit), or a range outside the allowed one.
    """
    base = base or get_model().preset()
    params_cls = model_of(base).params_cls
    ranges = dict(ranges or {})
    names = list(dict.fromkeys([*names, *ranges]))
    specs = params_cls.field_specs()
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise ParameterError(
            f"Unknown {params_cls.__name__} parameter(s) {unknown} to fit; known ones are {sorted(specs)}."
        )
    if "dt_s" in names:
        raise ParameterError("dt_s cannot be fitted: it is the time step of the numerical scheme, not a property "
                             "of the retina; set it in the base parameters instead.")
    if not names:
        raise ParameterError("name at least one parameter to fit.")
    checked = params_cls.check_ranges(ranges)
    out = {}
    for name in names:
        low, high = checked.get(name, (specs[name]["low"], specs[name]["high"]))
        if specs[name]["unit"] == "s":
            if high < base.dt_s:
                raise ParameterError(f"the range of {name} [{low}, {high}] s lies below dt_s = {base.dt_s} s.")
            low = max(low, base.dt_s)
        out[name] = (float(low), float(high))
    return out


def start_point(base, ranges: Mapping[str, tuple[float, float]]) -> tuple[dict[str, float], dict[str, list[float]]]:
    """The fitted parameters' values at the start of a fit: the base's, clipped into the search ranges.

    Parameters
    ----------
    base : parameters of a registered model
    ranges : mapping of str to (low, high)
        From :func:`parameter_ranges`.

    Returns
    -------
    start : dict of str to float
        The values the study's first trial evaluates.
    clipped : dict of str to [given, used]
        The parameters whose base value lies outside their range.

    Examples
    --------
    >>> import wavesim as ws
    >>> start_point(ws.preset("mouse"), {"P_s": (10.0, 20.0), "H1": (1.0, 8.0)})
    ({'P_s': 20.0, 'H1': 4.0}, {'P_s': [32.0, 20.0]})
    """
    start, clipped = {}, {}
    for name, (low, high) in ranges.items():
        given = float(getattr(base, name))
        start[name] = min(max(given, low), high)
        if start[name] != given:
            clipped[name] = [given, start[name]]
    return start, clipped


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


def _log_scale(low: float, high: float) -> bool:
    """Sample on a log scale when the range is positive and spans a factor of 10 or more."""
    return low > 0 and high / low >= 10


def _make_sampler(name: str, seed: int | None, start: Mapping[str, float] | None = None):
    """The named sampler; CMA-ES starts its search distribution at ``start`` (default: the ranges' centre)."""
    import optuna

    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, constant_liar=True, multivariate=True)
    if name == "cmaes":
        try:
            import cmaes  # noqa: F401
        except ImportError:
            raise ParameterError("sampler 'cmaes' needs the cmaes package: pip install cmaes") from None
        return optuna.samplers.CmaEsSampler(x0=dict(start) if start else None, seed=seed,
                                            warn_independent_sampling=False)
    raise ParameterError(f"sampler must be one of {SAMPLERS}, got {name!r}.")


def _storage(storage: str | Path):
    """A journal file (several processes on one machine) or an RDB URL (several machines)."""
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    text = str(storage)
    if "://" in text:
        return _rdb_storage(text)
    Path(text).parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(text))


def _rdb_storage(url: str, attempts: int = 5):
    """Optuna's RDB storage at ``url``; workers that create a new database at the same moment retry.

    Two processes that find the database empty both write its schema and
    one of them fails (a unique-key error, or a table that already exists);
    a moment later the schema is there and loading it succeeds. SQLite
    waits up to a minute for another writer's lock instead of failing at once.
    """
    import optuna
    import sqlalchemy.exc

    def unopenable(exc):
        return ParameterError(f"--storage {url}: cannot open the database ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0]}).")

    engine_kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    for attempt in range(attempts):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.OperationalError) as exc:
            # A schema race shows as a unique-key error or "table ... already exists"; an unopenable database
            # fails every attempt the same way.
            if attempt == attempts - 1:
                raise unopenable(exc) from None
            time.sleep(0.2 * (attempt + 1))
        except (sqlalchemy.exc.ArgumentError, ImportError) as exc:
            raise unopenable(exc) from None


def open_study(storage: str | Path, study_name: str, config: Mapping[str, Any], sampler):
    """Create or load a study, checking that it was made for the same fit.

    Raises
    ------
    ParameterError
        If the study exists with another recording, ranges or objective.
    """
    import optuna

    study = optuna.create_study(storage=_storage(storage), study_name=study_name, sampler=sampler,
                                direction="minimize", load_if_exists=True)
    wanted = json.loads(json.dumps(config))
    stored = study.user_attrs.get(_CONFIG_ATTR)
    if stored is None:
        study.set_user_attr(_CONFIG_ATTR, wanted)
    elif stored != wanted:
        differ = sorted(k for k in set(stored) | set(wanted) if stored.get(k) != wanted.get(k))
        raise ParameterError(
            f"study {study_name!r} in {storage} was made for another fit (differs in {differ}); "
            f"use another --study-name or storage, or the same settings."
        )
    return study


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_stale(trial, host: str, me: str, now_s: float, stale_after_s: float) -> bool:
    """Whether a running trial's process is dead: by its pid on this machine, else by its heartbeat's age."""
    worker = trial.user_attrs.get("worker", "")
    if worker == me:
        return False
    w_host, _, w_pid = worker.rpartition(":")
    if w_host == host and w_pid.isdigit():
        return not _pid_alive(int(w_pid))
    beat = trial.user_attrs.get(HEARTBEAT_ATTR)
    if beat is None:  # asked but not yet claimed, or by a process without heartbeats: its start time counts
        beat = trial.datetime_start.timestamp() if trial.datetime_start else 0.0
    return now_s - float(beat) > stale_after_s


def fail_stale_trials(study, stale_after_s: float) -> int:
    """Fail the trials left running by dead workers and enqueue their parameters again; return how many.

    A trial of this machine is stale when its process is gone; one of
    another machine when its heartbeat (or, without one, its start) is more
    than ``stale_after_s`` old. A stale trial keeps its ``worker`` user
    attribute and, unlike a surplus trial, has no ``surplus`` one. Its retry
    carries ``retry_of`` (and ``start`` if it was the start), and only the
    process whose call failed the trial enqueues it, so each stale trial is
    retried once.

    Parameters
    ----------
    study : optuna.Study
    stale_after_s : float (s)
        Age of the last heartbeat after which a running trial of another
        machine counts as abandoned.

    Returns
    -------
    int
        Trials failed here; one that another process, resuming at the same
        moment, failed first is not counted.
    """
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    host, me, now_s = socket.gethostname(), _worker_id(), time.time()
    failed = 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if not _is_stale(t, host, me, now_s, stale_after_s):
            continue
        # tell reads the trial afresh: ValueError if another process already finished it,
        # UpdateFinishedTrialError if it did so between that read and the write
        try:
            study.tell(t.number, state=TrialState.FAIL)
        except (ValueError, UpdateFinishedTrialError):
            continue
        failed += 1
        if t.params:
            attrs = {RETRY_ATTR: t.number, **({START_ATTR: True} if t.user_attrs.get(START_ATTR) else {})}
            study.enqueue_trial(dict(t.params), user_attrs=attrs)
    return failed


class _Heartbeat:
    """Renews the heartbeat of the trials this process evaluates, from a background thread."""

    def __init__(self, interval_s: float):
        self.interval_s = interval_s
        self._trials: list = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wavesim-fit-heartbeat", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def beat(self, trials) -> None:
        """Beat now for ``trials`` and keep beating for them until the next call."""
        with self._lock:
            self._trials = list(trials)
            self._beat()

    def _beat(self) -> None:
        from optuna.exceptions import UpdateFinishedTrialError

        for trial in self._trials:
            try:
                trial.set_user_attr(HEARTBEAT_ATTR, time.time())
            except (RuntimeError, UpdateFinishedTrialError):
                pass  # told already: nothing to keep alive

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            with self._lock:
                self._beat()


def _live_before(trials, number: int) -> int:
    from optuna.trial import TrialState

    return sum(1 for t in trials if t.number < number and t.state != TrialState.FAIL)


def _derived_seed(seed: int, study_name: str, trial_number: int) -> int:
    """A 32-bit sampler seed from the fit's seed, the study name and a trial number (stable across runs)."""
    digest = hashlib.sha256(f"{seed}:{study_name}:{trial_number}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def _ask_first(study, sampler: str, seed: int, distributions, start: Mapping[str, float]) -> Any:
    """Ask this process's first trial and seed its sampler from that trial's number.

    Processes sharing a study must not draw the same candidates, so each
    needs its own sampler seed; a deterministic one, so that a rerun of a fit
    proposes the same candidates. The number of this process's first trial
    is both: the storage hands out trial numbers atomically, so even
    processes joining at the same moment get distinct ones, and a rerun
    (same seed, study name and trials already in the study) gets the same.
    The trial is asked without parameters, then suggested them with the
    new sampler.
    """
    trial = study.ask()
    study.sampler = _make_sampler(sampler, _derived_seed(seed, study.study_name, trial.number), start)
    for name, d in distributions.items():
        trial.suggest_float(name, d.low, d.high, log=d.log)
    return trial


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
               heartbeat_interval_s: float = 60.0, progress: bool = True):
    """Run (or join, or resume) the study until it holds ``n_trials`` complete trials.

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
        Complete trials the whole study should hold, over all processes.
    batch_size : int
        Candidates simulated together in one batch.
    sampler : {"tpe", "cmaes"}
    sampler_seed : int, optional
        None: derived from the objective's seed, the study name and the
        number of this process's first trial, so that processes sharing a
        study do not propose the same candidates and a rerun proposes the
        same ones.
    stale_after_s : float (s)
        Running trials of other machines whose last heartbeat is older than
        this count as abandoned and are retried.
    heartbeat_interval_s : float (s)
        How often this process renews the heartbeat of the trials it
        evaluates; well below ``stale_after_s``.
    progress : bool
        Show a bar with the study's complete trials and the best distance.

    Returns
    -------
    optuna.Study
    """
    if int(n_trials) < 1 or int(batch_size) < 1:
        raise ParameterError(f"n_trials and batch_size must be >= 1, got {n_trials} and {batch_size}.")
    if not 0 < heartbeat_interval_s < stale_after_s:
        raise ParameterError(f"need 0 < heartbeat_interval_s < stale_after_s, got {heartbeat_interval_s} s and "
                             f"{stale_after_s} s.")
    with _optuna_warnings_only(), _Heartbeat(heartbeat_interval_s) as heartbeat:
        return _search(objective, ranges, base, storage, study_name, int(n_trials), int(batch_size), sampler,
                       sampler_seed, stale_after_s, heartbeat, progress)


def _search(objective, ranges, base, storage, study_name, n_trials, batch_size, sampler, sampler_seed,
            stale_after_s, heartbeat, progress):
    """:func:`run_search` with checked arguments."""
    import optuna
    from optuna.trial import TrialState
    from tqdm.auto import tqdm

    seed = objective.simulation.seed
    config = {"fit": objective.describe(), "ranges": {k: list(v) for k, v in ranges.items()},
              "model": model_of(base).name, "base": base.to_dict()}
    # with no sampler seed, this one only checks the sampler name: _ask_first replaces it
    first_seed = _derived_seed(seed, study_name, -1) if sampler_seed is None else sampler_seed
    start = start_point(base, ranges)[0]
    study = open_study(storage, study_name, config, _make_sampler(sampler, first_seed, start))
    fail_stale_trials(study, stale_after_s)
    distributions = {name: optuna.distributions.FloatDistribution(low, high, log=_log_scale(low, high))
                     for name, (low, high) in ranges.items()}
    worker = _worker_id()
    seeded = sampler_seed is not None
    _enqueue_start(study, start, n_trials)

    def n_complete():
        return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))

    bar = tqdm(total=n_trials, desc=f"fit {objective.name}", unit="trial", disable=not progress)
    bar.update(min(n_complete(), n_trials))
    while True:
        trials = study.get_trials(deepcopy=False)
        taken = [t for t in trials if t.state in (TrialState.RUNNING, TrialState.COMPLETE)]
        if len(taken) >= n_trials and not any(t.state == TrialState.WAITING for t in trials):
            # The budget is taken. Trials other processes still run may yet die: wait for them, retrying
            # those that go stale, so that the study ends with exactly n_trials complete ones.
            if not any(t.state == TrialState.RUNNING for t in taken):
                break
            time.sleep(_POLL_S)
            if fail_stale_trials(study, stale_after_s):
                bar.refresh()
            continue
        asked = []
        if not seeded:
            asked.append(_ask_first(study, sampler, seed, distributions, start))
            seeded = True
        asked += [study.ask(distributions) for _ in range(batch_size - len(asked))]
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
        candidates = [dataclasses.replace(base, **t.params) for t in mine]
        try:
            evaluations = objective.evaluate(candidates)
        except BaseException:
            for trial in mine:
                study.tell(trial, state=TrialState.FAIL)
            raise
        for trial, ev in zip(mine, evaluations):
            trial.set_user_attr("distance_sem", ev.distance_sem)
            trial.set_user_attr("retina_distances", ev.retina_distances)
            trial.set_user_attr("terms", {k: (v if math.isfinite(v) else None) for k, v in ev.terms.items()})
            trial.set_user_attr("statistics", mean_statistics(ev.statistics))
            if ev.recordings:
                trial.set_user_attr("recordings", recording_attrs(ev))
            study.tell(trial, ev.distance)
        bar.n = min(n_complete(), n_trials)
        try:
            best = study.best_trial
            bar.set_postfix_str(f"best {best.value:.3f} +- {best.user_attrs.get('distance_sem', math.nan):.3f} "
                                f"(trial {best.number})")
        except ValueError:
            pass
        bar.refresh()
    bar.close()
    return study


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
        analysis=None, hold_out=(), progress: bool = True) -> FitResult:
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
        ``base_name`` of ``model``, both defaulting to the default model's).
    fitted : sequence of str, optional
        Parameters to fit (plus every name in ``ranges``); default the model's ``fit_defaults``.
    ranges : mapping of str to (low, high), optional
        Search ranges; default the model's allowed ranges.
    n_trials, batch_size, sampler, sampler_seed
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
        base = get_model(model).preset(base_name)
    base_model = model_of(base)
    base_name = base_name or base_model.default_preset
    ranges = parameter_ranges(base_model.fit_defaults if fitted is None else fitted, ranges, base)
    if len(recordings) == 1:
        objective = Objective(recordings[0], objective_settings, simulation, analysis)
    else:
        objective = PooledObjective(recordings, objective_settings, simulation, analysis)
    # checked before the search, so that a held-out recording too short to score fails at once
    held_objective = PooledObjective(held, objective.settings, objective.simulation, objective.analysis) if held \
        else None
    if storage is None:
        if out_dir is None:
            raise ParameterError("give a storage, or an out_dir to hold the study journal.")
        storage = Path(out_dir) / "study.journal"
    study = run_search(objective, ranges, base, storage, study_name, n_trials, batch_size=batch_size,
                       sampler=sampler, sampler_seed=sampler_seed, progress=progress)
    result = summarize_study(study, objective, base, base_name, ranges, time.perf_counter() - start, sampler)
    if held_objective is not None:
        result.report["held_out"] = held_out_scores(held_objective, result.best_params, base)
    if out_dir is not None:
        write_outputs(result, out_dir)
    return result
