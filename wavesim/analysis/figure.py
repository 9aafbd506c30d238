"""The summary figure of ``wavesim stats --figure`` and ``wavesim compare --figure``: one or several inputs.

Six distribution panels (the interval between waves, the interval at each
site, wave size, wave speed, the correlation index and the spike time
tiling coefficient against distance), then per input its two maps and its
key numbers; a title, one legend of the inputs, and the analysis settings
and wavesim version under the figure.
"""

from __future__ import annotations

import datetime
import math
from pathlib import Path
from typing import Sequence

import numpy as np

from wavesim.analysis.summary import Summary

__all__ = ["plot_summaries", "summary_figure"]

_DISTRIBUTIONS_HEIGHT_IN = 7.6
_INPUT_ROW_HEIGHT_IN = 3.9
_FOOTNOTE_HEIGHT_IN = 0.55
_NO_DATA = "no waves detected"


def plot_summaries(summaries: Sequence[Summary], path: str | Path, *, title: str | None = None) -> Path:
    """Save :func:`summary_figure` of several summaries to an image file.

    Parameters
    ----------
    summaries : sequence of Summary
    path : str or Path
        Image file; the format follows the suffix (png, pdf, svg, ...).
    title : str, optional
        Default: "Retinal wave statistics: NAME" (names joined by "vs").

    Returns
    -------
    Path
    """
    path = Path(path)
    summary_figure(summaries, title=title).savefig(path, dpi=150)
    return path


def summary_figure(summaries: Sequence[Summary], *, title: str | None = None):
    """A figure overlaying the distributions of several summaries, then each one's maps and key numbers.

    Distribution panels (fraction of values per bin, shared bins; intervals
    and speeds on log-spaced bins, since both have long tails; n per input
    in each panel's title): the interval between consecutive waves (one per
    wave, :attr:`Summary.wave_interval_s`), the interval between
    consecutive waves at each site (one per electrode or pixel and wave,
    :attr:`Summary.iwi_s`), wave size, wave speed, and the correlation
    index (log scale) and the spike time tiling coefficient against
    electrode distance (mean +- standard error per distance bin). Then one
    row per input: where waves start (each wave's initiation point over the
    sites), each site's participation (the fraction of the waves that
    recruit it; an image where the sites form a regular grid, coloured dots
    otherwise), and its key numbers. Maps put +y down, as in movie frames.
    A panel without data says so. The analysis settings and the wavesim
    version are written under the figure.

    Parameters
    ----------
    summaries : sequence of Summary
    title : str, optional
        Default: "Retinal wave statistics: NAME" (names joined by "vs").

    Returns
    -------
    matplotlib.figure.Figure
        Map axes are titled ``"wave initiation: NAME"`` and
        ``"participation: NAME"``.
    """
    from matplotlib.figure import Figure  # no pyplot: works without a display
    from matplotlib.lines import Line2D

    n = len(summaries)
    heights = [_DISTRIBUTIONS_HEIGHT_IN, _INPUT_ROW_HEIGHT_IN * n, _FOOTNOTE_HEIGHT_IN]
    figure = Figure(figsize=(14, sum(heights)), layout="constrained")
    top, bottom, foot = figure.subfigures(3, 1, height_ratios=heights)
    figure.suptitle(title or "Retinal wave statistics: " + " vs ".join(s.name for s in summaries),
                    fontsize="x-large", fontweight="bold")
    _distribution_panels(top, summaries)
    handles = [Line2D([], [], color=f"C{k}", linewidth=2, label=f"{s.name} ({_kind(s)})")
               for k, s in enumerate(summaries)]
    top.legend(handles=handles, loc="outside upper center", ncols=min(n, 4), frameon=False, fontsize="medium")
    rows = bottom.subplots(n, 3, squeeze=False, width_ratios=[1.0, 1.15, 1.0])
    for k, s in enumerate(summaries):
        _initiation_map(rows[k, 0], s, f"C{k}")
        _participation_map(rows[k, 1], s)
        _key_numbers(rows[k, 2], s, f"C{k}")
    for letter, ax in zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", [*top.axes, *rows[:, :2].ravel()]):
        ax.set_title(letter, loc="left", fontweight="bold")
    foot.text(0.005, 0.5, _provenance(summaries), ha="left", va="center", fontsize="small", color="0.3", wrap=True)
    return figure


def _kind(s: Summary) -> str:
    return "MEA recording" if s.kind == "mea" else "movie"


def _site_word(summaries: Sequence[Summary]) -> str:
    kinds = {s.kind for s in summaries}
    return "electrode" if kinds == {"mea"} else "pixel" if kinds == {"movie"} else "site"


def _a(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


def _finite(values) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return values[np.isfinite(values)]


def _distribution_panels(figure, summaries: Sequence[Summary]) -> None:
    site = _site_word(summaries)
    axes = figure.subplots(2, 3)
    method = {s.params.get("speed_method") for s in summaries}
    speed = f"wave speed ({method.pop()} fits)" if len(method) == 1 and None not in method else "wave speed"
    histograms = (
        (axes[0, 0], "wave_interval_s", "Interval between waves", "time between consecutive wave onsets (s)",
         "fraction of intervals", True),
        (axes[0, 1], "iwi_s", f"Interval at each {site}", f"time between {_a(site)}'s consecutive waves (s)",
         "fraction of intervals", True),
        (axes[0, 2], "wave_size_fraction", "Wave size", "fraction of the sites a wave recruits", "fraction of waves",
         False),
        (axes[1, 0], "wave_speed_um_per_s", speed.capitalize(), "speed (µm/s)", "fraction of waves", True),
    )
    for ax, attr, title, xlabel, ylabel, logarithmic in histograms:
        _histogram(ax, summaries, attr, logarithmic)
        counts = ", ".join(str(_finite(getattr(s, attr)).size) for s in summaries)
        ax.set_title(f"{title} (n = {counts})", fontsize="medium")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
    for ax, attr, title, ylabel in ((axes[1, 1], "ci_profile", "Correlation index", "correlation index"),
                                    (axes[1, 2], "sttc_profile", "Spike time tiling", "STTC")):
        drawn = False
        for k, s in enumerate(summaries):
            profile = getattr(s, attr)
            if profile.distance_um.size:
                sem = profile.sd_ci / np.sqrt(profile.n_pairs)
                ax.errorbar(profile.distance_um, profile.mean_ci, yerr=sem, marker="o", markersize=3, capsize=2,
                            color=f"C{k}")
                drawn = True
        if not drawn:
            _say(ax, "no spikes to correlate")
        elif attr == "ci_profile":
            ax.set_yscale("log")
            _plain_log_ticks(ax.yaxis)
        else:
            ax.axhline(0.0, color="0.6", linewidth=0.8)
        ax.set_title(f"{title} against distance", fontsize="medium")
        ax.set_xlabel("electrode distance (µm)")
        ax.set_ylabel(f"{ylabel} (mean ± s.e.m.)")


def _histogram(ax, summaries: Sequence[Summary], attr: str, logarithmic: bool) -> None:
    pooled = np.concatenate([_finite(getattr(s, attr)) for s in summaries])
    if logarithmic:
        pooled = pooled[pooled > 0]
    if not pooled.size:
        _say(ax, _NO_DATA)
        return
    if logarithmic:
        low, high = pooled.min(), pooled.max()
        if high < 2 * low:  # (nearly) one value: widen so that the bins stay increasing
            low, high = low / 1.5, high * 1.5
        bins = np.geomspace(low, high, 31)
        ax.set_xscale("log")
        _plain_log_ticks(ax.xaxis)
    else:
        bins = np.linspace(0, 1, 21)
    for k, s in enumerate(summaries):
        values = _finite(getattr(s, attr))
        values = values[values > 0] if logarithmic else values
        if values.size:  # fixed colour per input, also where another input has nothing to show
            ax.hist(values, bins=bins, weights=np.full(values.size, 1 / values.size), histtype="step",
                    linewidth=1.5, color=f"C{k}")


def _plain_log_ticks(axis) -> None:
    """Ticks at 1, 2 and 5 times powers of ten, written as plain numbers: short log spans get several labels."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


def _say(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


def _grid_image(positions_um: np.ndarray, values: np.ndarray):
    """``values`` of sites on a full regular grid as an (ny, nx) image and its extent (y down); None otherwise."""
    xs, ys = np.unique(positions_um[:, 0]), np.unique(positions_um[:, 1])
    if xs.size < 2 or ys.size < 2 or xs.size * ys.size != len(positions_um):
        return None
    dx, dy = np.diff(xs), np.diff(ys)
    if not (np.allclose(dx, dx[0]) and np.allclose(dy, dy[0])):
        return None
    image = np.full((ys.size, xs.size), np.nan)
    image[np.searchsorted(ys, positions_um[:, 1]), np.searchsorted(xs, positions_um[:, 0])] = values
    extent = (xs[0] - dx[0] / 2, xs[-1] + dx[0] / 2, ys[-1] + dy[0] / 2, ys[0] - dy[0] / 2)
    return image, extent


def _map_axes(ax, title: str) -> None:
    ax.set_title(title, fontsize="medium")
    ax.set_xlabel("x (µm)")
    ax.set_ylabel("y (µm, down)")
    ax.set_aspect("equal")
    if not ax.yaxis_inverted():
        ax.invert_yaxis()


def _initiation_map(ax, s: Summary, colour: str) -> None:
    positions_um = s.site_positions_um
    if len(positions_um):
        ax.scatter(positions_um[:, 0], positions_um[:, 1], s=2, color="0.8", marker="s", linewidths=0)
    points = s.wave_initiation_um[np.isfinite(s.wave_initiation_um).all(axis=1)]
    ax.scatter(points[:, 0], points[:, 1], s=16, color=colour, alpha=0.65, linewidths=0)
    if not len(points):
        ax.text(0.5, 0.5, _NO_DATA, ha="center", va="center", transform=ax.transAxes, color="0.4")
    _map_axes(ax, f"wave initiation: {s.name}")


def _participation_map(ax, s: Summary) -> None:
    values = s.site_participation
    if not s.n_waves:
        _say(ax, _NO_DATA)
        ax.set_title(f"participation: {s.name}", fontsize="medium")
        return
    if len(values):
        grid = _grid_image(s.site_positions_um, values)
        if grid is not None:
            image, extent = grid
            shown = ax.imshow(image, extent=extent, vmin=0, vmax=1, cmap="viridis", interpolation="nearest")
        else:
            shown = ax.scatter(s.site_positions_um[:, 0], s.site_positions_um[:, 1], c=values, vmin=0, vmax=1,
                               cmap="viridis", s=25)
        ax.figure.colorbar(shown, ax=ax, label="fraction of waves")
    else:
        ax.text(0.5, 0.5, "sites differ between the pooled inputs", ha="center", va="center",
                transform=ax.transAxes, fontsize="small")
    _map_axes(ax, f"participation: {s.name}")


def _number(value: float, unit: str = "", digits: int = 3) -> str:
    if not math.isfinite(value):
        return "–"
    return f"{value:.{digits}g}{' ' + unit if unit else ''}"


def _key_numbers(ax, s: Summary, colour: str) -> None:
    """The input's key numbers as a two-column table."""
    site = "electrode" if s.kind == "mea" else "pixel"
    intervals = _finite(s.wave_interval_s)
    rows = [
        ("recorded", _number(s.duration_s / 60, "min")),
        (f"{site}s", f"{s.n_sites}"),
        ("waves", f"{s.n_waves} ({_number(s.wave_frequency_per_min, 'per min', 2)})"),
        ("median interval between waves", _number(float(np.median(intervals)) if intervals.size else math.nan,
                                                  "s")),
        (f"median interval at {_a(site)}", _number(s.median_iwi_s, "s")),
        ("mean wave duration", _number(s.mean_wave_duration_s, "s")),
        ("median speed", _number(s.median_speed_um_per_s, "µm/s")),
        ("mean wave size", _number(s.mean_size_fraction, "of sites", 2)),
        (f"fraction of {site}s that take part", _number(s.participation_fraction, "", 2)),
        ("correlation index, closest bin",
         f"{_number(s.ci_closest, '', 3)} at {_number(s.ci_closest_distance_um, 'µm')}"),
    ]
    ax.axis("off")
    ax.set_title(s.name, fontsize="medium", color=colour, fontweight="bold")
    table = ax.table(cellText=[list(r) for r in rows], colWidths=[0.62, 0.38], loc="center", edges="horizontal",
                     cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(9)
    table.scale(1.0, 1.25)


def _provenance(summaries: Sequence[Summary]) -> str:
    """What made the figure: wavesim's version, the date and the analysis settings."""
    from wavesim import __version__

    settings = [s.params for s in summaries]
    when = datetime.date.today().isoformat()
    head = f"Made with wavesim {__version__} on {when}."
    if not settings[0] or any(p != settings[0] for p in settings):
        return head + " The inputs were analysed with different settings (see their JSON summaries)."
    p = settings[0]
    kinds = {s.kind for s in summaries}
    radius = p.get("neighbour_radius_um")
    electrodes = (f" (on electrodes: bursts whose onsets lie within {p['max_onset_lag_s']:g} s at neighbours "
                  f"{'within ' + format(radius, 'g') + ' µm' if radius else 'within 2.5 pitches'})"
                  if "mea" in kinds else "")
    movies = (f" Movies are sampled for both by virtual electrodes {p['ci_grid_pitch_um']:g} µm apart."
              if "movie" in kinds else "")
    return (
        f"{head} Waves: space-time connected events recruiting at least {p['min_size_fraction']:g} of the sites"
        f"{electrodes}; speed from {p['speed_method']} plane fits. Correlation index (Wong et al. 1993) within "
        f"{p['ci_window_s']:g} s and STTC (Cutts & Eglen 2014) within {p['sttc_window_s']:g} s, in "
        f"{p['ci_bin_width_um']:g} µm distance bins.{movies}"
    )
