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
Trials left running by a dead process on this machine (or, on another
machine, started more than ``stale_after_s`` ago) are failed, so a killed fit
resumes where it was.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import socket
import statistics
import time
from pathlib import Path
from typing import Any, Mapping

from .errors import ParameterError
from .fit_objective import (
    TERM_NAMES,
    FitStatistics,
    Objective,
    ObjectiveSettings,
    SimulationSettings,
    mean_statistics,
)
from .models import get_model, load_params_file, model_of, write_params_file
from .io.recordings import load_recording

__all__ = ["DEFAULT_FITTED", "FitResult", "fit", "open_study", "parameter_ranges", "register_cli", "run_search",
           "write_outputs"]

#: Parameters fitted when none are named.
#: The parameters the default model fits unless told otherwise.
DEFAULT_FITTED = get_model().fit_defaults
SAMPLERS = ("tpe", "cmaes")
_CONFIG_ATTR = "wavesim_fit_config"


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


def _log_scale(low: float, high: float) -> bool:
    """Sample on a log scale when the range is positive and spans a factor of 10 or more."""
    return low > 0 and high / low >= 10


def _make_sampler(name: str, seed: int | None):
    import optuna

    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, constant_liar=True, multivariate=True)
    if name == "cmaes":
        try:
            import cmaes  # noqa: F401
        except ImportError:
            raise ParameterError("sampler 'cmaes' needs the cmaes package: pip install cmaes") from None
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    raise ParameterError(f"sampler must be one of {SAMPLERS}, got {name!r}.")


def _storage(storage: str | Path):
    """A journal file (several processes on one machine) or an RDB URL (several machines)."""
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    text = str(storage)
    if "://" in text:
        return optuna.storages.RDBStorage(text)
    Path(text).parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(text))


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


def fail_stale_trials(study, stale_after_s: float) -> int:
    """Fail trials left running by dead workers; return how many.

    A trial of this machine is stale when its process is gone; one of
    another machine when it started more than ``stale_after_s`` ago.
    """
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    host, me = socket.gethostname(), _worker_id()
    failed = 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = t.user_attrs.get("worker", "")
        if worker == me:
            continue
        w_host, _, w_pid = worker.rpartition(":")
        if w_host == host and w_pid.isdigit():
            stale = not _pid_alive(int(w_pid))
        else:
            started = t.datetime_start.timestamp() if t.datetime_start else 0.0
            stale = time.time() - started > stale_after_s
        if stale:
            try:
                study._storage.set_trial_user_attr(t._trial_id, "stale", True)
                study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
            except UpdateFinishedTrialError:
                continue  # another process, resuming at the same moment, failed it first
            failed += 1
    return failed


def _live_before(trials, number: int) -> int:
    from optuna.trial import TrialState

    return sum(1 for t in trials if t.number < number and t.state != TrialState.FAIL)


def run_search(objective: Objective, ranges: Mapping[str, tuple[float, float]], base,
               storage: str | Path, study_name: str, n_trials: int, *, batch_size: int = 1,
               sampler: str = "tpe", sampler_seed: int | None = None, stale_after_s: float = 6 * 3600.0,
               progress: bool = True):
    """Run (or join, or resume) the study until it holds ``n_trials`` complete trials.

    Parameters
    ----------
    objective : Objective
    ranges : mapping of str to (low, high)
        From :func:`parameter_ranges`.
    base : parameters of a registered model
        Values of the parameters not fitted.
    storage : str or Path
        A journal file path, or a database URL (``sqlite:///fit.db``, ``postgresql://...``).
    study_name : str
    n_trials : int
        Complete trials the whole study should hold, over all processes.
    batch_size : int
        Candidates simulated together in one batch.
    sampler : {"tpe", "cmaes"}
    sampler_seed : int, optional
        None: derived from the objective's seed and this process, so that
        processes sharing a study do not propose the same candidates.
    stale_after_s : float (s)
        Running trials of other machines older than this count as abandoned.
    progress : bool
        Show a bar with the study's complete trials and the best distance.

    Returns
    -------
    optuna.Study
    """
    import optuna
    from optuna.trial import TrialState
    from tqdm.auto import tqdm

    if int(n_trials) < 1 or int(batch_size) < 1:
        raise ParameterError(f"n_trials and batch_size must be >= 1, got {n_trials} and {batch_size}.")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if sampler_seed is None:
        sampler_seed = (objective.simulation.seed * 1_000_003 + os.getpid()) % 2**32
    config = {"fit": objective.describe(), "ranges": {k: list(v) for k, v in ranges.items()},
              "model": model_of(base).name, "base": base.to_dict()}
    study = open_study(storage, study_name, config, _make_sampler(sampler, sampler_seed))
    fail_stale_trials(study, stale_after_s)
    distributions = {name: optuna.distributions.FloatDistribution(low, high, log=_log_scale(low, high))
                     for name, (low, high) in ranges.items()}
    worker = _worker_id()

    def n_complete():
        return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))

    bar = tqdm(total=n_trials, desc=f"fit {objective.recording.name}", unit="trial", disable=not progress)
    bar.update(min(n_complete(), n_trials))
    while True:
        trials = study.get_trials(deepcopy=False)
        if sum(1 for t in trials if t.state != TrialState.FAIL) >= n_trials:
            break
        asked = [study.ask(distributions) for _ in range(batch_size)]
        trials = study.get_trials(deepcopy=False)
        mine = []
        for trial in asked:
            if _live_before(trials, trial.number) >= n_trials:
                trial.set_user_attr("surplus", True)
                study.tell(trial, state=TrialState.FAIL)
            else:
                trial.set_user_attr("worker", worker)
                mine.append(trial)
        if not mine:
            break
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


@dataclasses.dataclass
class FitResult:
    """The outcome of a fit.

    Attributes
    ----------
    best_params : parameters of the fitted model
    best_distance, best_distance_sem : float
    best_terms : dict
    recorded, preset_stats, fitted_stats : dict
        Statistics of the recording, of the base parameters and of the best
        parameters (means over the retinas).
    report : dict
        Everything written to ``report.json``.
    """

    best_params: Any
    best_distance: float
    best_distance_sem: float
    best_terms: dict
    recorded: dict
    preset_stats: dict
    fitted_stats: dict
    report: dict


def study_timing(trials) -> dict[str, Any]:
    """When a study's trials ran, over every process and resume.

    Parameters
    ----------
    trials : sequence of optuna.trial.FrozenTrial
        Complete trials.

    Returns
    -------
    dict
        ``busy_time_s``: time during which at least one trial was being
        evaluated (the union of the trials' intervals, so pauses between
        resumes do not count and parallel workers count once);
        ``span_s``: first start to last completion; ``workers``: the
        processes that completed trials.
    """
    intervals = sorted((t.datetime_start, t.datetime_complete) for t in trials
                       if t.datetime_start is not None and t.datetime_complete is not None)
    busy_s, span_s = 0.0, 0.0
    if intervals:
        span_s = (max(end for _, end in intervals) - intervals[0][0]).total_seconds()
        current_start, current_end = intervals[0]
        for start, end in intervals[1:]:
            if start > current_end:
                busy_s += (current_end - current_start).total_seconds()
                current_start, current_end = start, end
            else:
                current_end = max(current_end, end)
        busy_s += (current_end - current_start).total_seconds()
    workers = sorted({str(t.user_attrs["worker"]) for t in trials if "worker" in t.user_attrs})
    return {"busy_time_s": busy_s, "span_s": span_s, "workers": workers}


def near_best_spread(trials, best, n_sem: float = 2.0) -> dict[str, Any]:
    """How well the data pin each parameter: its spread over the trials about as good as the best.

    A trial counts when its distance is within ``n_sem`` standard errors of
    the best distance. The standard error is the median over the trials of
    each trial's own: with a few retinas per candidate one trial's standard
    error is itself noisy, and the best trial's tends to be a lucky small one.
    A parameter whose near-best values span much of its search range is
    weakly identified by the statistics. The spread also reflects where the
    sampler looked, so it is a lower bound on the uncertainty, not an interval.

    Returns
    -------
    dict
        ``n_sem``, ``sem`` (the median standard error), ``threshold`` (the
        distance cut-off), ``n_trials`` and ``ranges`` (name -> [min, max]).
    """
    sems = [t.user_attrs["distance_sem"] for t in trials if t.user_attrs.get("distance_sem") is not None]
    sem = float(statistics.median(sems)) if sems else 0.0
    threshold = best.value + n_sem * sem
    near = [t for t in trials if t.value is not None and t.value <= threshold]
    ranges = {name: [min(t.params[name] for t in near), max(t.params[name] for t in near)] for name in best.params}
    return {"n_sem": n_sem, "sem": sem, "threshold": threshold, "n_trials": len(near), "ranges": ranges}


def summarize_study(study, objective: Objective, base, base_name: str,
                    ranges: Mapping[str, tuple[float, float]], process_wall_time_s: float,
                    sampler: str) -> FitResult:
    """Best trial, preset statistics (simulated now, same retinas) and the report."""
    from optuna.trial import TrialState

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        raise ParameterError(f"study {study.study_name} holds no complete trial to report.")
    best = min(complete, key=lambda t: t.value)
    best_params = dataclasses.replace(base, **best.params)
    preset_eval = objective.evaluate([base])[0]
    recorded = FitStatistics.to_dict(objective.recorded)
    report = {
        "recording": str(objective.recording.source or objective.recording.name),
        "base_preset": base_name,
        "fitted_parameters": {k: best_params.to_dict()[k] for k in ranges},
        "near_best": near_best_spread(complete, best),
        "best_params": best_params.to_dict(),
        "ranges": {k: list(v) for k, v in ranges.items()},
        "best_trial": best.number,
        "best_distance": best.value,
        "best_distance_sem": best.user_attrs.get("distance_sem"),
        "best_terms": best.user_attrs.get("terms"),
        "preset_distance": preset_eval.distance,
        "preset_distance_sem": preset_eval.distance_sem,
        "preset_terms": preset_eval.terms,
        "statistics": {"recorded": recorded, "preset": mean_statistics(preset_eval.statistics),
                       "fitted": best.user_attrs.get("statistics")},
        "weights": dict(objective.settings.weights),
        "objective": objective.describe(),
        "n_trials_complete": len(complete),
        "n_trials_failed": len(study.get_trials(deepcopy=False, states=(TrialState.FAIL,))),
        "sampler": sampler,
        "seed": objective.simulation.seed,
        "study_time": study_timing(complete),
        "process_wall_time_s": process_wall_time_s,
        "study_name": study.study_name,
    }
    report = json.loads(json.dumps(report, default=float).replace("NaN", "null"))
    return FitResult(best_params, best.value, best.user_attrs.get("distance_sem", math.nan),
                     best.user_attrs.get("terms", {}), recorded, report["statistics"]["preset"],
                     report["statistics"]["fitted"], report)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_outputs(result: FitResult, out_dir: str | Path) -> dict[str, Path]:
    """Write ``best_params.toml``, ``report.json`` and ``comparison.png`` into ``out_dir``."""
    from .fit_plot import plot_comparison

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"params": out_dir / "best_params.toml", "report": out_dir / "report.json",
             "figure": out_dir / "comparison.png"}
    r = result.report
    write_params_file(paths["params"], result.best_params, r["base_preset"],
                      f"wavesim fit of {r['recording']}: distance {r['best_distance']:.4g} "
                      f"(trial {r['best_trial']} of {r['n_trials_complete']})")
    _atomic_write(paths["report"], json.dumps(r, indent=2) + "\n")
    plot_comparison(r, paths["figure"])
    return paths


def fit(recording, out_dir: str | Path | None = None, *, storage: str | Path | None = None,
        study_name: str = "wavesim-fit", base=None, base_name: str | None = None, model: str | None = None,
        fitted=None, ranges: Mapping[str, tuple[float, float]] | None = None, n_trials: int = 50,
        batch_size: int = 1, sampler: str = "tpe", sampler_seed: int | None = None,
        objective_settings: ObjectiveSettings | None = None, simulation: SimulationSettings | None = None,
        analysis=None, progress: bool = True) -> FitResult:
    """Fit model parameters to a recording.

    Parameters
    ----------
    recording : MEARecording or path
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
        See :class:`~wavesim.fit_objective.Objective`.

    Returns
    -------
    FitResult
    """
    start = time.perf_counter()
    if not hasattr(recording, "spike_times_s"):
        recording = load_recording(recording)
    if base is None:
        base = get_model(model).preset(base_name)
    base_model = model_of(base)
    base_name = base_name or base_model.default_preset
    ranges = parameter_ranges(base_model.fit_defaults if fitted is None else fitted, ranges, base)
    objective = Objective(recording, objective_settings, simulation, analysis)
    if storage is None:
        if out_dir is None:
            raise ParameterError("give a storage, or an out_dir to hold the study journal.")
        storage = Path(out_dir) / "study.journal"
    study = run_search(objective, ranges, base, storage, study_name, n_trials, batch_size=batch_size,
                       sampler=sampler, sampler_seed=sampler_seed, progress=progress)
    result = summarize_study(study, objective, base, base_name, ranges, time.perf_counter() - start, sampler)
    if out_dir is not None:
        write_outputs(result, out_dir)
    return result


# --------------------------------------------------------------------------- CLI


def _pairs(items, what: str) -> dict[str, str]:
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ParameterError(f"{what} must look like NAME=VALUE, got {item!r}.")
        out[name.strip()] = value.strip()
    return out


def _parse_ranges(items) -> dict[str, tuple[float, float]]:
    out = {}
    for name, value in _pairs(items, "--range").items():
        low, sep, high = value.partition(":")
        try:
            out[name] = (float(low), float(high))
        except ValueError:
            raise ParameterError(f"--range {name}={value}: give LOW:HIGH as numbers, e.g. P_s=10:100.") from None
        if not sep:
            raise ParameterError(f"--range {name}={value}: give LOW:HIGH, e.g. P_s=10:100.")
    return out


def _parse_weights(items) -> dict[str, float]:
    out = {}
    for name, value in _pairs(items, "--weight").items():
        try:
            out[name] = float(value)
        except ValueError:
            raise ParameterError(f"--weight {name}={value}: the weight must be a number.") from None
    return out


def _run_fit(args) -> int:
    if args.params:
        base = load_params_file(args.params, default_preset=args.preset, default_model=args.model)
    else:
        base = get_model(args.model).preset(args.preset)
    base_name = args.preset or model_of(base).default_preset
    fitted = [n.strip() for n in args.fit.split(",") if n.strip()] if args.fit else None
    settings = ObjectiveSettings(weights=_parse_weights(args.weight), min_recorded_waves=args.min_waves)
    simulation = SimulationSettings(n_retinas=args.retinas, seed=args.seed, margin_um=args.margin_um,
                                    um_per_pixel=args.um_per_pixel, frame_period_s=args.frame_period_s,
                                    warmup_s=args.warmup_s, duration_s=args.duration_s, backend=args.backend)
    batch = args.batch_size or (8 if simulation.backend == "cuda" else 2)
    result = fit(args.recording, args.out, storage=args.storage, study_name=args.study_name, base=base,
                 base_name=base_name, fitted=fitted, ranges=_parse_ranges(args.range), n_trials=args.trials,
                 batch_size=batch, sampler=args.sampler, sampler_seed=args.sampler_seed,
                 objective_settings=settings, simulation=simulation, progress=not args.no_progress)
    r = result.report
    print(f"best distance {r['best_distance']:.4f} +- {r['best_distance_sem'] or 0:.4f} (trial {r['best_trial']}, "
          f"{r['n_trials_complete']} complete trials; preset distance {r['preset_distance']:.4f})")
    near = r["near_best"]
    print(f"parameter    fitted  preset  range over the {near['n_trials']} trials within {near['n_sem']:g} x "
          f"{near['sem']:.3g} (median sem) of the best")
    for name, value in r["fitted_parameters"].items():
        low, high = near["ranges"][name]
        print(f"  {name:<10} {value:<7.4g} {getattr(base, name):<7g} {low:.4g} - {high:.4g}")
    timing = r["study_time"]
    print(f"study: {timing['busy_time_s']:.0f} s busy over {len(timing['workers'])} process(es)")
    print(f"wrote {Path(args.out) / 'best_params.toml'}, report.json, comparison.png")
    return 0


def register_cli(subparsers) -> None:
    """Add the ``fit`` subcommand.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From ``ArgumentParser.add_subparsers(dest="command")``.
    """
    p = subparsers.add_parser(
        "fit", help="fit model parameters to an MEA recording",
        description="Search model parameters whose simulated waves, seen through virtual electrodes at the "
                    "recording's electrode positions, match the recording's statistics (Optuna study; resumable, "
                    "shareable by several processes).",
    )
    p.add_argument("recording", help="MEA recording (.h5)")
    p.add_argument("--out", required=True, help="output folder: best_params.toml, report.json, comparison.png")
    p.add_argument("--storage", default=None,
                   help="journal file or database URL of the study (default OUT/study.journal); "
                        "processes given the same storage work on one study")
    p.add_argument("--study-name", default="wavesim-fit")
    p.add_argument("--trials", type=int, default=50, help="complete trials of the whole study (default 50)")
    p.add_argument("--batch-size", type=int, default=None,
                   help="candidates simulated in one batch (default 8 on cuda, 2 on cpu)")
    p.add_argument("--sampler", choices=SAMPLERS, default="tpe")
    p.add_argument("--seed", type=int, default=0, help="seed of the simulated retinas, the same for every candidate")
    p.add_argument("--sampler-seed", type=int, default=None, help="seed of the sampler (default: per process)")
    p.add_argument("--model", default=None, help="wave model (default amacrine)")
    p.add_argument("--preset", default=None, help="starting preset (default: the model's default, mouse)")
    p.add_argument("--params", default=None, help="TOML parameter file to start from")
    p.add_argument("--fit", default=None, help=f"comma-separated parameters to fit (default: the model's; amacrine {','.join(DEFAULT_FITTED)})")
    p.add_argument("--range", action="append", metavar="NAME=LOW:HIGH",
                   help="search range of a parameter (default: its allowed range); repeatable")
    p.add_argument("--weight", action="append", metavar="TERM=W",
                   help=f"weight of an objective term ({', '.join(TERM_NAMES)}; default 1); repeatable")
    p.add_argument("--retinas", type=int, default=2, help="retinas per candidate (default 2)")
    p.add_argument("--warmup-s", type=float, default=900.0)
    p.add_argument("--duration-s", type=float, default=None, help="simulated time per retina (default: the recording's)")
    p.add_argument("--margin-um", type=float, default=500.0, help="retina beyond the electrode layout (default 500)")
    p.add_argument("--um-per-pixel", type=float, default=34.0)
    p.add_argument("--frame-period-s", type=float, default=0.25)
    p.add_argument("--min-waves", type=int, default=5, help="fewest recorded waves to fit (default 5)")
    p.add_argument("--backend", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_run_fit, command="fit")
