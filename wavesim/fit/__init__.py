"""Tune model parameters to a recording: ``wavesim fit``.

Modules: ``statistics`` (what is compared), ``virtual`` (virtual electrode
arrays on simulated retinas, simulation settings), ``objective`` (the
distance between a recording's statistics and a simulation's), ``ranges``
(what is fitted, and the start), ``fidelity`` (the rungs of a multi-fidelity
search), ``staged`` (candidates simulated rung by rung, on worker
processes), ``pruning`` (successive halving within the objective's noise, an
Optuna pruner), ``samplers`` and ``study`` (the Optuna study: samplers
seeded per trial, storage, stale trials, heartbeats), ``search`` (the search
loop and :func:`fit`), ``report`` (the best trial, near-best spread, timing,
output files), ``plot`` (the comparison figure), and ``compare`` (every
model fitted to the same recordings and scored on held-out ones). The
``wavesim fit`` and ``wavesim compare-models`` commands are
:mod:`wavesim.cli.fit` and :mod:`wavesim.cli.compare_models`.
"""

from .compare import ModelComparison, ModelScore, compare_models
from .fidelity import PRUNERS, PruningSettings, Rung, rung_schedule
from .objective import (
    TERM_NAMES,
    Evaluation,
    Objective,
    ObjectiveSettings,
    PooledObjective,
    UnfittableRecordingError,
)
from .plot import plot_comparison, plot_recording_distances
from .ranges import DEFAULT_FITTED, parameter_ranges, start_point
from .report import FitResult, held_out_scores, near_best_spread, study_timing, summarize_study, write_outputs
from .search import SAMPLERS, SearchPlan, fit, run_search, search_plan
from .statistics import FitStatistics, fit_statistics, mean_statistics
from .study import fail_stale_trials, open_study
from .virtual import SimulationSettings, VirtualArray, simulate_arrays

__all__ = [
    "DEFAULT_FITTED",
    "Evaluation",
    "FitResult",
    "FitStatistics",
    "ModelComparison",
    "ModelScore",
    "Objective",
    "ObjectiveSettings",
    "PRUNERS",
    "PooledObjective",
    "PruningSettings",
    "Rung",
    "SAMPLERS",
    "SearchPlan",
    "SimulationSettings",
    "TERM_NAMES",
    "UnfittableRecordingError",
    "VirtualArray",
    "fail_stale_trials",
    "compare_models",
    "fit",
    "fit_statistics",
    "held_out_scores",
    "mean_statistics",
    "near_best_spread",
    "open_study",
    "parameter_ranges",
    "plot_comparison",
    "plot_recording_distances",
    "run_search",
    "rung_schedule",
    "search_plan",
    "simulate_arrays",
    "start_point",
    "study_timing",
    "summarize_study",
    "write_outputs",
]
