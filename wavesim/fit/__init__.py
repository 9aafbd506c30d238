"""Tune model parameters to a recording: ``wavesim fit``.

Modules: ``objective`` (the distance between a recording's wave statistics
and a simulation's, virtual electrode arrays, settings), ``search`` (the
Optuna study: open or resume, samplers, batches, budget, stale trials, and
:func:`fit`), ``report`` (the best trial, near-best spread, timing, output
files), and ``plot`` (the comparison figure). The ``wavesim fit`` command is
:mod:`wavesim.cli.fit`.
"""

from .objective import (
    TERM_NAMES,
    Evaluation,
    FitStatistics,
    Objective,
    ObjectiveSettings,
    PooledObjective,
    SimulationSettings,
    UnfittableRecordingError,
    VirtualArray,
    simulate_arrays,
)
from .plot import plot_comparison, plot_recording_distances
from .report import FitResult, held_out_scores, near_best_spread, study_timing, summarize_study, write_outputs
from .search import DEFAULT_FITTED, SAMPLERS, fail_stale_trials, fit, open_study, parameter_ranges, run_search

__all__ = [
    "DEFAULT_FITTED",
    "Evaluation",
    "FitResult",
    "FitStatistics",
    "Objective",
    "ObjectiveSettings",
    "PooledObjective",
    "SAMPLERS",
    "SimulationSettings",
    "TERM_NAMES",
    "UnfittableRecordingError",
    "VirtualArray",
    "fail_stale_trials",
    "fit",
    "held_out_scores",
    "near_best_spread",
    "open_study",
    "parameter_ranges",
    "plot_comparison",
    "plot_recording_distances",
    "run_search",
    "simulate_arrays",
    "study_timing",
    "summarize_study",
    "write_outputs",
]
