"""Figures of a sweep: statistics against the swept parameters.

- one varied parameter: each statistic against it, the mean over retinas
  with its sd as error bars (the distance to a recording with its standard error);
- two: a heat map per statistic (a grid's cells, or a random design's
  points coloured by value);
- more: each statistic against each parameter (a scatter per pair), rows
  of statistics by columns of parameters.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import ParameterError
from .design import SweepDesign
from .table import STATISTICS

#: Statistics drawn unless others are named.
DEFAULT_FIGURE_STATISTICS = ("wave_frequency_per_min", "median_iwi_s", "mean_size_fraction",
                             "median_speed_um_per_s", "participation_fraction")
_UNITS = {name: unit for name, unit, _ in STATISTICS}
_UNITS["distance"] = "1"

__all__ = ["DEFAULT_FIGURE_STATISTICS", "figure_statistics", "plot_sweep"]


def figure_statistics(names: Sequence[str] | None, with_distance: bool) -> list[str]:
    """Check the statistics to draw (names of table statistics, or ``distance`` with a recording)."""
    known = [*(s[0] for s in STATISTICS), *(("distance",) if with_distance else ())]
    if names is None:
        return [*DEFAULT_FIGURE_STATISTICS, *(("distance",) if with_distance else ())]
    names = list(dict.fromkeys(names))
    unknown = [n for n in names if n not in known]
    if unknown:
        extra = "" if with_distance else " ('distance' needs a recording)"
        raise ParameterError(f"unknown statistic(s) {unknown} to draw; known ones are {known}{extra}.")
    if not names:
        raise ParameterError(f"name at least one statistic to draw; known ones are {known}.")
    return names


def _label(name: str) -> str:
    unit = _UNITS.get(name, "")
    return name if unit in ("", "1") else f"{name} ({unit})"


def _values(rows, column) -> np.ndarray:
    return np.array([r[column] if r[column] is not None else math.nan for r in rows], dtype=float)


def _axis_positions(design: SweepDesign, name: str, rows) -> tuple[np.ndarray, list | None]:
    """x positions of each row along parameter ``name``, and tick labels where it is categorical."""
    values = [r[name] for r in rows]
    if all(isinstance(v, (int, float)) for v in values):
        return np.array(values, dtype=float), None
    categories = list(design.axes[name])
    return np.array([categories.index(v) for v in values], dtype=float), categories


def _set_axis(ax, design, name, categories, which="x") -> None:
    set_label, set_ticks, set_scale = ((ax.set_xlabel, ax.set_xticks, ax.set_xscale) if which == "x"
                                       else (ax.set_ylabel, ax.set_yticks, ax.set_yscale))
    set_label(name)
    if categories is not None:
        set_ticks(range(len(categories)), [str(c) for c in categories])
    elif design.is_log(name):
        set_scale("log")


def _panel_grid(fig, n: int):
    """Axes for ``n`` panels, at most 3 a row; the spare ones hidden."""
    n_cols = min(3, n)
    axes = fig.subplots(math.ceil(n / n_cols), n_cols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return axes[:n]


def _line_panels(fig, design, rows, stats, name) -> None:
    axes = _panel_grid(fig, len(stats))
    x, categories = _axis_positions(design, name, rows)
    order = np.argsort(x, kind="stable")
    for ax, stat in zip(axes, stats):
        mean = _values(rows, "distance" if stat == "distance" else f"{stat}_mean")
        spread = _values(rows, "distance_sem" if stat == "distance" else f"{stat}_sd")
        ax.errorbar(x[order], mean[order], yerr=np.nan_to_num(spread[order]), fmt="o-", ms=4, capsize=2)
        ax.set_ylabel(_label(stat))
        _set_axis(ax, design, name, categories)


def _heat_panels(fig, design, rows, stats, names) -> None:
    axes = _panel_grid(fig, len(stats))
    x_name, y_name = names
    for ax, stat in zip(axes, stats):
        value = _values(rows, "distance" if stat == "distance" else f"{stat}_mean")
        if design.kind == "grid":
            # cells on the grid's index lattice, labelled with the values (which may be uneven or names)
            xs, ys = list(design.axes[x_name]), list(design.axes[y_name])
            image = np.full((len(ys), len(xs)), np.nan)
            for r, v in zip(rows, value):
                image[ys.index(r[y_name]), xs.index(r[x_name])] = v
            mesh = ax.imshow(image, origin="lower", aspect="auto", cmap="viridis")
            if image.size <= 144:
                finite = image[np.isfinite(image)]
                middle = (finite.min() + finite.max()) / 2 if finite.size else 0.0
                for (j, i), v in np.ndenumerate(image):
                    # dark text on the bright half of viridis and on the blank of an undefined cell
                    ax.text(i, j, "n/a" if not math.isfinite(v) else f"{v:.3g}", ha="center", va="center",
                            fontsize=7, color="white" if math.isfinite(v) and v <= middle else "black")
            ax.set_xticks(range(len(xs)), [f"{v:g}" if isinstance(v, (int, float)) else str(v) for v in xs])
            ax.set_yticks(range(len(ys)), [f"{v:g}" if isinstance(v, (int, float)) else str(v) for v in ys])
            ax.set_xlabel(x_name)
            ax.set_ylabel(y_name)
        else:
            x, _ = _axis_positions(design, x_name, rows)
            y, _ = _axis_positions(design, y_name, rows)
            defined = np.isfinite(value)
            mesh = ax.scatter(x[defined], y[defined], c=value[defined], cmap="viridis", s=40, edgecolors="none")
            if not defined.all():
                ax.scatter(x[~defined], y[~defined], marker="x", color="0.5", s=25, label="undefined")
                ax.legend(fontsize=7, loc="best")
            _set_axis(ax, design, x_name, None)
            _set_axis(ax, design, y_name, None, which="y")
        fig.colorbar(mesh, ax=ax).set_label(_label(stat))


def _scatter_panels(fig, design, rows, stats, names) -> None:
    axes = fig.subplots(len(stats), len(names), squeeze=False)
    for i, stat in enumerate(stats):
        value = _values(rows, "distance" if stat == "distance" else f"{stat}_mean")
        for j, name in enumerate(names):
            ax = axes[i, j]
            x, categories = _axis_positions(design, name, rows)
            ax.plot(x, value, "o", ms=3)
            _set_axis(ax, design, name, categories)
            if j == 0:
                ax.set_ylabel(_label(stat))
            if i < len(stats) - 1:
                ax.set_xlabel("")


def plot_sweep(rows: Sequence[Mapping[str, Any]], design: SweepDesign, path, statistics: Sequence[str] | None = None,
               title: str = "") -> Path:
    """Draw the sweep's statistics against its varied parameters and save the figure.

    Parameters
    ----------
    rows : sequence of mapping
        The table (:attr:`SweepResult.rows`).
    design : SweepDesign
    path : path
        The image to write (png, pdf, svg).
    statistics : sequence of str, optional
        Table statistics to draw (default :data:`DEFAULT_FIGURE_STATISTICS`,
        and ``distance`` where the table has one).
    title : str

    Returns
    -------
    Path
    """
    from matplotlib.figure import Figure

    if not rows:
        raise ParameterError("the sweep's table holds no row to draw.")
    stats = figure_statistics(statistics, "distance" in rows[0])
    names = list(design.varied()) or list(design.parameters)
    n_cols, n_rows = min(3, len(stats)), math.ceil(len(stats) / 3)
    if len(names) == 1:
        fig = Figure(figsize=(3.8 * n_cols, 3.2 * n_rows))
        _line_panels(fig, design, rows, stats, names[0])
    elif len(names) == 2:
        fig = Figure(figsize=(4.4 * n_cols, 3.6 * n_rows))
        _heat_panels(fig, design, rows, stats, names)
    else:
        fig = Figure(figsize=(2.8 * len(names), 2.3 * len(stats)))
        _scatter_panels(fig, design, rows, stats, names)
    suffix = "" if len(rows) == design.n_points else f" ({len(rows)} of {design.n_points} points)"
    if len(names) == 1:
        suffix += "; error bars: sd over retinas" + (" (distance: standard error)" if "distance" in stats else "")
    if (title + suffix).strip():
        fig.suptitle((title + suffix).strip(), fontsize=10)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path
