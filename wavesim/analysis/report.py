"""Reports of wave statistics: a printed table, JSON, figures and the CLI.

``wavesim stats PATH`` summarises one input and ``wavesim compare A B ...``
overlays several. An input is an MEA recording (``.h5``), a movie (``.npy``,
``.tif``/``.tiff`` or a zarr array; with ``--um-per-pixel`` and
``--frame-period-s``) or a zarr store written by wavesim, whose complete
movies are pooled.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from tqdm.auto import tqdm

from wavesim.analysis.params import AnalysisParams
from wavesim.analysis.summary import Summary, combine_summaries, summarize
from wavesim.errors import ParameterError, RecordingFormatError, RecordingNotFoundError
from wavesim.io.recordings import RECORDING_SUFFIXES, load_movie, load_recording

__all__ = ["analyse_path", "format_table", "plot_summaries", "summary_figure", "write_json"]

# (label, Summary attribute, format) of the printed table
_TABLE_ROWS = (
    ("duration (s)", "duration_s", "{:.0f}"),
    ("sites", "n_sites", "{:d}"),
    ("waves", "n_waves", "{:d}"),
    ("wave frequency (/min)", "wave_frequency_per_min", "{:.2f}"),
    ("mean IWI (s)", "mean_iwi_s", "{:.1f}"),
    ("median IWI (s)", "median_iwi_s", "{:.1f}"),
    ("mean wave duration (s)", "mean_wave_duration_s", "{:.1f}"),
    ("mean speed (um/s)", "mean_speed_um_per_s", "{:.0f}"),
    ("median speed (um/s)", "median_speed_um_per_s", "{:.0f}"),
    ("waves with a speed", "n_waves_with_speed", "{:d}"),
    ("mean wave size (fraction)", "mean_size_fraction", "{:.3f}"),
    ("participation (fraction)", "participation_fraction", "{:.2f}"),
    ("bursts in waves (fraction)", "fraction_bursts_in_waves", "{:.2f}"),
    ("direction bias", "direction_bias", "{:.2f}"),
    ("CI closest bin (um)", "ci_closest_distance_um", "{:.0f}"),
    ("CI closest bin", "ci_closest", "{:.1f}"),
    ("STTC closest bin", "sttc_closest", "{:.2f}"),
)
_JSON_FORMAT_VERSION = 1


def format_table(summaries: Sequence[Summary]) -> str:
    """A plain-text table: one row per statistic, one column per input.

    Parameters
    ----------
    summaries : sequence of Summary

    Returns
    -------
    str
        Undefined values print as ``-``; the speed rows name the speed
        estimator (``AnalysisParams.speed_method``) where all inputs share one.
    """
    def cell(value: Any, fmt: str) -> str:
        if isinstance(value, float) and not math.isfinite(value):
            return "-"
        return fmt.format(value)

    headers = ["statistic"] + [s.name for s in summaries]
    methods = {s.params.get("speed_method") for s in summaries}
    method = f", {methods.pop()}" if len(methods) == 1 and None not in methods else ""
    rows = [[label.replace("(um/s)", f"(um/s{method})")] + [cell(getattr(s, attr), fmt) for s in summaries]
            for label, attr, fmt in _TABLE_ROWS]
    widths = [max(len(r[i]) for r in [headers] + rows) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        # labels left-aligned, numbers right-aligned
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([line(headers), "  ".join("-" * w for w in widths)] + [line(r) for r in rows])


def write_json(summaries: Sequence[Summary], path: str | Path) -> Path:
    """Write summaries as JSON: ``{"format_version": 1, "summaries": [...]}``.

    Each entry is :meth:`Summary.to_dict` (scalars with units in their
    names, per-wave values, intervals, CI against distance and the
    analysis parameters); undefined values are ``null``.

    Parameters
    ----------
    summaries : sequence of Summary
    path : str or Path

    Returns
    -------
    Path
    """
    path = Path(path)
    document = {"format_version": _JSON_FORMAT_VERSION, "summaries": [s.to_dict() for s in summaries]}
    path.write_text(json.dumps(document, indent=1) + "\n")
    return path


def _finite(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return values[np.isfinite(values)]


#: Map panels per figure row: two inputs, each an initiation map and a participation map.
_MAP_COLUMNS = 4
_MAP_ROW_HEIGHT_IN = 3.6


def plot_summaries(summaries: Sequence[Summary], path: str | Path) -> Path:
    """Save :func:`summary_figure` of several summaries to an image file.

    Parameters
    ----------
    summaries : sequence of Summary
    path : str or Path
        Image file; the format follows the suffix (png, pdf, svg, ...).

    Returns
    -------
    Path
    """
    path = Path(path)
    summary_figure(summaries).savefig(path)
    return path


def summary_figure(summaries: Sequence[Summary]):
    """A figure overlaying the distributions of several summaries, and each one's maps.

    Panels: inter-wave-interval histogram, wave-size distribution and
    speed distribution (fraction of values per bin, shared bins; intervals
    and speeds on log-spaced bins, since both have long tails), the
    correlation index (log scale) and the spike time tiling coefficient
    against electrode distance (mean +- standard error per distance bin).
    Then two maps per input: where waves start (each wave's initiation
    point, :attr:`Summary.wave_initiation_um`, over the sites) and each
    site's participation (:attr:`Summary.site_participation`, the fraction
    of the waves that recruit it), as an image where the sites form a
    regular grid (movies, square arrays) and as coloured dots otherwise.
    Maps put +y down, as in movie frames.

    Parameters
    ----------
    summaries : sequence of Summary

    Returns
    -------
    matplotlib.figure.Figure
        Map axes are titled ``"wave initiation: NAME"`` and
        ``"participation: NAME"``.
    """
    from matplotlib.figure import Figure  # no pyplot: works without a display

    map_rows = -(-2 * len(summaries) // _MAP_COLUMNS)
    figure = Figure(figsize=(14, 7.5 + _MAP_ROW_HEIGHT_IN * map_rows), layout="constrained")
    top, bottom = figure.subfigures(2, 1, height_ratios=[7.5, _MAP_ROW_HEIGHT_IN * map_rows])
    _distribution_panels(top, summaries)
    map_axes = bottom.subplots(map_rows, _MAP_COLUMNS, squeeze=False).ravel()
    for k, s in enumerate(summaries):
        _initiation_map(map_axes[2 * k], s, f"C{k}")
        _participation_map(map_axes[2 * k + 1], s)
    for ax in map_axes[2 * len(summaries):]:
        ax.remove()
    return figure


def _distribution_panels(figure, summaries: Sequence[Summary]) -> None:
    from matplotlib.ticker import NullFormatter

    axes = figure.subplots(2, 3)
    axes[0, 2].remove()
    panels = (
        (axes[0, 0], "iwi_s", "inter-wave interval (s)", True),
        (axes[0, 1], "wave_size_fraction", "wave size (fraction of sites)", False),
        (axes[1, 0], "wave_speed_um_per_s", "wave speed (um/s)", True),
    )
    for ax, attr, xlabel, logarithmic in panels:
        pooled = np.concatenate([_finite(getattr(s, attr)) for s in summaries])
        if logarithmic:
            pooled = pooled[pooled > 0]
            low, high = (pooled.min(), pooled.max()) if pooled.size else (1.0, 10.0)
            if high < 2 * low:  # (nearly) one value: widen so that the bins stay increasing
                low, high = low / 1.5, high * 1.5
            bins = np.geomspace(low, high, 31)
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels collide on short spans
        else:
            bins = np.linspace(0, 1, 21)
        for k, s in enumerate(summaries):
            values = _finite(getattr(s, attr))
            if values.size:  # fixed colour per input, also where another input has nothing to show
                ax.hist(values, bins=bins, weights=np.full(values.size, 1 / values.size), histtype="step",
                        linewidth=1.5, color=f"C{k}", label=f"{s.name} (n={values.size})")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("fraction")
    ax = axes[1, 1]
    for k, s in enumerate(summaries):
        profile = s.ci_profile
        if profile.distance_um.size:
            sem = profile.sd_ci / np.sqrt(profile.n_pairs)
            ax.errorbar(profile.distance_um, profile.mean_ci, yerr=sem, marker="o", markersize=3, capsize=2,
                        color=f"C{k}", label=s.name)
    ax.set_yscale("log")
    ax.set_xlabel("electrode distance (um)")
    ax.set_ylabel("correlation index")
    ax = axes[1, 2]
    for k, s in enumerate(summaries):
        profile = s.sttc_profile
        if profile.distance_um.size:
            sem = profile.sd_ci / np.sqrt(profile.n_pairs)
            ax.errorbar(profile.distance_um, profile.mean_ci, yerr=sem, marker="o", markersize=3, capsize=2,
                        color=f"C{k}", label=s.name)
    ax.axhline(0.0, color="0.6", linewidth=0.8)
    ax.set_xlabel("electrode distance (um)")
    ax.set_ylabel("spike time tiling coefficient")
    for ax in axes.flat:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="small")


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
    ax.set_xlabel("x (um)")
    ax.set_ylabel("y (um)")
    ax.set_aspect("equal")
    if not ax.yaxis_inverted():
        ax.invert_yaxis()


def _initiation_map(ax, s: Summary, colour: str) -> None:
    positions_um = s.site_positions_um
    if len(positions_um):
        ax.scatter(positions_um[:, 0], positions_um[:, 1], s=2, color="0.85", marker="s", linewidths=0)
    points = s.wave_initiation_um[np.isfinite(s.wave_initiation_um).all(axis=1)]
    ax.scatter(points[:, 0], points[:, 1], s=14, color=colour, alpha=0.6, linewidths=0,
               label=f"{len(points)} waves")
    if len(points):
        ax.legend(fontsize="small", loc="upper right")
    _map_axes(ax, f"wave initiation: {s.name}")


def _participation_map(ax, s: Summary) -> None:
    values = s.site_participation
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


def _is_zarr_group(path: Path) -> bool:
    import zarr

    try:
        return isinstance(zarr.open(str(path), mode="r"), zarr.Group)
    except Exception:  # not zarr at all: left to load_movie to report
        return False


#: Suffixes of the movie files :func:`~wavesim.io.recordings.load_movie` reads.
_MOVIE_SUFFIXES = (".npy", ".tif", ".tiff")


def _is_zarr_array(path: Path) -> bool:
    import zarr

    try:
        return isinstance(zarr.open(str(path), mode="r"), zarr.Array)
    except Exception:  # not zarr at all
        return False


def store_summaries(store, params: AnalysisParams | None = None, *, progress: bool | None = None
                    ) -> tuple[dict[int, Summary], AnalysisParams]:
    """Summarise each complete movie of a store.

    Parameters
    ----------
    store : WaveStore
    params : AnalysisParams, optional
        With the calcium readout and no ``activity_threshold``, frames are
        thresholded at 127 (half the uint8 scale).
    progress : bool or None
        Show a progress bar (None: only on a terminal).

    Returns
    -------
    summaries : dict of int to Summary
        Per complete movie, named ``STEM[movie]``.
    params : AnalysisParams
        The parameters used (the threshold filled in).

    Raises
    ------
    ParameterError
        If the store holds no complete movie.
    """
    params = params or AnalysisParams()
    if params.activity_threshold is None and store.readout == "calcium":
        params = dataclasses.replace(params, activity_threshold=127.0)
    indices = store.complete_movies()
    if not indices:
        raise ParameterError(f"{store.path}: the store holds no complete movie to analyse")
    summaries = {
        i: summarize(load_movie(store.read_movie(i), store.um_per_pixel, store.frame_period_s), params,
                     name=f"{store.path.stem}[{i}]")
        for i in tqdm(indices, desc=f"{store.path.name}: movies", disable=None if progress is None else not progress)
    }
    return summaries, params


def analyse_path(path: str | Path, params: AnalysisParams | None = None, *, um_per_pixel: float | None = None,
                 frame_period_s: float | None = None, progress: bool | None = None) -> Summary:
    """Summarise one input file or store.

    Parameters
    ----------
    path : str or Path
        An MEA recording (``.h5``/``.hdf5``, or ``.nwb`` with pynwb), a movie file (``.npy``,
        ``.tif``/``.tiff``, zarr array) or a wavesim zarr store.
    params : AnalysisParams, optional
        For a store with the calcium readout and no ``activity_threshold``,
        frames are thresholded at 127 (half the uint8 scale).
    um_per_pixel, frame_period_s : float, optional
        Required for movie files, which do not record their scale; taken
        from the store's attributes for stores.
    progress : bool or None
        Show progress bars (None: only on a terminal).

    Returns
    -------
    Summary
        For a store, the pooled summary of all complete movies.
    """
    params = params or AnalysisParams()
    path = Path(path)
    if path.suffix.lower() in RECORDING_SUFFIXES:
        return summarize(load_recording(path), params, progress=progress)
    if path.is_dir() and _is_zarr_group(path):
        from wavesim.io.store import open_store

        summaries, _ = store_summaries(open_store(path), params, progress=progress)
        return combine_summaries(list(summaries.values()), name=path.stem)
    if not path.exists():
        raise RecordingNotFoundError(f"{path} does not exist.")
    if not (path.suffix.lower() in _MOVIE_SUFFIXES or (path.is_dir() and _is_zarr_array(path))):
        raise RecordingFormatError(
            f"{path} is not an input wavesim analyses: give an MEA recording (.h5, .nwb), a movie "
            f"({', '.join(_MOVIE_SUFFIXES)} or a zarr array) or a wavesim store."
        )
    if um_per_pixel is None or frame_period_s is None:
        raise ParameterError(
            f"{path}: a movie file needs --um-per-pixel and --frame-period-s "
            f"(got um_per_pixel={um_per_pixel}, frame_period_s={frame_period_s})"
        )
    return summarize(load_movie(path, um_per_pixel, frame_period_s), params, name=path.stem, progress=progress)
