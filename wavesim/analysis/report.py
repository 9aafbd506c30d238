"""Reports of wave statistics: a printed table and JSON (the figure is :mod:`wavesim.analysis.figure`).

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

from tqdm.auto import tqdm

from wavesim.analysis.params import AnalysisParams
from wavesim.analysis.summary import Summary, combine_summaries, summarize
from wavesim.errors import ParameterError, RecordingFormatError, RecordingNotFoundError
from wavesim.io.recordings import RECORDING_SUFFIXES, load_movie, load_recording

__all__ = ["analyse_path", "format_table", "write_json"]

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
