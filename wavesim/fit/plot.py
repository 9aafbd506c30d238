"""The figure of a fit: recorded, preset and fitted statistics side by side."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np

#: (report key, panel title)
PANELS = (
    ("median_iwi_s", "median inter-wave interval (s)"),
    ("median_burst_duration_s", "median burst duration (s)"),
    ("mean_size_fraction", "mean wave size (fraction of electrodes)"),
    ("median_speed_um_per_s", "median speed (um/s)"),
    ("participation_fraction", "participation (fraction of electrodes)"),
)
SOURCES = (("recorded", "recording", "0.2"), ("preset", "preset", "tab:orange"), ("fitted", "fitted", "tab:blue"))


def plot_comparison(report: Mapping[str, Any], path: str | Path) -> None:
    """Bar charts of each statistic and the CI against distance, for recording, preset and fit.

    Parameters
    ----------
    report : mapping
        ``report.json`` of a fit (its ``statistics`` hold ``recorded``, ``preset`` and ``fitted``).
    path : path
        The PNG to write.
    """
    # a bare Figure draws with Agg on savefig, without pyplot switching the process's backend
    from matplotlib.figure import Figure

    stats = report["statistics"]
    fig = Figure(figsize=(12, 6.5))
    axes = fig.subplots(2, 3)
    for ax, (key, title) in zip(axes.flat, PANELS):
        values = [stats[src].get(key) if stats.get(src) else None for src, _, _ in SOURCES]
        heights = [v if v is not None and math.isfinite(v) else 0.0 for v in values]
        ax.bar([label for _, label, _ in SOURCES], heights, color=[c for _, _, c in SOURCES])
        for i, v in enumerate(values):
            ax.text(i, heights[i], "n/a" if v is None else f"{v:.3g}", ha="center", va="bottom", fontsize=8)
        ax.set_title(title, fontsize=9)
    ax = axes.flat[len(PANELS)]
    for src, label, colour in SOURCES:
        s = stats.get(src) or {}
        d, c = np.asarray(s.get("ci_distance_um", []), float), np.array(s.get("ci_mean", []), float)
        if d.size:
            ax.plot(d, c, "o-", color=colour, label=label, ms=3)
    ax.set_yscale("log")
    ax.set_xlabel("electrode distance (um, bin start)")
    ax.set_title("correlation index", fontsize=9)
    ax.legend(fontsize=8)
    fitted = ", ".join(f"{k}={v:.3g}" for k, v in report["fitted_parameters"].items())
    fig.suptitle(f"{Path(str(report['recording'])).name}: preset {report['base_preset']} "
                 f"(distance {report['preset_distance']:.3f}) vs fitted (distance {report['best_distance']:.3f}; "
                 f"{report['n_trials_complete']} trials)\n{fitted}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_recording_distances(report: Mapping[str, Any], path: str | Path) -> None:
    """Each recording's distance to the preset and to the fitted parameters, fitted and held-out recordings apart.

    Parameters
    ----------
    report : mapping
        ``report.json`` of a pooled fit or of a fit with held-out recordings.
    path : path
        The PNG to write.
    """
    from matplotlib.figure import Figure

    from .report import recording_distances

    rows = recording_distances(report)
    fig = Figure(figsize=(max(6.0, 0.55 * len(rows) + 2), 4.2))
    ax = fig.subplots()
    x = np.arange(len(rows))
    for offset, index, label, colour in ((-0.2, 2, "preset", "tab:orange"), (0.2, 3, "fitted", "tab:blue")):
        heights = [r[index] if r[index] is not None else np.nan for r in rows]
        ax.bar(x + offset, heights, width=0.4, color=colour, label=label)
    ax.set_xticks(x, [f"{r[0]}\n({r[1]})" for r in rows], rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("distance (lower is closer)")
    held = report.get("held_out")
    pooled = f"pooled over fitted recordings: preset {report['preset_distance']:.3f}, fitted {report['best_distance']:.3f}"
    if held:
        pooled += (f"; held out: preset {held['preset']['distance']:.3f}, "
                   f"fitted {held['fitted']['distance']:.3f}")
    ax.set_title(pooled, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
