"""Which wave model explains a recording: every model fitted to the same recordings with the same budget and
objective, then scored on recordings the fits left out (``wavesim compare-models``).

Each model's fit is an ordinary :func:`~wavesim.fit.search.fit` in a folder of its own (``OUT/MODEL``, its
study journal included), so a comparison resumes model by model and each fit's report and figures stay
readable alone. Distances are comparable across models because the objective, the electrode model, the
simulated retinas' geometry, seeds and durations, and the trial budget are the same for every model.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import ParameterError
from ..io.json_values import json_ready
from ..models import get_model, list_models
from .fidelity import PruningSettings
from .objective import TERMS, ObjectiveSettings
from .search import _load, fit
from .virtual import SimulationSettings

__all__ = ["ModelComparison", "ModelScore", "compare_models", "parse_model_choices", "plot_model_comparison"]

_TERM_STATISTIC = {term: (statistic, kind) for term, statistic, kind in TERMS}


def parse_model_choices(text: str | Sequence[str] | None) -> list[tuple[str, str]]:
    """``(model, preset)`` pairs from ``"amacrine,lansdell2014:ml_sahp"`` (no preset: the model's fit preset).

    Raises
    ------
    ParameterError
        For an unknown model or preset, or a model named twice.
    """
    if text is None:
        items = list_models()
    elif isinstance(text, str):
        items = [item.strip() for item in text.split(",") if item.strip()]
    else:
        items = list(text)
    if not items:
        raise ParameterError("name at least one model to compare, e.g. amacrine,lansdell2014.")
    pairs = []
    for item in items:
        name, _, preset = item.partition(":")
        model = get_model(name.strip())
        preset = preset.strip() or model.fit_start_preset
        model.preset(preset)  # an unknown preset fails here, before any fit
        pairs.append((model.name, preset))
    names = [name for name, _ in pairs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ParameterError(f"model(s) {twice} named twice; compare each model once (its fit folder is OUT/MODEL).")
    return pairs


def _median(values) -> float:
    values = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.median(values)) if values else math.nan


def _deviation(term: str, recorded: Mapping[str, Any], simulated: Mapping[str, Any] | None) -> float:
    """How a simulation misses a statistic: the ratio simulated / recorded (ratio terms, the CI profile's
    geometric mean over distance bins) or the difference (fraction terms); nan where either is missing."""
    statistic, kind = _TERM_STATISTIC[term]
    if not simulated:
        return math.nan
    if statistic == "ci_profile":
        # the profiles' distance bins differ where a bin holds too few electrode pairs: pair them by distance
        sim_at = dict(zip(simulated.get("ci_distance_um") or [], simulated.get("ci_mean") or []))
        ratios = [sim_at[d] / r for d, r in zip(recorded.get("ci_distance_um") or [], recorded.get("ci_mean") or [])
                  if r is not None and r > 0 and sim_at.get(d) is not None and sim_at[d] > 0]
        return float(np.exp(np.mean(np.log(ratios)))) if ratios else math.nan
    rec, sim = recorded.get(statistic), simulated.get(statistic)
    if rec is None or sim is None or not (math.isfinite(rec) and math.isfinite(sim)):
        return math.nan
    if kind == "ratio":
        return sim / rec if rec > 0 else math.nan
    return sim - rec


@dataclasses.dataclass(frozen=True)
class ModelScore:
    """One model's fit in a comparison (distances as :class:`~wavesim.fit.objective.PooledObjective` gives them).

    Attributes
    ----------
    model, preset : str
        The model and the preset its fit started from.
    fitted_parameters : dict
        The best trial's values of the fitted parameters.
    distance, distance_sem : float
        The fit's best pooled distance over the fitted recordings, and its standard error over retinas.
    preset_distance : float
        The preset's pooled distance (the fit's start).
    recordings : dict
        Fitted recording name to the best parameters' distance on it.
    held_out_distance, held_out_sem : float
        Pooled distance of the best parameters on the held-out recordings (nan without any).
    held_out : dict
        Held-out recording name to the best parameters' distance on it.
    terms : dict
        Objective term to its median over the held-out recordings (over the fitted ones without any).
    deviations : dict
        Objective term to how the fitted model misses its statistic there (median over those recordings):
        the ratio simulated / recorded for ratio terms, the difference for fractions.
    n_trials_complete, n_trials_pruned : int
    busy_time_s : float
        Time the fit's study spent evaluating trials (over resumes).
    """

    model: str
    preset: str
    fitted_parameters: dict[str, float]
    distance: float
    distance_sem: float
    preset_distance: float
    recordings: dict[str, float]
    held_out_distance: float
    held_out_sem: float
    held_out: dict[str, float]
    terms: dict[str, float]
    deviations: dict[str, float]
    n_trials_complete: int
    n_trials_pruned: int
    busy_time_s: float

    def differs_most(self, n: int = 2) -> list[str]:
        """The ``n`` largest terms, each with how the model misses its statistic, e.g. ``"ci 0.81 (x0.55)"``."""
        ranked = sorted(((v, k) for k, v in self.terms.items() if v is not None and math.isfinite(v)), reverse=True)
        out = []
        for value, term in ranked[:n]:
            dev = self.deviations.get(term, math.nan)
            kind = _TERM_STATISTIC[term][1]
            how = "" if not math.isfinite(dev) else (f" (x{dev:.2f})" if kind == "ratio" else f" ({dev:+.2f})")
            out.append(f"{term} {value:.2f}{how}")
        return out

    @classmethod
    def from_report(cls, model: str, preset: str, report: Mapping[str, Any], recording: str) -> "ModelScore":
        """The score of one fit from its ``report.json`` (``recording``: the fitted one's name, for a fit of one)."""
        parts = report.get("recordings") or {recording: {
            "recorded": report["statistics"]["recorded"],
            "fitted": {"distance": report["best_distance"], "terms": report["best_terms"],
                       "statistics": report["statistics"]["fitted"]}}}
        held = report.get("held_out") or {}
        scored = held.get("recordings") or parts
        terms = {term: _median((p["fitted"].get("terms") or {}).get(term) for p in scored.values())
                 for term in _TERM_STATISTIC}
        deviations = {term: _median(_deviation(term, p["recorded"], p["fitted"].get("statistics"))
                                    for p in scored.values()) for term in _TERM_STATISTIC}
        nan = math.nan
        return cls(
            model=model, preset=preset, fitted_parameters=dict(report["fitted_parameters"]),
            distance=report["best_distance"], distance_sem=report.get("best_distance_sem") or 0.0,
            preset_distance=report["preset_distance"],
            recordings={name: p["fitted"]["distance"] for name, p in parts.items()},
            held_out_distance=held["fitted"]["distance"] if held else nan,
            held_out_sem=held["fitted"]["distance_sem"] if held else nan,
            held_out={name: p["fitted"]["distance"] for name, p in (held.get("recordings") or {}).items()},
            terms=terms, deviations=deviations,
            n_trials_complete=report["n_trials_complete"], n_trials_pruned=report["n_trials_pruned"],
            busy_time_s=report["study_time"]["busy_time_s"],
        )


def _number(value: float, digits: int = 3) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


@dataclasses.dataclass(frozen=True)
class ModelComparison:
    """The models' scores on the same recordings.

    Attributes
    ----------
    scores : tuple of ModelScore
        In the order the models were fitted (:meth:`ranked` sorts them).
    recordings, held_out : tuple of str
        Names of the fitted and the held-out recordings.
    settings : dict
        The budget, objective, simulation and pruning every model was fitted with.
    """

    scores: tuple[ModelScore, ...]
    recordings: tuple[str, ...]
    held_out: tuple[str, ...]
    settings: dict[str, Any]

    def ranked(self) -> list[ModelScore]:
        """The scores, least held-out distance first (least fitted distance without held-out recordings)."""
        key = (lambda s: s.held_out_distance) if self.held_out else (lambda s: s.distance)
        return sorted(self.scores, key=lambda s: (not math.isfinite(key(s)), key(s)))

    def table(self) -> str:
        """Markdown: one row per model (distances, held-out distance, what differs most), then per recording."""
        lines = ["| model (preset) | preset distance | fitted distance | held-out distance | differs most "
                 "(held out) | trials (pruned) | busy time (s) |", "|---|---|---|---|---|---|---|"]
        for s in self.ranked():
            held = f"{_number(s.held_out_distance)} +- {_number(s.held_out_sem)}" if self.held_out else "n/a"
            lines.append(f"| {s.model} ({s.preset}) | {_number(s.preset_distance)} | {_number(s.distance)} +- "
                         f"{_number(s.distance_sem)} | {held} | {'; '.join(s.differs_most())} | "
                         f"{s.n_trials_complete + s.n_trials_pruned} ({s.n_trials_pruned}) | {s.busy_time_s:.0f} |")
        names = [*self.recordings, *self.held_out]
        lines += ["", "| recording | group | " + " | ".join(s.model for s in self.ranked()) + " |",
                  "|---|---|" + "---|" * len(self.scores)]
        for name in names:
            group = "held out" if name in self.held_out else "fitted"
            cells = [_number((s.held_out if group == "held out" else s.recordings).get(name, math.nan))
                     for s in self.ranked()]
            lines.append(f"| {name} | {group} | " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The comparison as ``comparison.json`` holds it (scores ranked, each with its ``differs_most``)."""
        return {"recordings": list(self.recordings), "held_out": list(self.held_out), "settings": self.settings,
                "scores": [dataclasses.asdict(s) | {"differs_most": s.differs_most()} for s in self.ranked()]}


def plot_model_comparison(comparison: ModelComparison, path: str | Path) -> None:
    """Each model's distance per recording (held-out ones hatched) and its objective terms, side by side."""
    from matplotlib.figure import Figure

    scores = comparison.ranked()
    names = [*comparison.recordings, *comparison.held_out]
    fig = Figure(figsize=(max(8.0, 0.6 * len(names) * max(1, len(scores)) / 2 + 5), 4.8))
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [max(2, len(names)), 3]})
    width = 0.8 / max(1, len(scores))
    for i, s in enumerate(scores):
        values = [(s.held_out if n in comparison.held_out else s.recordings).get(n, math.nan) for n in names]
        bars = left.bar(np.arange(len(names)) + (i - (len(scores) - 1) / 2) * width, np.nan_to_num(values),
                        width, label=s.model, color=f"C{i}")
        for bar, n in zip(bars, names):
            if n in comparison.held_out:
                bar.set_hatch("//")
    prefix = os.path.commonprefix(names) if len(names) > 1 else ""
    left.set_xticks(np.arange(len(names)), [n[len(prefix):] or n for n in names], rotation=60, ha="right",
                    fontsize=7)
    if prefix:
        left.set_xlabel(f"recording ({prefix}...)", fontsize=8)
    left.set_ylabel("distance of the fitted model")
    left.set_title("per recording (hatched: held out)", fontsize=9)
    left.legend(fontsize=8)
    terms = list(_TERM_STATISTIC)
    for i, s in enumerate(scores):
        right.bar(np.arange(len(terms)) + (i - (len(scores) - 1) / 2) * width,
                  [np.nan_to_num(s.terms.get(t, math.nan)) for t in terms], width, color=f"C{i}")
    right.set_xticks(np.arange(len(terms)), terms, rotation=45, ha="right", fontsize=8)
    right.set_title("objective terms\n(median over the " + ("held-out" if comparison.held_out else "fitted")
                    + " recordings)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def compare_models(recordings, out_dir: str | Path, *, models=None, hold_out=(), n_trials: int = 50,
                   batch_size: int = 2, sampler: str = "tpe", sampler_seed: int | None = None,
                   objective_settings: ObjectiveSettings | None = None,
                   simulation: SimulationSettings | None = None, analysis=None,
                   pruning: PruningSettings | None = None, workers: int | None = None,
                   progress: bool = True) -> ModelComparison:
    """Fit each model to ``recordings`` with the same budget and objective, and score the fits on ``hold_out``.

    Parameters
    ----------
    recordings : MEARecording or path, or a sequence of them
        Fitted, pooled (see :func:`~wavesim.fit.search.fit`).
    out_dir : path
        ``OUT/MODEL`` holds each model's fit (resumable: a rerun with the same arguments continues each
        study to ``n_trials``); ``comparison.md``, ``comparison.json`` and ``models.png`` the comparison.
    models : str or sequence of str, optional
        ``NAME`` or ``NAME:PRESET`` items (default: every registered model, each from its ``fit_start_preset``).
    hold_out : sequence of MEARecording or path
        Recordings no fit sees, on which the fits are compared.
    n_trials, batch_size, sampler, sampler_seed, objective_settings, simulation, analysis, pruning, workers
        The same for every model; see :func:`~wavesim.fit.search.fit`. Each model fits its own
        ``fit_defaults`` within its ``fit_ranges``.

    Returns
    -------
    ModelComparison
    """
    pairs = parse_model_choices(models)
    fitted, held = _load(recordings), _load(hold_out)
    if not fitted:
        raise ParameterError("give at least one recording to fit.")
    out_dir = Path(out_dir)
    objective_settings = objective_settings or ObjectiveSettings()
    simulation = simulation or SimulationSettings()
    scores = []
    for name, preset in pairs:
        result = fit(fitted, out_dir / name, model=name, base_name=preset, hold_out=held, n_trials=n_trials,
                     batch_size=batch_size, sampler=sampler, sampler_seed=sampler_seed,
                     objective_settings=objective_settings, simulation=simulation, analysis=analysis,
                     pruning=pruning, workers=workers, progress=progress)
        scores.append(ModelScore.from_report(name, preset, result.report, fitted[0].name))
    settings = {"n_trials": n_trials, "batch_size": batch_size, "sampler": sampler, "sampler_seed": sampler_seed,
                "objective": objective_settings.to_dict(), "simulation": simulation.to_dict(),
                "pruning": (pruning or PruningSettings()).to_dict()}
    comparison = ModelComparison(tuple(scores), tuple(r.name for r in fitted), tuple(r.name for r in held), settings)
    (out_dir / "comparison.md").write_text(comparison.table() + "\n")
    (out_dir / "comparison.json").write_text(json.dumps(json_ready(comparison.to_dict()), indent=2) + "\n")
    plot_model_comparison(comparison, out_dir / "models.png")
    return comparison
