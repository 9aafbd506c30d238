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
