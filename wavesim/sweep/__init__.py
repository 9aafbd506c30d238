"""Parameter sweeps: a grid or a seeded random design over a model's parameters, one table row per point.

>>> import wavesim as ws
>>> from wavesim.sweep import SweepDesign, run_sweep, plot_sweep
>>> base = ws.preset("mouse")
>>> design = SweepDesign.grid(base, {"P_s": [16.0, 32.0, 64.0]})
>>> result = run_sweep(design, base, "sweep_out", n_retinas=2, backend="cpu")  # doctest: +SKIP
>>> plot_sweep(result.rows, design, "sweep_out/sweep.png")  # doctest: +SKIP

:mod:`~wavesim.sweep.design`
    :class:`SweepDesign`: grid and Latin-hypercube designs, checked against
    the model's parameter ranges.
:mod:`~wavesim.sweep.run`
    :func:`run_sweep`: points simulated in batches (one parameter set per
    batch element, several retinas per point), the statistics of
    :func:`wavesim.analysis.summarize` per retina, mean and sd per point;
    resumable.
:mod:`~wavesim.sweep.table`
    The table's files (CSV, Parquet, JSON) and the checks that a resumed
    sweep is the same sweep.
:mod:`~wavesim.sweep.plot`
    :func:`plot_sweep`: statistics against one parameter, heat maps for two.
"""

from .design import SweepDesign, grid_values
from .plot import DEFAULT_FIGURE_STATISTICS, plot_sweep
from .run import SweepResult, point_statistics, run_sweep, simulate_point_summaries
from .table import STATISTIC_NAMES, SweepLockedError, SweepMismatchError

__all__ = [
    "DEFAULT_FIGURE_STATISTICS",
    "STATISTIC_NAMES",
    "SweepDesign",
    "SweepLockedError",
    "SweepMismatchError",
    "SweepResult",
    "grid_values",
    "plot_sweep",
    "point_statistics",
    "run_sweep",
    "simulate_point_summaries",
]
