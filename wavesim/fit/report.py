"""What a fit study found: the best trial, how well the data pin each parameter, timing, outputs.

:func:`summarize_study` turns a study into a :class:`FitResult` whose
``report`` is what :func:`write_outputs` writes as ``report.json``, next to
``best_params.toml`` and the figure ``comparison.png``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import statistics
from pathlib import Path
from typing import Any, Mapping

from ..errors import ParameterError
from ..io.json_values import json_ready
from ..models import write_params_file
from .objective import Evaluation, Objective
from .ranges import start_point
from .statistics import mean_statistics
from .study import START_ATTR

__all__ = ["FitResult", "held_out_scores", "near_best_spread", "params_file_comment", "recording_attrs",
           "recording_distances", "start_note", "study_timing", "summarize_study", "write_outputs"]


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
        Finished (complete or pruned) trials.

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


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def recording_attrs(evaluation: Evaluation) -> dict[str, dict[str, Any]]:
    """Per recording of a pooled evaluation: distance, standard error, terms and mean statistics (JSON-ready)."""
    return {name: {"distance": _finite_or_none(part.distance), "distance_sem": part.distance_sem,
                   "terms": {k: _finite_or_none(v) for k, v in part.terms.items()},
                   "statistics": mean_statistics(part.statistics)}
            for name, part in evaluation.recordings.items()}


def held_out_scores(objective, fitted_params, base) -> dict[str, Any]:
    """The fitted and the base parameters scored on recordings the fit left out.

    Parameters
    ----------
    objective : PooledObjective
        Of the held-out recordings, with the fit's settings.
    fitted_params, base : parameters of one registered model

    Returns
    -------
    dict
        ``fitted`` and ``preset``: the pooled distance and its standard
        error; ``recordings``: per held-out recording, its recorded
        statistics and each parameter set's distance, terms and statistics.
    """
    fitted, preset = objective.evaluate([fitted_params, base])
    parts = {"fitted": recording_attrs(fitted), "preset": recording_attrs(preset)}
    return json_ready({
        "fitted": {"distance": fitted.distance, "distance_sem": fitted.distance_sem},
        "preset": {"distance": preset.distance, "distance_sem": preset.distance_sem},
        "recordings": {o.name: {"recorded": o.recorded_statistics(), "fitted": parts["fitted"][o.name],
                                "preset": parts["preset"][o.name]} for o in objective.objectives},
    })


def recording_distances(report: Mapping[str, Any]) -> list[tuple[str, str, float | None, float | None]]:
    """(recording, "fitted" or "held out", preset distance, fitted distance) of a pooled or held-out report."""
    groups = (("fitted", report.get("recordings")), ("held out", (report.get("held_out") or {}).get("recordings")))
    return [(name, group, part["preset"]["distance"], part["fitted"]["distance"])
            for group, parts in groups for name, part in (parts or {}).items()]


def _start_summary(complete, start_values: Mapping[str, float], clipped: Mapping[str, list[float]],
                   best) -> dict[str, Any]:
    """The start trial's part of the report (``trial`` and ``distance`` None where it is not complete)."""
    start = next((t for t in complete if t.user_attrs.get(START_ATTR)), None)
    return {
        "trial": None if start is None else start.number,
        "distance": None if start is None else start.value,
        "distance_sem": None if start is None else start.user_attrs.get("distance_sem"),
        "parameters": dict(start_values),
        "clipped": dict(clipped),
        # ties go to the lower trial number, so a trial beats the start only if strictly better
        "beaten": None if start is None else best.number != start.number,
    }


def summarize_study(study, objective: Objective, base, base_name: str,
                    ranges: Mapping[str, tuple[float, float]], process_wall_time_s: float,
                    sampler: str) -> FitResult:
    """Best trial, the start, preset statistics and the report.

    The best trial is the complete trial of least distance, the lower number
    on ties, so it is the start unless a trial beat it; pruned trials are
    counted (``n_trials_pruned``), never candidates for the best. The preset's
    statistics are the start trial's where the start is the preset itself
    (no parameter clipped into its range); otherwise the preset is simulated
    now, on the same retinas.
    """
    from optuna.trial import TrialState

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    pruned = study.get_trials(deepcopy=False, states=(TrialState.PRUNED,))
    if not complete:
        raise ParameterError(f"study {study.study_name} holds no complete trial to report.")
    best = min(complete, key=lambda t: (t.value, t.number))
    best_params = dataclasses.replace(base, **best.params)
    start = _start_summary(complete, *start_point(base, ranges), best)
    recorded = objective.recorded_statistics()
    if start["trial"] is not None and not start["clipped"]:
        start_trial = next(t for t in complete if t.number == start["trial"])
        preset_distance, preset_sem = start_trial.value, start_trial.user_attrs.get("distance_sem")
        preset_terms, preset_stats = start_trial.user_attrs.get("terms"), start_trial.user_attrs.get("statistics")
        preset_parts = start_trial.user_attrs.get("recordings")
    else:
        preset_eval = objective.evaluate([base])[0]
        preset_distance, preset_sem = preset_eval.distance, preset_eval.distance_sem
        preset_terms, preset_stats = preset_eval.terms, mean_statistics(preset_eval.statistics)
        preset_parts = recording_attrs(preset_eval)
    report = {
        "recording": objective.label,
        "base_preset": base_name,
        "fitted_parameters": {k: best_params.to_dict()[k] for k in ranges},
        "near_best": near_best_spread(complete, best),
        "best_params": best_params.to_dict(),
        "ranges": {k: list(v) for k, v in ranges.items()},
        "best_trial": best.number,
        "best_distance": best.value,
        "best_distance_sem": best.user_attrs.get("distance_sem"),
        "best_terms": best.user_attrs.get("terms"),
        "start": start,
        "preset_distance": preset_distance,
        "preset_distance_sem": preset_sem,
        "preset_terms": preset_terms,
        "statistics": {"recorded": recorded, "preset": preset_stats, "fitted": best.user_attrs.get("statistics")},
        "weights": dict(objective.settings.weights),
        "objective": objective.describe(),
        "n_trials_complete": len(complete),
        "n_trials_pruned": len(pruned),
        "n_trials_failed": len(study.get_trials(deepcopy=False, states=(TrialState.FAIL,))),
        "sampler": sampler,
        "seed": objective.simulation.seed,
        "study_time": study_timing([*complete, *pruned]),
        "process_wall_time_s": process_wall_time_s,
        "study_name": study.study_name,
    }
    if isinstance(objective, Objective):
        report["recordings"] = None
    else:
        fitted_parts = best.user_attrs["recordings"]
        report["recordings"] = {o.name: {"recorded": o.recorded_statistics(), "fitted": fitted_parts[o.name],
                                         "preset": preset_parts[o.name]} for o in objective.objectives}
    report["held_out"] = None  # fit() scores held-out recordings, if any
    report = json_ready(report)
    return FitResult(best_params, best.value, best.user_attrs.get("distance_sem", math.nan),
                     best.user_attrs.get("terms", {}), recorded, report["statistics"]["preset"],
                     report["statistics"]["fitted"], report)


def _distance_text(distance: float, sem: float | None) -> str:
    return f"{distance:.4g} +- {sem or 0.0:.2g}"


def start_note(report: Mapping[str, Any]) -> str:
    """One line on how the best trial compares with the start (for the params file and the CLI)."""
    start = report["start"]
    if start["trial"] is None:
        return "the start was not evaluated (the study's budget was taken before it was enqueued)"
    scored = f"the start (trial {start['trial']}) scored {_distance_text(start['distance'], start['distance_sem'])}"
    if not start["beaten"]:
        return f"no trial beat the start: these are the start's parameters; {scored}"
    return scored


def params_file_comment(report: Mapping[str, Any]) -> str:
    """The comment heading ``best_params.toml``: the recording, distance and standard error, the start."""
    lines = [f"wavesim fit of {report['recording']}",
             f"distance {_distance_text(report['best_distance'], report['best_distance_sem'])} "
             f"(trial {report['best_trial']} of {report['n_trials_complete']} complete trials)",
             start_note(report)]
    clipped = report["start"]["clipped"]
    if clipped:
        lines.append("the start clipped into the search ranges: " +
                     ", ".join(f"{k} {given:g} -> {used:g}" for k, (given, used) in clipped.items()))
    return "\n".join(lines)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_outputs(result: FitResult, out_dir: str | Path) -> dict[str, Path]:
    """Write ``best_params.toml``, ``report.json``, ``comparison.png`` and, for a pooled fit or one with
    held-out recordings, ``distances.png`` (each recording's distance) into ``out_dir``."""
    from .plot import plot_comparison, plot_recording_distances

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"params": out_dir / "best_params.toml", "report": out_dir / "report.json",
             "figure": out_dir / "comparison.png"}
    r = result.report
    write_params_file(paths["params"], result.best_params, r["base_preset"], params_file_comment(r))
    _atomic_write(paths["report"], json.dumps(r, indent=2) + "\n")
    plot_comparison(r, paths["figure"])
    if r.get("recordings") or r.get("held_out"):
        paths["distances"] = out_dir / "distances.png"
        plot_recording_distances(r, paths["distances"])
    return paths
